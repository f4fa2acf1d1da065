//! [`QrCode`]: text (the `otpauth://` URI) as a QR code, rendered as SVG, a data URL,
//! terminal text or (with the `png` feature) PNG.
//!
//! Every rendering carries the encoded text, so every rendering of a key URI carries the
//! secret: treat the returned strings and bytes like the setup key itself (do not log them,
//! do not cache them in shared storage, send them only over an authenticated channel).

use core::fmt;
use core::fmt::Write as _;

use qrcode::bits::Bits;
use qrcode::types::QrError as EncoderError;
use qrcode::{Color, EcLevel, Version};
use zeroize::Zeroizing;

use crate::error::QrError;

/// Modules of light margin on each side of the symbol (ISO/IEC 18004 requires four).
const QUIET_ZONE: usize = 4;
/// Error-correction level: M restores up to about 15% of damaged codewords.
const EC_LEVEL: EcLevel = EcLevel::M;
/// Largest QR version (177 × 177 modules).
const MAX_VERSION: i16 = 40;
/// ECI assignment number of UTF-8, declared before non-ASCII byte data.
const ECI_UTF8: u32 = 26;
/// Intrinsic size of one module in the SVG's `width`/`height` (it scales freely).
const SVG_PIXELS_PER_MODULE: usize = 4;

/// A QR code (error-correction level M) of a piece of text, usually an `otpauth://` key URI.
///
/// Built once by [`QrCode::new`], then rendered in any format. Every rendering has the
/// four-module quiet zone the standard requires around the symbol.
///
/// **The modules encode the text, and a key URI contains the secret**: every string and
/// byte vector this type returns must be handled like the setup key. This type keeps its
/// modules in a zeroizing buffer and `Debug` shows only the size; every rendering is returned
/// as [`Zeroizing`] (re-exported as `totp_enroll::Zeroizing`), built without reallocating, so
/// it is wiped when dropped and leaves no copy in freed memory. The `qrcode` encoder's own
/// intermediate buffers are not zeroized.
///
/// ```
/// use totp_enroll::provision::QrCode;
/// let qr = QrCode::new("otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example")?;
/// assert!(qr.to_svg().starts_with("<?xml"));
/// assert!(qr.to_data_url().starts_with("data:image/svg+xml;base64,"));
/// assert_eq!(format!("{qr:?}"), format!("QrCode {{ width: {}, data: [REDACTED] }}", qr.width()));
/// # Ok::<(), totp_enroll::error::QrError>(())
/// ```
#[derive(Clone)]
pub struct QrCode {
    /// Row-major, `width × width`, `true` for a dark module.
    modules: Zeroizing<Vec<bool>>,
    /// Modules per side, quiet zone excluded.
    width: usize,
}

impl QrCode {
    /// Longest text examined, in bytes: what the largest QR code holds at level M in its
    /// densest (numeric) mode. Longer text is refused unread. Shorter text may still not fit:
    /// the largest code holds 2,331 bytes of arbitrary text.
    pub const MAX_INPUT_BYTES: usize = 5596;
    /// Modules of light margin on each side of the symbol in every rendering.
    pub const QUIET_ZONE_MODULES: usize = QUIET_ZONE;
    /// Smallest accepted PNG scale, in pixels per module.
    #[cfg(feature = "png")]
    pub const MIN_PNG_SCALE: u32 = 1;
    /// Largest accepted PNG scale, in pixels per module. It bounds the image (the largest
    /// code at this scale is 2,960 × 2,960 pixels, under 9 MB of grey levels before
    /// compression).
    #[cfg(feature = "png")]
    pub const MAX_PNG_SCALE: u32 = 16;

    /// Encodes `data` at error-correction level M in the smallest QR version that holds it.
    ///
    /// ASCII text (every URI [`KeyUri::to_uri`](crate::provision::KeyUri::to_uri) builds) is encoded in
    /// the optimal mix of numeric, alphanumeric and byte segments. Other text is encoded as
    /// UTF-8 bytes after a UTF-8 ECI designator, never in Kanji mode (which would turn UTF-8
    /// bytes into different characters).
    ///
    /// # Errors
    /// [`QrError::DataTooLong`] if the text does not fit in the largest QR code;
    /// [`QrError::Encoder`] if the encoder refuses it for any other reason.
    pub fn new(data: &str) -> Result<Self, QrError> {
        if data.len() > Self::MAX_INPUT_BYTES {
            return Err(QrError::DataTooLong);
        }
        let encoded = if data.is_ascii() {
            qrcode::QrCode::with_error_correction_level(data, EC_LEVEL)
        } else {
            encode_utf8_bytes(data.as_bytes())
        }
        .map_err(|e| match e {
            EncoderError::DataTooLong => QrError::DataTooLong,
            _ => QrError::Encoder,
        })?;
        let width = encoded.width();
        let modules: Zeroizing<Vec<bool>> = Zeroizing::new(
            encoded
                .into_colors()
                .iter()
                .map(|c| *c == Color::Dark)
                .collect(),
        );
        if width == 0 || Some(modules.len()) != width.checked_mul(width) {
            return Err(QrError::Encoder);
        }
        Ok(Self { modules, width })
    }

    /// Modules per side of the symbol, quiet zone excluded (21 for version 1, up to 177).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Modules per side including the quiet zone on both sides.
    fn padded_width(&self) -> usize {
        self.width.saturating_add(QUIET_ZONE.saturating_mul(2))
    }

    /// Whether the module at `(x, y)` is dark, in coordinates that include the quiet zone.
    /// Everything outside the symbol is light.
    fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(QUIET_ZONE), y.checked_sub(QUIET_ZONE)) else {
            return false;
        };
        if x >= self.width || y >= self.width {
            return false;
        }
        y.checked_mul(self.width)
            .and_then(|row| row.checked_add(x))
            .and_then(|i| self.modules.get(i))
            .copied()
            .unwrap_or(false)
    }

    /// A complete SVG document: a white square (symbol and quiet zone) and one black path
    /// made of one `M x y h w v1 h -w z` rectangle per horizontal run of dark modules. The
    /// `viewBox` counts modules; `width`/`height` give an intrinsic size of 4 px per module,
    /// and the image scales freely (`shape-rendering="crispEdges"`). For a file or an
    /// `<img>`; inside an HTML page use [`QrCode::to_svg_inline`].
    ///
    /// **Contains the encoded text, hence the secret of a key URI**: returned as
    /// [`Zeroizing`], built in a buffer of its exact final size (no reallocation leaves a
    /// partial copy in freed memory).
    pub fn to_svg(&self) -> Zeroizing<String> {
        let size = self.padded_width();
        let pixels = size.saturating_mul(SVG_PIXELS_PER_MODULE);
        self.render_svg(|out| {
            write!(
                out,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
                 <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
                 width=\"{pixels}\" height=\"{pixels}\" viewBox=\"0 0 {size} {size}\" \
                 shape-rendering=\"crispEdges\">"
            )
        })
    }

    /// An `<svg>` element to put directly in an HTML page (no XML declaration), with
    /// `role="img"`, the given accessible name as `aria-label` and `<title>` (escaped), and
    /// the same drawing as [`QrCode::to_svg`]. It has no `width`/`height`: size it with CSS
    /// (keep at least 2–3 px per module so phones scan it).
    ///
    /// **Contains the encoded text, hence the secret of a key URI**: returned as
    /// [`Zeroizing`], built at its exact size.
    ///
    /// ```
    /// use totp_enroll::provision::QrCode;
    /// let qr = QrCode::new("otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Example")?;
    /// let svg = qr.to_svg_inline("登録用二次元バーコード <QR>");
    /// assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
    /// assert!(svg.contains("aria-label=\"登録用二次元バーコード &lt;QR&gt;\""));
    /// assert!(svg.ends_with("</svg>"));
    /// # Ok::<(), totp_enroll::error::QrError>(())
    /// ```
    pub fn to_svg_inline(&self, accessible_name: &str) -> Zeroizing<String> {
        let size = self.padded_width();
        let name = XmlEscaped(accessible_name);
        let mut svg = self.render_svg(|out| {
            write!(
                out,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{name}\" \
                 viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\">\
                 <title>{name}</title>"
            )
        });
        // The shared renderer ends documents with a newline; an element needs none. Popping
        // never reallocates.
        svg.pop();
        svg
    }

    /// Renders `header`, the white square, the dark path and the closing tags into one
    /// buffer of exactly the needed size (measured by a first, counting pass).
    fn render_svg(&self, header: impl Fn(&mut dyn fmt::Write) -> fmt::Result) -> Zeroizing<String> {
        let mut count = CountingWriter(0);
        // Writing to a counter or a `String` cannot fail.
        let _ = self.write_svg(&mut count, &header);
        let mut svg = Zeroizing::new(String::with_capacity(count.0));
        let _ = self.write_svg(&mut *svg, &header);
        svg
    }

    fn write_svg(
        &self,
        out: &mut dyn fmt::Write,
        header: &impl Fn(&mut dyn fmt::Write) -> fmt::Result,
    ) -> fmt::Result {
        let size = self.padded_width();
        header(out)?;
        write!(
            out,
            "<rect x=\"0\" y=\"0\" width=\"{size}\" height=\"{size}\" fill=\"#ffffff\"/>\
             <path fill=\"#000000\" d=\""
        )?;
        for y in 0..size {
            for (x, run) in dark_runs((0..size).map(|x| self.is_dark(x, y)), size).iter() {
                write!(out, "M{x} {y}h{run}v1h-{run}z")?;
            }
        }
        out.write_str("\"/></svg>\n")
    }

    /// The SVG of [`QrCode::to_svg`] as a `data:image/svg+xml;base64,…` URL, for an
    /// `<img src>` without a separate request.
    ///
    /// **Contains the encoded text, hence the secret of a key URI.**
    pub fn to_data_url(&self) -> Zeroizing<String> {
        let svg = self.to_svg();
        data_url("image/svg+xml", svg.as_bytes())
    }

    /// The code as terminal text, two module rows per line, using `█`, `▀`, `▄` and space,
    /// with the quiet zone; every line ends with `\n`.
    ///
    /// Polarity: **a block is a light module, a space is a dark one**, so the code reads
    /// correctly on a terminal that draws light text on a dark background (the usual
    /// default): the terminal's background shows through as the dark modules. On a
    /// dark-on-light terminal the code appears inverted, which many but not all scanners
    /// accept. When the number of module rows is odd, the lower half of the last line is
    /// left as background.
    ///
    /// **Contains the encoded text, hence the secret of a key URI** (returned as
    /// [`Zeroizing`], built in a buffer sized for the largest possible text).
    pub fn to_terminal(&self) -> Zeroizing<String> {
        let size = self.padded_width();
        let lines = size.div_ceil(2);
        // Each block character is 3 bytes in UTF-8, plus one newline per line.
        let capacity = size
            .saturating_mul(3)
            .saturating_add(1)
            .saturating_mul(lines);
        let mut text = Zeroizing::new(String::with_capacity(capacity));
        for top in (0..size).step_by(2) {
            let bottom = top.checked_add(1).filter(|y| *y < size);
            for x in 0..size {
                let upper_light = !self.is_dark(x, top);
                let lower_light = bottom.is_some_and(|y| !self.is_dark(x, y));
                text.push(match (upper_light, lower_light) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            text.push('\n');
        }
        text
    }

    /// An 8-bit greyscale PNG: black (0) dark modules on white (255), quiet zone included,
    /// `scale` pixels per module (between [`QrCode::MIN_PNG_SCALE`] and
    /// [`QrCode::MAX_PNG_SCALE`]).
    ///
    /// **Contains the encoded text, hence the secret of a key URI**: returned as
    /// [`Zeroizing`]; the encoder writes into a buffer that is wiped before each growth.
    ///
    /// # Errors
    /// [`QrError::Scale`] for a scale out of range, [`QrError::Png`] if encoding fails.
    #[cfg(feature = "png")]
    pub fn to_png(&self, scale: u32) -> Result<Zeroizing<Vec<u8>>, QrError> {
        if !(Self::MIN_PNG_SCALE..=Self::MAX_PNG_SCALE).contains(&scale) {
            return Err(QrError::Scale {
                scale,
                min: Self::MIN_PNG_SCALE,
                max: Self::MAX_PNG_SCALE,
            });
        }
        let per_module = usize::try_from(scale).map_err(|_| QrError::Png)?;
        let side = self
            .padded_width()
            .checked_mul(per_module)
            .ok_or(QrError::Png)?;
        let side_u32 = u32::try_from(side).map_err(|_| QrError::Png)?;
        let pixels = self.grey_pixels(per_module, side)?;

        let mut png = WipingWriter::with_capacity(pixels.len().saturating_div(8));
        let mut encoder = png::Encoder::new(&mut png, side_u32, side_u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|_| QrError::Png)?;
        writer.write_image_data(&pixels).map_err(|_| QrError::Png)?;
        writer.finish().map_err(|_| QrError::Png)?;
        Ok(png.0)
    }

    /// The PNG of [`QrCode::to_png`] as a `data:image/png;base64,…` URL.
    ///
    /// **Contains the encoded text, hence the secret of a key URI.**
    ///
    /// # Errors
    /// As [`QrCode::to_png`].
    #[cfg(feature = "png")]
    pub fn to_png_data_url(&self, scale: u32) -> Result<Zeroizing<String>, QrError> {
        let png = self.to_png(scale)?;
        Ok(data_url("image/png", &png))
    }

    /// Row-major grey levels of the whole image, `side × side`, `per_module` pixels per module.
    #[cfg(feature = "png")]
    fn grey_pixels(&self, per_module: usize, side: usize) -> Result<Zeroizing<Vec<u8>>, QrError> {
        let capacity = side.checked_mul(side).ok_or(QrError::Png)?;
        let mut pixels = Zeroizing::new(Vec::with_capacity(capacity));
        let mut row = Zeroizing::new(Vec::with_capacity(side));
        let size = self.padded_width();
        for y in 0..size {
            row.clear();
            for x in 0..size {
                let grey = if self.is_dark(x, y) { 0u8 } else { 255u8 };
                row.extend(core::iter::repeat_n(grey, per_module));
            }
            for _ in 0..per_module {
                pixels.extend_from_slice(&row);
            }
        }
        Ok(pixels)
    }
}

impl fmt::Debug for QrCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QrCode")
            .field("width", &self.width)
            .field("data", &format_args!("[REDACTED]"))
            .finish()
    }
}

/// Encodes non-ASCII text as one byte segment after a UTF-8 ECI designator, in the smallest
/// version that holds it.
fn encode_utf8_bytes(data: &[u8]) -> Result<qrcode::QrCode, EncoderError> {
    for number in 1..=MAX_VERSION {
        let mut bits = Bits::new(Version::Normal(number));
        let pushed = bits
            .push_eci_designator(ECI_UTF8)
            .and_then(|()| bits.push_byte_data(data))
            .and_then(|()| bits.push_terminator(EC_LEVEL));
        match pushed {
            Ok(()) => return qrcode::QrCode::with_bits(bits, EC_LEVEL),
            Err(EncoderError::DataTooLong) => {}
            Err(other) => return Err(other),
        }
    }
    Err(EncoderError::DataTooLong)
}

/// The runs of `true` in `cells` (at most `len` of them), as `(start, length)`, in a
/// buffer sized for the most runs `len` cells can hold: it never grows, and is wiped on drop
/// (the runs describe the modules, hence the encoded secret).
fn dark_runs(cells: impl Iterator<Item = bool>, len: usize) -> Zeroizing<Vec<(usize, usize)>> {
    let mut runs = Zeroizing::new(Vec::with_capacity(len.div_ceil(2)));
    let mut current: Option<(usize, usize)> = None;
    for (x, dark) in cells.enumerate() {
        current = match (current, dark) {
            (Some((start, len)), true) => Some((start, len.saturating_add(1))),
            (None, true) => Some((x, 1)),
            (Some(run), false) => {
                runs.push(run);
                None
            }
            (None, false) => None,
        };
    }
    runs.extend(current);
    runs
}

/// Counts the bytes written to it: the first pass of an exact-size rendering.
struct CountingWriter(usize);

impl fmt::Write for CountingWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 = self.0.saturating_add(s.len());
        Ok(())
    }
}

/// Text escaped for an XML attribute value or element content.
struct XmlEscaped<'a>(&'a str);

impl fmt::Display for XmlEscaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                c if c.is_control() => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A byte sink for encoders of secret-bearing output: before growing, it copies its bytes
/// into a buffer twice as large and wipes the old one, so freed memory never holds a
/// partial copy.
#[cfg(feature = "png")]
struct WipingWriter(Zeroizing<Vec<u8>>);

#[cfg(feature = "png")]
impl WipingWriter {
    fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity.max(64))))
    }
}

#[cfg(feature = "png")]
impl std::io::Write for WipingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len().saturating_add(bytes.len());
        if needed > self.0.capacity() {
            let mut larger = Zeroizing::new(Vec::with_capacity(
                needed.max(self.0.capacity().saturating_mul(2)),
            ));
            larger.extend_from_slice(&self.0);
            // The old buffer is wiped as it is dropped here.
            self.0 = larger;
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `data:{media_type};base64,{payload}`, allocated once at its exact size so that no
/// partial copy of the payload is left behind by a reallocation.
fn data_url(media_type: &str, payload: &[u8]) -> Zeroizing<String> {
    const PREFIX: &str = "data:";
    const MARKER: &str = ";base64,";
    let encoded_len = payload.len().div_ceil(3).saturating_mul(4);
    let mut url = Zeroizing::new(String::with_capacity(
        PREFIX
            .len()
            .saturating_add(media_type.len())
            .saturating_add(MARKER.len())
            .saturating_add(encoded_len),
    ));
    url.push_str(PREFIX);
    url.push_str(media_type);
    url.push_str(MARKER);
    push_base64(&mut url, payload);
    url
}

/// The RFC 4648 §4 base64 alphabet.
const BASE64_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Appends the padded RFC 4648 §4 base64 encoding of `bytes` to `out`.
fn push_base64(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.chunks(3) {
        let [a, b, c] = [0, 1, 2].map(|i| chunk.get(i).copied().unwrap_or(0));
        let sextets = [
            a >> 2,
            ((a & 0x03) << 4) | (b >> 4),
            ((b & 0x0f) << 2) | (c >> 6),
            c & 0x3f,
        ];
        // A chunk of n bytes yields n + 1 significant characters; the rest is padding.
        let significant = chunk.len().saturating_add(1);
        for (i, sextet) in sextets.into_iter().enumerate() {
            let symbol = if i < significant {
                BASE64_ALPHABET
                    .get(usize::from(sextet))
                    .map_or('=', |b| char::from(*b))
            } else {
                '='
            };
            out.push(symbol);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn base64(bytes: &[u8]) -> String {
        let mut out = String::new();
        push_base64(&mut out, bytes);
        out
    }

    #[test]
    fn base64_matches_the_rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn dark_runs_finds_every_run_including_one_at_the_end() {
        let cells = [true, true, false, true, false, false, true, true, true];
        let runs = dark_runs(cells.into_iter(), cells.len());
        assert_eq!(*runs, vec![(0, 2), (3, 1), (6, 3)]);
        // Sized for the most runs the row can hold: it never had to grow.
        assert_eq!(runs.capacity(), 5);
        assert!(dark_runs([false; 3].into_iter(), 3).is_empty());
        let alternating = [true, false, true, false, true];
        assert_eq!(dark_runs(alternating.into_iter(), 5).len(), 3);
    }

    /// `qrcode`'s optimal segmentation reads UTF-8 Japanese as Shift JIS Kanji pairs; a
    /// phone's decoder would then show different characters. `QrCode::new` must not use it
    /// for non-ASCII text. (`rqrr` returns Kanji segments as raw bytes, so a decoding round
    /// trip alone cannot catch this.)
    #[test]
    fn non_ascii_text_is_not_encoded_with_the_kanji_capable_optimizer() {
        let text = "北洋証券オンラインサービス";
        let kanji_segments = qrcode::optimize::Parser::new(text.as_bytes())
            .filter(|s| s.mode == qrcode::types::Mode::Kanji)
            .count();
        assert!(kanji_segments > 0, "the hazard this test guards against");

        let optimal = qrcode::QrCode::with_error_correction_level(text, EC_LEVEL).unwrap();
        let optimal: Vec<bool> = optimal
            .into_colors()
            .iter()
            .map(|c| *c == Color::Dark)
            .collect();
        let ours = QrCode::new(text).unwrap();
        assert_ne!(*ours.modules, optimal);

        let bytes = encode_utf8_bytes(text.as_bytes()).unwrap();
        let bytes: Vec<bool> = bytes
            .into_colors()
            .iter()
            .map(|c| *c == Color::Dark)
            .collect();
        assert_eq!(*ours.modules, bytes);
    }

    #[test]
    fn the_quiet_zone_is_light_and_the_finder_corner_is_dark() {
        let qr = QrCode::new("hello").unwrap();
        assert_eq!(qr.width(), 21);
        assert!(!qr.is_dark(0, 0));
        assert!(!qr.is_dark(QUIET_ZONE - 1, QUIET_ZONE));
        assert!(qr.is_dark(QUIET_ZONE, QUIET_ZONE));
        assert!(!qr.is_dark(usize::MAX, usize::MAX));
    }
}
