//! Who wrote a sweep's records, so that `--resume` and `merge` never mix results that
//! could differ: the build identity (the eagain version and a hash of the running
//! binary's bytes) and the integrity check of each point's record (a hash of the record
//! with the identity of the run that wrote it: its arguments, its shard and its build).
//!
//! Why a hash of the binary and not a git commit embedded at build time: the last bit of
//! a result can change with anything that goes into the binary (an uncommitted edit, the
//! compiler, a dependency's version in Cargo.lock, the build profile), and only the
//! binary's own bytes cover all of them; it needs no git where eagain is built. The cost
//! is reading the binary once per sweep (about 30 MB: about 10 ms), and
//! that two separately compiled copies of the same source count as two builds: run every
//! task of a study with one binary, which a shared file system or a container image
//! gives anyway.
//!
//! The hash is 64-bit FNV-1a, written here so that it never changes with a library: it
//! catches a hand-edited or corrupted line (any change of one byte changes it), not a
//! forger, who could recompute it.

use std::io::Read;
use std::sync::OnceLock;

/// 64-bit FNV-1a, fed in pieces.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    fn new() -> Fnv {
        Fnv(Self::OFFSET)
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
    }
}

/// This build of eagain: `eagain VERSION binary HASH`, computed once per process.
pub fn build() -> &'static str {
    static BUILD: OnceLock<String> = OnceLock::new();
    BUILD.get_or_init(|| {
        let version = env!("CARGO_PKG_VERSION");
        match binary_hash() {
            Ok(h) => format!("eagain {version} binary {h:016x}"),
            // Without its bytes the version is all that is known; two such builds of
            // one version are taken to be the same.
            Err(_) => format!("eagain {version} binary unreadable"),
        }
    })
}

/// The hash of the running executable's bytes: four FNV-1a lanes, each fed every
/// fourth 64-bit word, so that the multiplications run side by side (about 10 ms for
/// 30 MB, against 40 ms a byte at a time), then the lanes fed into one.
fn binary_hash() -> std::io::Result<u64> {
    // /proc/self/exe is the running binary even if its path was replaced meanwhile.
    let mut file = std::fs::File::open("/proc/self/exe")
        .or_else(|_| std::fs::File::open(std::env::current_exe()?))?;
    let mut lanes = [Fnv::new(); 4];
    let mut buf = vec![0u8; 1 << 16];
    let mut tail = Fnv::new();
    loop {
        // Fill the buffer, so that only the last block can be short.
        let mut n = 0;
        while n < buf.len() {
            match file.read(&mut buf[n..])? {
                0 => break,
                got => n += got,
            }
        }
        let blocks = buf[..n].chunks_exact(32);
        tail.feed(blocks.remainder());
        for block in blocks {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
                let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                lane.0 = (lane.0 ^ w).wrapping_mul(Fnv::PRIME);
            }
        }
        if n < buf.len() {
            break;
        }
    }
    let mut h = tail;
    for lane in lanes {
        h.feed(&lane.0.to_le_bytes());
    }
    Ok(h.0)
}

/// The integrity checks of one run: the hash state after its identity, which each
/// record's text continues.
#[derive(Clone, Copy)]
pub struct Seal(Fnv);

impl Seal {
    /// The seal of a run whose identity (arguments, shard, build) is `identity`.
    pub fn new(identity: &str) -> Seal {
        let mut h = Fnv::new();
        h.feed(identity.as_bytes());
        // A separator no JSON text holds, so that identity and record cannot trade bytes.
        h.feed(&[0]);
        Seal(h)
    }

    /// The check of one record's text: 16 hexadecimal digits.
    pub fn check(&self, record: &str) -> String {
        let mut h = self.0;
        h.feed(record.as_bytes());
        format!("{:016x}", h.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_its_published_test_vectors() {
        let hash = |s: &str| {
            let mut h = Fnv::new();
            h.feed(s.as_bytes());
            h.0
        };
        assert_eq!(hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn a_check_changes_with_one_byte_of_the_record_or_of_the_identity() {
        let a = Seal::new("{\"seed\":1}");
        let b = Seal::new("{\"seed\":2}");
        let record = "{\"refused\":12}";
        assert_eq!(a.check(record), a.check(record));
        assert_ne!(a.check(record), a.check("{\"refused\":13}"));
        assert_ne!(a.check(record), b.check(record));
        assert_eq!(a.check(record).len(), 16);
    }

    #[test]
    fn the_build_names_the_version_and_the_binary() {
        let b = build();
        assert!(b.starts_with(&format!("eagain {} binary ", env!("CARGO_PKG_VERSION"))));
        assert_eq!(b, build(), "computed once");
    }
}
