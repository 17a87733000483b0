//! A recorded load replayed: `load.arrival = "trace"` reads `load.trace`, a CSV with a
//! header line, a column `t` (the arrival times in seconds, any origin, in order) and
//! optionally `blocking` (the work of that request at the first service, seconds;
//! empty where unknown, and then drawn from `work.blocking`). SPEC section 9.

use std::path::Path;

/// A trace: arrival times from its first (so the first is 0), and each request's work
/// (NaN where the file has none).
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub t: Vec<f64>,
    pub blocking: Vec<f64>,
}

/// Why arrivals cannot be replayed as a trace: the row it is about (0 is the first
/// arrival; None: the trace as a whole) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceError {
    pub row: Option<usize>,
    pub message: String,
}

impl Trace {
    /// A trace from arrival times (any origin) and each one's work (NaN where not
    /// known), checked by the rules every trace meets, a file's or one an importer is
    /// about to write: at least one arrival, times in order, work from 0 to
    /// `MAX_SECONDS`, a span of at most `MAX_SECONDS`. The times are moved to start at 0.
    pub fn new(mut t: Vec<f64>, blocking: Vec<f64>) -> Result<Trace, TraceError> {
        let at = |row: usize, message: String| TraceError {
            row: Some(row),
            message,
        };
        let Some(&first) = t.first() else {
            return Err(TraceError {
                row: None,
                message: "the trace has no arrivals".into(),
            });
        };
        for (i, pair) in t.windows(2).enumerate() {
            let (before, x) = (pair[0], pair[1]);
            if !x.is_finite() || x < before {
                return Err(at(
                    i + 1,
                    format!(
                        "t = {x} comes before the line above (t = {before}): a trace lists \
                         its arrivals in time order"
                    ),
                ));
            }
        }
        if let Some(i) = blocking
            .iter()
            .position(|w| !(w.is_nan() || (0.0..=crate::dist::MAX_SECONDS).contains(w)))
        {
            return Err(at(
                i,
                format!(
                    "`blocking` is {}: give seconds from 0 to {:e}, or leave it empty to \
                     draw from work.blocking",
                    blocking[i],
                    crate::dist::MAX_SECONDS
                ),
            ));
        }
        if !first.is_finite() || t[t.len() - 1] - first > crate::dist::MAX_SECONDS {
            return Err(TraceError {
                row: None,
                message: format!("the trace spans more than {:e} s", crate::dist::MAX_SECONDS),
            });
        }
        for x in &mut t {
            *x -= first;
        }
        Ok(Trace { t, blocking })
    }

    /// Whether its times advance: one arrival, or a span above 0 (a trace whose
    /// arrivals all have the same time has no rate to replay at).
    pub fn advances(&self) -> bool {
        self.t.len() <= 1 || self.span() > 0.0
    }

    /// The time from the first arrival to the last.
    pub fn span(&self) -> f64 {
        self.t.last().copied().unwrap_or(0.0)
    }

    /// Arrivals per second over the span: (n - 1) / span.
    pub fn natural_rate(&self) -> f64 {
        (self.t.len() as f64 - 1.0) / self.span()
    }

    /// Reads a trace file; the error names the file, the line and the column.
    pub fn read(path: &Path) -> Result<Trace, String> {
        let name = path.display();
        let file = crate::input::open(path, crate::input::MAX_DATA_BYTES)?;
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(file);
        let headers = reader
            .headers()
            .map_err(|e| format!("{name}: cannot read its header line: {e}"))?
            .clone();
        let column = |n: &str| headers.iter().position(|h| h == n);
        let t_col = column("t").ok_or_else(|| {
            format!(
                "{name} line 1: no column `t` (the header has: {}); a trace has a header \
                 line with `t` (arrival times, seconds) and optionally `blocking`",
                crate::error::quoted(&headers.iter().collect::<Vec<_>>().join(", "))
            )
        })?;
        let b_col = column("blocking");
        let mut t = Vec::new();
        let mut blocking = Vec::new();
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            let record = record.map_err(|e| format!("{name} line {line}: {e}"))?;
            let cell = |c: usize| record.get(c).unwrap_or("");
            let at: f64 = cell(t_col)
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite())
                .ok_or_else(|| {
                    format!(
                        "{name} line {line}: `t` is `{}`, not a number of seconds",
                        crate::error::quoted(cell(t_col))
                    )
                })?;
            let work = match b_col.map(cell) {
                None | Some("") => f64::NAN,
                Some(text) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && *x >= 0.0 && *x <= crate::dist::MAX_SECONDS)
                    .ok_or_else(|| {
                        format!(
                            "{name} line {line}: `blocking` is `{}`: give seconds from 0 to \
                             {:e}, or leave it empty to draw from work.blocking",
                            crate::error::quoted(text),
                            crate::dist::MAX_SECONDS
                        )
                    })?,
            };
            t.push(at);
            blocking.push(work);
        }
        if t.is_empty() {
            return Err(format!(
                "{name}: the trace has a header but no arrivals: give one line per request"
            ));
        }
        Trace::new(t, blocking).map_err(|e| match e.row {
            Some(row) => format!("{name} line {}: {}", row + 2, e.message),
            None => format!("{name}: {}", e.message),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Trace, String> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("trace.csv");
        std::fs::write(&p, text).unwrap();
        Trace::read(&p)
    }

    #[test]
    fn a_trace_starts_at_0_and_keeps_its_work_where_given() {
        let tr = read("t,blocking\n100.5,0.2\n101.0,\n103.5,1\n").unwrap();
        assert_eq!(tr.t, [0.0, 0.5, 3.0]);
        assert_eq!(tr.blocking[0], 0.2);
        assert!(tr.blocking[1].is_nan());
        assert_eq!(tr.span(), 3.0);
        assert_eq!(tr.natural_rate(), 2.0 / 3.0);
    }

    #[test]
    fn bad_traces_name_the_line_and_the_column() {
        assert!(read("time\n1\n")
            .unwrap_err()
            .contains("line 1: no column `t`"));
        assert!(read("t\n1\nx\n")
            .unwrap_err()
            .contains("line 3: `t` is `x`"));
        assert!(read("t\n2\n1\n")
            .unwrap_err()
            .contains("line 3: t = 1 comes before"));
        assert!(read("t\n").unwrap_err().contains("no arrivals"));
        assert!(read("t,blocking\n1,-2\n")
            .unwrap_err()
            .contains("line 2: `blocking` is `-2`"));
        assert!(read("t\n0\n2e9\n")
            .unwrap_err()
            .ends_with("the trace spans more than 1e9 s"));
    }

    #[test]
    fn a_trace_made_in_memory_meets_the_rules_of_a_file() {
        let tr = Trace::new(vec![10.0, 10.5, 12.0], vec![0.1, f64::NAN, 2.0]).unwrap();
        assert_eq!(tr.t, [0.0, 0.5, 2.0]);
        assert!(tr.advances());
        let e = Trace::new(vec![1.0, 0.5], vec![f64::NAN; 2]).unwrap_err();
        assert_eq!(e.row, Some(1));
        let e = Trace::new(vec![1.0, 2.0], vec![0.1, 2e9]).unwrap_err();
        assert_eq!(e.row, Some(1));
        let e = Trace::new(vec![0.0, 1.8e9], vec![f64::NAN; 2]).unwrap_err();
        assert_eq!(
            (e.row, e.message.as_str()),
            (None, "the trace spans more than 1e9 s")
        );
        assert!(Trace::new(Vec::new(), Vec::new()).is_err());
        assert!(!Trace::new(vec![5.0, 5.0], vec![f64::NAN; 2])
            .unwrap()
            .advances());
        assert!(Trace::new(vec![5.0], vec![f64::NAN]).unwrap().advances());
    }
}
