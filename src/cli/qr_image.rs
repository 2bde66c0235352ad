//! Draws a QR payload as PNG or SVG for a person to scan.

use anyhow::Context;
use qrcode::{Color, EcLevel, QrCode};
use std::path::Path;

/// Pixels per module and the quiet zone in modules.
const SCALE: usize = 6;
const QUIET: usize = 4;

/// Writes `payload` as a QR code to `out` (.png or .svg).
pub(crate) fn write(payload: &str, out: &Path) -> anyhow::Result<()> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L)
        .context("payload does not fit a QR code")?;
    match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .quiet_zone(true)
                .min_dimensions(400, 400)
                .build();
            std::fs::write(out, svg)?;
        }
        Some("png") => write_png(&code, out)?,
        _ => anyhow::bail!("--out must end in .png or .svg"),
    }
    Ok(())
}

fn write_png(code: &QrCode, out: &Path) -> anyhow::Result<()> {
    let width = code.width();
    let side = (width + 2 * QUIET) * SCALE;
    let colors = code.to_colors();
    let mut pixels = vec![255u8; side * side];
    for y in 0..width {
        for x in 0..width {
            if colors[y * width + x] == Color::Dark {
                for dy in 0..SCALE {
                    let row = (y + QUIET) * SCALE + dy;
                    let start = row * side + (x + QUIET) * SCALE;
                    pixels[start..start + SCALE].fill(0);
                }
            }
        }
    }
    let file = std::fs::File::create(out)?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(&pixels)?;
    Ok(())
}
