//! The timeline: one panel per run (commitment mode and tier), one row per block, time in
//! milliseconds since the run started. A row's upper bar is the block's execution; below it the
//! folds (from the BAL, from the writes, or the shadow fold from the writes); a vertical tick
//! marks the verdict. A BAL fold that runs under the execution bar is the pipeline's claim
//! made visible: the root was ready before execution ended.
//!
//! Every panel shares one time axis, so the runs compare by eye.

use executor::submodule::Tier;
use plotters::{coord::Shift, prelude::*, style::RGBColor};

use super::{PictureError, font, palette, text_from_left};
use crate::{phases::Interval, report::BlockLine};

/// A phase of a block, as the timeline draws it: one mark per block that went through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Exec,
    BalFold,
    WritesFold,
    ShadowFold,
    Verdict,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Exec,
        Phase::BalFold,
        Phase::WritesFold,
        Phase::ShadowFold,
        Phase::Verdict,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Exec => "execution",
            Phase::BalFold => "fold from the BAL",
            Phase::WritesFold => "fold from the writes",
            Phase::ShadowFold => "shadow fold (writes)",
            Phase::Verdict => "verdict",
        }
    }

    /// The colour of its marks: a rect's fill, the verdict's stroke.
    pub fn color(self) -> RGBColor {
        match self {
            Phase::Exec => palette::BLUE,
            Phase::BalFold => palette::ORANGE,
            Phase::WritesFold => palette::GREEN,
            Phase::ShadowFold => palette::PINK,
            Phase::Verdict => palette::INK,
        }
    }

    /// When `line`'s block went through this phase (the verdict as an instant).
    pub fn interval(self, line: &BlockLine) -> Option<Interval> {
        let times = &line.times;
        match self {
            Phase::Exec => Some(times.exec),
            Phase::BalFold => times.bal_fold,
            Phase::WritesFold => times.writes_fold,
            Phase::ShadowFold => times.shadow_fold,
            Phase::Verdict => Some(Interval {
                start_ms: times.verdict_ms,
                end_ms: times.verdict_ms,
            }),
        }
    }
}

const WIDTH: u32 = 1200;
const LEGEND_HEIGHT: u32 = 48;
/// Pixels per block row, and the panel height bounds they are kept within.
const ROW_PX: u32 = 14;
const PANEL_PX: (u32, u32) = (220, 440);
/// A mark narrower than this many pixels would vanish: short phases are widened to it.
const MIN_MARK_PX: f64 = 4.0;

/// One run's block lines, in the order they were imported.
struct Panel<'a> {
    label: String,
    lines: Vec<&'a BlockLine>,
}

/// The timeline of `lines` (a replay's or demo's block lines) as an SVG document.
pub fn timeline_svg(lines: &[BlockLine]) -> Result<String, PictureError> {
    let panels = panels(lines);
    if panels.is_empty() {
        return Err(PictureError::NoBlocks);
    }
    let end_ms = lines
        .iter()
        .flat_map(|l| Phase::ALL.iter().filter_map(|p| p.interval(l)))
        .map(|i| i.end_ms)
        .fold(0.0, f64::max)
        .max(1.0);
    let panel_px = panel_height(panels.iter().map(|p| p.lines.len()).max().unwrap_or(1));
    let height = LEGEND_HEIGHT + panel_px * panels.len() as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let (legend, rest) = root.split_vertically(LEGEND_HEIGHT);
        draw_legend(&legend)?;
        for (panel, area) in panels.iter().zip(rest.split_evenly((panels.len(), 1))) {
            draw_panel(&area, panel, end_ms)?;
        }
        root.present()?;
    }
    Ok(svg)
}

/// The lines grouped by run (commitment configuration and tier), in order of first
/// appearance: a demo's runs each have a clock of their own, and must not share a panel.
fn panels(lines: &[BlockLine]) -> Vec<Panel<'_>> {
    let mut panels: Vec<((commitment::Config, Tier), Panel)> = Vec::new();
    for line in lines {
        let run = (line.commitment, line.tier);
        match panels.iter_mut().find(|(r, _)| *r == run) {
            Some((_, panel)) => panel.lines.push(line),
            None => panels.push((
                run,
                Panel {
                    label: panel_label(line),
                    lines: vec![line],
                },
            )),
        }
    }
    panels.into_iter().map(|(_, p)| p).collect()
}

/// A panel's title before its counts: the run's commitment mode and tier.
pub fn panel_label(line: &BlockLine) -> String {
    format!("{}, {}", line.commitment, crate::tier::name(line.tier))
}

fn panel_height(rows: usize) -> u32 {
    (rows as u32 * ROW_PX + 126).clamp(PANEL_PX.0, PANEL_PX.1)
}

fn draw_legend(area: &DrawingArea<SVGBackend, Shift>) -> Result<(), PictureError> {
    let mut x = 70;
    let y = LEGEND_HEIGHT as i32 / 2;
    for phase in Phase::ALL {
        let color = phase.color();
        if phase == Phase::Verdict {
            let tick = vec![(x + 7, y - 10), (x + 7, y + 10)];
            area.draw(&PathElement::new(tick, color.stroke_width(3)))?;
        } else {
            area.draw(&Rectangle::new(
                [(x, y - 8), (x + 22, y + 8)],
                color.filled(),
            ))?;
        }
        let text = text_from_left(18);
        area.draw(&Text::new(phase.label(), (x + 30, y), text))?;
        x += 30 + 10 * phase.label().len() as i32 + 40;
    }
    Ok(())
}

/// One run's blocks: row `i` (from the top) is the run's `i`-th block line.
fn draw_panel(
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
    end_ms: f64,
) -> Result<(), PictureError> {
    let rows = panel.lines.len();
    let top = rows as f64 - 0.5;
    // Row i sits at y = rows - 1 - i, so the first block is at the top.
    let y_of = |i: usize| (rows - 1 - i) as f64;
    let last_verdict = panel
        .lines
        .iter()
        .map(|l| l.times.verdict_ms)
        .fold(0.0, f64::max);
    let caption = format!(
        "{}: {} blocks, last verdict at {:.1} ms",
        panel.label, rows, last_verdict
    );
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(22))
        .margin_top(16)
        .margin_left(12)
        .margin_right(24)
        .x_label_area_size(52)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..end_ms * 1.02, -0.5..top)?;
    // Enough decimals that ticks over a short run (a few ms) stay distinct.
    let digits = match end_ms {
        20.0.. => 0,
        2.0.. => 1,
        _ => 2,
    };
    let numbers: Vec<u64> = panel.lines.iter().map(|l| l.number).collect();
    let y_label = |y: &f64| {
        let row = rows as f64 - 1.0 - y.round();
        numbers
            .get(row as usize)
            .filter(|_| (y - y.round()).abs() < 1e-9 && row >= 0.0)
            .map(ToString::to_string)
            .unwrap_or_default()
    };
    chart
        .configure_mesh()
        .x_desc("ms since the start of the run")
        .y_desc("block")
        .x_label_formatter(&|ms| format!("{ms:.digits$}"))
        .y_label_formatter(&y_label)
        .y_labels(rows.min(12))
        .label_style(font(18))
        .axis_desc_style(font(18))
        .light_line_style(WHITE)
        .bold_line_style(palette::GREY)
        .draw()?;

    let plot_px = f64::from(area.dim_in_pixel().0.saturating_sub(100).max(1));
    let min_ms = end_ms * 1.02 / plot_px * MIN_MARK_PX;
    for phase in Phase::ALL {
        let color = phase.color();
        let marks = panel.lines.iter().enumerate().filter_map(|(i, line)| {
            let at = phase.interval(line)?;
            Some((y_of(i), at))
        });
        if phase == Phase::Verdict {
            chart.draw_series(marks.map(|(y, at)| {
                // Over the execution half only: a fold that ends at the verdict stays visible.
                let tick = vec![(at.start_ms, y - 0.05), (at.start_ms, y + 0.5)];
                PathElement::new(tick, color.stroke_width(2))
            }))?;
        } else {
            // Execution in the row's upper half, the folds in its lower half.
            let (low, high) = match phase {
                Phase::Exec => (0.0, 0.4),
                _ => (-0.4, 0.0),
            };
            chart.draw_series(marks.map(|(y, at)| {
                let end = at.end_ms.max(at.start_ms + min_ms);
                Rectangle::new([(at.start_ms, y + low), (end, y + high)], color.filled())
            }))?;
        }
    }
    Ok(())
}
