//! The one error type the rest of the code distinguishes: bad input from the user
//! (exit code 2), as opposed to any other failure (exit code 1, through `anyhow`).

/// A bad model, bad arguments or a missing file. The text is one paragraph that names
/// the file, line or field and says what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

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
