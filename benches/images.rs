//! Image processing benchmark, printed as figures: a 12-megapixel camera JPEG (EXIF
//! orientation 6) read, checked, decoded, turned, shrunk to 1200 px and 300 px and
//! re-encoded, as an upload is. Targets: under 1.5 s and under 300 MB.
//!
//! Each run happens in a fresh child process so that its peak memory (VmHWM from
//! /proc/self/status) is the upload's alone, not the test image's generation.
//!
//! Run: `cargo bench --bench images` (BENCH_RUNS sets the number of runs, default 5).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::process::Command;
use std::time::Instant;

use comptoir::media::process::{process, Limits};
use image::{ImageFormat, Rgb, RgbImage};

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A photo-like 4000 × 3000 JPEG (gradients plus noise, so it compresses like a photo,
/// about 3 MB) with an EXIF block saying "turn 90° clockwise".
fn camera_jpeg() -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let image = RgbImage::from_fn(4000, 3000, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 24) as u32;
        Rgb([
            ((x / 16 + noise) % 256) as u8,
            ((y / 12 + noise) % 256) as u8,
            (((x + y) / 28 + noise) % 256) as u8,
        ])
    });
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    // APP1 "Exif": big-endian TIFF, one IFD entry, Orientation = 6.
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&u16::try_from(segment.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn child(path: &str) {
    let bytes = std::fs::read(path).unwrap();
    let before = status_kb("VmHWM:");
    let start = Instant::now();
    let processed = process(&bytes, &Limits::default()).unwrap();
    let elapsed = start.elapsed();
    let peak = status_kb("VmHWM:");
    println!(
        "{} {} {} {} {}x{} {}",
        elapsed.as_millis(),
        peak,
        before,
        processed.display.bytes.len(),
        processed.display.width,
        processed.display.height,
        processed.thumbnail.bytes.len()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--child") {
        child(&args[at + 1]);
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let jpeg = camera_jpeg();
    let dir = std::env::temp_dir().join(format!("comptoir-bench-images-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("camera.jpg");
    std::fs::write(&path, &jpeg).unwrap();
    println!(
        "image processing: 4000x3000 JPEG, {:.1} MB, EXIF orientation 6; {runs} runs, each in a fresh process",
        jpeg.len() as f64 / 1e6
    );
    let exe = std::env::current_exe().unwrap();
    let mut times = Vec::new();
    let mut peaks = Vec::new();
    for run in 1..=runs {
        let output = Command::new(&exe)
            .arg("--child")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let line = String::from_utf8_lossy(&output.stdout);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ms: u64 = fields[0].parse().unwrap();
        let peak_kb: u64 = fields[1].parse().unwrap();
        let before_kb: u64 = fields[2].parse().unwrap();
        println!(
            "  run {run}: {ms} ms, peak RSS {:.0} MB (process before: {:.0} MB), display {} ({:.0} KB), thumbnail {:.0} KB",
            peak_kb as f64 / 1024.0,
            before_kb as f64 / 1024.0,
            fields[4],
            fields[3].parse::<f64>().unwrap() / 1024.0,
            fields[5].parse::<f64>().unwrap() / 1024.0,
        );
        times.push(ms);
        peaks.push(peak_kb);
    }
    times.sort_unstable();
    let median = times[times.len() / 2];
    let worst_peak = peaks.iter().max().copied().unwrap_or(0) as f64 / 1024.0;
    println!(
        "median {median} ms (target < 1500 ms: {}), worst peak RSS {worst_peak:.0} MB (target < 300 MB: {})",
        if median < 1500 { "met" } else { "MISSED" },
        if worst_peak < 300.0 { "met" } else { "MISSED" },
    );
    let _ = std::fs::remove_dir_all(&dir);
}
