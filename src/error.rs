//! The error types the rest of the code distinguishes: bad input from the user (exit
//! code 2, "do not retry"), a run stopped on request with its progress saved (exit code
//! 75, EX_TEMPFAIL, "try again"), as opposed to any other failure (exit code 1, through
//! `anyhow`).

/// A bad model, bad arguments or a missing file. The text is one paragraph that names
/// the file, line or field and says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// A run stopped on request (SIGTERM, a batch scheduler's way of ending a task) after
/// saving its progress: the same command with `--resume` finishes it. The text says
/// what was saved where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct Stopped(pub String);

/// Returns early with a `BadInput` built from a format string.
#[macro_export]
macro_rules! bad_input {
    ($($arg:tt)*) => {
        return Err($crate::error::BadInput(format!($($arg)*)).into())
    };
}

/// Text folded onto one line: runs of white space, newlines included, become one space.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A value the user gave, as an error message quotes it: on one line, and cut to 120
/// characters so that a megabyte-long argument does not become a megabyte of stderr.
pub fn quoted(raw: &str) -> String {
    shortened(raw, 120)
}

/// A number as a message shows it: as written when it is between 1e-4 and 1e9 and
/// short, else in e notation with at most five significant digits, so that a rate of
/// 1e300 or a bin of 3e-10 s does not become a line of zeros.
pub fn shown(x: f64) -> String {
    let plain = format!("{x}");
    if x == 0.0 || !x.is_finite() || ((1e-4..1e9).contains(&x.abs()) && plain.len() <= 12) {
        return plain;
    }
    let e = format!("{x:.4e}");
    match e.split_once('e') {
        Some((mantissa, exp)) if mantissa.contains('.') => {
            let m = mantissa.trim_end_matches('0').trim_end_matches('.');
            format!("{m}e{exp}")
        }
        _ => e,
    }
}

/// `text` on one line and cut to `max` characters, saying how long it was.
pub fn shortened(text: &str, max: usize) -> String {
    let line = one_line(text);
    if line.chars().count() <= max {
        line
    } else {
        let cut: String = line.chars().take(max).collect();
        format!("{cut}... ({} characters)", text.chars().count())
    }
}

/// The longest error message printed, in characters.
pub const MAX_MESSAGE: usize = 2000;

/// An error as printed: one paragraph on one line, at most `MAX_MESSAGE` characters.
pub fn paragraph(message: &str) -> String {
    let line = one_line(message);
    if line.chars().count() <= MAX_MESSAGE {
        line
    } else {
        let cut: String = line.chars().take(MAX_MESSAGE).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_in_messages_are_short_whatever_their_size() {
        assert_eq!(super::shown(0.5), "0.5");
        assert_eq!(super::shown(4.0), "4");
        assert_eq!(super::shown(1e300), "1e300");
        assert_eq!(super::shown(2.863816916942596e-10), "2.8638e-10");
        assert_eq!(super::shown(9223372036854775807.0), "9.2234e18");
        assert_eq!(super::shown(0.123456789012345), "1.2346e-1");
    }

    use super::*;

    #[test]
    fn quoted_values_and_messages_stay_short_and_on_one_line() {
        assert_eq!(quoted("a\n b"), "a b");
        let long = "x".repeat(10_000);
        let q = quoted(&long);
        assert!(q.len() < 160 && q.ends_with("(10000 characters)"), "{q}");
        assert_eq!(paragraph(&long).chars().count(), MAX_MESSAGE + 3);
        assert_eq!(paragraph("one\ntwo"), "one two");
    }
}
