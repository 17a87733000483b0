//! Every size, colour and font the charts use, named once, and the words that
//! turn a model path or metric column into an axis title a person can read.

use std::sync::OnceLock;

use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, Color, FontDesc, FontStyle, RGBColor, TextStyle};

/// Image size in pixels.
pub const WIDTH: u32 = 1400;
pub const HEIGHT: u32 = 900;

/// The family name the shipped font is registered under: plotters asks for it
/// when no font is named, so every text element resolves to DejaVu Sans.
pub const FONT: &str = "sans-serif";

pub const TITLE_SIZE: f64 = 32.0;
pub const SUBTITLE_SIZE: f64 = 20.0;
pub const AXIS_TITLE_SIZE: f64 = 20.0;
pub const TICK_SIZE: f64 = 17.0;
pub const LEGEND_SIZE: f64 = 17.0;
pub const LEGEND_HEADING_SIZE: f64 = 18.0;
pub const CAPTION_SIZE: f64 = 16.0;
pub const CELL_SIZE: f64 = 15.0;
pub const ANNOTATION_SIZE: f64 = 16.0;

/// Heights of the band above the chart (title, subtitle) and of one caption line.
pub const HEADER_HEIGHT: u32 = 96;
pub const CAPTION_LINE: u32 = 24;
/// Width of the legend panel on the right of every chart.
pub const LEGEND_WIDTH: u32 = 300;
pub const LEGEND_ROW: i32 = 26;

pub const LINE_WIDTH: u32 = 3;
pub const MARKER_RADIUS: i32 = 5;
/// Opacity of a confidence band's fill.
pub const BAND_OPACITY: f64 = 0.18;

pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub const TEXT: RGBColor = RGBColor(34, 34, 34);
pub const MUTED: RGBColor = RGBColor(100, 100, 100);
pub const AXIS: RGBColor = RGBColor(80, 80, 80);
pub const GRID_BOLD: RGBColor = RGBColor(215, 215, 215);
pub const GRID_LIGHT: RGBColor = RGBColor(238, 238, 238);
/// Background of the row where zeros sit on a log axis, set apart from the scale.
pub const ZERO_STRIP: RGBColor = RGBColor(243, 243, 243);
pub const TARGET: RGBColor = RGBColor(0, 0, 0);
/// Heat map cells: an exact zero, and a grid point with no result.
pub const HEAT_ZERO: RGBColor = RGBColor(228, 231, 235);
pub const HEAT_MISSING: RGBColor = RGBColor(255, 255, 255);

/// Series colours (Okabe and Ito's palette without its yellow, which vanishes on
/// white): distinguishable by people with the common colour-vision deficiencies.
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(60, 60, 60),
];

/// Timeline series: arrivals, refusals in the warning colour, time-outs, the
/// listen queue and the processes.
pub const ARRIVALS: RGBColor = PALETTE[0];
pub const REFUSALS: RGBColor = PALETTE[1];
pub const TIMED_OUT: RGBColor = PALETTE[3];
pub const QUEUE: RGBColor = PALETTE[2];
pub const PROCESSES: RGBColor = PALETTE[6];
/// The total drawn over stacked shares (the refusal probability over where it happened).
pub const TOTAL: RGBColor = RGBColor(0, 0, 0);
/// Opacity of stacked areas and bars: grid lines show faintly through them.
pub const STACK_OPACITY: f64 = 0.85;
/// Share of a category's width a bar takes.
pub const BAR_SHARE: f64 = 0.6;
/// Half the width, in pixels, of the cap at each end of an interval's whisker.
pub const WHISKER_CAP: i32 = 6;
/// Width of whiskers and of the dashed lines that mark a moment on a time axis.
pub const THIN_LINE: u32 = 2;
/// Dash and gap lengths, in pixels, of a line marking a moment.
pub const MARK_DASH: (u32, u32) = (10, 6);
/// Where the legend starts below the top of its panel.
pub const LEGEND_TOP: i32 = 20;
/// Heading above each panel of a chart split by a varied path, and its height.
pub const PANEL_HEADING_SIZE: f64 = 18.0;
pub const PANEL_HEADING_HEIGHT: u32 = 28;

/// Sequential scale for many series (viridis, stopped before its pale yellow end).
const SEQUENTIAL: [RGBColor; 5] = [
    RGBColor(68, 1, 84),
    RGBColor(59, 82, 139),
    RGBColor(33, 145, 140),
    RGBColor(94, 201, 98),
    RGBColor(200, 210, 40),
];

/// Heat map scale, low to high (ColorBrewer YlOrRd): more refusals look hotter.
const HEAT: [RGBColor; 8] = [
    RGBColor(255, 237, 160),
    RGBColor(254, 217, 118),
    RGBColor(254, 178, 76),
    RGBColor(253, 141, 60),
    RGBColor(252, 78, 42),
    RGBColor(227, 26, 28),
    RGBColor(189, 0, 38),
    RGBColor(128, 0, 38),
];

static FONT_REGISTERED: OnceLock<bool> = OnceLock::new();

/// Registers the shipped DejaVu Sans as the sans-serif family, once per process.
pub fn register_shipped_font() -> anyhow::Result<()> {
    let ok = *FONT_REGISTERED.get_or_init(|| {
        register_font(FONT, FontStyle::Normal, include_bytes!("DejaVuSans.ttf")).is_ok()
    });
    anyhow::ensure!(
        ok,
        "the shipped font src/plot/DejaVuSans.ttf is not a valid font"
    );
    Ok(())
}

pub fn font(size: f64) -> FontDesc<'static> {
    FontDesc::new(
        plotters::style::FontFamily::SansSerif,
        size,
        FontStyle::Normal,
    )
}

pub fn text_style(size: f64, color: RGBColor) -> TextStyle<'static> {
    // Built field by field: `TextStyle::color` would tie the style to a borrow.
    TextStyle {
        font: font(size),
        color: color.to_backend_color(),
        pos: Pos::new(HPos::Left, VPos::Top),
    }
}

/// Width in pixels of `text` drawn at `size`; an estimate good enough for layout.
pub fn text_width(text: &str, size: f64) -> u32 {
    font(size)
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| {
            // Fall back to an average glyph width rather than fail a chart over layout.
            (text.chars().count() as f64 * size * 0.6) as u32
        })
}

/// The colour of series `index` out of `count`.
pub fn series_color(index: usize, count: usize) -> RGBColor {
    if count <= PALETTE.len() {
        PALETTE[index % PALETTE.len()]
    } else {
        interpolate(&SEQUENTIAL, index as f64 / (count - 1) as f64)
    }
}

/// The heat map colour at `t` in [0, 1].
pub fn heat_color(t: f64) -> RGBColor {
    interpolate(&HEAT, t)
}

fn interpolate(stops: &[RGBColor], t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f64;
    let (a, b) = (stops[i], stops[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text colour that stays readable on `background`.
pub fn text_on(background: RGBColor) -> RGBColor {
    let luminance =
        0.299 * background.0 as f64 + 0.587 * background.1 as f64 + 0.114 * background.2 as f64;
    if luminance < 140.0 {
        BACKGROUND
    } else {
        TEXT
    }
}

/// The words for a model path, and its unit: the one table the charts' axis titles and
/// legends read, so that a legend says "process limit", not `pool.process_limit`.
const WORDS: &[(&str, &str, &str)] = &[
    ("load.rate", "arrival rate", "connections per second"),
    ("load.connections", "connections sent", "connections"),
    ("load.duration", "arrival window", "seconds"),
    ("load.timeout", "client timeout", "seconds"),
    ("load.connect_timeout", "connect timeout", "seconds"),
    ("load.retry_for", "retry window", "seconds"),
    ("load.on_refused", "client on refusal", ""),
    ("load.arrival", "arrivals", ""),
    ("pool.process_limit", "process limit", "processes"),
    (
        "pool.client_limit",
        "connections per process",
        "connections",
    ),
    (
        "pool.service_count",
        "connections per process life",
        "connections",
    ),
    (
        "pool.process_min_avail",
        "idle processes kept ready",
        "processes",
    ),
    ("pool.threads", "threads per process", "threads"),
    ("pool.start_servers", "processes at start", "processes"),
    ("pool.min_spare", "fewest idle processes", "processes"),
    ("pool.max_spare", "most idle processes", "processes"),
    (
        "pool.idle_kill",
        "idle time before a process ends",
        "seconds",
    ),
    ("listener.kind", "listening socket", ""),
    ("listener.backlog", "listen backlog", "connections"),
    (
        "listener.somaxconn",
        "kernel backlog cap (somaxconn)",
        "connections",
    ),
    ("master.mode", "fork mode", ""),
    ("master.tick", "maintenance tick", "seconds"),
    ("master.max_spawn_rate", "most forks a tick", "processes"),
    ("master.drop_timeout", "wait before dropping", "seconds"),
    ("work.blocking", "work per connection", "seconds"),
    ("sim.warmup", "warm-up", "seconds"),
];

/// A path's words and unit: a chain's `services.NAME.FIELD` as "NAME: words", a key
/// of a distribution (`work.blocking.mean`) as "words, mean"; None for a path the table
/// does not know.
fn words_of(path: &str) -> Option<(String, &'static str)> {
    if let Some((name, field)) = path
        .strip_prefix("services.")
        .and_then(|rest| rest.split_once('.'))
    {
        return words_of(field).map(|(w, unit)| (format!("{name}: {w}"), unit));
    }
    if let Some(&(_, words, unit)) = WORDS.iter().find(|(p, _, _)| *p == path) {
        return Some((words.to_string(), unit));
    }
    let (table, key) = path.rsplit_once('.')?;
    let &(_, words, unit) = WORDS.iter().find(|(p, _, _)| *p == table)?;
    Some((format!("{words}, {key}"), unit))
}

/// A path in words for a legend ("process limit"); the path itself when the table does
/// not know it.
pub fn path_words(path: &str) -> String {
    words_of(path).map_or_else(|| path.to_string(), |(w, _)| w)
}

/// A legend's heading for the series of the paths `title` joins with ", ".
pub fn series_title(title: &str) -> String {
    title
        .split(", ")
        .map(path_words)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Scale title for a model path: its words, the path (to --vary it again) and its unit.
pub fn path_label(path: &str) -> String {
    match words_of(path) {
        Some((words, "")) => format!("{words}, {path}"),
        Some((words, unit)) => format!("{words}, {path} ({unit})"),
        None => path.to_string(),
    }
}

/// A metric in words for a legend ("refusal probability", "latency p99").
pub fn metric_words(metric: &str) -> String {
    let metric = metric.strip_suffix("_mean").unwrap_or(metric);
    match metric.strip_prefix("latency_s_") {
        Some(stat) => format!("latency {stat} (seconds)"),
        None => metric.replace('_', " "),
    }
}

/// Scale title for a metric name (a base name such as `refusal_probability` or a
/// column such as `latency_s_p99`).
pub fn metric_label(metric: &str) -> String {
    let metric = metric.strip_suffix("_mean").unwrap_or(metric);
    if metric == "refusal_probability" {
        return "refusal probability: (refused + dropped) / offered".to_string();
    }
    if metric == "failure_probability" {
        return "failure probability: (offered - served) / offered".to_string();
    }
    if let Some(stat) = metric.strip_prefix("latency_s_") {
        return format!("latency {stat} of served connections (seconds)");
    }
    if let Some(stat) = metric.strip_prefix("queue_wait_s_") {
        return format!("time in the listen queue, {stat} (seconds)");
    }
    if let Some(stat) = metric.strip_prefix("queue_length_") {
        return format!("listen queue length, {stat} (connections)");
    }
    if let Some(stat) = metric.strip_prefix("processes_") {
        return format!("processes, {stat}");
    }
    match metric {
        "wasted_s" => "work for clients that had given up (seconds)".to_string(),
        "wall_s" => "wall time (seconds)".to_string(),
        "offered" | "served" | "refused" | "dropped" | "timed_out" => {
            format!("{metric} (connections, all replications)")
        }
        _ => metric.to_string(),
    }
}

/// What a zero of `metric` means, for the floor row of a log axis.
pub fn zero_label(metric: &str) -> String {
    let metric = metric.strip_suffix("_mean").unwrap_or(metric);
    match metric {
        "refusal_probability" | "refused" => "0 (none refused)".to_string(),
        "failure_probability" => "0 (none failed)".to_string(),
        _ => "0".to_string(),
    }
}

/// A number in at most `sig` significant digits: plain decimals from 0.001 to
/// 99999, `2.5e-4` style outside that, never a trailing zero.
pub fn fmt_number(v: f64, sig: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v == 0.0 {
            "0".to_string()
        } else {
            v.to_string()
        };
    }
    let sig = sig.max(1);
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (sig as i32 - 1 - a.log10().floor() as i32).max(0) as usize;
        trim_zeros(format!("{v:.decimals$}"))
    } else {
        let s = format!("{:.*e}", sig - 1, v);
        match s.split_once('e') {
            Some((mantissa, exponent)) => {
                format!("{}e{exponent}", trim_zeros(mantissa.to_string()))
            }
            None => s,
        }
    }
}

fn trim_zeros(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_decimals_near_one_and_e_notation_far_from_it() {
        assert_eq!(fmt_number(0.001, 3), "0.001");
        assert_eq!(fmt_number(10f64.powf(-3.0), 3), "0.001");
        assert_eq!(fmt_number(1e-4, 3), "1e-4");
        assert_eq!(fmt_number(2.5e-5, 2), "2.5e-5");
        assert_eq!(fmt_number(0.0123456, 2), "0.012");
        assert_eq!(fmt_number(1.0, 3), "1");
        assert_eq!(fmt_number(250.0, 3), "250");
        assert_eq!(fmt_number(0.0, 3), "0");
        assert_eq!(fmt_number(123456.0, 2), "1.2e5");
    }

    #[test]
    fn legends_and_axes_say_paths_in_words() {
        assert_eq!(path_words("pool.process_limit"), "process limit");
        assert_eq!(
            path_words("services.imap.pool.process_limit"),
            "imap: process limit"
        );
        assert_eq!(
            path_words("work.blocking.mean"),
            "work per connection, mean"
        );
        assert_eq!(path_words("no.such"), "no.such");
        assert_eq!(
            series_title("pool.process_limit, listener.kind"),
            "process limit, listening socket"
        );
        assert_eq!(
            path_label("load.rate"),
            "arrival rate, load.rate (connections per second)"
        );
        assert_eq!(
            path_label("pool.process_limit"),
            "process limit, pool.process_limit (processes)"
        );
        assert_eq!(metric_words("refusal_probability"), "refusal probability");
        assert_eq!(metric_words("latency_s_p99"), "latency p99 (seconds)");
    }

    #[test]
    fn colour_scales_run_from_their_first_stop_to_their_last() {
        assert_eq!(heat_color(0.0), HEAT[0]);
        assert_eq!(heat_color(1.0), HEAT[HEAT.len() - 1]);
        assert_eq!(series_color(0, 3), PALETTE[0]);
        assert_eq!(series_color(11, 12), SEQUENTIAL[SEQUENTIAL.len() - 1]);
    }
}
