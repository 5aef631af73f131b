//! Where published images (and, with S3, browser uploads waiting to be processed) live.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;

/// A storage failure (IO, network, the bucket refusing).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A key the app would never make (`..`, odd characters).
    #[error("invalid storage key `{0}`")]
    BadKey(String),
    /// The object is larger than the caller accepts.
    #[error("the object is {size} bytes")]
    TooLarge { size: u64 },
    #[error("local media folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("object store: {0}")]
    S3(String),
}

/// An object in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    pub key: String,
    /// Last written; the orphan sweep spares recent objects (an upload in progress).
    pub modified: SystemTime,
}

/// A URL the browser may PUT one file to, and the headers it must send with it.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedPut {
    pub url: String,
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
}

/// One storage interface, two implementations chosen by configuration.
#[async_trait]
pub trait MediaStore: Send + Sync + Debug {
    /// Writes (or overwrites) an object.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError>;
    /// Reads an object, refusing one larger than `max_bytes` before reading it; `None`
    /// when missing.
    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes an object; deleting a missing one is not an error.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every object whose key starts with `prefix`.
    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError>;
    /// A presigned PUT for a browser upload of exactly `length` bytes of `content_type`;
    /// `None` when the store has no such thing (local files: upload through the app).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        expires_in: Duration,
    ) -> Result<Option<PresignedPut>, StoreError>;
    /// The local folder served under `/media/`, if this store is one.
    fn local_root(&self) -> Option<&Path> {
        None
    }
    /// The origin (`scheme://host[:port]`) of the URLs [`MediaStore::presign_put`] hands
    /// out, when the browser uploads straight to this store: the admin's pages upload
    /// there and their CSP lets them connect there. `None`: uploads go through the app.
    fn browser_upload_origin(&self) -> Option<&str> {
        None
    }
}

/// Keys are made by the app (`images/<hash>.jpg`, `incoming/<product>/<uuid>`): anything
/// else is refused before it reaches a path or a URL.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && key.len() <= 200
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadKey(key.chars().take(80).collect()))
    }
}

/// Files under a folder (`<data dir>/media` by default).
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    /// A store in `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl MediaStore for LocalStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await?;
        }
        // Written aside then renamed: a reader never sees half a file.
        let partial = path.with_extension(format!("partial-{}", uuid::Uuid::new_v4()));
        tokio::fs::write(&partial, bytes).await?;
        tokio::fs::rename(&partial, &path).await?;
        Ok(())
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(key)?;
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.len() > max_bytes => Err(StoreError::TooLarge { size: meta.len() }),
            Ok(_) => Ok(Some(tokio::fs::read(&path).await?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let walk = move || -> std::io::Result<Vec<StoredObject>> {
            let mut found = Vec::new();
            let mut folders = vec![root.clone()];
            while let Some(folder) = folders.pop() {
                let entries = match std::fs::read_dir(&folder) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    if meta.is_dir() {
                        folders.push(entry.path());
                        continue;
                    }
                    let Ok(relative) = entry.path().strip_prefix(&root).map(Path::to_path_buf)
                    else {
                        continue;
                    };
                    let key = relative.to_string_lossy().replace('\\', "/");
                    if key.starts_with(&prefix) {
                        found.push(StoredObject {
                            key,
                            modified: meta.modified()?,
                        });
                    }
                }
            }
            found.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(found)
        };
        tokio::task::spawn_blocking(walk)
            .await
            .map_err(|e| StoreError::Io(std::io::Error::other(e)))?
            .map_err(StoreError::Io)
    }

    async fn presign_put(
        &self,
        _key: &str,
        _content_type: &str,
        _length: u64,
        _expires_in: Duration,
    ) -> Result<Option<PresignedPut>, StoreError> {
        Ok(None)
    }

    fn local_root(&self) -> Option<&Path> {
        Some(&self.root)
    }
}

/// Settings of an S3-compatible bucket (Cloudflare R2, MinIO, AWS, s3s).
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `https://<account>.r2.cloudflarestorage.com`, `http://127.0.0.1:9000`...
    pub endpoint: String,
    /// `auto` for R2.
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key` (MinIO and
    /// most self-hosted servers need it).
    pub path_style: bool,
}

/// A bucket of an S3-compatible service.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    upload_origin: Option<String>,
}

impl S3Store {
    /// A client for the bucket (no request is made until used).
    pub fn new(settings: &S3Settings) -> S3Store {
        use aws_sdk_s3::config::{
            BehaviorVersion, Credentials, Region, RequestChecksumCalculation,
            ResponseChecksumValidation,
        };
        use aws_smithy_http_client::tls;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(
                tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let credentials = Credentials::new(
            &settings.access_key_id,
            &settings.secret_access_key,
            None,
            None,
            "comptoir-settings",
        );
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .endpoint_url(&settings.endpoint)
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(settings.path_style)
            // R2 and most S3-compatible servers reject the CRC checksums the SDK adds
            // by default since 2025; they are only sent where S3 requires them.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config),
            bucket: settings.bucket.clone(),
            upload_origin: upload_origin(settings),
        }
    }
}

/// Where the bucket's presigned URLs point, as a browser origin; `None` when the settings
/// give no usable address (the endpoint is not a URL).
///
/// Asked of the SDK's own endpoint rules rather than rebuilt from the settings: they pick
/// path style (`https://endpoint/bucket`) or virtual host (`https://bucket.endpoint`) from
/// more than `path_style` (an IP address, or a bucket name that is no DNS label, is always
/// path style).
fn upload_origin(settings: &S3Settings) -> Option<String> {
    use aws_sdk_s3::config::endpoint::{DefaultResolver, Params, ResolveEndpoint};
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let params = Params::builder()
        .bucket(&settings.bucket)
        .region(&settings.region)
        .endpoint(&settings.endpoint)
        .force_path_style(settings.path_style)
        .build()
        .ok()?;
    let resolver = DefaultResolver::new();
    let mut resolving = std::pin::pin!(resolver.resolve_endpoint(&params));
    // The rules are pure computation: the default resolver's future is ready at once.
    let Poll::Ready(Ok(endpoint)) = resolving
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    else {
        return None;
    };
    origin_of(endpoint.url())
}

/// `scheme://host[:port]` of an `http(s)` URL, lowercase and without a default port; `None`
/// for anything else, or a host with characters that have no place in a CSP source.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?.to_ascii_lowercase();
    // Credentials in the URL (`user:secret@host`) never reach a header.
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let plain = authority
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !plain {
        return None;
    }
    let host = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{host}"))
}

fn s3_error(error: impl std::error::Error) -> StoreError {
    // The SDK's Display says only "service error": the source chain says what.
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    StoreError::S3(text)
}

#[async_trait]
impl MediaStore for S3Store {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            // Names are content hashes: what is behind one never changes.
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(error) => return Err(s3_error(error)),
        };
        let size = object.content_length().map_or(0, |n| n.max(0) as u64);
        if size > max_bytes {
            return Err(StoreError::TooLarge { size });
        }
        let mut body = object.body;
        let mut bytes = Vec::with_capacity(size as usize);
        // The length header is the server's word: count what actually arrives too.
        while let Some(chunk) = body.try_next().await.map_err(s3_error)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > max_bytes {
                return Err(StoreError::TooLarge {
                    size: bytes.len() as u64,
                });
            }
        }
        Ok(Some(bytes))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<StoredObject>, StoreError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(s3_error)?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                let modified = object
                    .last_modified()
                    .and_then(|t| SystemTime::try_from(*t).ok())
                    .unwrap_or_else(SystemTime::now);
                found.push(StoredObject {
                    key: key.to_owned(),
                    modified,
                });
            }
        }
        Ok(found)
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        length: u64,
        expires_in: Duration,
    ) -> Result<Option<PresignedPut>, StoreError> {
        check_key(key)?;
        let config = PresigningConfig::expires_in(expires_in).map_err(s3_error)?;
        let length = i64::try_from(length).map_err(|_| StoreError::TooLarge { size: length })?;
        // Content type and length are signed: the bucket refuses a PUT whose headers
        // differ, so the browser cannot send something else or something larger.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(config)
            .await
            .map_err(s3_error)?;
        Ok(Some(PresignedPut {
            url: request.uri().to_owned(),
            method: "PUT",
            headers: request
                .headers()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect(),
        }))
    }

    fn browser_upload_origin(&self) -> Option<&str> {
        self.upload_origin.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_origin_is_scheme_host_and_port_only() {
        assert_eq!(
            origin_of("http://127.0.0.1:9000/comptoir-media").as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            origin_of("HTTPS://Media.Shop.example:443/x?y#z").as_deref(),
            Some("https://media.shop.example")
        );
        assert_eq!(
            origin_of("https://[::1]:9000").as_deref(),
            Some("https://[::1]:9000")
        );
        assert_eq!(origin_of("ftp://host/x"), None);
        assert_eq!(origin_of("https://user:secret@host/x"), None);
        assert_eq!(origin_of("https://host;script-src *"), None);
        assert_eq!(origin_of("127.0.0.1:9000"), None);
    }

    fn settings(endpoint: &str, bucket: &str, path_style: bool) -> S3Settings {
        S3Settings {
            endpoint: endpoint.into(),
            region: "auto".into(),
            bucket: bucket.into(),
            access_key_id: "id".into(),
            secret_access_key: "secret".into(),
            path_style,
        }
    }

    #[test]
    fn the_upload_origin_follows_path_style_or_virtual_host() {
        let r2 = "https://0123abcd.r2.cloudflarestorage.com";
        assert_eq!(
            upload_origin(&settings(r2, "shop-media", false)).as_deref(),
            Some("https://shop-media.0123abcd.r2.cloudflarestorage.com")
        );
        assert_eq!(
            upload_origin(&settings(r2, "shop-media", true)).as_deref(),
            Some("https://0123abcd.r2.cloudflarestorage.com")
        );
        // An IP address has no subdomains: path style whatever the setting says.
        assert_eq!(
            upload_origin(&settings("http://127.0.0.1:9000", "shop-media", false)).as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            upload_origin(&settings("not a url", "shop-media", true)),
            None
        );
    }
}
