//! Charts of a sweep's `results.csv` and of `eagain validate`'s CSV, drawn as PNG
//! with the DejaVu Sans font shipped in this directory, so they render the same on
//! a machine without system fonts. One file per chart kind (`capacity`,
//! `latency`, `heatmap`, `validation`, `timeline`, `chain`); `data` reads the CSV, `axis` owns scales
//! and the zero row of log axes, `curve` the lines and bands two charts share,
//! `frame` the title, legend and caption, `style` every size, colour and font.
//!
//! Errors a user can fix by changing the command line (an unknown column, a
//! non-numeric x axis, a file that is not results) are [`ChartError`]s inside the
//! `anyhow::Error`: `err.downcast_ref::<ChartError>()` finds them through any
//! context, for exit code 2.

mod axis;
mod capacity;
mod chain;
#[cfg(test)]
mod checks;
mod curve;
mod data;
mod frame;
mod heatmap;
mod latency;
mod style;
mod text;
mod timeline;
mod validation;

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use plotters::prelude::*;

pub use capacity::capacity_curve;
pub use chain::where_refused;
pub use data::default_axes;
pub use heatmap::heatmap;
pub use latency::latency_chart;
pub use style::fmt_number;
pub use timeline::timeline_chart;
pub use validation::validation_overlay;

/// The words above a chart: the model's name, and the parameters held fixed
/// (e.g. `process_limit=1, backlog=2048, somaxconn=128`).
#[derive(Debug, Clone, Default)]
pub struct ChartText {
    pub title: String,
    pub subtitle: String,
    /// A chain's first service, whose queue and processes a timeline shows ("" for a
    /// single service).
    pub front: String,
}

/// A chart request the input cannot satisfy: bad usage, not a failure to draw.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("{}: no {role} column `{name}`; available: {available}", .file.display())]
    UnknownColumn {
        file: PathBuf,
        role: &'static str,
        name: String,
        available: String,
    },
    #[error(
        "{}: the {axis} axis must be numeric, but column `{column}` has the value `{value}`; numeric varied paths: {numeric}",
        .file.display()
    )]
    NotNumeric {
        file: PathBuf,
        axis: &'static str,
        column: String,
        value: String,
        numeric: String,
    },
    #[error("a heat map needs two different varied paths for x and y, but both are `{path}`")]
    SameAxes { path: String },
    #[error("{} is not a results file: {reason}", .file.display())]
    NotResults { file: PathBuf, reason: String },
}

/// Draws a chart into `out` through a temporary file in the same directory,
/// renamed into place only once complete: a failed chart leaves no PNG behind.
fn render(
    out: &Path,
    draw: impl FnOnce(&frame::Area<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    style::register_shipped_font()?;
    let tmp = temporary_path(out);
    let drawn = draw_into(&tmp, out, draw);
    let placed = drawn.and_then(|()| {
        fs::rename(&tmp, out).with_context(|| {
            format!(
                "cannot move the finished chart {} to {}",
                tmp.display(),
                out.display()
            )
        })
    });
    if placed.is_err() {
        // The backend writes whatever it holds when dropped, even after an error.
        let _ = fs::remove_file(&tmp);
    }
    placed
}

fn draw_into(
    tmp: &Path,
    out: &Path,
    draw: impl FnOnce(&frame::Area<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let root = BitMapBackend::new(tmp, (style::WIDTH, style::HEIGHT)).into_drawing_area();
    root.fill(&style::BACKGROUND)?;
    draw(&root).with_context(|| format!("cannot draw the chart {}", out.display()))?;
    root.present().with_context(|| {
        format!(
            "cannot write the chart {} (as {})",
            out.display(),
            tmp.display()
        )
    })?;
    Ok(())
}

/// A hidden name next to `out`, ending in `.png` because the encoder picks the
/// format from the extension.
fn temporary_path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = format!(".{name}.{}.tmp.png", std::process::id());
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join(tmp),
        _ => PathBuf::from(tmp),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for the chart tests: CSVs written by hand, PNGs decoded and checked.

    use std::collections::HashSet;
    use std::path::{Path, PathBuf};

    use super::ChartText;

    /// A CSV file read as the charts take it.
    pub fn table(path: &Path) -> crate::output::Table {
        crate::output::Table::read(path).unwrap()
    }

    pub fn write_csv(dir: &Path, header: &str, rows: &[&str]) -> PathBuf {
        write_named(dir, "results.csv", header, rows)
    }

    pub fn write_named(dir: &Path, name: &str, header: &str, rows: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let mut text = format!("{header}\n");
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn text() -> ChartText {
        ChartText {
            title: "nginx-gunicorn".to_string(),
            subtitle: "backlog=2048, somaxconn=128, blocking=2 s".to_string(),
            front: String::new(),
        }
    }

    /// Decodes the PNG and checks it is a chart-sized image with more than a
    /// handful of colours (so neither blank nor a flat fill). Set
    /// `EAGAIN_KEEP_CHARTS=DIR` to keep a copy of every chart a test draws.
    pub fn assert_chart(path: &Path) {
        if let Some(dir) = std::env::var_os("EAGAIN_KEEP_CHARTS") {
            let name = path.file_name().unwrap();
            std::fs::copy(path, Path::new(&dir).join(name)).unwrap();
        }
        let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buffer).unwrap();
        assert!(
            frame.width >= 1200 && frame.height >= 800,
            "{}x{}",
            frame.width,
            frame.height
        );
        let channels = frame.color_type.samples();
        let colours: HashSet<&[u8]> = buffer[..frame.buffer_size()].chunks(channels).collect();
        assert!(
            colours.len() > 20,
            "only {} distinct colours",
            colours.len()
        );
    }

    /// No PNG and no temporary file left in `dir` besides the inputs.
    pub fn assert_no_png(dir: &Path) {
        let pngs: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".png"))
            .collect();
        assert!(pngs.is_empty(), "left behind: {pngs:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_file_is_hidden_next_to_the_chart_and_ends_in_png() {
        let tmp = temporary_path(Path::new("out/capacity.png"));
        assert_eq!(tmp.parent(), Some(Path::new("out")));
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(".capacity.png.") && name.ends_with(".tmp.png"),
            "{name}"
        );
    }

    #[test]
    fn a_chart_error_is_found_through_added_context() {
        let err = anyhow::Error::new(ChartError::NotResults {
            file: "x.csv".into(),
            reason: "r".into(),
        })
        .context("while plotting");
        assert!(err.downcast_ref::<ChartError>().is_some());
    }
}
