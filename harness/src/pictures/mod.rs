//! Pictures of a run, as SVG: the timeline of every block's phases per run (commitment mode
//! and tier, [`timeline`]), drawn from a report's block lines, and the demo's wall time per
//! mode and tier ([`summary`]).
//!
//! Both are drawn with plotters' SVG backend alone: text is left to the viewer's fonts, so no
//! font or bitmap stack is linked. Sizes are set for a page about 1000 px wide (a README):
//! labels are 18-24 px there, about 14-18 px as a README shows them.

pub mod summary;
pub mod timeline;

use std::path::{Path, PathBuf};

use plotters::style::{
    FontDesc, RGBColor, TextStyle,
    text_anchor::{HPos, Pos, VPos},
};
use serde::Deserialize;

use crate::report::BlockLine;

pub use summary::{SummaryBar, summary_svg};
pub use timeline::{Phase, timeline_svg};

/// Why a picture could not be drawn or written.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a replay or demo report: {source}")]
    NotAReport {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("no block lines to draw (only replay and demo reports have them)")]
    NoBlocks,
    #[error("nothing to chart")]
    NoBars,
    #[error("drawing: {0}")]
    Draw(String),
}

impl<E: std::error::Error + Send + Sync> From<plotters::drawing::DrawingAreaErrorKind<E>>
    for PictureError
{
    fn from(e: plotters::drawing::DrawingAreaErrorKind<E>) -> Self {
        Self::Draw(e.to_string())
    }
}

/// The part of a JSON report a picture needs: its block lines.
#[derive(Deserialize)]
struct ReportBlocks {
    blocks: Vec<BlockLine>,
}

/// Reads the block lines of a JSON report that `replay` or `demo` wrote with `--json`.
pub fn read_block_lines(path: &Path) -> Result<Vec<BlockLine>, PictureError> {
    let bytes = std::fs::read(path).map_err(|source| PictureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let report: ReportBlocks =
        serde_json::from_slice(&bytes).map_err(|source| PictureError::NotAReport {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(report.blocks)
}

/// Writes `svg` to `path`.
pub fn write(path: &Path, svg: &str) -> Result<(), PictureError> {
    std::fs::write(path, svg).map_err(|source| PictureError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the summary chart goes beside a timeline written to `timeline`: `-summary` before
/// the extension (`out/demo.svg` -> `out/demo-summary.svg`).
pub fn summary_path(timeline: &Path) -> PathBuf {
    let stem = timeline
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match timeline.extension() {
        Some(ext) => format!("{stem}-summary.{}", ext.to_string_lossy()),
        None => format!("{stem}-summary"),
    };
    timeline.with_file_name(name)
}

/// Okabe and Ito's palette: distinguishable under the common colour-vision deficiencies.
mod palette {
    use super::RGBColor;

    pub(super) const BLUE: RGBColor = RGBColor(0x00, 0x72, 0xB2);
    pub(super) const ORANGE: RGBColor = RGBColor(0xE6, 0x9F, 0x00);
    pub(super) const GREEN: RGBColor = RGBColor(0x00, 0x9E, 0x73);
    pub(super) const PINK: RGBColor = RGBColor(0xCC, 0x79, 0xA7);
    pub(super) const VERMILLION: RGBColor = RGBColor(0xD5, 0x5E, 0x00);
    /// Near-black, apart from the axes' black.
    pub(super) const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
    pub(super) const SKY: RGBColor = RGBColor(0x56, 0xB4, 0xE9);
    pub(super) const GREY: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);
}

/// Text in `size` pixels, in the viewer's sans-serif font.
fn font(size: u32) -> FontDesc<'static> {
    FontDesc::from(("sans-serif", f64::from(size)))
}

/// Text in `size` pixels starting at its anchor, centred on it vertically.
fn text_from_left(size: u32) -> TextStyle<'static> {
    TextStyle::from(font(size)).pos(Pos::new(HPos::Left, VPos::Center))
}

/// `#RRGGBB`, as the SVG backend writes a colour.
pub fn hex(color: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", color.0, color.1, color.2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_goes_beside_the_timeline() {
        assert_eq!(
            summary_path(Path::new("docs/demo.svg")),
            Path::new("docs/demo-summary.svg")
        );
        assert_eq!(summary_path(Path::new("out")), Path::new("out-summary"));
    }
}
