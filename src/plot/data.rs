//! A results table (a sweep's `results.csv`, the harness's `measured.csv`, the
//! validation CSV, or the same tables in memory) as the charts read it: the varied paths come first, the metrics
//! start at `offered` (or `predicted_refusal_probability`), and cells stay text
//! until a chart asks for a number, so a path such as `listener.kind` can hold
//! `unix`.

use std::path::PathBuf;

use crate::output::Table;

use super::ChartError;

/// Columns that open the metric part of a file: everything before is a varied path.
const METRIC_START: [&str; 2] = ["offered", "predicted_refusal_probability"];

pub(crate) struct Data {
    pub path: PathBuf,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    first_metric: usize,
}

/// The columns behind one metric name: its value and, when the file has them,
/// the bounds of its 95 % interval.
pub(crate) struct Metric {
    pub name: String,
    pub value: usize,
    pub low: Option<usize>,
    pub high: Option<usize>,
}

/// Rows that make one line of a chart, sorted by x.
pub(crate) struct Group {
    pub label: String,
    pub rows: Vec<usize>,
}

pub(crate) struct Grouping {
    /// What the labels are values of (path names), for the legend's heading.
    pub title: String,
    pub groups: Vec<Group>,
}

impl Data {
    /// A table's columns for charts: it must have a metric part and at least one row.
    pub fn new(table: &Table) -> Result<Data, ChartError> {
        let path = table.source.clone();
        let first_metric = table
            .headers
            .iter()
            .position(|h| METRIC_START.contains(&h.as_str()))
            .ok_or_else(|| ChartError::NotResults {
                file: path.clone(),
                reason: format!(
                    "it has no `offered` or `predicted_refusal_probability` column (columns: {})",
                    table.headers.join(", ")
                ),
            })?;
        if table.rows.is_empty() {
            return Err(ChartError::NotResults {
                file: path,
                reason: "it has a header but no rows".to_string(),
            });
        }
        Ok(Data {
            path,
            headers: table.headers.clone(),
            rows: table.rows.clone(),
            first_metric,
        })
    }

    pub fn varied(&self) -> &[String] {
        &self.headers[..self.first_metric]
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    fn find_metric(&self, name: &str) -> Option<usize> {
        self.find(name).filter(|&i| i >= self.first_metric)
    }

    /// The x column and, if one is named, the series column: the varied paths every
    /// line chart is drawn over.
    pub fn x_and_series(
        &self,
        x: &str,
        series: Option<&str>,
    ) -> Result<(usize, Option<usize>), ChartError> {
        let x_col = self.varied_column(x, "x")?;
        let series_col = series
            .map(|s| self.varied_column(s, "series"))
            .transpose()?;
        Ok((x_col, series_col))
    }

    /// A varied path, for an axis or the series; `role` says which in the error.
    pub fn varied_column(&self, name: &str, role: &'static str) -> Result<usize, ChartError> {
        match self.find(name) {
            Some(i) if i < self.first_metric => Ok(i),
            _ => Err(ChartError::UnknownColumn {
                file: self.path.clone(),
                role,
                name: name.to_string(),
                available: list_or_none(self.varied()),
            }),
        }
    }

    /// A metric column named exactly, for charts that need a fixed set of them.
    pub fn metric_column(&self, name: &str) -> Result<usize, ChartError> {
        self.find_metric(name)
            .ok_or_else(|| ChartError::UnknownColumn {
                file: self.path.clone(),
                role: "metric",
                name: name.to_string(),
                available: list_or_none(&self.headers[self.first_metric..]),
            })
    }

    /// Resolves a metric name: `refusal_probability` means its `_mean` column with
    /// `_ci_low` and `_ci_high`; a plain column such as `latency_s_p99` is itself.
    pub fn metric(&self, name: &str) -> Result<Metric, ChartError> {
        let interval = |base: &str| {
            (
                self.find_metric(&format!("{base}_ci_low")),
                self.find_metric(&format!("{base}_ci_high")),
            )
        };
        let base = name.strip_suffix("_mean").unwrap_or(name);
        let value = self
            .find_metric(&format!("{name}_mean"))
            .or_else(|| self.find_metric(name))
            .ok_or_else(|| ChartError::UnknownColumn {
                file: self.path.clone(),
                role: "metric",
                name: name.to_string(),
                available: self.metric_names().join(", "),
            })?;
        let (low, high) = interval(base);
        Ok(Metric {
            name: base.to_string(),
            value,
            low,
            high,
        })
    }

    /// Metric names as a user would pass them: `x_mean`, `x_ci_low` and
    /// `x_ci_high` are listed once as `x`.
    pub fn metric_names(&self) -> Vec<String> {
        let metrics = &self.headers[self.first_metric..];
        let has = |n: String| metrics.contains(&n);
        let mut names = Vec::new();
        for h in metrics {
            let bases = [
                h.strip_suffix("_mean"),
                h.strip_suffix("_ci_low"),
                h.strip_suffix("_ci_high"),
            ];
            match bases.into_iter().flatten().next() {
                Some(base) if has(format!("{base}_mean")) && has(format!("{base}_ci_low")) => {
                    if h.ends_with("_mean") {
                        names.push(base.to_string());
                    }
                }
                _ => names.push(h.clone()),
            }
        }
        names
    }

    pub fn text(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).map(String::as_str).unwrap_or("")
    }

    /// The cell as a finite number; empty, `NaN` and text are missing values.
    pub fn number(&self, row: usize, col: usize) -> Option<f64> {
        parse(self.text(row, col))
    }

    /// The cell as an axis position; any non-number is an error naming the value.
    pub fn axis_number(
        &self,
        row: usize,
        col: usize,
        axis: &'static str,
    ) -> Result<f64, ChartError> {
        self.number(row, col).ok_or_else(|| ChartError::NotNumeric {
            file: self.path.clone(),
            axis,
            column: self.headers[col].clone(),
            value: self.text(row, col).to_string(),
            numeric: list_or_none(&self.numeric_varied()),
        })
    }

    fn numeric_varied(&self) -> Vec<String> {
        (0..self.first_metric)
            .filter(|&c| self.is_numeric(c))
            .map(|c| self.headers[c].clone())
            .collect()
    }

    pub fn is_numeric(&self, col: usize) -> bool {
        (0..self.rows.len()).all(|r| self.number(r, col).is_some())
    }

    /// Distinct values of a column: in numeric order when they are all numbers,
    /// else in order of first appearance (grid order).
    pub fn levels(&self, col: usize) -> Vec<String> {
        let mut levels: Vec<String> = Vec::new();
        for r in 0..self.rows.len() {
            let v = self.text(r, col);
            if !levels.iter().any(|l| l == v) {
                levels.push(v.to_string());
            }
        }
        if levels.iter().all(|l| parse(l).is_some()) {
            levels.sort_by(|a, b| parse(a).unwrap_or(0.0).total_cmp(&parse(b).unwrap_or(0.0)));
        }
        levels
    }

    /// Splits the rows into lines: one per value of `series` and of every other
    /// path that varies (besides x), so a third varied path never zigzags a line.
    pub fn group_by(&self, x: usize, series: Option<usize>) -> Grouping {
        let mut keys: Vec<usize> = series.into_iter().collect();
        keys.extend(
            (0..self.first_metric)
                .filter(|&c| c != x && Some(c) != series && self.levels(c).len() > 1),
        );
        let levels: Vec<Vec<String>> = keys.iter().map(|&c| self.levels(c)).collect();
        let rank = |r: usize| -> Vec<usize> {
            keys.iter()
                .zip(&levels)
                .map(|(&c, l)| l.iter().position(|v| v == self.text(r, c)).unwrap_or(0))
                .collect()
        };
        let mut ranked: Vec<(Vec<usize>, usize)> =
            (0..self.rows.len()).map(|r| (rank(r), r)).collect();
        ranked.sort_by_key(|(k, _)| k.clone());
        let mut groups: Vec<(Vec<usize>, Group)> = Vec::new();
        for (key, r) in ranked {
            match groups.last_mut() {
                Some((k, g)) if *k == key => g.rows.push(r),
                _ => {
                    let label = keys
                        .iter()
                        .map(|&c| self.text(r, c).to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    groups.push((
                        key,
                        Group {
                            label,
                            rows: vec![r],
                        },
                    ));
                }
            }
        }
        let mut groups: Vec<Group> = groups.into_iter().map(|(_, g)| g).collect();
        for g in &mut groups {
            g.rows.sort_by(|&a, &b| {
                let (a, b) = (self.number(a, x), self.number(b, x));
                a.unwrap_or(f64::NAN).total_cmp(&b.unwrap_or(f64::NAN))
            });
        }
        let title = keys
            .iter()
            .map(|&c| self.headers[c].clone())
            .collect::<Vec<_>>()
            .join(", ");
        Grouping { title, groups }
    }
}

pub(crate) fn parse(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() {
        "(none)".to_string()
    } else {
        names.join(", ")
    }
}

/// The chart axes a sweep's results suggest: x is `load.rate` when it was varied,
/// else the first varied path that is numeric and takes more than one value;
/// the series is the next varied path with more than one value.
pub fn default_axes(table: &Table) -> Result<(String, Option<String>), ChartError> {
    let table = Data::new(table)?;
    let varied = table.varied();
    if varied.is_empty() {
        return Err(ChartError::NotResults {
            file: table.path.clone(),
            reason: "it has no varied path before its metric columns: nothing to plot against"
                .to_string(),
        });
    }
    let spread = |c: usize| table.levels(c).len() > 1;
    let x = varied
        .iter()
        .position(|p| p == "load.rate")
        .or_else(|| (0..varied.len()).find(|&c| table.is_numeric(c) && spread(c)))
        .or_else(|| (0..varied.len()).find(|&c| table.is_numeric(c)))
        .unwrap_or(0);
    let series = (0..varied.len()).find(|&c| c != x && spread(c));
    Ok((varied[x].clone(), series.map(|c| varied[c].clone())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::testing::{table, write_csv};

    const HEADER_TAIL: &str = "offered,refusal_probability_mean,refusal_probability_ci_low,refusal_probability_ci_high,latency_s_p99";

    #[test]
    fn default_axes_prefer_load_rate_and_the_next_path_that_varies() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            &format!("listener.somaxconn,pool.process_limit,load.rate,{HEADER_TAIL}"),
            &[
                "128,1,1,10,0,0,0,0.1",
                "128,2,1,10,0,0,0,0.1",
                "128,1,2,10,0,0,0,0.1",
                "128,2,2,10,0,0,0,0.1",
            ],
        );
        let (x, series) = default_axes(&table(&csv)).unwrap();
        assert_eq!(x, "load.rate");
        assert_eq!(series.as_deref(), Some("pool.process_limit"));
    }

    #[test]
    fn default_axes_without_load_rate_take_the_first_numeric_path_and_no_series_if_none_varies() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            &format!("listener.kind,pool.process_limit,{HEADER_TAIL}"),
            &["unix,1,10,0,0,0,0.1", "unix,2,10,0,0,0,0.1"],
        );
        let (x, series) = default_axes(&table(&csv)).unwrap();
        assert_eq!(x, "pool.process_limit");
        assert_eq!(series, None);
    }

    #[test]
    fn metric_name_resolves_to_its_mean_and_interval_columns() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            &format!("load.rate,{HEADER_TAIL}"),
            &["1,10,0,0,0,0.1"],
        );
        let table = Data::new(&table(&csv)).unwrap();
        let m = table.metric("refusal_probability").unwrap();
        assert_eq!((m.value, m.low, m.high), (2, Some(3), Some(4)));
        let plain = table.metric("latency_s_p99").unwrap();
        assert_eq!((plain.value, plain.low, plain.high), (5, None, None));
        assert_eq!(
            table.metric_names(),
            ["offered", "refusal_probability", "latency_s_p99"].map(String::from)
        );
    }

    #[test]
    fn an_unknown_path_is_named_with_the_varied_paths_listed() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            &format!("load.rate,{HEADER_TAIL}"),
            &["1,10,0,0,0,0.1"],
        );
        let table = Data::new(&table(&csv)).unwrap();
        let message = table
            .varied_column("load.rat", "x")
            .unwrap_err()
            .to_string();
        assert!(message.contains("`load.rat`"), "{message}");
        assert!(message.contains("load.rate"), "{message}");
    }

    #[test]
    fn a_file_without_metric_columns_is_not_taken_for_results() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(dir.path(), "a,b", &["1,2"]);
        let message = format!("{:#}", Data::new(&table(&csv)).err().unwrap());
        assert!(message.contains("offered"), "{message}");
    }

    #[test]
    fn lines_split_by_every_other_varied_path_and_sort_by_x() {
        let dir = tempfile::tempdir().unwrap();
        let csv = write_csv(
            dir.path(),
            &format!("pool.process_limit,listener.kind,load.rate,{HEADER_TAIL}"),
            &[
                "2,unix,2,10,0,0,0,0.1",
                "2,unix,1,10,0,0,0,0.1",
                "1,tcp,1,10,0,0,0,0.1",
                "1,unix,1,10,0,0,0,0.1",
            ],
        );
        let table = Data::new(&table(&csv)).unwrap();
        let grouping = table.group_by(2, Some(0));
        assert_eq!(grouping.title, "pool.process_limit, listener.kind");
        let labels: Vec<&str> = grouping.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["1, unix", "1, tcp", "2, unix"]);
        assert_eq!(grouping.groups[2].rows, [1, 0]);
    }
}
