//! Files a user gives eagain (models, empirical samples, traces, configurations,
//! results): read only when they are regular files, since a FIFO or a device such as
//! /dev/zero would block or never end, and only up to a size cap, so that no input can
//! take the machine's memory.

use std::io::Read;
use std::path::Path;

/// The largest model, configuration or results file read whole (16 MiB).
pub const MAX_TEXT_BYTES: u64 = 16 << 20;
/// The largest sample or trace file read whole (256 MiB).
pub const MAX_DATA_BYTES: u64 = 256 << 20;

/// Opens `path` for reading after checking it is a regular file of at most `max`
/// bytes. The error says what is wrong in words, naming the path.
pub fn open(path: &Path, max: u64) -> Result<std::fs::File, String> {
    let name = path.display();
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a folder"
        } else {
            "not a regular file (a FIFO, a socket or a device)"
        };
        return Err(format!("{name} is {what}: give the path of a file"));
    }
    if meta.len() > max {
        return Err(format!(
            "{name} is {} bytes, more than the {} this file may have",
            meta.len(),
            size_text(max)
        ));
    }
    std::fs::File::open(path).map_err(|e| format!("cannot read {name}: {e}"))
}

/// Reads a whole file as bytes (see `open`); a file that grew past `max` while being
/// read is refused too.
pub fn read_bytes(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let f = open(path, max)?;
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(format!(
            "{} is larger than the {} this file may have",
            path.display(),
            size_text(max)
        ));
    }
    Ok(bytes)
}

/// Reads a whole file as UTF-8 text (see `open`).
pub fn read_text(path: &Path, max: u64) -> Result<String, String> {
    String::from_utf8(read_bytes(path, max)?)
        .map_err(|_| format!("{} is not text (it is not UTF-8)", path.display()))
}

/// An error of this module with the file's role named: "cannot read X: why" becomes
/// "cannot read the model file X: why"; other errors get "the model file " in front.
pub fn naming(what: &str, error: &str) -> String {
    match error.strip_prefix("cannot read ") {
        Some(rest) => format!("cannot read the {what} {rest}"),
        None => format!("the {what} {error}"),
    }
}

fn size_text(bytes: u64) -> String {
    format!("{} MiB", bytes >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_a_folder_and_a_large_file_are_refused_with_their_path() {
        let e = read_text(Path::new("/dev/zero"), MAX_TEXT_BYTES).unwrap_err();
        assert!(e.contains("/dev/zero is not a regular file"), "{e}");
        let e = read_text(Path::new("/tmp"), MAX_TEXT_BYTES).unwrap_err();
        assert!(e.contains("is a folder"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        std::fs::write(&p, vec![b'1'; 2048]).unwrap();
        let e = read_text(&p, 1024).unwrap_err();
        assert!(e.contains("2048 bytes"), "{e}");
        assert_eq!(read_text(&p, 4096).unwrap().len(), 2048);
    }
}
