//! The demo's summary chart: wall time per commitment mode, one bar per tier within each
//! mode, so both claims (commitment beside execution, compiled contracts) show in one picture.
//! Horizontal bars, so the modes' long names read as they are.

use plotters::{coord::Shift, prelude::*, style::RGBColor};

use super::{PictureError, font, palette, text_from_left};

/// One bar: a mode's wall time on one tier.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryBar {
    /// The commitment mode (its configuration as the demo table prints it).
    pub mode: String,
    /// Where contract code ran: `interpret`, `compile`, ...
    pub tier: String,
    pub wall_ms: f64,
}

const WIDTH: u32 = 1200;
/// Pixels per mode: its name above, its bars below.
const MODE_PX: u32 = 44;
const BAR_PX: u32 = 30;

/// Tiers in order of first appearance take these colours in turn.
const TIER_COLORS: [RGBColor; 4] = [
    palette::SKY,
    palette::VERMILLION,
    palette::GREEN,
    palette::ORANGE,
];

/// The colour of the `index`-th tier's bars (in order of first appearance in the input).
pub fn tier_color(index: usize) -> RGBColor {
    TIER_COLORS[index % TIER_COLORS.len()]
}

/// The chart of `bars` as an SVG document.
pub fn summary_svg(bars: &[SummaryBar]) -> Result<String, PictureError> {
    let modes = first_seen(bars.iter().map(|b| b.mode.as_str()));
    let tiers = first_seen(bars.iter().map(|b| b.tier.as_str()));
    if bars.is_empty() {
        return Err(PictureError::NoBars);
    }
    let max_ms = bars.iter().map(|b| b.wall_ms).fold(0.0, f64::max).max(1.0);
    let mode_px = MODE_PX + BAR_PX * tiers.len() as u32;
    let height = 130 + mode_px * modes.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root, bars, &modes, &tiers, max_ms)?;
        root.present()?;
    }
    Ok(svg)
}

/// Distinct values in order of first appearance.
fn first_seen<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for value in values {
        if !seen.contains(&value) {
            seen.push(value);
        }
    }
    seen
}

/// Mode `m` spans y in [m, m + 1) counted from the top: its name in the first part, then one
/// bar per tier.
fn draw(
    root: &DrawingArea<SVGBackend, Shift>,
    bars: &[SummaryBar],
    modes: &[&str],
    tiers: &[&str],
    max_ms: f64,
) -> Result<(), PictureError> {
    let rows = modes.len() as f64;
    let mut chart = ChartBuilder::on(root)
        .caption("Wall time per commitment mode and tier", font(24))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(60)
        .build_cartesian_2d(0.0..max_ms * 1.2, 0.0..rows)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .x_desc("wall time (ms)")
        .x_label_formatter(&|ms| format!("{ms:.0}"))
        .label_style(font(18))
        .axis_desc_style(font(18))
        .light_line_style(WHITE)
        .bold_line_style(palette::GREY)
        .draw()?;

    let slots = f64::from(MODE_PX + BAR_PX * tiers.len() as u32);
    let label_part = f64::from(MODE_PX) / slots;
    let bar_part = f64::from(BAR_PX) / slots;
    // Top of mode m's band, in chart units (y grows upwards).
    let top = |m: usize| rows - m as f64;
    let name = text_from_left(19);
    chart.draw_series(modes.iter().enumerate().map(|(m, mode)| {
        Text::new(
            (*mode).to_string(),
            (max_ms * 0.005, top(m) - label_part * 0.55),
            name.clone(),
        )
    }))?;
    let value = text_from_left(18);
    for (t, tier) in tiers.iter().enumerate() {
        let color = tier_color(t);
        // Each bar's band: below its mode's name, the tier's slot.
        let band = |bar: &SummaryBar| {
            let m = modes.iter().position(|&x| x == bar.mode).unwrap_or(0);
            let upper = top(m) - label_part - bar_part * t as f64;
            (upper - bar_part * 0.8, upper)
        };
        let of_tier = || bars.iter().filter(|b| b.tier == *tier);
        chart
            .draw_series(of_tier().map(|bar| {
                let (lower, upper) = band(bar);
                Rectangle::new([(0.0, lower), (bar.wall_ms, upper)], color.filled())
            }))?
            .label(*tier)
            .legend(move |(x, y)| Rectangle::new([(x, y - 7), (x + 18, y + 7)], color.filled()));
        chart.draw_series(of_tier().map(|bar| {
            let (lower, upper) = band(bar);
            let at = (bar.wall_ms + max_ms * 0.01, (upper + lower) / 2.0);
            Text::new(format!("{:.1} ms", bar.wall_ms), at, value.clone())
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(font(18))
        .background_style(WHITE)
        .border_style(palette::GREY)
        .draw()?;
    Ok(())
}
