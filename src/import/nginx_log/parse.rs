//! The access log, line by line: each line that matches the format becomes its
//! `Values`; the others are counted, and the first one's number is kept for the note.
//! The file is read through a fixed buffer (a line longer than `MAX_LINE` is skipped as
//! not matching), so memory grows with the requests kept, not with the file.

use super::format::{Format, Values};
use crate::error::{quoted, BadInput};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The largest access log read: a cap against a runaway file, far above a day's log.
pub(super) const MAX_LOG_BYTES: u64 = 64 << 30;

/// The longest line read; nginx's own lines are a few kB.
const MAX_LINE: usize = 1 << 20;

/// What the log holds.
#[derive(Debug, Default)]
pub(super) struct Parsed {
    /// The matching lines' values, in file order.
    pub requests: Vec<Values>,
    pub lines: u64,
    pub unmatched: u64,
    pub first_unmatched: Option<u64>,
    /// The number of requests per status code.
    pub status: BTreeMap<u16, u64>,
}

/// Reads the log at `path` with `format`. A file with no matching line is refused,
/// naming its first line.
pub(super) fn read_log(path: &Path, format: &Format, shown_format: &str) -> anyhow::Result<Parsed> {
    let name = path.display();
    let file = crate::input::open(path, MAX_LOG_BYTES)
        .map_err(|e| BadInput(crate::input::naming("access log", &e)))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut parsed = Parsed::default();
    let mut buf = Vec::with_capacity(4096);
    let mut first_line: Option<Vec<u8>> = None;
    while let Some(complete) = next_line(&mut reader, &mut buf)
        .map_err(|e| anyhow::anyhow!("cannot read the access log {name}: {e}"))?
    {
        parsed.lines += 1;
        if first_line.is_none() {
            first_line = Some(buf.clone());
        }
        let values = if complete {
            let line = String::from_utf8_lossy(&buf);
            format.read(&line)
        } else {
            None
        };
        match values {
            Some(mut v) => {
                v.line = parsed.lines;
                *parsed.status.entry(v.status).or_insert(0) += 1;
                parsed.requests.push(v);
            }
            None => {
                parsed.unmatched += 1;
                parsed.first_unmatched.get_or_insert(parsed.lines);
            }
        }
    }
    if parsed.requests.is_empty() {
        return Err(nothing_matches(path, first_line.as_deref(), shown_format).into());
    }
    // Up to half of what doubling reserved, given back before the rows are built.
    parsed.requests.shrink_to_fit();
    Ok(parsed)
}

/// The error for a log of which no line matches: it names the file and its first line.
fn nothing_matches(path: &Path, first: Option<&[u8]>, shown_format: &str) -> BadInput {
    let name = path.display();
    let Some(first) = first else {
        return BadInput(format!(
            "{name} is empty: an access log has one line per request"
        ));
    };
    if first.starts_with(&[0x1f, 0x8b]) {
        return BadInput(format!(
            "{name} line 1: the file is gzip-compressed; give it uncompressed, e.g. after \
             `zcat {name} > access.log`"
        ));
    }
    let text = String::from_utf8_lossy(first);
    BadInput(format!(
        "{name} line 1: no line of the file matches the format '{shown_format}'; line 1 \
         is `{}`. Give the log_format the server wrote this log with (nginx: the string \
         of its log_format directive; gunicorn: its --access-logformat), and a log whose \
         times and durations are numbers",
        quoted(&text)
    ))
}

/// The next line into `buf`, without its `\n` or `\r\n`: Some(true) for a line, Some(false)
/// for one longer than `MAX_LINE` (its rest is skipped, `buf` holds its start), None
/// at the end of the file.
fn next_line<R: Read>(
    reader: &mut BufReader<R>,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut complete = true;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (part, used, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (&chunk[..i], i + 1, true),
            None => (chunk, chunk.len(), false),
        };
        if buf.len() + part.len() <= MAX_LINE {
            buf.extend_from_slice(part);
        } else {
            complete = false;
        }
        reader.consume(used);
        if done {
            break;
        }
    }
    if !any {
        return Ok(None);
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    Ok(Some(complete))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &[u8]) -> Vec<(String, bool)> {
        let mut r = BufReader::with_capacity(7, text);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(complete) = next_line(&mut r, &mut buf).unwrap() {
            out.push((String::from_utf8_lossy(&buf).into_owned(), complete));
        }
        out
    }

    #[test]
    fn lines_are_split_across_buffer_ends_without_their_line_ends() {
        let got = lines(b"first line\r\nsecond, longer than the buffer\n\nlast");
        let want = ["first line", "second, longer than the buffer", "", "last"];
        assert_eq!(
            got.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            want
        );
        assert!(got.iter().all(|(_, complete)| *complete));
        assert!(lines(b"").is_empty());
        let long = vec![b'x'; MAX_LINE + 10];
        let got = lines(&[&long[..], b"\nnext\n"].concat());
        assert_eq!((got[0].1, got[1].0.as_str()), (false, "next"));
    }

    #[test]
    fn unmatched_lines_are_counted_and_the_first_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("access.log");
        std::fs::write(&p, "1.000 200\nnoise\n2.000 502\n3.000 2x0\n").unwrap();
        let f = Format::compile("$msec $status").unwrap();
        let parsed = read_log(&p, &f, "$msec $status").unwrap();
        assert_eq!(
            (parsed.lines, parsed.unmatched, parsed.first_unmatched),
            (4, 2, Some(2))
        );
        assert_eq!(parsed.status, BTreeMap::from([(200, 1), (502, 1)]));
        std::fs::write(&p, "noise\n").unwrap();
        let e = read_log(&p, &f, "$msec $status").unwrap_err().to_string();
        assert!(
            e.contains("access.log line 1: no line") && e.contains("`noise`"),
            "{e}"
        );
        std::fs::write(&p, "").unwrap();
        assert!(read_log(&p, &f, "x")
            .unwrap_err()
            .to_string()
            .contains("is empty"));
        let e = read_log(Path::new("/dev/null"), &f, "x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}
