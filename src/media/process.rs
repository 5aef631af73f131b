//! Turning an uploaded file into the two published variants.
//!
//! The file is recognised by its first bytes, never by its name or the type the browser
//! claims; its size and pixel count are checked before anything is decoded; the decoded
//! pixels are re-encoded from scratch, so no metadata (EXIF, GPS, XMP, ICC, comments) can
//! survive into what is published.
//!
//! Published format: JPEG (quality 82) for opaque images, PNG for images with transparency.
//! - JPEG is the "original family" of almost every upload (camera and phone photos; HEIC
//!   is the same kind of lossy photo, which browsers cannot show) and every browser shows it.
//! - WebP would be smaller, but the `image` crate only encodes lossless WebP, which for a
//!   photo is several times larger than a JPEG; a lossy WebP encoder means libwebp (C) as a
//!   new build dependency, for a shop of 160 products that a CDN serves anyway.
//! - Transparency (a PNG or WebP cut-out of a part) is kept as PNG, lossless like the source.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use sha2::{Digest, Sha256};

/// Long edge of the display version, in pixels.
pub const DISPLAY_EDGE: u32 = 1200;
/// Long edge of the thumbnail, in pixels.
pub const THUMBNAIL_EDGE: u32 = 300;
/// JPEG quality of both variants: no visible loss at these sizes, about 150 KB at 1200 px.
const JPEG_QUALITY: u8 = 82;

/// What an upload may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes.
    pub max_bytes: u64,
    /// Largest image accepted, in pixels (width × height), read from the header.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
            max_pixels: 40_000_000,
        }
    }
}

/// A format recognised by its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    Jpeg,
    Png,
    WebP,
    Heif,
}

impl SourceFormat {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "JPEG",
            SourceFormat::Png => "PNG",
            SourceFormat::WebP => "WebP",
            SourceFormat::Heif => "HEIC/HEIF",
        }
    }
}

/// Why a file was refused. Each has a stable code (for the admin UI to translate) and a
/// message in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {size} bytes; the limit is {max} bytes ({} MB)", max / (1024 * 1024))]
    TooLarge { size: u64, max: u64 },
    #[error("the image is {width} × {height} pixels; the limit is {} megapixels", max / 1_000_000)]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("{0} files are not accepted: send a JPEG, PNG, WebP or HEIC photo")]
    Unsupported(&'static str),
    #[error("HEIC/HEIF photos cannot be read on this server: export the photo as JPEG (on an iPhone: Settings › Camera › Formats › Most Compatible)")]
    HeicUnavailable,
    #[error("the {format} file is truncated or corrupt ({detail})")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
}

impl Refusal {
    /// A stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Empty => "empty_file",
            Refusal::TooLarge { .. } => "file_too_large",
            Refusal::TooManyPixels { .. } => "too_many_pixels",
            Refusal::Unsupported(_) => "unsupported_format",
            Refusal::HeicUnavailable => "heic_unavailable",
            Refusal::Corrupt { .. } => "corrupt_image",
        }
    }

    fn corrupt(format: SourceFormat, detail: impl ToString) -> Refusal {
        Refusal::Corrupt {
            format: format.name(),
            detail: detail.to_string(),
        }
    }
}

/// One published variant.
#[derive(Debug, Clone)]
pub struct Variant {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    /// `image/jpeg` or `image/png`.
    pub content_type: &'static str,
    /// `jpg` or `png`.
    pub extension: &'static str,
}

impl Variant {
    /// Its storage key: a content hash, so a name never points to other bytes and can be
    /// cached forever.
    pub fn key(&self) -> String {
        let digest = Sha256::digest(&self.bytes);
        format!("images/{}.{}", &hex::encode(digest)[..32], self.extension)
    }
}

/// The two published variants of an upload.
#[derive(Debug, Clone)]
pub struct Processed {
    pub source: SourceFormat,
    pub display: Variant,
    pub thumbnail: Variant,
}

/// Recognises a file by its first bytes; names what it is when refused.
pub fn sniff(bytes: &[u8]) -> Result<SourceFormat, Refusal> {
    if bytes.is_empty() {
        return Err(Refusal::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(SourceFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(SourceFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(SourceFormat::WebP);
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let major = &bytes[8..12];
        if [
            b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1",
        ]
        .iter()
        .any(|brand| major == *brand)
        {
            return Ok(SourceFormat::Heif);
        }
        if major == b"avif" || major == b"avis" {
            return Err(Refusal::Unsupported("AVIF"));
        }
        return Err(Refusal::Unsupported("Video"));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Err(Refusal::Unsupported("GIF"));
    }
    if bytes.starts_with(b"%PDF") {
        return Err(Refusal::Unsupported("PDF"));
    }
    if bytes.starts_with(b"BM") {
        return Err(Refusal::Unsupported("BMP"));
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return Err(Refusal::Unsupported("TIFF"));
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    if head.contains("<svg") {
        return Err(Refusal::Unsupported("SVG"));
    }
    if head.contains("<?php") {
        return Err(Refusal::Unsupported("PHP script"));
    }
    if head.trim_start().starts_with('<') {
        return Err(Refusal::Unsupported("HTML/XML"));
    }
    Err(Refusal::Unsupported("Unrecognised"))
}

/// Width and height from the file's header, without decoding (and so without allocating
/// for the pixels).
pub fn dimensions(format: SourceFormat, bytes: &[u8]) -> Result<(u32, u32), Refusal> {
    match format {
        // IHDR is the first chunk, at a fixed place: read it ourselves so that a huge
        // header is refused even when the rest of the file is missing.
        SourceFormat::Png => {
            if bytes.len() < 24 || &bytes[12..16] != b"IHDR" {
                return Err(Refusal::corrupt(format, "no image header"));
            }
            let be = |at: usize| {
                u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
            };
            Ok((be(16), be(20)))
        }
        SourceFormat::Heif => super::heif::dimensions(bytes)
            .ok_or_else(|| Refusal::corrupt(format, "no image size in the header")),
        SourceFormat::Jpeg | SourceFormat::WebP => {
            let decoder = reader(format, bytes, None)
                .into_decoder()
                .map_err(|e| Refusal::corrupt(format, e))?;
            Ok(decoder.dimensions())
        }
    }
}

fn reader<'a>(
    format: SourceFormat,
    bytes: &'a [u8],
    limits: Option<&Limits>,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(match format {
        SourceFormat::Jpeg => ImageFormat::Jpeg,
        SourceFormat::Png => ImageFormat::Png,
        // Only reached for formats the `image` crate decodes.
        SourceFormat::WebP | SourceFormat::Heif => ImageFormat::WebP,
    });
    let mut decode_limits = image::Limits::default();
    if let Some(limits) = limits {
        // A second guard behind the header check: the decoder itself refuses to allocate
        // more than the pixel limit allows (16-bit RGBA at worst, plus slack).
        decode_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8) + (64 << 20));
    }
    reader.limits(decode_limits);
    reader
}

/// Checks an upload and produces its published variants. CPU-bound: call it from
/// `spawn_blocking`.
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Processed, Refusal> {
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(Refusal::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let (width, height) = dimensions(format, bytes)?;
    if width == 0 || height == 0 {
        return Err(Refusal::corrupt(format, "the image has no pixels"));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Refusal::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    if format == SourceFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills a cut-off file with grey rather than failing.
        return Err(Refusal::corrupt(format, "the end of the image is missing"));
    }
    let image = match format {
        SourceFormat::Heif => super::heif::decode(bytes)?,
        _ => decode(format, bytes, limits)?,
    };
    publish(format, image)
}

fn decode(format: SourceFormat, bytes: &[u8], limits: &Limits) -> Result<DynamicImage, Refusal> {
    let mut decoder = reader(format, bytes, Some(limits))
        .into_decoder()
        .map_err(|e| Refusal::corrupt(format, e))?;
    // A missing or unreadable EXIF block is not worth refusing a photo for.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| Refusal::corrupt(format, e))?;
    // Shrinking first, then turning, gives the same pixels for a fraction of the work.
    image = shrink(image, DISPLAY_EDGE);
    image.apply_orientation(orientation);
    Ok(image)
}

/// Scales down (never up) to fit a `edge` × `edge` box.
fn shrink(image: DynamicImage, edge: u32) -> DynamicImage {
    if image.width() <= edge && image.height() <= edge {
        return image;
    }
    // Triangle (bilinear with a support scaled to the reduction) averages every source
    // pixel: no aliasing, and much cheaper than Lanczos on 12 megapixels.
    image.resize(edge, edge, FilterType::Triangle)
}

fn publish(source: SourceFormat, image: DynamicImage) -> Result<Processed, Refusal> {
    let image = shrink(image, DISPLAY_EDGE);
    let transparent = image.color().has_alpha() && {
        let rgba = image.to_rgba8();
        rgba.pixels().any(|p| p.0[3] < u8::MAX)
    };
    let thumbnail = shrink(image.clone(), THUMBNAIL_EDGE);
    Ok(Processed {
        source,
        display: encode(&image, transparent, source)?,
        thumbnail: encode(&thumbnail, transparent, source)?,
    })
}

fn encode(
    image: &DynamicImage,
    transparent: bool,
    source: SourceFormat,
) -> Result<Variant, Refusal> {
    let mut bytes = Vec::new();
    let failed = |e: image::ImageError| Refusal::corrupt(source, e);
    let (content_type, extension) = if transparent {
        let rgba = image.to_rgba8();
        rgba.write_with_encoder(PngEncoder::new(&mut bytes))
            .map_err(failed)?;
        ("image/png", "png")
    } else {
        let rgb = image.to_rgb8();
        rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY))
            .map_err(failed)?;
        ("image/jpeg", "jpg")
    };
    Ok(Variant {
        bytes,
        width: image.width(),
        height: image.height(),
        content_type,
        extension,
    })
}

/// Whether a JPEG's entropy-coded data is followed by its end marker. Walks the marker
/// segments up to the first start of scan (so an EXIF thumbnail, which has its own end
/// marker, is skipped over), then looks for an end marker after it.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut at = 2;
    let scan = loop {
        if at + 4 > bytes.len() || bytes[at] != 0xFF {
            return false;
        }
        let marker = bytes[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        if marker == 0xDA {
            break at;
        }
        let length = usize::from(u16::from_be_bytes([bytes[at + 2], bytes[at + 3]]));
        at += 2 + length;
    };
    bytes[scan..].windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Ok(SourceFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Ok(SourceFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Ok(SourceFormat::WebP));
        assert_eq!(sniff(b"\0\0\0\x18ftypheic\0\0\0\0"), Ok(SourceFormat::Heif));
        assert_eq!(sniff(b"GIF89a"), Err(Refusal::Unsupported("GIF")));
        assert_eq!(sniff(b"%PDF-1.7"), Err(Refusal::Unsupported("PDF")));
        assert_eq!(
            sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Err(Refusal::Unsupported("SVG"))
        );
        assert_eq!(
            sniff(b"<?php echo 'hi'; ?>"),
            Err(Refusal::Unsupported("PHP script"))
        );
        assert_eq!(sniff(b""), Err(Refusal::Empty));
    }

    #[test]
    fn a_huge_png_header_is_refused_before_decoding() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        let refusal = process(&png, &Limits::default()).unwrap_err();
        assert_eq!(refusal.code(), "too_many_pixels");
    }
}
