//! Product images end to end: real files made here, a private PostgreSQL, and for the S3
//! store a real S3-compatible server (s3s-fs, built by `scripts/s3-deps`) on loopback.
//! Upload (presigned PUT or through the app), process, serve, reorder, alt text, delete,
//! orphan sweep; every refused file is tried and leaves nothing stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Cursor;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use aggregates::metadata::EventMetadata;
use aggregates::staff::StaffRole;
use aggregates::Actor;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use common::{published_product, S3Server, TestDb};
use comptoir::commands::CommandBus;
use comptoir::http::AppState;
use comptoir::media::{self, Limits, LocalStore, Media, MediaError, S3Settings, S3Store};
use image::{DynamicImage, GenericImageView, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use tower::ServiceExt;
use uuid::Uuid;

// ---------------------------------------------------------------- test files

/// A 4000 × 3000 (12 MP) JPEG whose EXIF says "turn 90° clockwise" and carries a GPS
/// position.
fn camera_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(4000, 3000, |x, y| {
        // Left half red, right half blue: tells whether the turn was applied.
        if x < 2000 {
            Rgb([200, (y % 256) as u8, 40])
        } else {
            Rgb([40, (y % 256) as u8, 200])
        }
    });
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    with_exif(jpeg)
}

/// Inserts an APP1 EXIF segment: orientation 6 and a GPS latitude of 48°51'N.
fn with_exif(jpeg: Vec<u8>) -> Vec<u8> {
    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"MM\0\x2a\0\0\0\x08");
    // IFD0: 2 entries.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    // Orientation (0x0112), SHORT, 1, value 6.
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    // GPS IFD pointer (0x8825), LONG, 1, offset 38.
    tiff.extend_from_slice(&[0x88, 0x25, 0, 4, 0, 0, 0, 1, 0, 0, 0, 38]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 38);
    // GPS IFD: LatitudeRef "N", Latitude 48/1 51/1 0/1.
    tiff.extend_from_slice(&2u16.to_be_bytes());
    tiff.extend_from_slice(&[0, 1, 0, 2, 0, 0, 0, 2, b'N', 0, 0, 0]);
    tiff.extend_from_slice(&[0, 2, 0, 5, 0, 0, 0, 3, 0, 0, 0, 68]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    assert_eq!(tiff.len(), 68);
    for (n, d) in [(48u32, 1u32), (51, 1), (0, 1)] {
        tiff.extend_from_slice(&n.to_be_bytes());
        tiff.extend_from_slice(&d.to_be_bytes());
    }
    let mut segment = b"Exif\0\0".to_vec();
    segment.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&u16::try_from(segment.len() + 2).unwrap().to_be_bytes());
    out.extend_from_slice(&segment);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An 800 × 600 PNG with a transparent corner.
fn cutout_png() -> Vec<u8> {
    let image = RgbaImage::from_fn(800, 600, |x, y| {
        if x < 100 && y < 100 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([(x % 256) as u8, 90, (y % 256) as u8, 255])
        }
    });
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .unwrap();
    png
}

/// A 1600 × 1200 opaque WebP (lossless: what the `image` crate writes).
fn webp() -> Vec<u8> {
    let image = RgbaImage::from_fn(1600, 1200, |x, y| {
        Rgba([(x / 7) as u8, (y / 5) as u8, 120, 255])
    });
    let mut out = Vec::new();
    DynamicImage::ImageRgba8(image)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::WebP)
        .unwrap();
    out
}

/// A PNG whose header claims 50,000 × 50,000 pixels (10 GB decoded).
fn huge_png_header() -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&50_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&13u32.to_be_bytes());
    png.extend_from_slice(&ihdr);
    png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    png.extend_from_slice(&[0, 0, 0, 0]);
    png.extend_from_slice(b"IEND");
    png.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn small_jpeg() -> Vec<u8> {
    let image = RgbImage::from_fn(640, 480, |x, _| Rgb([(x % 256) as u8, 100, 50]));
    let mut jpeg = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut jpeg), ImageFormat::Jpeg)
        .unwrap();
    jpeg
}

/// Every file that must be refused, with the code it must be refused with.
fn refused_files() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut truncated = small_jpeg();
    truncated.truncate(truncated.len() / 2);
    let mut too_large = vec![0xFF, 0xD8, 0xFF, 0xE0];
    too_large.resize(11 * 1024 * 1024, 0);
    vec![
        ("huge.png", huge_png_header(), "too_many_pixels"),
        ("cut.jpg", truncated, "corrupt_image"),
        (
            "logo.svg",
            br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#.to_vec(),
            "unsupported_format",
        ),
        ("anim.gif", b"GIF89a\x01\0\x01\0\x80\0\0\xff\xff\xff\0\0\0!\xf9\x04\0\0\0\0\0,\0\0\0\0\x01\0\x01\0\0\x02\x02D\x01\0;".to_vec(), "unsupported_format"),
        ("notice.pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec(), "unsupported_format"),
        ("shell.jpg", b"<?php system($_GET['c']); ?>".to_vec(), "unsupported_format"),
        ("big.jpg", too_large, "file_too_large"),
        ("empty.jpg", Vec::new(), "empty_file"),
    ]
}

/// A HEIC made by Debian's heif-enc from a PNG, when installed.
fn heic() -> Option<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("in.png");
    RgbImage::from_fn(640, 480, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .save(&png)
        .unwrap();
    let out = dir.path().join("out.heic");
    let status = Command::new("heif-enc")
        .arg("-q")
        .arg("60")
        .arg(&png)
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| std::fs::read(out).unwrap())
}

// ---------------------------------------------------------------- checks

/// A published JPEG: no APP1 (EXIF/XMP) segment, no GPS, the given size.
fn assert_clean_jpeg(bytes: &[u8], width: u32, height: u32) {
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "not a JPEG");
    assert!(
        !bytes.windows(2).any(|w| w == [0xFF, 0xE1]) || !bytes.windows(4).any(|w| w == b"Exif"),
        "metadata left in the published file"
    );
    assert!(!bytes.windows(4).any(|w| w == b"Exif"));
    let image = image::load_from_memory_with_format(bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!(image.dimensions(), (width, height));
}

fn system() -> EventMetadata {
    EventMetadata::system()
}

async fn keys(media: &Media) -> BTreeSet<String> {
    media
        .store()
        .list("")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect()
}

async fn image_count(bus: &CommandBus, product: Uuid) -> usize {
    bus.products
        .load(&product.to_string())
        .await
        .unwrap()
        .images()
        .len()
}

async fn put_presigned(upload: &media::PresignedUpload, body: Vec<u8>) -> reqwest::StatusCode {
    let client = reqwest::Client::new();
    let mut request = client.put(&upload.put.url).body(body);
    for (name, value) in &upload.put.headers {
        // The browser sets Content-Length itself from the body.
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value);
        }
    }
    request.send().await.unwrap().status()
}

// ---------------------------------------------------------------- tests

#[test]
fn processing_a_camera_photo_turns_it_upright_and_strips_its_metadata() {
    let processed = media::process::process(&camera_jpeg(), &Limits::default()).unwrap();
    // 4000 × 3000 turned a quarter: portrait.
    assert_clean_jpeg(&processed.display.bytes, 900, 1200);
    assert_clean_jpeg(&processed.thumbnail.bytes, 225, 300);
    // Turned clockwise: the red (left) half is now on top.
    let display = image::load_from_memory(&processed.display.bytes)
        .unwrap()
        .to_rgb8();
    let top = display.get_pixel(450, 100);
    let bottom = display.get_pixel(450, 1100);
    assert!(top[0] > 150 && top[2] < 100, "top is {top:?}");
    assert!(bottom[2] > 150 && bottom[0] < 100, "bottom is {bottom:?}");
}

#[test]
fn transparency_is_kept_as_png_and_an_opaque_webp_becomes_jpeg() {
    let png = media::process::process(&cutout_png(), &Limits::default()).unwrap();
    assert_eq!(png.display.content_type, "image/png");
    let decoded = image::load_from_memory(&png.display.bytes).unwrap();
    assert_eq!(decoded.dimensions(), (800, 600));
    assert_eq!(decoded.to_rgba8().get_pixel(0, 0)[3], 0);
    assert!(png.display.key().ends_with(".png"));
    let webp = media::process::process(&webp(), &Limits::default()).unwrap();
    assert_clean_jpeg(&webp.display.bytes, 1200, 900);
    assert_clean_jpeg(&webp.thumbnail.bytes, 300, 225);
}

#[test]
fn every_refused_file_is_refused_with_its_code() {
    for (name, bytes, code) in refused_files() {
        let refusal = media::process::process(&bytes, &Limits::default()).unwrap_err();
        assert_eq!(refusal.code(), code, "{name}: {refusal}");
        assert!(!refusal.to_string().is_empty());
    }
    let limits = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    let refusal = media::process::process(
        &small_jpeg(),
        &Limits {
            max_pixels: 100_000,
            ..limits
        },
    )
    .unwrap_err();
    assert_eq!(refusal.code(), "too_many_pixels");
}

#[test]
fn a_heic_photo_is_read_when_heif_convert_is_installed() {
    let Some(heic) = heic() else {
        panic!("heif-enc is missing: run scripts/s3-deps first");
    };
    let processed = media::process::process(&heic, &Limits::default()).unwrap();
    assert_eq!(processed.source, media::process::SourceFormat::Heif);
    assert_clean_jpeg(&processed.display.bytes, 640, 480);
}

#[tokio::test]
async fn the_s3_store_takes_presigned_uploads_processes_serves_reorders_deletes_and_sweeps() {
    common::init_logs();
    let server = S3Server::start();
    let media = server.media();
    let db = TestDb::new().await;
    let bus = db.bus();
    let product = published_product(&bus, "PN-S3", "10.00", 0).await;

    // A presigned upload of the camera photo.
    let photo = camera_jpeg();
    let upload = media::presign(&media, &bus, product, "image/jpeg", photo.len() as u64)
        .await
        .unwrap();
    assert!(upload.key.starts_with(&format!("incoming/{product}/")));
    assert!(upload.expires_in_seconds <= 900);
    // The signed length binds: a larger body is refused by the bucket itself.
    let mut longer = photo.clone();
    longer.extend_from_slice(&[0; 1000]);
    assert!(!put_presigned(&upload, longer).await.is_success());
    assert_eq!(put_presigned(&upload, photo).await, reqwest::StatusCode::OK);
    let first = media::process_incoming(&media, &bus, product, &upload.key, None, &system())
        .await
        .unwrap();
    assert!(
        first.url.starts_with("https://cdn.shop.test/images/"),
        "{}",
        first.url
    );
    assert_eq!(
        first.alt, "Produit PN-S3",
        "the alt text defaults to the product name"
    );
    let stored = keys(&media).await;
    assert!(
        !stored.iter().any(|k| k.starts_with("incoming/")),
        "{stored:?}"
    );
    assert_eq!(stored.len(), 2, "display and thumbnail: {stored:?}");
    // Served: the published bytes are upright and clean.
    let display_key = first.url.trim_start_matches("https://cdn.shop.test/");
    let display = media
        .store()
        .get(display_key, u64::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_clean_jpeg(&display, 900, 1200);

    // A second image, a PNG.
    let png = cutout_png();
    let upload = media::presign(&media, &bus, product, "image/png", png.len() as u64)
        .await
        .unwrap();
    assert_eq!(put_presigned(&upload, png).await, reqwest::StatusCode::OK);
    let second = media::process_incoming(
        &media,
        &bus,
        product,
        &upload.key,
        Some("Vue de côté".into()),
        &system(),
    )
    .await
    .unwrap();
    assert!(second.url.ends_with(".png"));

    // Reorder, move, alt text.
    let images = media::reorder(&media, &bus, product, vec![second.id, first.id], &system())
        .await
        .unwrap();
    assert_eq!(
        images.iter().map(|i| i.id).collect::<Vec<_>>(),
        [second.id, first.id]
    );
    let images = media::move_image(&media, &bus, product, first.id, true, &system())
        .await
        .unwrap();
    assert_eq!(
        images.iter().map(|i| i.id).collect::<Vec<_>>(),
        [first.id, second.id]
    );
    let error = media::reorder(&media, &bus, product, vec![first.id], &system())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "image_order_mismatch");
    let changed = media::change_alt_text(
        &media,
        &bus,
        product,
        first.id,
        "Pneu, flanc".into(),
        &system(),
    )
    .await
    .unwrap();
    assert_eq!(changed.alt, "Pneu, flanc");

    // Every refused file, through the presigned path: refused, nothing kept.
    let before = keys(&media).await;
    for (name, bytes, code) in refused_files() {
        if bytes.is_empty() || bytes.len() as u64 > media.limits.max_bytes {
            // Refused before any URL is signed.
            let error = media::presign(&media, &bus, product, "image/jpeg", bytes.len() as u64)
                .await
                .unwrap_err();
            assert_eq!(error.code(), code, "{name}");
            continue;
        }
        let upload = media::presign(&media, &bus, product, "image/jpeg", bytes.len() as u64)
            .await
            .unwrap();
        assert_eq!(
            put_presigned(&upload, bytes).await,
            reqwest::StatusCode::OK,
            "{name}"
        );
        let error = media::process_incoming(&media, &bus, product, &upload.key, None, &system())
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{name}: {error}");
        assert_eq!(keys(&media).await, before, "{name} left something behind");
    }
    assert_eq!(image_count(&bus, product).await, 2);
    for declared in [
        "image/svg+xml",
        "image/gif",
        "application/pdf",
        "text/x-php",
    ] {
        let error = media::presign(&media, &bus, product, declared, 100)
            .await
            .unwrap_err();
        assert_eq!(error.code(), "unsupported_format", "{declared}");
    }
    // Someone else's upload key, or a made-up one, is not processed.
    let other = format!("incoming/{}/{}", Uuid::now_v7(), Uuid::new_v4());
    let error = media::process_incoming(&media, &bus, product, &other, None, &system())
        .await
        .unwrap_err();
    assert!(matches!(error, MediaError::NotThisUpload));

    // Delete: the removed image's objects leave the bucket once the event is recorded.
    media::remove(&media, &bus, product, second.id, &system())
        .await
        .unwrap();
    let after = keys(&media).await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(after.contains(display_key));

    // The orphan sweep: an unreferenced object and an abandoned upload go, the live
    // image stays; a fresh orphan is spared during the grace period.
    for key in ["images/0000orphan.jpg", "incoming/abandoned/upload"] {
        media
            .store()
            .put(key, vec![1, 2, 3], "image/jpeg")
            .await
            .unwrap();
    }
    let report = media::gc(&media, &db.pool, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(
        (report.deleted.len(), report.recent, report.kept),
        (0, 2, 2)
    );
    let report = media::gc(&media, &db.pool, Duration::ZERO).await.unwrap();
    assert_eq!(report.deleted.len(), 2, "{report:?}");
    assert_eq!(report.kept, 2);
    assert_eq!(keys(&media).await, after);
}

// ---------------------------------------------------------------- the local store, over HTTP

const PASSWORD: &str = "une phrase de passe solide";

struct App {
    db: TestDb,
    app: Router,
    cookie: String,
    csrf: String,
    /// Stops the projector (the product pages read its views).
    _stop: tokio::sync::watch::Sender<bool>,
}

impl App {
    async fn new(media: Media) -> App {
        let db = TestDb::new().await;
        let settings = comptoir::admin::AdminSettings {
            secure_cookies: false,
            ..Default::default()
        };
        let state = AppState {
            media_base_url: media.public_base_url().to_owned(),
            media,
            admin: settings,
            ..common::state(&db)
        };
        let app = comptoir::http::router(state);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        projections::Projector::new(db.pool.clone(), comptoir::app::consumers(&db.bus()))
            .spawn(stopped);
        let mut app = App {
            db,
            app,
            cookie: String::new(),
            csrf: String::new(),
            _stop: stop,
        };
        comptoir::auth::create_account(
            &app.db.bus(),
            "owner@shop.test",
            "Owner",
            StaffRole::Owner.as_str(),
            PASSWORD.into(),
            Actor::System,
        )
        .await
        .unwrap();
        app.send(Request::get("/login").body(Body::empty()).unwrap())
            .await;
        let form = serde_urlencoded::to_string([
            ("email", "owner@shop.test"),
            ("password", PASSWORD),
            ("_csrf", &app.csrf.clone()),
        ])
        .unwrap();
        let (status, _, body) = app.send(app.form("/login", form)).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{}",
            String::from_utf8_lossy(&body)
        );
        app.send(Request::get("/admin").body(Body::empty()).unwrap())
            .await;
        assert_eq!(app.csrf.len(), 64);
        app
    }

    fn form(&self, path: &str, body: String) -> Request<Body> {
        Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, "http://shop.test")
            .body(Body::from(body))
            .unwrap()
    }

    fn call(&self, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> Request<Body> {
        Request::builder()
            .method(method)
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, "http://shop.test")
            .header("x-csrf-token", &self.csrf)
            .body(Body::from(body))
            .unwrap()
    }

    async fn send(
        &mut self,
        mut request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        if !self.cookie.is_empty() {
            request
                .headers_mut()
                .insert(header::COOKIE, self.cookie.parse().unwrap());
        }
        let ip: SocketAddr = "192.0.2.1:4000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(ip));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        for value in headers.get_all(header::SET_COOKIE) {
            if let Some(pair) = value.to_str().unwrap().split(';').next() {
                if pair.starts_with("comptoir_session=") {
                    self.cookie = pair.to_owned();
                }
            }
        }
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec();
        let html = String::from_utf8_lossy(&body);
        let marker = "name=\"_csrf\" value=\"";
        if let Some(at) = html.find(marker) {
            self.csrf = html[at + marker.len()..at + marker.len() + 64].to_owned();
        }
        (status, headers, body)
    }

    async fn json(&mut self, request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self.send(request).await;
        let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, value)
    }

    async fn upload(
        &mut self,
        product: Uuid,
        name: &str,
        bytes: &[u8],
    ) -> (StatusCode, serde_json::Value) {
        let boundary = "comptoir-test-boundary";
        let mut body = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\ncontent-type: image/jpeg\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut request = self.call(
            Method::POST,
            &format!("/admin/products/{product}/images"),
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        );
        // As the images tab's script asks: a JSON answer.
        request
            .headers_mut()
            .insert(header::ACCEPT, "application/json".parse().unwrap());
        self.json(request).await
    }

    /// The upload form as a browser without JavaScript posts it: multipart, the token in
    /// its first field (`token` says which), every file in a `file` field, no htmx header.
    fn upload_form(
        &self,
        product: Uuid,
        token: &str,
        files: &[(&str, &[u8])],
        alt: &str,
    ) -> Request<Body> {
        // Mixed case, as browsers make them: a boundary is compared as sent.
        let boundary = "----ComptoirFormBoundaryQx7Z";
        let mut body = Vec::new();
        let mut text_field = |name: &str, value: &str| {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        };
        text_field("_csrf", token);
        text_field("alt", alt);
        for (name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\ncontent-type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        Request::builder()
            .method(Method::POST)
            .uri(format!("/admin/products/{product}/images"))
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, "http://shop.test")
            .body(Body::from(body))
            .unwrap()
    }

    /// Waits until the product's page can be shown (the projector runs beside the test).
    async fn product_shown(&mut self, product: Uuid) {
        for _ in 0..200 {
            let (status, _) = self.page(&format!("/admin/products/{product}")).await;
            if status == StatusCode::OK {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the product {product} never reached its view");
    }

    /// A GET of an admin page, as text.
    async fn page(&mut self, path: &str) -> (StatusCode, String) {
        let (status, _, body) = self
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// A plain form post: 303 to the images tab, whose page (with its toast) is returned.
    async fn form_post(&mut self, product: Uuid, request: Request<Body>) -> String {
        let (status, headers, body) = self.send(request).await;
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "{}",
            String::from_utf8_lossy(&body)
        );
        let tab = format!("/admin/products/{product}/images");
        assert_eq!(headers[header::LOCATION], tab.as_str());
        let (status, page) = self.page(&tab).await;
        assert_eq!(status, StatusCode::OK);
        page
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/images/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The ids of the images in the order the images tab lists them.
fn listed(page: &str) -> Vec<String> {
    page.split("data-image-id=\"")
        .skip(1)
        .map(|rest| rest[..36].to_owned())
        .collect()
}

/// The text of the toast(s) a page shows after a redirect.
fn toasts(page: &str) -> String {
    page.split("class=\"toast toast-")
        .skip(1)
        .map(|rest| {
            let start = rest.find("<span>").map_or(0, |at| at + "<span>".len());
            let end = rest[start..]
                .find("</span>")
                .map_or(rest.len(), |at| start + at);
            rest[start..end].to_owned()
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Without JavaScript, on either store: the tab's upload form (several files, one refused),
/// the move buttons, the alt text form, the deletion through its confirmation page.
async fn the_plain_forms_work(media: Media) {
    let mut app = App::new(media.clone()).await;
    let bus = app.db.bus();
    let product = published_product(&bus, "PN-NOJS", "10.00", 0).await;
    app.product_shown(product).await;
    let tab = format!("/admin/products/{product}/images");
    let (status, page) = app.page(&tab).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Aucune image pour ce produit."), "{page}");

    // One photo: 303 to the tab, which lists it and says so.
    let token = app.csrf.clone();
    let request = app.upload_form(product, &token, &[("tyre.jpg", &fixture("tyre.jpg"))], "");
    let page = app.form_post(product, request).await;
    assert!(
        toasts(&page).contains("1 image(s) ajoutée(s)."),
        "{}",
        toasts(&page)
    );
    let first = listed(&page);
    assert_eq!(first.len(), 1, "{page}");
    assert_eq!(image_count(&bus, product).await, 1);
    assert!(
        page.contains("alt=\"Produit PN-NOJS\""),
        "the alt text is the product's name"
    );

    // Two files at once, one of them not an image: the other is added, the refusal named.
    let token = app.csrf.clone();
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"/>"#;
    let request = app.upload_form(
        product,
        &token,
        &[("lever.png", &fixture("lever.png")), ("logo.svg", svg)],
        "Levier de frein",
    );
    let page = app.form_post(product, request).await;
    let said = toasts(&page);
    assert!(said.contains("1 image(s) ajoutée(s)."), "{said}");
    assert!(said.contains("« logo.svg » refusé"), "{said}");
    assert!(said.contains("pas une image acceptée"), "{said}");
    let order = listed(&page);
    assert_eq!(order.len(), 2);
    assert_eq!(order[0], first[0]);
    assert!(page.contains("alt=\"Levier de frein\""), "{page}");

    // No file chosen: the browser still sends an empty part; nothing is added.
    let token = app.csrf.clone();
    let request = app.upload_form(product, &token, &[("", b"")], "");
    let page = app.form_post(product, request).await;
    assert!(
        toasts(&page).contains("Aucun fichier n"),
        "{}",
        toasts(&page)
    );
    assert_eq!(image_count(&bus, product).await, 2);

    // Without the token in the form, nothing is added.
    let request = app.upload_form(product, "", &[("tyre.jpg", &fixture("tyre.jpg"))], "");
    let (status, _, _) = app.send(request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(image_count(&bus, product).await, 2);

    // Move the first down: the order changes, the toast says where it went.
    let (a, b) = (order[0].clone(), order[1].clone());
    let (_, _) = app.page(&tab).await;
    let form =
        serde_urlencoded::to_string([("_csrf", app.csrf.as_str()), ("direction", "down")]).unwrap();
    let request = app.form(&format!("{tab}/{a}/move"), form);
    let page = app.form_post(product, request).await;
    assert_eq!(listed(&page), vec![b.clone(), a.clone()]);
    assert!(
        toasts(&page).contains("Image déplacée en position 2 sur 2."),
        "{}",
        toasts(&page)
    );

    // Its alt text, then an empty one (refused, in words).
    let form = serde_urlencoded::to_string([("_csrf", app.csrf.as_str()), ("alt", "Pneu, flanc")])
        .unwrap();
    let page = app
        .form_post(product, app.form(&format!("{tab}/{a}/alt"), form))
        .await;
    assert!(toasts(&page).contains("Texte alternatif enregistré."));
    assert!(page.contains("value=\"Pneu, flanc\""), "{page}");
    let form = serde_urlencoded::to_string([("_csrf", app.csrf.as_str()), ("alt", " ")]).unwrap();
    let page = app
        .form_post(product, app.form(&format!("{tab}/{a}/alt"), form))
        .await;
    assert!(
        toasts(&page).contains("Le texte alternatif ne peut pas être vide."),
        "{}",
        toasts(&page)
    );

    // Delete: a confirmation page first, whose form posts the deletion.
    let (status, confirm) = app.page(&format!("{tab}/{b}/delete")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(confirm.contains("Supprimer cette image ?"), "{confirm}");
    assert!(
        confirm.contains(&format!("action=\"{tab}/{b}/delete\"")),
        "{confirm}"
    );
    assert!(confirm.contains(&format!("href=\"{tab}\"")), "a way back");
    let form = serde_urlencoded::to_string([("_csrf", app.csrf.as_str())]).unwrap();
    let page = app
        .form_post(product, app.form(&format!("{tab}/{b}/delete"), form))
        .await;
    assert!(
        toasts(&page).contains("Image supprimée."),
        "{}",
        toasts(&page)
    );
    assert_eq!(listed(&page), vec![a.clone()]);
    assert_eq!(image_count(&bus, product).await, 1);
    // Its files are gone from the store; the remaining image's are kept.
    let remaining = media::list(&media, &bus, product).await.unwrap();
    assert_eq!(remaining.len(), 1);
    assert_eq!(
        keys(&media).await.len(),
        2,
        "one display version, one thumbnail"
    );

    // A file over the limit, without JavaScript: refused before anything is read further,
    // with a page that says why.
    let mut huge = vec![0xFF, 0xD8, 0xFF, 0xE0];
    huge.resize(11 * 1024 * 1024, 0);
    let token = app.csrf.clone();
    let request = app.upload_form(product, &token, &[("huge.jpg", &huge)], "");
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("Envoi trop volumineux"), "{body}");
    assert!(body.contains("10 Mo"), "{body}");
    assert_eq!(image_count(&bus, product).await, 1);
}

#[tokio::test]
async fn the_local_store_takes_uploads_through_the_app_and_serves_them() {
    common::init_logs();
    let dir = tempfile::tempdir().unwrap();
    let media = Media::new(
        Arc::new(LocalStore::new(dir.path().join("media"))),
        Limits::default(),
        "/media",
    );
    let mut app = App::new(media.clone()).await;
    let bus = app.db.bus();
    let product = published_product(&bus, "PN-LOCAL", "10.00", 0).await;
    let base = format!("/admin/products/{product}/images");

    // Upload through the app.
    let (status, first) = app.upload(product, "photo.jpg", &camera_jpeg()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let url = first["url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("/media/images/") && url.ends_with(".jpg"),
        "{url}"
    );
    assert_eq!(first["alt"], "Produit PN-LOCAL");
    // Served by the app, cacheable forever.
    let (status, headers, body) = app
        .send(Request::get(url.as_str()).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert!(headers[header::CACHE_CONTROL]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_clean_jpeg(&body, 900, 1200);
    let thumb = first["thumbnailUrl"].as_str().unwrap().to_owned();
    let (status, _, body) = app
        .send(Request::get(thumb.as_str()).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_clean_jpeg(&body, 225, 300);
    for path in [
        "/media/../Cargo.toml",
        "/media/images/nothing.jpg",
        "/media/images/x.svg",
    ] {
        let (status, _, _) = app
            .send(Request::get(path).body(Body::empty()).unwrap())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }

    // The second image, a WebP; HEIC when heif-enc is installed.
    let (status, second) = app.upload(product, "side.webp", &webp()).await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    if let Some(heic) = heic() {
        let (status, third) = app.upload(product, "iphone.heic", &heic).await;
        assert_eq!(status, StatusCode::CREATED, "{third}");
        let id = third["id"].as_str().unwrap();
        let (status, _) = app
            .json(app.call(
                Method::POST,
                &format!("{base}/{id}/delete"),
                "application/json",
                Vec::new(),
            ))
            .await;
        assert_eq!(status, StatusCode::OK);
    }

    // Every refused file: a code, a message, nothing stored.
    let before = keys(&media).await;
    for (name, bytes, code) in refused_files() {
        let (status, answer) = app.upload(product, name, &bytes).await;
        assert!(status.is_client_error(), "{name}: {status}");
        assert_eq!(answer["error"]["code"], code, "{name}: {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
        assert_eq!(keys(&media).await, before, "{name} left something behind");
    }
    assert_eq!(image_count(&bus, product).await, 2);
    // No presigned URLs with local files.
    let (status, answer) = app
        .json(app.call(
            Method::POST,
            &format!("{base}/presign"),
            "application/json",
            br#"{"contentType":"image/jpeg","size":1000}"#.to_vec(),
        ))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answer["error"]["code"], "presign_unavailable");

    // Reorder (JSON), move (plain form: redirected back), alt text, delete.
    let (a, b) = (
        first["id"].as_str().unwrap(),
        second["id"].as_str().unwrap(),
    );
    let (status, answer) = app
        .json(app.call(
            Method::POST,
            &format!("{base}/order"),
            "application/json",
            format!(r#"{{"imageIds":["{b}","{a}"]}}"#).into_bytes(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["images"][0]["id"], b);
    let form =
        serde_urlencoded::to_string([("direction", "down"), ("_csrf", &app.csrf.clone())]).unwrap();
    let (status, headers, _) = app.send(app.form(&format!("{base}/{b}/move"), form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], base.as_str());
    let (_, listed) = app
        .json(
            Request::get(format!("{base}/list"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(listed["images"][0]["id"], a);
    assert_eq!(listed["images"][1]["id"], b);
    let (status, answer) = app
        .json(app.call(
            Method::POST,
            &format!("{base}/{a}/alt"),
            "application/json",
            br#"{"alt":"Pneu avant"}"#.to_vec(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["alt"], "Pneu avant");
    let (status, answer) = app
        .json(app.call(
            Method::POST,
            &format!("{base}/{a}/alt"),
            "application/json",
            br#"{"alt":"  "}"#.to_vec(),
        ))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["code"], "alt_text_empty");
    // Without the CSRF token, nothing changes.
    let mut forged = app.call(
        Method::POST,
        &format!("{base}/{a}/delete"),
        "application/json",
        Vec::new(),
    );
    forged.headers_mut().remove("x-csrf-token");
    let (status, _, _) = app.send(forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = app
        .json(app.call(
            Method::POST,
            &format!("{base}/{a}/delete"),
            "application/json",
            Vec::new(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["images"].as_array().unwrap().len(), 1);
    let (status, _, _) = app
        .send(Request::get(url.as_str()).body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the removed image's file is deleted"
    );

    // The sweep keeps what is referenced.
    let report = media::gc(&media, &app.db.pool, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.kept, 2, "{report:?}");
    assert_eq!(report.deleted.len(), 0, "{report:?}");
}

#[tokio::test]
async fn without_javascript_the_images_tab_works_with_plain_forms_on_local_files() {
    common::init_logs();
    let dir = tempfile::tempdir().unwrap();
    the_plain_forms_work(Media::new(
        Arc::new(LocalStore::new(dir.path().join("media"))),
        Limits::default(),
        "/media",
    ))
    .await;
}

#[tokio::test]
async fn without_javascript_the_images_tab_works_with_plain_forms_on_s3() {
    common::init_logs();
    let server = S3Server::start();
    the_plain_forms_work(server.media()).await;
}

#[tokio::test]
async fn the_images_tab_has_a_drop_zone_progress_bars_move_buttons_and_a_delete_confirmation() {
    common::init_logs();
    let dir = tempfile::tempdir().unwrap();
    let media = Media::local(dir.path().join("media"));
    let mut app = App::new(media.clone()).await;
    let bus = app.db.bus();
    let product = published_product(&bus, "PN-TAB", "10.00", 0).await;
    app.product_shown(product).await;
    let mut ids = Vec::new();
    for name in ["tyre.jpg", "lever.png"] {
        let image = media::upload(&media, &bus, product, fixture(name), None, &system())
            .await
            .unwrap();
        ids.push(image.id);
    }
    let tab = format!("/admin/products/{product}/images");
    let (status, page) = app.page(&tab).await;
    assert_eq!(status, StatusCode::OK);

    // The upload form: a plain multipart form (the token first), inside the drop zone.
    let form_at = page
        .find("<form id=\"image-upload\"")
        .expect("the upload form");
    let form = &page[form_at..form_at + page[form_at..].find("</form>").unwrap()];
    assert!(form.contains(&format!("action=\"{tab}\"")), "{form}");
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    assert!(
        form.find("name=\"_csrf\"").unwrap() < form.find("name=\"file\"").unwrap(),
        "the token comes before the files: {form}"
    );
    assert!(form.contains("id=\"image-dropzone\""), "{form}");
    assert!(form.contains(
        "type=\"file\" name=\"file\" multiple accept=\"image/jpeg,image/png,image/webp,image/heic,image/heif\""
    ), "{form}");
    assert!(
        form.contains("<label for=\"image-files\">"),
        "the picker is labelled"
    );
    assert!(form.contains("10 Mo au plus par fichier"), "{form}");
    assert!(
        form.contains("type=\"submit\""),
        "a submit button without JavaScript"
    );

    // The progress line the script clones for each file, and its words.
    let template_at = page
        .find("<template id=\"upload-template\"")
        .expect("the progress template");
    let template =
        &page[template_at..template_at + page[template_at..].find("</template>").unwrap()];
    assert!(
        template.contains("<progress max=\"100\" value=\"0\">"),
        "{template}"
    );
    assert!(
        template.contains("data-label=\"Envoi de {name}\""),
        "{template}"
    );
    // Every error code the server may answer, in words for the script.
    let messages_at = page
        .find("<template id=\"image-messages\"")
        .expect("the messages");
    let messages =
        &page[messages_at..messages_at + page[messages_at..].find("</template>").unwrap()];
    for code in comptoir::admin::media::ERROR_CODES {
        assert!(
            messages.contains(&format!("data-code=\"{code}\"")),
            "{code}"
        );
    }
    assert!(
        messages.contains("Le fichier dépasse la limite de 10 Mo."),
        "{messages}"
    );

    // The images in order, each with its move buttons (the first cannot go up, the last
    // cannot go down), its alt text form and the link to its delete confirmation.
    assert_eq!(
        listed(&page),
        ids.iter().map(Uuid::to_string).collect::<Vec<_>>()
    );
    for (index, id) in ids.iter().enumerate() {
        let url = format!("{tab}/{id}");
        let at = page.find(&format!("data-image-id=\"{id}\"")).unwrap();
        let item = &page[at..at + page[at..].find("</li>").unwrap()];
        assert!(item.contains(&format!("action=\"{url}/move\"")), "{item}");
        let up = format!(
            "name=\"direction\" value=\"up\"{}",
            if index == 0 { " disabled" } else { "" }
        );
        let down = format!(
            "name=\"direction\" value=\"down\"{}",
            if index == 1 { " disabled" } else { "" }
        );
        assert!(item.contains(&up), "{item}");
        assert!(item.contains(&down), "{item}");
        let position = index + 1;
        assert!(
            item.contains(&format!("aria-label=\"Monter l'image {position}\"")),
            "{item}"
        );
        assert!(item.contains(&format!("action=\"{url}/alt\"")), "{item}");
        assert!(
            item.contains(&format!("<label for=\"alt-{id}\">")),
            "{item}"
        );
        assert!(
            item.contains(&format!(
                "href=\"{url}/delete\" hx-get=\"{url}/delete\" hx-target=\"#modal\""
            )),
            "{item}"
        );
    }
    // The list alone, as the script fetches it after a change.
    let (status, fragment) = app.page(&format!("{tab}?part=list")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(fragment.starts_with("<section"), "{fragment}");
    assert_eq!(listed(&fragment), listed(&page));

    // The confirmation: a dialog's content for htmx, the question and the danger button.
    let request = Request::get(format!("{tab}/{}/delete", ids[1]))
        .header("hx-request", "true")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = app.send(request).await;
    assert_eq!(status, StatusCode::OK);
    let dialog = String::from_utf8_lossy(&body);
    assert!(dialog.starts_with("<div class=\"confirm\">"), "{dialog}");
    assert!(dialog.contains("Supprimer cette image ?"), "{dialog}");
    assert!(
        dialog.contains(&format!("action=\"{tab}/{}/delete\"", ids[1])),
        "{dialog}"
    );
    assert!(dialog.contains("data-close-dialog"), "{dialog}");
    // An image the product does not have: no confirmation.
    let (status, _) = app.page(&format!("{tab}/{}/delete", Uuid::now_v7())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // In English.
    let request = Request::get(&tab)
        .header(header::ACCEPT_LANGUAGE, "en")
        .body(Body::empty())
        .unwrap();
    let (_, _, body) = app.send(request).await;
    let english = String::from_utf8_lossy(&body);
    assert!(english.contains("Drop your photos here"), "{english}");
    assert!(
        english.contains("The file is over the 10 MB limit."),
        "{english}"
    );

    // Several files in one call from the script: one at a time, said with a code.
    let mut request = app.upload_form(
        product,
        &app.csrf.clone(),
        &[
            ("a.jpg", &fixture("tyre.jpg")),
            ("b.png", &fixture("lever.png")),
        ],
        "",
    );
    request
        .headers_mut()
        .insert(header::ACCEPT, "application/json".parse().unwrap());
    let (status, answer) = app.json(request).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer["error"]["code"], "one_file");
    assert_eq!(image_count(&bus, product).await, 2);
}

/// The value of `name="…"` on the first tag that has `id="{id}"`.
fn attribute(page: &str, id: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("id=\"{id}\""))?;
    let start = page[..at].rfind('<')?;
    let tag = &page[start..start + page[start..].find('>')?];
    let marker = format!(" {name}=\"");
    let from = tag.find(&marker)? + marker.len();
    Some(tag[from..from + tag[from..].find('"')?].to_owned())
}

#[tokio::test]
async fn the_upload_origin_is_where_presigned_urls_point() {
    let r2 = "https://0123abcd.r2.cloudflarestorage.com";
    let cases = [
        (
            r2,
            "shop-media",
            false,
            "https://shop-media.0123abcd.r2.cloudflarestorage.com",
        ),
        (
            r2,
            "shop-media",
            true,
            "https://0123abcd.r2.cloudflarestorage.com",
        ),
        (
            "http://minio.lan:9000",
            "shop-media",
            true,
            "http://minio.lan:9000",
        ),
        (
            "http://127.0.0.1:9000",
            "shop-media",
            false,
            "http://127.0.0.1:9000",
        ),
    ];
    for (endpoint, bucket, path_style, expected) in cases {
        let store = S3Store::new(&S3Settings {
            endpoint: endpoint.into(),
            region: "auto".into(),
            bucket: bucket.into(),
            access_key_id: "id".into(),
            secret_access_key: "secret".into(),
            path_style,
        });
        let origin = media::MediaStore::browser_upload_origin(&store);
        assert_eq!(origin, Some(expected), "{endpoint} {path_style}");
        // Presigning is computed here, without asking the server: the URL the browser
        // gets is on that origin.
        let put = media::MediaStore::presign_put(
            &store,
            "incoming/p/u",
            "image/jpeg",
            10,
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(
            comptoir::media::store::origin_of(&put.url).as_deref(),
            Some(expected),
            "{}",
            put.url
        );
    }
}

#[tokio::test]
async fn under_s3_the_images_tab_uploads_to_the_bucket_and_its_csp_allows_the_bucket_alone() {
    common::init_logs();
    let server = S3Server::start();
    let mut app = App::new(server.media()).await;
    let bus = app.db.bus();
    let product = published_product(&bus, "PN-PRESIGN", "10.00", 0).await;
    app.product_shown(product).await;
    let tab = format!("/admin/products/{product}/images");
    let (status, headers, body) = app
        .send(Request::get(&tab).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8_lossy(&body).into_owned();

    // connect-src: this site and the bucket's origin (s3s-fs on an IP: path style), and
    // nothing else of the policy changed.
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(
        csp,
        format!(
            "default-src 'self'; connect-src 'self' {}; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            server.endpoint
        )
    );

    // The drop zone says so, with where to ask; the form without JavaScript is unchanged.
    assert_eq!(
        attribute(&page, "image-dropzone", "data-upload").as_deref(),
        Some("presign")
    );
    let presign = attribute(&page, "image-dropzone", "data-presign").unwrap();
    let process = attribute(&page, "image-dropzone", "data-process").unwrap();
    assert_eq!(presign, format!("{tab}/presign"));
    assert_eq!(process, format!("{tab}/process"));
    assert_eq!(
        attribute(&page, "image-upload", "enctype").as_deref(),
        Some("multipart/form-data")
    );
    // The words for a PUT the bucket refused or that never reached it.
    for (code, words) in [
        ("bucket_unreachable", "règle CORS du bucket"),
        (
            "bucket_refused",
            "Le stockage des images a refusé le fichier",
        ),
        ("upload_missing", "Le fichier envoyé est introuvable"),
    ] {
        let span = format!("<span data-code=\"{code}\">");
        let at = page.find(&span).unwrap_or_else(|| panic!("{code}"));
        assert!(page[at..].split("</span>").next().unwrap().contains(words));
    }

    // What the script does with it: presign, PUT to the bucket, process.
    let photo = fixture("tyre.jpg");
    let request = format!(r#"{{"contentType":"image/jpeg","size":{}}}"#, photo.len());
    let (status, ticket) = app
        .json(app.call(
            Method::POST,
            &presign,
            "application/json",
            request.into_bytes(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{ticket}");
    let url = ticket["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/{}/incoming/{product}/",
            server.endpoint,
            S3Server::BUCKET
        )),
        "{url}"
    );
    assert_eq!(ticket["method"], "PUT");
    let key = ticket["key"].as_str().unwrap().to_owned();
    // What the browser sends beyond what it sets itself: the content type alone, which is
    // what the README's CORS rule for the bucket allows.
    let sent: Vec<&str> = ticket["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| pair[0].as_str().unwrap())
        .filter(|name| !name.eq_ignore_ascii_case("content-length"))
        .collect();
    assert_eq!(sent, ["content-type"], "{ticket}");
    let mut put = reqwest::Client::new().put(url).body(photo);
    for pair in ticket["headers"].as_array().unwrap() {
        let (name, value) = (pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name, value);
        }
    }
    assert!(put.send().await.unwrap().status().is_success());
    assert_eq!(server.files("incoming/"), vec![key.clone()]);
    let body = serde_json::json!({ "key": key, "alt": "Pneu, vue de face" }).to_string();
    let (status, image) = app
        .json(app.call(
            Method::POST,
            &process,
            "application/json",
            body.into_bytes(),
        ))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{image}");
    assert_eq!(image["alt"], "Pneu, vue de face");
    let url = image["url"].as_str().unwrap();
    let published = url
        .strip_prefix(&format!("{}/", S3Server::PUBLIC_BASE_URL))
        .unwrap_or_else(|| panic!("{url}"));
    assert!(published.starts_with("images/"), "{published}");
    assert!(server.files("images/").contains(&published.to_owned()));
    assert!(server.files("incoming/").is_empty());
    assert_eq!(image_count(&bus, product).await, 1);
}

#[tokio::test]
async fn with_local_files_the_images_tab_uploads_through_the_app_and_its_csp_is_unchanged() {
    common::init_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut app = App::new(Media::local(dir.path().join("media"))).await;
    let product = published_product(&app.db.bus(), "PN-MULTI", "10.00", 0).await;
    app.product_shown(product).await;
    let tab = format!("/admin/products/{product}/images");
    let (status, headers, body) = app
        .send(Request::get(&tab).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    assert_eq!(
        attribute(&page, "image-dropzone", "data-upload").as_deref(),
        Some("multipart")
    );
    assert_eq!(attribute(&page, "image-dropzone", "data-presign"), None);
    assert_eq!(attribute(&page, "image-dropzone", "data-process"), None);
}

#[test]
fn an_s3_endpoint_that_gives_browsers_no_address_is_refused_at_start() {
    let settings = |endpoint: &'static str| {
        move |name: &str| -> Option<String> {
            let value = match name {
                "COMPTOIR_MEDIA_STORE" => "s3",
                "COMPTOIR_MEDIA_BASE_URL" => "https://cdn.shop.test",
                "COMPTOIR_S3_ENDPOINT" => endpoint,
                "COMPTOIR_S3_BUCKET" => "shop-media",
                "COMPTOIR_S3_ACCESS_KEY_ID" => "id",
                "COMPTOIR_S3_SECRET_ACCESS_KEY" => "secret",
                _ => return None,
            };
            Some(value.to_owned())
        }
    };
    let data = std::path::Path::new("/nonexistent");
    let error = Media::from_lookup(data, settings("storage.example:9000")).unwrap_err();
    assert!(error.contains("COMPTOIR_S3_ENDPOINT"), "{error}");
    let media = Media::from_lookup(data, settings("https://storage.example")).unwrap();
    assert_eq!(
        media.browser_upload_origin(),
        Some("https://shop-media.storage.example")
    );
}
