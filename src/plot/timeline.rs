//! The timeline of one simulation, one row per time bin: arrivals, refusals and
//! time-outs per second in the top panel, the listen queue and the processes
//! below it, stacked on one time axis, with the bin where refusals start and the
//! time the queue is empty again marked, so that a person sees at a glance when a
//! peak starts to refuse and how long the queue takes to drain.

use std::path::Path;

use plotters::prelude::*;

use super::axis::Scale;
use super::curve::{self, Curve, Mark};
use super::data::{Data, Metric};
use super::frame::{self, Chart, Legend, Swatch};
use super::style::{self, fmt_number};
use super::{render, ChartError, ChartText};
use crate::output::Table;

/// The column of each bin's start, in seconds from the start of the run.
const TIME: &str = "t";
const TIME_TITLE: &str = "time from the start of the run (seconds)";
/// Refusals "start" in the first bin where they exceed this share of its arrivals.
const REFUSAL_ONSET: f64 = 0.01;
/// The queue has drained once its mean over a bin is below one connection. Not
/// zero: a mean over replications and over the bin is zero only if no replication
/// queued anything in it, which a busy server rarely manages even when idle enough.
const DRAINED_BELOW: f64 = 1.0;
/// Up to this ratio between the largest queue length and the largest number of
/// processes, both share one linear axis. Beyond it the smaller would be a flat
/// line along the bottom, and a second y scale on the same panel is easily read
/// against the wrong line, so the processes get a panel of their own instead.
const SHARED_AXIS_RATIO: f64 = 20.0;

/// Draws the timeline `table` (columns `t`, then `offered`, `refused`, `dropped`,
/// optionally `timed_out`, each with `_ci_low` and `_ci_high`, then
/// `queue_length_mean` and `processes_mean`) into `out`.
pub fn timeline_chart(table: &Table, out: &Path, text: &ChartText) -> anyhow::Result<()> {
    let table = Data::new(table)?;
    let bins = Bins::read(&table)?;
    let offered = table.metric("offered")?;
    let refused = table.metric("refused")?;
    let dropped = table.metric("dropped")?;
    let queue = table.metric("queue_length_mean")?;
    let processes = table.metric("processes_mean")?;
    // Older timelines have no time-outs; a missing column draws as none.
    let timed_out = table.metric("timed_out").ok();

    let arrivals = bins.values(&table, &[&offered]);
    let refusals = bins.values(&table, &[&refused, &dropped]);
    let per_second = 1.0 / bins.width;
    // Refusals last, so that they are drawn over a time-out line they coincide with.
    let mut rates = vec![bins.steps(&arrivals, per_second, "arrivals (offered)", style::ARRIVALS)];
    if let Some(timed_out) = &timed_out {
        let gave_up = bins.steps(
            &bins.values(&table, &[timed_out]),
            per_second,
            "timed out (client gave up)",
            style::TIMED_OUT,
        );
        if gave_up.points.iter().any(|p| p.value != 0.0) {
            rates.push(gave_up);
        }
    }
    rates.push(bins.steps(&refusals, per_second, "refused or dropped", style::REFUSALS));
    let queue_values = bins.values(&table, &[&queue]);
    // A chain's timeline keeps its first service's queue and processes: say whose.
    let of = if text.front.is_empty() {
        String::new()
    } else {
        format!(" of {}", text.front)
    };
    let queue_curve = bins.steps(
        &queue_values,
        1.0,
        &format!("listen queue length{of} (mean)"),
        style::QUEUE,
    );
    let process_curve = bins.steps(
        &bins.values(&table, &[&processes]),
        1.0,
        &format!("processes{of} (mean)"),
        style::PROCESSES,
    );

    let landmarks = Landmarks::find(&bins, &arrivals, &refusals, &queue_values);

    let mut captions = vec![landmarks.caption(bins.end())];
    let band = curve::has_band(&rates);
    captions.push(format!(
        "Each step is one bin of {} s: rates are the bin's count over its width, the queue and processes their average over the bin, means over the replications{}.",
        fmt_number(bins.width, 4),
        if band { ", bands 95 % intervals" } else { "" }
    ));
    let missing = bins.missing(&[&arrivals, &refusals, &queue_values]);
    if missing > 0 {
        captions.push(format!("{missing} bin(s) lack a value and are left out."));
    }

    let largest = |c: &Curve| c.points.iter().map(|p| p.value).fold(0.0, f64::max);
    let (most_queued, most_processes) = (largest(&queue_curve), largest(&process_curve));
    let apart = most_queued > 0.0
        && most_processes > 0.0
        && (most_queued / most_processes).max(most_processes / most_queued) > SHARED_AXIS_RATIO;
    // Three panels leave each too short for the longer axis titles.
    let mut panels = if apart {
        vec![
            Panel::new("connections per second", "connections / s", rates),
            Panel::new("listen queue", "connections", vec![queue_curve]),
            Panel::new("processes", "processes", vec![process_curve]),
        ]
    } else {
        vec![
            Panel::new("connections per second", "connections per second", rates),
            Panel::new(
                "listen queue and processes",
                "connections, processes",
                vec![queue_curve, process_curve],
            ),
        ]
    };
    // Each mark is drawn across every panel and named in the legend of the panel
    // whose line it is about.
    let marks: Vec<(f64, RGBColor)> = [
        landmarks.onset.map(|t| (t, style::REFUSALS)),
        landmarks.drained().map(|t| (t, style::QUEUE)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(t) = landmarks.onset {
        panels[0].legend.entry(
            Swatch::Dashed(style::REFUSALS),
            format!("refusals start, t = {} s", fmt_number(t, 6)),
        );
    }
    if let Some(t) = landmarks.drained() {
        panels[1].legend.entry(
            Swatch::Dashed(style::QUEUE),
            format!("queue drained, t = {} s", fmt_number(t, 6)),
        );
    }

    let x_axis = Scale::linear(&[bins.starts[0], bins.end()], bins.starts[0] >= 0.0);
    render(out, |root| {
        let (plot, legend_area) = frame::panels(root, text, &captions)?;
        let rows = plot.split_evenly((panels.len(), 1));
        let legends = legend_area.split_evenly((panels.len(), 1));
        // Tick labels of different widths would shift each panel's plotting area:
        // indent the narrower ones so the time axes line up.
        let widest = panels.iter().map(|p| label_width(&p.y)).max().unwrap_or(0);
        for (i, panel) in panels.iter().enumerate() {
            let area = rows[i].margin(0, 0, widest - label_width(&panel.y), 0);
            let x_title = if i + 1 == panels.len() {
                TIME_TITLE
            } else {
                ""
            };
            let mut chart = frame::chart(&area, &x_axis, &panel.y, x_title, &panel.y_title, true)?;
            for c in &panel.curves {
                curve::draw_band(&mut chart, &x_axis, &panel.y, c)?;
            }
            for &(t, colour) in &marks {
                draw_mark(&mut chart, &panel.y, t, colour)?;
            }
            for c in &panel.curves {
                curve::draw_line(&mut chart, &x_axis, &panel.y, c, false)?;
            }
            panel.legend.draw(&legends[i], style::LEGEND_TOP)?;
        }
        Ok(())
    })
}

/// One panel of the stack: its curves on a linear y axis from zero, and the
/// legend section beside it.
struct Panel {
    y_title: String,
    y: Scale,
    curves: Vec<Curve>,
    legend: Legend,
}

impl Panel {
    fn new(heading: &str, y_title: &str, curves: Vec<Curve>) -> Panel {
        let mut legend = Legend::default();
        legend.section(Some(heading));
        for c in &curves {
            legend.entry(Swatch::Line(c.color), c.label.clone());
        }
        if curve::has_band(&curves) {
            legend.entry(Swatch::Band(style::MUTED), "95 % interval");
        }
        Panel {
            y_title: y_title.to_string(),
            y: Scale::linear(&curve::ys(&curves), true),
            curves,
            legend,
        }
    }
}

/// Width of the widest tick label of `y`, as `frame::chart` sizes its label area.
fn label_width(y: &Scale) -> u32 {
    y.labels()
        .iter()
        .map(|l| style::text_width(l, style::TICK_SIZE))
        .max()
        .unwrap_or(0)
}

/// A vertical dashed line across the panel at time `t`.
fn draw_mark(chart: &mut Chart<'_, '_>, y: &Scale, t: f64, colour: RGBColor) -> anyhow::Result<()> {
    let (y0, y1) = (y.range().start, y.range().end);
    chart.draw_series(DashedLineSeries::new(
        vec![(t, y0), (t, y1)],
        style::MARK_DASH.0,
        style::MARK_DASH.1,
        colour.stroke_width(style::THIN_LINE),
    ))?;
    Ok(())
}

/// What the caption states: when refusals start, and when the queue has drained.
#[derive(Debug, PartialEq)]
struct Landmarks {
    /// Start of the first bin whose refusals exceed `REFUSAL_ONSET` of its arrivals.
    onset: Option<f64>,
    drain: Drain,
}

/// How the queue ends up after its longest moment.
#[derive(Debug, PartialEq)]
enum Drain {
    /// No bin holds a connection on average.
    NeverQueued,
    /// Start of the first bin below `DRAINED_BELOW` after the bin of the longest queue.
    /// (After the peak, not after the last queued bin: a stray connection queued
    /// late in the run would otherwise move the drain long after the peak.)
    Drained(f64),
    /// The run ends with the queue this long on average over its last bin.
    StillQueued(f64),
}

impl Landmarks {
    fn find(
        bins: &Bins,
        arrivals: &[Option<Value>],
        refusals: &[Option<Value>],
        queue: &[Option<Value>],
    ) -> Landmarks {
        let onset = (0..bins.starts.len())
            .find(|&i| match (arrivals[i], refusals[i]) {
                (Some(a), Some(r)) => r.mean > REFUSAL_ONSET * a.mean,
                _ => false,
            })
            .map(|i| bins.starts[i]);
        let length = |i: usize| queue[i].map(|q| q.mean);
        let peak = (0..queue.len())
            .filter(|&i| length(i).is_some_and(|q| q >= DRAINED_BELOW))
            .reduce(|a, b| if length(b) > length(a) { b } else { a });
        let drain = match peak {
            None => Drain::NeverQueued,
            Some(peak) => match (peak..queue.len())
                .find(|&i| length(i).is_some_and(|q| q < DRAINED_BELOW))
            {
                Some(i) => Drain::Drained(bins.starts[i]),
                None => Drain::StillQueued((0..queue.len()).rev().find_map(length).unwrap_or(0.0)),
            },
        };
        Landmarks { onset, drain }
    }

    fn caption(&self, end: f64) -> String {
        let share = fmt_number(REFUSAL_ONSET * 100.0, 3);
        let refusals = match self.onset {
            Some(t) => format!(
                "Refusals start at t = {} s (the first bin where refused + dropped > {share} % of arrivals)",
                fmt_number(t, 6)
            ),
            None => format!("No bin refuses more than {share} % of its arrivals"),
        };
        let queue = match self.drain {
            Drain::NeverQueued => {
                "the listen queue holds less than one connection on average in every bin"
                    .to_string()
            }
            Drain::Drained(t) => format!(
                "the queue is empty again from t = {} s (the first bin after its peak under one connection on average)",
                fmt_number(t, 6)
            ),
            Drain::StillQueued(length) => format!(
                "the queue still holds {} connections when the run ends at t = {} s",
                fmt_number(length, 3),
                fmt_number(end, 6)
            ),
        };
        format!("{refusals}; {queue}.")
    }

    fn drained(&self) -> Option<f64> {
        match self.drain {
            Drain::Drained(t) => Some(t),
            _ => None,
        }
    }
}

/// The time bins: rows in order of `t`, and the width every bin has.
struct Bins {
    rows: Vec<usize>,
    starts: Vec<f64>,
    width: f64,
}

/// A bin's value: a mean over the replications and its 95 % interval, if any.
#[derive(Clone, Copy)]
struct Value {
    mean: f64,
    low: Option<f64>,
    high: Option<f64>,
}

impl Bins {
    fn read(table: &Data) -> Result<Bins, ChartError> {
        let col = table.varied_column(TIME, "time")?;
        let mut bins = (0..table.rows.len())
            .map(|r| Ok((table.axis_number(r, col, "time")?, r)))
            .collect::<Result<Vec<(f64, usize)>, ChartError>>()?;
        bins.sort_by(|a, b| a.0.total_cmp(&b.0));
        let not_a_timeline = |reason: String| ChartError::NotResults {
            file: table.path.clone(),
            reason,
        };
        if bins.len() < 2 {
            return Err(not_a_timeline(
                "a timeline needs two time bins or more, to know their width, and it has one"
                    .to_string(),
            ));
        }
        if let Some(w) = bins.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(not_a_timeline(format!(
                "`t` = {} appears twice; a timeline has one row per time bin",
                table.text(w[0].1, col)
            )));
        }
        // The smallest step, so that a bin missing from the file does not widen the rest.
        let width = bins
            .windows(2)
            .map(|w| w[1].0 - w[0].0)
            .fold(f64::INFINITY, f64::min);
        Ok(Bins {
            rows: bins.iter().map(|b| b.1).collect(),
            starts: bins.iter().map(|b| b.0).collect(),
            width,
        })
    }

    fn end(&self) -> f64 {
        self.starts[self.starts.len() - 1] + self.width
    }

    /// Each bin's sum of `parts`; an interval's ends are summed too, which gives an
    /// interval at least as wide as the sum's own (never a falsely narrow one).
    fn values(&self, table: &Data, parts: &[&Metric]) -> Vec<Option<Value>> {
        self.rows
            .iter()
            .map(|&r| {
                let sum = |col: fn(&Metric) -> Option<usize>| {
                    parts
                        .iter()
                        .map(|m| col(m).and_then(|c| table.number(r, c)))
                        .sum::<Option<f64>>()
                };
                Some(Value {
                    mean: sum(|m| Some(m.value))?,
                    low: sum(|m| m.low),
                    high: sum(|m| m.high),
                })
            })
            .collect()
    }

    /// A step line: each bin's value times `scale`, held from its start to its end.
    fn steps(&self, values: &[Option<Value>], scale: f64, label: &str, color: RGBColor) -> Curve {
        let mut points = Vec::new();
        for (value, &start) in values.iter().zip(&self.starts) {
            if let Some(v) = value {
                for x in [start, start + self.width] {
                    points.push(Mark {
                        x,
                        value: v.mean * scale,
                        low: v.low.map(|l| l * scale),
                        high: v.high.map(|h| h * scale),
                    });
                }
            }
        }
        Curve {
            label: label.to_string(),
            color,
            points,
            dodge: 0,
        }
    }

    /// Bins where any of `series` has no value.
    fn missing(&self, series: &[&Vec<Option<Value>>]) -> usize {
        (0..self.rows.len())
            .filter(|&i| series.iter().any(|s| s[i].is_none()))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::checks::{assert_unknown_column, draw_csv};
    use crate::plot::testing::{assert_chart, assert_no_png, table, text, write_named};

    const HEADER: &str = "t,offered,offered_ci_low,offered_ci_high,served,served_ci_low,served_ci_high,refused,refused_ci_low,refused_ci_high,dropped,dropped_ci_low,dropped_ci_high,timed_out,timed_out_ci_low,timed_out_ci_high,queue_length_mean,processes_mean";

    /// A peak of `peak` connections a second from t = 30 s to 60 s over a base of
    /// 5, served at up to 10 a second behind a queue of `backlog`: a fluid model,
    /// with intervals of ±10 % when `intervals`.
    fn peak(peak: f64, backlog: f64, intervals: bool) -> Vec<String> {
        let mut queue: f64 = 0.0;
        let mut rows = Vec::new();
        for t in 0..120 {
            let offered = if (30..60).contains(&t) { peak } else { 5.0 };
            let waiting = queue + offered;
            let served = waiting.min(10.0);
            let over = (waiting - served - backlog).max(0.0);
            let (refused, dropped) = (over * 0.8, over * 0.2);
            let timed_out = if queue > backlog * 0.8 { 2.0 } else { 0.0 };
            let after = waiting - served - over;
            let mean_queue = (queue + after) / 2.0;
            queue = after;
            let ci = |v: f64| {
                if intervals {
                    format!("{v},{},{}", v * 0.9, v * 1.1)
                } else {
                    format!("{v},,")
                }
            };
            rows.push(format!(
                "{t},{},{},{},{},{},{mean_queue},{}",
                ci(offered),
                ci(served),
                ci(refused),
                ci(dropped),
                ci(timed_out),
                served / 2.5
            ));
        }
        rows
    }

    /// `timeline_chart` of a file of `header` and `rows`, drawn into `name`.
    fn draw(
        header: &str,
        rows: &[impl AsRef<str>],
        name: &str,
    ) -> (tempfile::TempDir, anyhow::Result<std::path::PathBuf>) {
        draw_csv("timeline.csv", header, rows, name, |table, out| {
            timeline_chart(table, out, &text())
        })
    }

    #[test]
    fn timeline_of_a_peak_with_intervals_and_a_long_queue_draws_three_panels() {
        let (_dir, drawn) = draw(HEADER, &peak(40.0, 128.0, true), "timeline-peak.png");
        assert_chart(&drawn.unwrap());
    }

    #[test]
    fn timeline_of_one_replication_with_a_short_queue_draws_queue_and_processes_together() {
        let rows = peak(12.0, 40.0, false);
        let (_dir, drawn) = draw(HEADER, &rows, "timeline-short-queue.png");
        assert_chart(&drawn.unwrap());
    }

    #[test]
    fn timeline_of_a_long_noisy_run_draws_a_full_size_chart() {
        // A fixed pseudo-random sequence: noise like a few replications' means.
        let mut state: u64 = 7;
        let mut noise = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as f64 / (1u64 << 31) as f64
        };
        let mut queue: f64 = 0.0;
        let mut rows = Vec::new();
        for bin in 0..600 {
            let t = bin as f64 * 0.5;
            let rate = if (100.0..160.0).contains(&t) {
                30.0
            } else {
                8.0
            };
            let offered = (rate * 0.5 * (0.6 + 0.8 * noise())).round();
            let served = (queue + offered).min(5.0 + noise());
            let over = (queue + offered - served - 64.0).max(0.0);
            let after = queue + offered - served - over;
            let mean_queue = (queue + after) / 2.0;
            queue = after;
            let band = |v: f64| format!("{v},{},{}", v * 0.8, v * 1.2);
            rows.push(format!(
                "{t},{},{},{},0,0,0,0,0,0,{mean_queue},{}",
                band(offered),
                band(served),
                band(over),
                (served / 5.0 * 6.0).min(6.0)
            ));
        }
        let (_dir, drawn) = draw(HEADER, &rows, "timeline-long.png");
        assert_chart(&drawn.unwrap());
    }

    /// The landmarks of a timeline written as `t,offered,refused,dropped,queue`.
    fn landmarks(rows: &[&str]) -> (Landmarks, f64) {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<String> = rows.iter().map(|r| format!("{r},1")).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let csv = write_named(
            dir.path(),
            "timeline.csv",
            "t,offered,refused,dropped,queue_length_mean,processes_mean",
            &rows,
        );
        let data = Data::new(&table(&csv)).unwrap();
        let bins = Bins::read(&data).unwrap();
        let metric = |name| data.metric(name).unwrap();
        let found = Landmarks::find(
            &bins,
            &bins.values(&data, &[&metric("offered")]),
            &bins.values(&data, &[&metric("refused"), &metric("dropped")]),
            &bins.values(&data, &[&metric("queue_length_mean")]),
        );
        (found, bins.end())
    }

    #[test]
    fn refusals_start_in_the_first_bin_above_one_percent_and_the_queue_drains_after_its_peak_not_after_a_later_blip(
    ) {
        let (found, end) = landmarks(&[
            "0,100,0,0,0",
            "0.5,100,1,0,3",
            "1,100,0,2,8",
            "1.5,100,5,5,2",
            "2,100,0,0,0.2",
            "2.5,100,0,0,0",
            "3,100,0,0,2",
            "3.5,100,0,0,0",
        ]);
        assert_eq!(
            found,
            Landmarks {
                onset: Some(1.0),
                drain: Drain::Drained(2.0),
            }
        );
        assert_eq!(
            found.caption(end),
            "Refusals start at t = 1 s (the first bin where refused + dropped > 1 % of arrivals); the queue is empty again from t = 2 s (the first bin after its peak under one connection on average)."
        );
    }

    #[test]
    fn a_queue_still_full_at_the_end_is_said_so() {
        let (found, end) = landmarks(&["0,10,0,0,0", "10,10,0,0,4"]);
        assert_eq!(found.drain, Drain::StillQueued(4.0));
        assert!(
            found
                .caption(end)
                .ends_with("the queue still holds 4 connections when the run ends at t = 20 s."),
            "{}",
            found.caption(end)
        );
    }

    #[test]
    fn a_timeline_without_queue_length_names_the_column_and_the_file_and_leaves_no_png() {
        let (dir, drawn) = draw(
            "t,offered,refused,dropped,processes_mean",
            &["0,10,0,0,1", "1,10,0,0,1"],
            "timeline.png",
        );
        let err = drawn.unwrap_err();
        assert_unknown_column(&err, "queue_length_mean", "timeline.csv", dir.path());
    }

    #[test]
    fn a_timeline_of_one_bin_is_refused_for_want_of_a_bin_width() {
        let (dir, drawn) = draw(
            "t,offered,refused,dropped,queue_length_mean,processes_mean",
            &["0,10,0,0,0,1"],
            "timeline.png",
        );
        let err = drawn.unwrap_err();
        assert!(format!("{err:#}").contains("two time bins"), "{err:#}");
        assert!(err.downcast_ref::<ChartError>().is_some());
        assert_no_png(dir.path());
    }
}
