//! HEIC/HEIF (iPhone photos).
//!
//! Decoding HEVC takes libheif + libde265 (C/C++). The `libheif-rs` bindings need
//! libheif ≥ 1.17, and Debian 12 ships 1.15 (its `libheif1` links libde265 directly, no
//! plugin package needed): linking it would mean building libheif from source in every
//! build. Debian's `libheif-examples` package instead gives `heif-convert`, built on the
//! system libheif; running it as a child process also keeps a C parser of untrusted
//! files out of the server's address space. When it is not installed, HEIC uploads are
//! refused with a message saying how to send a JPEG instead.
//!
//! The size is read from the container's `ispe` boxes before anything is decoded, like
//! the other formats' headers.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use image::DynamicImage;

use super::process::{Refusal, SourceFormat};

/// The converter, overridable for packaging (`COMPTOIR_HEIF_CONVERT`).
fn converter() -> PathBuf {
    std::env::var_os("COMPTOIR_HEIF_CONVERT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("heif-convert"))
}

/// Whether HEIC photos can be decoded here.
pub fn available() -> bool {
    Command::new(converter())
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The largest `ispe` (image spatial extent) in the file: the primary image's size (a
/// grid image's tiles are smaller than the grid).
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let meta = find_box(bytes, b"meta")?;
    // `meta` is a full box: 4 bytes of version and flags before its children.
    let iprp = find_box(meta.get(4..)?, b"iprp")?;
    let ipco = find_box(iprp, b"ipco")?;
    let mut best: Option<(u32, u32)> = None;
    let mut rest = ipco;
    while let Some((kind, body, next)) = next_box(rest) {
        if kind == *b"ispe" && body.len() >= 12 {
            let be = |at: usize| {
                u32::from_be_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]])
            };
            let size = (be(4), be(8));
            let area = |(w, h): (u32, u32)| u64::from(w) * u64::from(h);
            if best.is_none_or(|b| area(size) > area(b)) {
                best = Some(size);
            }
        }
        rest = next;
    }
    best
}

/// The first box of type `kind` at this level, its body.
fn find_box<'a>(mut bytes: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    while let Some((found, body, rest)) = next_box(bytes) {
        if &found == kind {
            return Some(body);
        }
        bytes = rest;
    }
    None
}

/// (type, body, what follows) of the box at the start of `bytes`.
fn next_box(bytes: &[u8]) -> Option<([u8; 4], &[u8], &[u8])> {
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as u64;
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let (header, size) = match size {
        0 => (8, bytes.len() as u64),
        1 => (16, u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)),
        n => (8, n),
    };
    let end = usize::try_from(size).ok()?;
    if end < header || end > bytes.len() {
        return None;
    }
    Some((kind, &bytes[header..end], &bytes[end..]))
}

/// Decodes with `heif-convert` into a PNG, then reads that (orientation is applied by
/// libheif: HEIF keeps it in the container, not in EXIF).
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, Refusal> {
    let corrupt = |detail: String| Refusal::Corrupt {
        format: SourceFormat::Heif.name(),
        detail,
    };
    let dir = std::env::temp_dir().join(format!("comptoir-heif-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir(&dir).map_err(|e| corrupt(format!("no temporary folder: {e}")))?;
    let input = dir.join("in.heic");
    let output = dir.join("out.png");
    let result = (|| {
        std::fs::write(&input, bytes).map_err(|e| corrupt(e.to_string()))?;
        let run = Command::new(converter())
            .arg("--quiet")
            .arg(&input)
            .arg(&output)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        let run = match run {
            Ok(run) => run,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(Refusal::HeicUnavailable)
            }
            Err(error) => return Err(corrupt(error.to_string())),
        };
        if !run.status.success() || !output.exists() {
            let why = String::from_utf8_lossy(&run.stderr);
            return Err(corrupt(
                why.trim().lines().last().unwrap_or("unreadable").to_owned(),
            ));
        }
        let png = std::fs::read(&output).map_err(|e| corrupt(e.to_string()))?;
        image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .map_err(|e| corrupt(e.to_string()))
    })();
    if let Err(error) = std::fs::remove_dir_all(&dir) {
        tracing::warn!(%error, dir = %dir.display(), "HEIF temporary folder not removed");
    }
    result
}
