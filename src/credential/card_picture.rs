//! A card-shaped picture (ID-1, 85.6 × 54 mm) of a talent card: title, holder name, tier,
//! card number, expiry and the QR payload, as SVG in millimetres. Pure: inputs in, text out.
//! The QR code (quiet zone included) is printed [`QR_SIDE_MM`] wide, which keeps every module
//! at least [`MIN_MODULE_MM`] for the payloads our cards carry.

use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write as _;

/// ID-1 card width (ISO/IEC 7810).
pub const CARD_WIDTH_MM: f64 = 85.6;
/// ID-1 card height.
pub const CARD_HEIGHT_MM: f64 = 54.0;
/// The printed side of the QR code, quiet zone included.
pub const QR_SIDE_MM: f64 = 35.0;
/// Smallest module a phone camera or counter scanner reads reliably off paper.
pub const MIN_MODULE_MM: f64 = 0.25;
/// Quiet zone on each side, in modules (ISO/IEC 18004).
pub const QUIET_MODULES: usize = 4;

/// ISO/IEC 7810 corner radius.
const CORNER_MM: f64 = 3.18;
/// Margin around the QR code and the text.
const MARGIN_MM: f64 = 3.0;

/// What the card shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardFace<'a> {
    /// The card's name, e.g. "新重庆人才卡".
    pub title: &'a str,
    /// Holder name.
    pub holder_name: &'a str,
    /// Tier letter.
    pub tier: &'a str,
    /// Card number.
    pub card_number: &'a str,
    /// Expiry, unix seconds.
    pub expires_at: i64,
    /// The QR payload (prefix and token).
    pub qr_payload: &'a str,
}

/// Why a picture cannot be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PictureError {
    /// The payload does not fit any QR version.
    #[error("the QR payload does not fit a QR code")]
    TooLong,
    /// The payload fits, but its modules would be too small to scan when printed.
    #[error(
        "the QR code would need {modules} modules: {module_mm:.3} mm each at {QR_SIDE_MM} mm, under the {MIN_MODULE_MM} mm a scanner needs"
    )]
    ModulesTooSmall {
        /// Modules across, without the quiet zone.
        modules: usize,
        /// Printed size of one module.
        module_mm: f64,
    },
}

/// The printed size of one module of a QR code `modules` wide (without the quiet zone).
pub fn module_mm(modules: usize) -> f64 {
    QR_SIDE_MM / (modules + 2 * QUIET_MODULES) as f64
}

/// The date (Asia/Shanghai) of a unix time, as YYYY-MM-DD.
pub fn shanghai_date(unix: i64) -> String {
    // Days since 1970-01-01 in UTC+8, then the civil date (H. Hinnant's algorithm).
    let days = (unix + 8 * 3600).div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Fonts the text asks for, CJK first so that Chinese names find glyphs.
const FONTS: &str = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', \
                     'WenQuanYi Zen Hei', 'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', \
                     'DejaVu Sans', sans-serif";

/// Largest size of the holder's name.
const NAME_FONT_MM: f64 = 7.0;

/// The name's font size: 7 mm, smaller when a long name would run into the QR code. A
/// CJK character is about 1 em wide, others about 0.6 em.
fn name_font_mm(name: &str, room_mm: f64) -> f64 {
    let ems: f64 = name
        .chars()
        .map(|c| if c.is_ascii() { 0.6 } else { 1.0 })
        .sum();
    if ems <= 0.0 {
        NAME_FONT_MM
    } else {
        NAME_FONT_MM.min(room_mm / ems)
    }
}

/// The card as an SVG document sized in millimetres.
pub fn card_svg(face: &CardFace<'_>) -> Result<String, PictureError> {
    let code = QrCode::with_error_correction_level(face.qr_payload.as_bytes(), EcLevel::L)
        .map_err(|_| PictureError::TooLong)?;
    let modules = code.width();
    let module = module_mm(modules);
    if module < MIN_MODULE_MM {
        return Err(PictureError::ModulesTooSmall {
            modules,
            module_mm: module,
        });
    }
    let qr_x = CARD_WIDTH_MM - MARGIN_MM - QR_SIDE_MM;
    let qr_y = (CARD_HEIGHT_MM - QR_SIDE_MM) / 2.0;
    let text_x = 5.0;
    let mut svg = String::with_capacity(32 * 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{CARD_WIDTH_MM}mm" height="{CARD_HEIGHT_MM}mm" viewBox="0 0 {CARD_WIDTH_MM} {CARD_HEIGHT_MM}">
<rect x="0" y="0" width="{CARD_WIDTH_MM}" height="{CARD_HEIGHT_MM}" rx="{CORNER_MM}" fill="#fdfaf3" stroke="#9a1b1b" stroke-width="0.4"/>
<rect x="0" y="0" width="{CARD_WIDTH_MM}" height="9" rx="{CORNER_MM}" fill="#9a1b1b"/>
<rect x="0" y="5" width="{CARD_WIDTH_MM}" height="4" fill="#9a1b1b"/>
<g font-family="{FONTS}" fill="#1a1a1a">
<text x="{text_x}" y="6.2" font-size="3.4" font-weight="bold" fill="#ffffff">{title}</text>
<text x="{text_x}" y="20" font-size="{name_size:.2}">{name}</text>
<text x="{text_x}" y="28" font-size="3.6">类别 Tier {tier}</text>
<text x="{text_x}" y="36" font-size="2.6" fill="#555555">卡号 No.</text>
<text x="{text_x}" y="40" font-size="3.4" font-family="'DejaVu Sans Mono', monospace">{number}</text>
<text x="{text_x}" y="46" font-size="2.6" fill="#555555">有效期至 Valid until</text>
<text x="{text_x}" y="50" font-size="3.4">{expiry}</text>
</g>
<rect x="{qr_x:.3}" y="{qr_y:.3}" width="{QR_SIDE_MM}" height="{QR_SIDE_MM}" fill="#ffffff"/>
<path transform="translate({qr_x:.3} {qr_y:.3}) scale({module:.6})" shape-rendering="crispEdges" fill="#000000" d=""##,
        title = escape(face.title),
        name = escape(face.holder_name),
        name_size = name_font_mm(face.holder_name, qr_x - text_x - MARGIN_MM),
        tier = escape(face.tier),
        number = escape(face.card_number),
        expiry = shanghai_date(face.expires_at),
    );
    // Dark modules as horizontal runs, in module units inside the quiet zone.
    let colors = code.to_colors();
    for y in 0..modules {
        let row = &colors[y * modules..(y + 1) * modules];
        let mut x = 0;
        while x < modules {
            if row[x] == Color::Dark {
                let start = x;
                while x < modules && row[x] == Color::Dark {
                    x += 1;
                }
                let _ = write!(
                    svg,
                    "M{} {}h{}v1h-{}z",
                    start + QUIET_MODULES,
                    y + QUIET_MODULES,
                    x - start,
                    x - start
                );
            } else {
                x += 1;
            }
        }
    }
    svg.push_str("\"/>\n</svg>\n");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The QR payload of an own card bound to a holder key (the longest our cards carry).
    fn bound_card_payload() -> String {
        let header = super::super::b64(
            r#"{"alg":"EdDSA","kid":"6CIi9-oPR_V7h5CAFF43JpIgI4gA3HIPhQhQLn_WmQg","typ":"talent-card+jwt"}"#,
        );
        let claims = super::super::b64(
            r#"{"iss":"urn:cn:500000:talent-card","sub":"CQ3CX4GRBKNMY0Q","iat":1795751700,"nbf":1795751700,"exp":1827287700,"name":"欧阳建国·买买提","tier":"B","cat":"entrepreneurship","district":"500104","cnf":{"jwk":{"kty":"OKP","crv":"Ed25519","x":"u6Zl001zM-mnGEKT_SGPuU_Sk5bGWc3y3xjI1Rngz_M"}},"status":{"status_list":{"idx":1146860,"uri":"urn:cn:500000:talent-card:status-list:1"}}}"#,
        );
        format!("NCTC1:{header}.{claims}.{}", super::super::b64([7u8; 64]))
    }

    fn face(payload: &str) -> CardFace<'_> {
        CardFace {
            title: "新重庆人才卡",
            holder_name: "张政昊",
            tier: "B",
            card_number: "CQ3CX4GRBKNMY0Q",
            expires_at: 1_827_287_700,
            qr_payload: payload,
        }
    }

    #[test]
    fn modules_stay_readable_at_print_size() {
        let payload = bound_card_payload();
        let code =
            QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L).expect("fits");
        let m = module_mm(code.width());
        assert!(m >= MIN_MODULE_MM, "{} modules: {m:.3} mm", code.width());
        // Version 28 (129 modules) is the largest that stays at or above 0.25 mm.
        assert!(module_mm(129) >= MIN_MODULE_MM);
        assert!(module_mm(133) < MIN_MODULE_MM);
        assert!((module_mm(21) - 35.0 / 29.0).abs() < 1e-9);
    }

    #[test]
    fn a_payload_too_long_to_print_is_refused() {
        let long = "a".repeat(2_000);
        assert!(matches!(
            card_svg(&face(&long)),
            Err(PictureError::ModulesTooSmall { .. })
        ));
        assert_eq!(
            card_svg(&face(&"A".repeat(8_000))),
            Err(PictureError::TooLong)
        );
    }

    #[test]
    fn the_svg_shows_the_card() {
        let payload = bound_card_payload();
        let svg = card_svg(&face(&payload)).expect("drawn");
        for text in [
            "新重庆人才卡",
            "张政昊",
            "Tier B",
            "CQ3CX4GRBKNMY0Q",
            "2027-11-27",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains(r#"width="85.6mm" height="54mm""#));
        let hostile = CardFace {
            holder_name: "<script>&",
            ..face(&payload)
        };
        let svg = card_svg(&hostile).expect("drawn");
        assert!(svg.contains("&lt;script&gt;&amp;") && !svg.contains("<script>"));
    }

    #[test]
    fn long_names_shrink_to_stay_clear_of_the_qr_code() {
        assert_eq!(name_font_mm("张三", 39.6), NAME_FONT_MM);
        let long = "欧阳建国·买买提·艾力江";
        let size = name_font_mm(long, 39.6);
        assert!(size < NAME_FONT_MM && size * long.chars().count() as f64 <= 39.6 + 1e-9);
        let payload = bound_card_payload();
        let svg = card_svg(&CardFace {
            holder_name: long,
            ..face(&payload)
        })
        .expect("drawn");
        assert!(svg.contains(&format!(r#"font-size="{size:.2}">{long}<"#)));
    }

    #[test]
    fn dates_are_shanghai_dates() {
        assert_eq!(shanghai_date(0), "1970-01-01");
        // 2024-02-29 16:00 UTC is already 1 March in Shanghai.
        assert_eq!(shanghai_date(1_709_222_400), "2024-03-01");
        assert_eq!(shanghai_date(1_709_222_399), "2024-02-29");
        assert_eq!(shanghai_date(1_827_287_700), "2027-11-27");
    }
}
