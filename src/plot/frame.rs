//! What every chart shares around its data: the title and subtitle above, the
//! legend panel on the right, the caption lines below, and the plotting area with
//! its axes, ticks and grid. Keeping the legend in a panel of its own means it
//! never covers a curve.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{Scale, Ticked};
use super::style::{self, text_style, text_width};
use super::ChartText;

pub(crate) type Area<'p> = DrawingArea<BitMapBackend<'p>, Shift>;
pub(crate) type Coords = Cartesian2d<Ticked, Ticked>;
pub(crate) type Chart<'a, 'p> = ChartContext<'a, BitMapBackend<'p>, Coords>;

/// Room kept free around the plotting area and inside the legend panel.
const MARGIN: i32 = 16;
/// Gap between tick labels and the axis title.
const AXIS_TITLE_GAP: u32 = 44;
const SWATCH_WIDTH: i32 = 44;

/// Draws the title, subtitle and captions; returns the plotting and legend areas.
pub(crate) fn panels<'p>(
    root: &Area<'p>,
    text: &ChartText,
    captions: &[String],
) -> anyhow::Result<(Area<'p>, Area<'p>)> {
    let (width, height) = root.dim_in_pixel();
    let centre = (width / 2) as i32;
    let top = Pos::new(HPos::Center, VPos::Top);
    let title = fit(&text.title, style::TITLE_SIZE, width - 40);
    root.draw(&Text::new(
        title.0,
        (centre, 14),
        text_style(title.1, style::TEXT).pos(top),
    ))?;
    let subtitle = fit(&text.subtitle, style::SUBTITLE_SIZE, width - 40);
    root.draw(&Text::new(
        subtitle.0,
        (centre, 58),
        text_style(subtitle.1, style::MUTED).pos(top),
    ))?;

    let lines: Vec<String> = captions
        .iter()
        .flat_map(|c| wrap(c, style::CAPTION_SIZE, width - 2 * MARGIN as u32))
        .collect();
    let footer = if lines.is_empty() {
        0
    } else {
        lines.len() as u32 * style::CAPTION_LINE + 14
    };
    let body_bottom = height - footer;
    for (i, line) in lines.iter().enumerate() {
        let y = (body_bottom + 4 + i as u32 * style::CAPTION_LINE) as i32;
        root.draw(&Text::new(
            line.clone(),
            (MARGIN, y),
            text_style(style::CAPTION_SIZE, style::MUTED),
        ))?;
    }
    let body = root.margin(style::HEADER_HEIGHT, footer, 0, 0);
    let (plot, legend) = body.split_horizontally(width - style::LEGEND_WIDTH);
    Ok((plot, legend))
}

/// A plotting area with both axes, their titles, ticks and grid drawn.
pub(crate) fn chart<'a, 'p>(
    area: &'a Area<'p>,
    x: &Scale,
    y: &Scale,
    x_title: &str,
    y_title: &str,
    grid: bool,
) -> anyhow::Result<Chart<'a, 'p>> {
    let widest = y
        .labels()
        .iter()
        .map(|l| text_width(l, style::TICK_SIZE))
        .max()
        .unwrap_or(0);
    let mut chart = ChartBuilder::on(area)
        .margin(MARGIN)
        .margin_right(MARGIN * 2)
        .x_label_area_size(style::TICK_SIZE as u32 + AXIS_TITLE_GAP)
        .y_label_area_size(widest + AXIS_TITLE_GAP)
        .build_cartesian_2d(x.spec(), y.spec())?;
    let x_label = |v: &f64| x.label(*v);
    let y_label = |v: &f64| y.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_title)
        .y_desc(y_title)
        .axis_desc_style(text_style(style::AXIS_TITLE_SIZE, style::TEXT))
        .label_style(text_style(style::TICK_SIZE, style::TEXT))
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .axis_style(style::AXIS)
        .bold_line_style(style::GRID_BOLD)
        .light_line_style(style::GRID_LIGHT);
    if !grid {
        mesh.disable_mesh();
    }
    mesh.draw()?;
    Ok(chart)
}

/// Shades the floor row of a log y axis, so zeros read as set apart from the scale.
pub(crate) fn zero_strip(chart: &mut Chart<'_, '_>, x: &Scale, y: &Scale) -> anyhow::Result<()> {
    if let Some(strip) = y.floor_strip() {
        let (x0, x1) = (x.range().start, x.range().end);
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x0, strip.start), (x1, strip.end)],
            style::ZERO_STRIP.filled(),
        )))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x0, strip.end), (x1, strip.end)],
            style::GRID_BOLD.stroke_width(1),
        )))?;
    }
    Ok(())
}

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
pub(crate) enum Swatch {
    /// A solid line with a marker, over a translucent band.
    LineBand(RGBColor),
    Line(RGBColor),
    Dashed(RGBColor),
    Band(RGBColor),
    Hollow(RGBColor),
    /// A marker with an error bar through it.
    ErrorBar(RGBColor),
    Cell(RGBColor),
    /// An upper limit: a bar with an arrow pointing down from it.
    Bound(RGBColor),
}

/// A legend section: an optional heading and its entries.
type LegendSection = (Option<String>, Vec<(Swatch, String)>);

#[derive(Default)]
pub(crate) struct Legend {
    sections: Vec<LegendSection>,
}

impl Legend {
    pub fn section(&mut self, heading: Option<&str>) -> &mut Self {
        self.sections
            .push((heading.map(str::to_string), Vec::new()));
        self
    }

    pub fn entry(&mut self, swatch: Swatch, label: impl Into<String>) -> &mut Self {
        if self.sections.is_empty() {
            self.section(None);
        }
        if let Some((_, entries)) = self.sections.last_mut() {
            entries.push((swatch, label.into()));
        }
        self
    }

    /// Draws the sections from `top`; entries that do not fit are summed up in
    /// one line rather than drawn off the image.
    pub fn draw(&self, area: &Area<'_>, top: i32) -> anyhow::Result<i32> {
        let (width, height) = area.dim_in_pixel();
        let text_x = MARGIN + SWATCH_WIDTH + 10;
        let text_room = width.saturating_sub(text_x as u32 + MARGIN as u32);
        let bottom = height as i32 - MARGIN - style::LEGEND_ROW;
        let mut y = top;
        for (heading, entries) in &self.sections {
            if let Some(heading) = heading {
                for line in wrap(
                    heading,
                    style::LEGEND_HEADING_SIZE,
                    width - 2 * MARGIN as u32,
                ) {
                    area.draw(&Text::new(
                        line,
                        (MARGIN, y),
                        text_style(style::LEGEND_HEADING_SIZE, style::TEXT),
                    ))?;
                    y += style::LEGEND_ROW;
                }
            }
            for (i, (swatch, label)) in entries.iter().enumerate() {
                let lines = wrap(label, style::LEGEND_SIZE, text_room);
                if y + style::LEGEND_ROW * lines.len() as i32 > bottom {
                    let rest = format!("... and {} more", entries.len() - i);
                    area.draw(&Text::new(
                        rest,
                        (text_x, y),
                        text_style(style::LEGEND_SIZE, style::MUTED),
                    ))?;
                    return Ok(y + style::LEGEND_ROW);
                }
                draw_swatch(area, *swatch, (MARGIN, y + 10))?;
                for line in lines {
                    area.draw(&Text::new(
                        line,
                        (text_x, y),
                        text_style(style::LEGEND_SIZE, style::TEXT),
                    ))?;
                    y += style::LEGEND_ROW;
                }
            }
            y += style::LEGEND_ROW / 2;
        }
        Ok(y)
    }
}

fn draw_swatch(area: &Area<'_>, swatch: Swatch, (x, y): (i32, i32)) -> anyhow::Result<()> {
    let (x1, mid) = (x + SWATCH_WIDTH, x + SWATCH_WIDTH / 2);
    let line =
        |c: RGBColor| PathElement::new(vec![(x, y), (x1, y)], c.stroke_width(style::LINE_WIDTH));
    let band = |c: RGBColor| {
        Rectangle::new(
            [(x, y - 8), (x1, y + 8)],
            c.mix(style::BAND_OPACITY).filled(),
        )
    };
    match swatch {
        Swatch::LineBand(c) => {
            area.draw(&band(c))?;
            area.draw(&line(c))?;
            area.draw(&Circle::new((mid, y), style::MARKER_RADIUS, c.filled()))?;
        }
        Swatch::Line(c) => area.draw(&line(c))?,
        Swatch::Dashed(c) => {
            for start in (x..x1).step_by(12) {
                let end = (start + 7).min(x1);
                area.draw(&PathElement::new(
                    vec![(start, y), (end, y)],
                    c.stroke_width(2),
                ))?;
            }
        }
        Swatch::Band(c) => area.draw(&band(c))?,
        Swatch::Hollow(c) => area.draw(&Circle::new(
            (mid, y),
            style::MARKER_RADIUS + 1,
            c.stroke_width(2),
        ))?,
        Swatch::ErrorBar(c) => {
            area.draw(&PathElement::new(
                vec![(mid, y - 10), (mid, y + 10)],
                c.stroke_width(2),
            ))?;
            for cap in [y - 10, y + 10] {
                area.draw(&PathElement::new(
                    vec![(mid - 5, cap), (mid + 5, cap)],
                    c.stroke_width(2),
                ))?;
            }
            area.draw(&square((mid, y), c))?;
        }
        Swatch::Bound(c) => {
            for e in upper_limit((mid, y - 5), c) {
                area.draw(&e)?;
            }
        }
        Swatch::Cell(c) => {
            area.draw(&Rectangle::new(
                [(x + 8, y - 10), (x1 - 8, y + 10)],
                c.filled(),
            ))?;
            area.draw(&Rectangle::new(
                [(x + 8, y - 10), (x1 - 8, y + 10)],
                style::MUTED.stroke_width(1),
            ))?;
        }
    }
    Ok(())
}

/// An upper limit at `top` (pixels): a short bar and a small arrow head below it,
/// pointing down to where the value lies.
pub(crate) fn upper_limit(top: (i32, i32), color: RGBColor) -> [Polygon<(i32, i32)>; 2] {
    let (x, y) = top;
    [
        Polygon::new(
            vec![
                (x - 7, y - 1),
                (x + 7, y - 1),
                (x + 7, y + 1),
                (x - 7, y + 1),
            ],
            color.filled(),
        ),
        Polygon::new(
            vec![(x - 4, y + 3), (x + 4, y + 3), (x, y + 10)],
            color.filled(),
        ),
    ]
}

/// The marker of a measured point: a filled square, set apart from the round
/// markers of predicted curves.
pub(crate) fn square(centre: (i32, i32), color: RGBColor) -> Rectangle<(i32, i32)> {
    let r = style::MARKER_RADIUS;
    Rectangle::new(
        [(centre.0 - r, centre.1 - r), (centre.0 + r, centre.1 + r)],
        color.filled(),
    )
}

/// Splits `text` into lines no wider than `width` pixels, at spaces.
pub(crate) fn wrap(text: &str, size: f64, width: u32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, size) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// `text` at `size`, or smaller, or cut short, so that it fits in `width` pixels.
fn fit(text: &str, size: f64, width: u32) -> (String, f64) {
    let mut s = size;
    while s > size * 0.7 && text_width(text, s) > width {
        s -= 1.0;
    }
    if text_width(text, s) <= width {
        return (text.to_string(), s);
    }
    let mut chars: Vec<char> = text.chars().collect();
    while chars.len() > 1 {
        chars.pop();
        let t = format!("{}...", chars.iter().collect::<String>().trim_end());
        if text_width(&t, s) <= width {
            return (t, s);
        }
    }
    (text.to_string(), s)
}

/// The font of a text drawn in a plotting area, for the few labels charts place
/// themselves (a target line's label, a heat map cell's value).
pub(crate) fn label_style(size: f64, color: RGBColor, pos: Pos) -> TextStyle<'static> {
    text_style(size, color).pos(pos)
}
