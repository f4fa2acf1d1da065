//! Every QR rendering is read back with a real QR decoder (`rqrr`) and must give back the
//! exact text, byte for byte. The SVG and terminal renderings are rasterized here by small
//! parsers of their own, independent of the library's code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_possible_truncation,
    clippy::panic
)]

use totp_enroll::{
    OtpPolicy, Provisioning, error::QrError, otp::Secret, provision::KeyType, provision::KeyUri,
    provision::QrCode,
};

const JAPANESE_ISSUER: &str = "北洋証券オンラインサービス";
const KEY: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Pixels per module when a module bitmap is handed to the decoder.
const UPSCALE: usize = 4;

fn japanese_key_uri() -> KeyUri {
    let secret = Secret::from_base32(KEY).unwrap();
    let policy = OtpPolicy::new(JAPANESE_ISSUER).unwrap();
    KeyUri::new(secret, "taro yamada", &policy).unwrap()
}

fn japanese_uri() -> String {
    japanese_key_uri().to_uri().to_string()
}

/// Text samples every format must carry exactly: the seed portal's URI (Japanese issuer,
/// account with a space), a plain ASCII URI, and a URI of a freshly generated key.
fn sample_uris() -> Vec<String> {
    let plain = KeyUri::new(
        Secret::from_base32(KEY).unwrap(),
        "alice@example.com",
        &OtpPolicy::new("Example").unwrap(),
    )
    .unwrap();
    let generated = KeyUri::new(
        Secret::generate().unwrap(),
        "hanako",
        &OtpPolicy::new(JAPANESE_ISSUER).unwrap(),
    )
    .unwrap();
    vec![
        japanese_uri(),
        plain.to_uri().to_string(),
        generated.to_uri().to_string(),
    ]
}

// ---------------------------------------------------------------------------------------
// Decoding helpers.

/// A square grid of modules, `true` for dark.
struct Bitmap {
    size: usize,
    dark: Vec<bool>,
}

/// Decodes a module bitmap (`width × height`, `true` = dark), upscaled, with `rqrr`.
fn decode_modules(dark: &[bool], width: usize, height: usize) -> String {
    decode_grey(width * UPSCALE, height * UPSCALE, |x, y| {
        if dark[(y / UPSCALE) * width + x / UPSCALE] {
            0
        } else {
            255
        }
    })
}

/// Decodes a greyscale image (0 black, 255 white) with `rqrr`; it must hold exactly one code.
fn decode_grey(width: usize, height: usize, luma: impl FnMut(usize, usize) -> u8) -> String {
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(width, height, luma);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "expected exactly one QR code in the image");
    let mut bytes = Vec::new();
    grids[0].decode_to(&mut bytes).expect("the QR code decodes");
    String::from_utf8(bytes).expect("the decoded payload is UTF-8")
}

/// Parses terminal text back into modules: a block is light, a space is dark (the
/// documented polarity); each character is two module rows.
fn terminal_to_bitmap(text: &str) -> Bitmap {
    let lines: Vec<&str> = text.lines().collect();
    let width = lines[0].chars().count();
    let height = lines.len() * 2;
    let mut dark = vec![false; width * height];
    for (line_index, line) in lines.iter().enumerate() {
        assert_eq!(line.chars().count(), width, "every line has the same width");
        for (x, c) in line.chars().enumerate() {
            let (upper_light, lower_light) = match c {
                '█' => (true, true),
                '▀' => (true, false),
                '▄' => (false, true),
                ' ' => (false, false),
                other => panic!("unexpected character {other:?} in terminal QR"),
            };
            dark[(line_index * 2) * width + x] = !upper_light;
            dark[(line_index * 2 + 1) * width + x] = !lower_light;
        }
    }
    // Terminal text has one spare half row when the module count is odd; it shows the
    // terminal background. Keep only the square symbol plus quiet zone.
    assert!(height == width || height == width + 1);
    dark.truncate(width * width);
    Bitmap { size: width, dark }
}

/// The value of attribute `name` in the first tag of `svg` that starts with `tag`.
fn attribute<'a>(svg: &'a str, tag: &str, name: &str) -> &'a str {
    let start = svg.find(tag).unwrap_or_else(|| panic!("no {tag} in SVG"));
    let element = &svg[start..start + svg[start..].find('>').unwrap()];
    let key = format!(" {name}=\"");
    let value_start = element
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} on {tag}"))
        + key.len();
    let value_len = element[value_start..].find('"').unwrap();
    &element[value_start..value_start + value_len]
}

/// Rasterizes the SVG this crate emits: a `viewBox` in modules, a white background rect,
/// and one black path of rectilinear subpaths (`M`, `h`, `v`, `H`, `V`, `z`), filled with
/// the even-odd rule and sampled at each module's centre.
fn svg_to_bitmap(svg: &str) -> Bitmap {
    assert!(svg.starts_with("<?xml"), "a complete SVG document");
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "a complete SVG document"
    );
    let view_box: Vec<usize> = attribute(svg, "<svg", "viewBox")
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(view_box[..2], [0, 0]);
    assert_eq!(view_box[2], view_box[3], "a square image");
    let size = view_box[2];
    assert_eq!(attribute(svg, "<rect", "fill"), "#ffffff");
    assert_eq!(attribute(svg, "<rect", "width"), size.to_string());
    assert_eq!(attribute(svg, "<rect", "height"), size.to_string());
    assert_eq!(attribute(svg, "<path", "fill"), "#000000");

    let mut dark = vec![false; size * size];
    for polygon in path_polygons(attribute(svg, "<path", "d")) {
        fill_even_odd(&polygon, size, &mut dark);
    }
    Bitmap { size, dark }
}

/// The closed polygons of an SVG path made of `M`, `H`, `V`, `h`, `v` and `z` commands.
fn path_polygons(d: &str) -> Vec<Vec<(i64, i64)>> {
    let mut tokens = Vec::new();
    let mut number = String::new();
    for c in d.chars() {
        if c.is_ascii_digit() || (c == '-' && number.is_empty()) {
            number.push(c);
            continue;
        }
        if !number.is_empty() {
            tokens.push(number.clone());
            number.clear();
        }
        match c {
            ' ' | ',' => {}
            'M' | 'H' | 'V' | 'h' | 'v' | 'z' | 'Z' => tokens.push(c.to_string()),
            '-' => number.push(c),
            other => panic!("unexpected path command {other:?}"),
        }
    }
    if !number.is_empty() {
        tokens.push(number);
    }

    let mut polygons = Vec::new();
    let mut current: Vec<(i64, i64)> = Vec::new();
    let mut pen = (0i64, 0i64);
    let mut tokens = tokens.into_iter();
    let next_number = |tokens: &mut std::vec::IntoIter<String>| -> i64 {
        tokens.next().unwrap().parse().unwrap()
    };
    while let Some(command) = tokens.next() {
        match command.as_str() {
            "M" => {
                if current.len() > 2 {
                    polygons.push(std::mem::take(&mut current));
                }
                current.clear();
                pen = (next_number(&mut tokens), next_number(&mut tokens));
                current.push(pen);
            }
            "h" => {
                pen.0 += next_number(&mut tokens);
                current.push(pen);
            }
            "v" => {
                pen.1 += next_number(&mut tokens);
                current.push(pen);
            }
            "H" => {
                pen.0 = next_number(&mut tokens);
                current.push(pen);
            }
            "V" => {
                pen.1 = next_number(&mut tokens);
                current.push(pen);
            }
            "z" | "Z" => {
                polygons.push(std::mem::take(&mut current));
                pen = polygons.last().unwrap()[0];
            }
            other => panic!("unexpected path token {other:?}"),
        }
    }
    if current.len() > 2 {
        polygons.push(current);
    }
    polygons
}

/// Toggles every module whose centre lies inside `polygon` (ray casting), looking only at
/// the modules of the polygon's bounding box.
fn fill_even_odd(polygon: &[(i64, i64)], size: usize, dark: &mut [bool]) {
    let clamp = |v: i64| usize::try_from(v.max(0)).unwrap().min(size);
    let (xs, ys): (Vec<i64>, Vec<i64>) = polygon.iter().copied().unzip();
    let (x_min, x_max) = (
        clamp(*xs.iter().min().unwrap()),
        clamp(*xs.iter().max().unwrap()),
    );
    let (y_min, y_max) = (
        clamp(*ys.iter().min().unwrap()),
        clamp(*ys.iter().max().unwrap()),
    );
    for y in y_min..y_max {
        for x in x_min..x_max {
            // Centre of the module, doubled to stay in integers.
            let (cx, cy) = (
                2 * i64::try_from(x).unwrap() + 1,
                2 * i64::try_from(y).unwrap() + 1,
            );
            let mut inside = false;
            for (i, &(x1, y1)) in polygon.iter().enumerate() {
                let (x2, y2) = polygon[(i + 1) % polygon.len()];
                let (x1, y1, x2, y2) = (2 * x1, 2 * y1, 2 * x2, 2 * y2);
                if (y1 > cy) != (y2 > cy) {
                    // x of the edge at cy, compared without division.
                    let lhs = (cx - x1) * (y2 - y1);
                    let rhs = (x2 - x1) * (cy - y1);
                    if (y2 > y1 && lhs < rhs) || (y2 < y1 && lhs > rhs) {
                        inside = !inside;
                    }
                }
            }
            if inside {
                dark[y * size + x] ^= true;
            }
        }
    }
}

/// Standard base64 decoding (RFC 4648 §4, padded), written here independently of the
/// library's encoder.
fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    assert_eq!(text.len() % 4, 0, "padded base64");
    let mut out = Vec::new();
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c)
            .unwrap_or_else(|| panic!("{:?} is not base64", c as char));
        buffer = (buffer << 6) | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

fn decode_bitmap(bitmap: &Bitmap) -> String {
    decode_modules(&bitmap.dark, bitmap.size, bitmap.size)
}

/// Checks the quiet zone: four light modules on every side.
fn assert_quiet_zone(bitmap: &Bitmap) {
    let zone = QrCode::QUIET_ZONE_MODULES;
    for y in 0..bitmap.size {
        for x in 0..bitmap.size {
            let in_zone =
                x < zone || y < zone || x >= bitmap.size - zone || y >= bitmap.size - zone;
            if in_zone {
                assert!(
                    !bitmap.dark[y * bitmap.size + x],
                    "dark module in quiet zone"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Each format decodes to the exact text.

#[test]
fn terminal_qr_decodes_to_the_exact_uri() {
    for uri in sample_uris() {
        let qr = QrCode::new(&uri).unwrap();
        let bitmap = terminal_to_bitmap(&qr.to_terminal());
        assert_eq!(bitmap.size, qr.width() + 2 * QrCode::QUIET_ZONE_MODULES);
        assert_quiet_zone(&bitmap);
        assert_eq!(decode_bitmap(&bitmap), uri);
    }
}

#[test]
fn svg_qr_decodes_to_the_exact_uri() {
    for uri in sample_uris() {
        let qr = QrCode::new(&uri).unwrap();
        let bitmap = svg_to_bitmap(&qr.to_svg());
        assert_eq!(bitmap.size, qr.width() + 2 * QrCode::QUIET_ZONE_MODULES);
        assert_quiet_zone(&bitmap);
        assert_eq!(decode_bitmap(&bitmap), uri);
    }
}

#[test]
fn inline_svg_for_html_decodes_to_the_exact_uri_and_names_itself() {
    for uri in sample_uris() {
        let qr = QrCode::new(&uri).unwrap();
        let inline = qr.to_svg_inline("登録用二次元バーコード");
        assert!(inline.starts_with("<svg "), "an element, not a document");
        assert!(!inline.contains("<?xml"));
        assert!(inline.ends_with("</svg>"));
        assert_eq!(attribute(&inline, "<svg", "role"), "img");
        assert_eq!(
            attribute(&inline, "<svg", "aria-label"),
            "登録用二次元バーコード"
        );
        assert!(inline.contains("<title>登録用二次元バーコード</title>"));
        // The same drawing as the document form.
        let as_document = format!("<?xml version=\"1.0\"?>\n{}", inline.as_str());
        assert_eq!(decode_bitmap(&svg_to_bitmap(&as_document)), uri);
    }
}

#[test]
fn inline_svg_escapes_its_accessible_name() {
    let qr = QrCode::new("otpauth://totp/A:b?secret=JBSWY3DPEHPK3PXP&issuer=A").unwrap();
    let inline = qr.to_svg_inline("\"><script>alert(1)</script>&'\n");
    assert!(!inline.contains("<script>"), "{}", inline.as_str());
    assert!(
        inline.contains("aria-label=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;\"")
    );
}

#[test]
fn renderings_are_built_at_their_exact_size() {
    for uri in sample_uris() {
        let qr = QrCode::new(&uri).unwrap();
        for svg in [qr.to_svg(), qr.to_svg_inline("QR")] {
            // A buffer sized up front, never grown: no partial copy was left in freed memory.
            assert!(
                svg.capacity() - svg.len() <= 1,
                "{} of {}",
                svg.len(),
                svg.capacity()
            );
        }
        let url = qr.to_data_url();
        assert_eq!(url.capacity(), url.len());
    }
}

#[test]
fn svg_data_url_decodes_to_the_exact_uri() {
    for uri in sample_uris() {
        let url = QrCode::new(&uri).unwrap().to_data_url();
        let payload = url
            .strip_prefix("data:image/svg+xml;base64,")
            .expect("an SVG data URL");
        let svg = String::from_utf8(base64_decode(payload)).unwrap();
        assert_eq!(decode_bitmap(&svg_to_bitmap(&svg)), uri);
    }
}

#[cfg(feature = "png")]
fn decode_png(bytes: &[u8]) -> (String, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let frame = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(frame.color_type, png::ColorType::Grayscale);
    assert_eq!(frame.bit_depth, png::BitDepth::Eight);
    assert_eq!(frame.width, frame.height);
    let (width, height) = (frame.width as usize, frame.height as usize);
    assert!(
        pixels[..width * height]
            .iter()
            .all(|p| *p == 0 || *p == 255)
    );
    let text = decode_grey(width, height, |x, y| pixels[y * width + x]);
    (text, frame.width)
}

#[cfg(feature = "png")]
#[test]
fn png_qr_decodes_to_the_exact_uri() {
    for uri in sample_uris() {
        let qr = QrCode::new(&uri).unwrap();
        for scale in [2, 5] {
            let (text, side) = decode_png(&qr.to_png(scale).unwrap());
            assert_eq!(text, uri);
            let modules = qr.width() + 2 * QrCode::QUIET_ZONE_MODULES;
            assert_eq!(side as usize, modules * scale as usize);
        }
    }
}

#[cfg(feature = "png")]
#[test]
fn png_data_url_decodes_to_the_exact_uri() {
    let uri = japanese_uri();
    let url = QrCode::new(&uri).unwrap().to_png_data_url(4).unwrap();
    let payload = url
        .strip_prefix("data:image/png;base64,")
        .expect("a PNG data URL");
    assert_eq!(decode_png(&base64_decode(payload)).0, uri);
}

#[cfg(feature = "png")]
#[test]
fn png_scale_outside_its_range_is_a_typed_error() {
    let qr = QrCode::new(&japanese_uri()).unwrap();
    let range_error = |scale| QrError::Scale {
        scale,
        min: QrCode::MIN_PNG_SCALE,
        max: QrCode::MAX_PNG_SCALE,
    };
    assert_eq!(qr.to_png(0), Err(range_error(0)));
    let too_big = QrCode::MAX_PNG_SCALE + 1;
    assert_eq!(qr.to_png(too_big), Err(range_error(too_big)));
    assert_eq!(qr.to_png_data_url(u32::MAX), Err(range_error(u32::MAX)));
    assert!(qr.to_png(QrCode::MAX_PNG_SCALE).is_ok());
}

// ---------------------------------------------------------------------------------------
// Encoding rules.

#[test]
fn non_ascii_text_decodes_to_the_same_utf8_bytes() {
    // Raw (not percent-encoded) Japanese, as `QrCode::new` accepts any text. (That it is
    // not encoded in Kanji mode is checked by a unit test in src/qr.rs.)
    let text = format!("otpauth://totp/{JAPANESE_ISSUER}:太郎 山田?issuer={JAPANESE_ISSUER}");
    let qr = QrCode::new(&text).unwrap();
    assert_eq!(decode_bitmap(&terminal_to_bitmap(&qr.to_terminal())), text);
    assert_eq!(decode_bitmap(&svg_to_bitmap(&qr.to_svg())), text);
}

#[test]
fn the_longest_key_uri_fits_in_a_qr_code_and_decodes() {
    // The longest issuer and account the URI rules accept, made of characters that each
    // percent-encode to three (`%25`), the longest secret and the longest parameters.
    let issuer = "%".repeat(OtpPolicy::MAX_ISSUER_BYTES);
    let account = "%".repeat(KeyUri::MAX_ACCOUNT_BYTES);
    let secret = Secret::from_bytes(&[0xa5; Secret::MAX_BYTES]).unwrap();
    let policy = OtpPolicy::builder(issuer)
        .algorithm(totp_enroll::otp::Algorithm::Sha512)
        .digits(8)
        .period(u64::from(OtpPolicy::MAX_PERIOD))
        .build()
        .unwrap();
    let key_uri = KeyUri::new(secret, account, &policy).unwrap();
    let uri = key_uri.to_uri().to_string();
    assert!(uri.len() > 1800, "{}", uri.len());
    let provisioning = Provisioning::new(key_uri);
    let bitmap = svg_to_bitmap(&provisioning.qr().unwrap().to_svg());
    assert_eq!(decode_bitmap(&bitmap), uri);
}

#[test]
fn text_too_long_for_any_qr_code_is_data_too_long_not_a_panic() {
    // 2,332 bytes of byte-mode text: one more than the largest code holds at level M.
    assert_eq!(
        QrCode::new(&"x".repeat(2332)).unwrap_err(),
        QrError::DataTooLong
    );
    assert!(QrCode::new(&"x".repeat(2331)).is_ok());
    // Digits pack densest: the numeric capacity fits, one more does not.
    assert!(QrCode::new(&"7".repeat(QrCode::MAX_INPUT_BYTES)).is_ok());
    assert_eq!(
        QrCode::new(&"7".repeat(5597)).unwrap_err(),
        QrError::DataTooLong
    );
    assert_eq!(
        QrCode::new(&"北".repeat(1000)).unwrap_err(),
        QrError::DataTooLong
    );
    // Far beyond any capacity: refused before encoding.
    assert_eq!(
        QrCode::new(&"x".repeat(10_000_000)).unwrap_err(),
        QrError::DataTooLong
    );
}

#[test]
fn empty_text_renders_without_panicking() {
    let qr = QrCode::new("").unwrap();
    assert_eq!(qr.width(), 21);
    assert!(!qr.to_terminal().is_empty());
}

#[test]
fn terminal_text_uses_only_half_blocks_and_spaces_in_lines_of_equal_width() {
    let qr = QrCode::new(&japanese_uri()).unwrap();
    let text = qr.to_terminal();
    let side = qr.width() + 2 * QrCode::QUIET_ZONE_MODULES;
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().count(), side.div_ceil(2));
    for line in text.lines() {
        assert_eq!(line.chars().count(), side);
        assert!(line.chars().all(|c| matches!(c, '█' | '▀' | '▄' | ' ')));
        // The quiet zone is light, so no line starts or ends with a bare space.
        assert!(line.starts_with(['█', '▀']) && line.ends_with(['█', '▀']));
    }
}

// ---------------------------------------------------------------------------------------
// The registration screen's value.

#[test]
fn provisioning_qr_decodes_to_its_uri() {
    let provisioning = Provisioning::new(japanese_key_uri());
    let bitmap = terminal_to_bitmap(&provisioning.qr().unwrap().to_terminal());
    assert_eq!(decode_bitmap(&bitmap), provisioning.uri().as_str());
    assert_eq!(provisioning.uri().as_str(), japanese_uri());
}

#[test]
fn provisioning_debug_shows_neither_the_key_nor_the_uri() {
    let provisioning = Provisioning::new(japanese_key_uri());
    let debug = format!("{provisioning:?}");
    let pretty = format!("{provisioning:#?}");
    for shown in [&debug, &pretty] {
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains(&KEY[..8]), "{shown}");
        assert!(!shown.contains(provisioning.reveal_setup_key().as_str()));
        assert!(!shown.contains("otpauth"), "{shown}");
        assert!(!shown.contains(provisioning.uri().as_str()));
        assert!(shown.contains("[REDACTED]"));
    }
    let qr_debug = format!("{:?}", provisioning.qr().unwrap());
    assert!(!qr_debug.contains(KEY) && !qr_debug.contains("otpauth"));
}

#[test]
fn setup_key_is_grouped_in_fours_and_equals_the_secret() {
    let provisioning = Provisioning::new(japanese_key_uri());
    let grouped = provisioning.reveal_setup_key();
    assert_eq!(grouped.as_str(), "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP");
    let groups: Vec<&str> = grouped.split(' ').collect();
    assert!(groups.iter().all(|g| g.len() == 4));
    assert_eq!(groups.concat(), KEY);
    assert_eq!(
        Secret::from_base32(&grouped).unwrap(),
        *japanese_key_uri().secret()
    );

    // A generated 160-bit key: 32 characters, eight groups, the same secret.
    let secret = Secret::generate().unwrap();
    let key_uri = KeyUri::new(secret.clone(), "x", &OtpPolicy::new("Example").unwrap()).unwrap();
    let grouped = Provisioning::new(key_uri).reveal_setup_key();
    assert_eq!(grouped.split(' ').count(), 8);
    assert!(grouped.split(' ').all(|g| g.len() == 4));
    assert_eq!(Secret::from_base32(&grouped).unwrap(), secret);
}

#[test]
fn copy_key_is_plain_unspaced_uppercase_base32_of_the_secret() {
    let provisioning = Provisioning::new(japanese_key_uri());
    let copied = provisioning.reveal_setup_key_for_copy();
    assert_eq!(copied.as_str(), KEY);
    assert!(
        copied
            .chars()
            .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
    );
}

#[test]
fn provisioning_account_name_is_the_issuer_and_the_key_is_time_based() {
    let provisioning = Provisioning::new(japanese_key_uri());
    assert_eq!(provisioning.issuer(), JAPANESE_ISSUER);
    assert_eq!(provisioning.issuer(), JAPANESE_ISSUER);
    assert_eq!(provisioning.account(), "taro yamada");
    assert_eq!(provisioning.key_type(), KeyType::TimeBased);
    assert_eq!(provisioning.key_type().uri_type(), "totp");
    assert_eq!(provisioning.key_type().to_string(), "Time based");
    assert_eq!(provisioning.policy().digits().get(), 6);
}
