//! Writes a card picture (see `credential::card_svg`) as SVG, or rasterised to PNG with resvg.

use crate::credential::{CARD_HEIGHT_MM, CARD_WIDTH_MM, CardFace, card_svg};
use anyhow::Context;
use std::path::Path;

/// Raster resolution: 600 dpi gives a 0.27 mm module about 6 pixels.
const DPI: f64 = 600.0;

/// Writes the picture of `face` to `out` (.svg or .png).
pub(crate) fn write(face: &CardFace<'_>, out: &Path) -> anyhow::Result<()> {
    let svg = card_svg(face)?;
    match out.extension().and_then(|e| e.to_str()) {
        Some("svg") => std::fs::write(out, svg)?,
        Some("png") => {
            let (png, cjk) = rasterize(&svg)?;
            if !cjk {
                eprintln!(
                    "note: no font with Chinese names is installed: Chinese text is missing \
                     from the PNG; the SVG has it (install e.g. fonts-noto-cjk or \
                     fonts-wqy-zenhei)"
                );
            }
            std::fs::write(out, png)?;
        }
        _ => anyhow::bail!("--out must end in .png or .svg"),
    }
    Ok(())
}

/// The SVG as a PNG at [`DPI`], and whether a CJK font was there to draw Chinese text.
pub(crate) fn rasterize(svg: &str) -> anyhow::Result<(Vec<u8>, bool)> {
    let mut opt = resvg::usvg::Options::default();
    opt.fontdb_mut().load_system_fonts();
    // A CJK font names itself in Chinese too (文泉驿正黑, Noto Sans CJK's 思源黑体).
    let cjk = opt.fontdb.faces().any(|f| {
        f.families
            .iter()
            .any(|(_, language)| format!("{language:?}").starts_with("Chinese"))
    });
    let tree = resvg::usvg::Tree::from_str(svg, &opt).context("drawing the card")?;
    let px = |mm: f64| (mm / 25.4 * DPI).round() as u32;
    let (w, h) = (px(CARD_WIDTH_MM), px(CARD_HEIGHT_MM));
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).context("picture size")?;
    let size = tree.size();
    let transform =
        resvg::tiny_skia::Transform::from_scale(w as f32 / size.width(), h as f32 / size.height());
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    Ok((pixmap.encode_png().context("encoding the PNG")?, cjk))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_holds_a_qr_code_that_reads_back() {
        let payload = format!("NCTC1:{}", "eyJhbGciOiJFZERTQSJ9.".repeat(40));
        let face = CardFace {
            title: "新重庆人才卡",
            holder_name: "张政昊",
            tier: "B",
            card_number: "CQ3CX4GRBKNMY0Q",
            expires_at: 1_827_287_700,
            qr_payload: &payload,
        };
        let svg = card_svg(&face).expect("svg");
        let (png, _) = rasterize(&svg).expect("png");
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("frame");
        assert_eq!((info.width, info.height), (2022, 1276));
        let channels = info.line_size / info.width as usize;
        let grey = |x: usize, y: usize| {
            let p = y * info.line_size + x * channels;
            ((u16::from(buf[p]) + u16::from(buf[p + 1]) + u16::from(buf[p + 2])) / 3) as u8
        };
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(
            info.width as usize,
            info.height as usize,
            grey,
        );
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().expect("decodes");
        assert_eq!(content, payload);
    }
}
