//! Object storage for backups: where a cluster's backups live (`s3://BUCKET/PREFIX` at an
//! endpoint), the key that opens it, and streaming objects in and out (multipart uploads, never
//! a staging file). The catalog (`catalog`) says what the objects are.
pub mod archive;
pub mod catalog;
pub mod retention;

use anyhow::{bail, Context as _, Result};
use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// `s3://BUCKET/PREFIX`: the bucket and the key prefix (maybe empty) under which backups live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    pub bucket: String,
    pub prefix: String,
}

impl StoreUrl {
    /// Parses `s3://BUCKET[/PREFIX]`; a bad one is an error that shows the expected form.
    pub fn parse(text: &str) -> Result<Self> {
        let Some(rest) = text.strip_prefix("s3://") else {
            bail!("--to {text}: not an S3 URL (expected s3://BUCKET/PREFIX)");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let valid_bucket = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !valid_bucket {
            bail!("--to {text}: {bucket:?} is not a bucket name (3-63 lowercase letters, digits, '-' or '.')");
        }
        let prefix = prefix.trim_matches('/');
        if prefix.split('/').any(|p| p == "." || p == "..")
            || prefix.contains("//")
            || prefix.chars().any(|c| c.is_control())
        {
            bail!("--to {text}: the prefix {prefix:?} is not a plain key path");
        }
        Ok(StoreUrl {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

/// The key of an S3 account. Its Debug form never shows the secret.
#[derive(Clone)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, secret not shown)", self.access_key_id)
    }
}

/// A bucket opened with a key, rooted at the URL's prefix.
#[derive(Clone)]
pub struct Store {
    inner: Arc<dyn ObjectStore>,
    pub url: StoreUrl,
    pub endpoint: Option<String>,
}

/// Parts of a multipart upload are this large (the S3 minimum is 5 MiB).
const PART_SIZE: usize = 16 << 20;

impl Store {
    /// Opens `url` at `endpoint` (an S3-compatible server; AWS when None) with `credentials`.
    /// Nothing is contacted yet.
    pub fn open(url: &StoreUrl, endpoint: Option<&str>, credentials: &Credentials) -> Result<Self> {
        // reqwest's TLS needs a process-wide rustls provider: ring, as kube's.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&url.bucket)
            .with_access_key_id(&credentials.access_key_id)
            .with_secret_access_key(&credentials.secret_access_key)
            .with_region("us-east-1");
        if let Some(endpoint) = endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let inner = builder
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: std::time::Duration::from_secs(30),
                ..Default::default()
            })
            .build()
            .with_context(|| format!("cannot open {url}"))?;
        Ok(Store {
            inner: Arc::new(inner),
            url: url.clone(),
            endpoint: endpoint.map(String::from),
        })
    }

    /// The full key of `key` under the prefix.
    fn path(&self, key: &str) -> Path {
        if self.url.prefix.is_empty() {
            Path::from(key)
        } else {
            Path::from(format!("{}/{key}", self.url.prefix))
        }
    }

    /// Where the store is, for messages (never the key).
    pub fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{} at {e}", self.url),
            None => self.url.to_string(),
        }
    }

    /// Lists one key under the prefix: fails, in one line, when the bucket does not exist, the
    /// key is refused or the server does not answer.
    pub async fn check_access(&self) -> Result<()> {
        let mut listing = self.inner.list(Some(&self.path("")));
        match listing.next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(anyhow::anyhow!(plain_error(&e)))
                .with_context(|| format!("cannot use {}", self.describe())),
        }
    }

    /// Writes `bytes` as object `key`.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.inner
            .put(&self.path(key), PutPayload::from(bytes))
            .await
            .map_err(|e| anyhow::anyhow!(plain_error(&e)))
            .with_context(|| format!("cannot write {key} to {}", self.describe()))?;
        Ok(())
    }

    /// The whole of object `key`; None when there is no such object.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        match self.inner.get(&self.path(key)).await {
            Ok(found) => Ok(Some(
                found
                    .bytes()
                    .await
                    .map_err(|e| anyhow::anyhow!(plain_error(&e)))
                    .with_context(|| format!("cannot read {key} from {}", self.describe()))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow::anyhow!(plain_error(&e)))
                .with_context(|| format!("cannot read {key} from {}", self.describe())),
        }
    }

    /// The keys (relative to the prefix) of every object under `dir`.
    pub async fn list(&self, dir: &str) -> Result<Vec<(String, u64)>> {
        let root = self.path("");
        let mut listing = self.inner.list(Some(&self.path(dir)));
        let mut keys = Vec::new();
        while let Some(item) = listing.next().await {
            let meta = item
                .map_err(|e| anyhow::anyhow!(plain_error(&e)))
                .with_context(|| format!("cannot list {dir} in {}", self.describe()))?;
            let full = meta.location.as_ref();
            let relative = full
                .strip_prefix(root.as_ref())
                .unwrap_or(full)
                .trim_start_matches('/');
            keys.push((relative.to_string(), meta.size));
        }
        keys.sort();
        Ok(keys)
    }

    /// Deletes object `key` (no error when it is gone already).
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow::anyhow!(plain_error(&e)))
                .with_context(|| format!("cannot delete {key} from {}", self.describe())),
        }
    }

    /// A writer that uploads object `key` in parts as it is written (finish with `shutdown`).
    pub fn upload(&self, key: &str) -> Upload {
        Upload {
            writer: BufWriter::with_capacity(self.inner.clone(), self.path(key), PART_SIZE),
            digest: ring::digest::Context::new(&ring::digest::SHA256),
            bytes: 0,
        }
    }

    /// Streams object `key` into `sink`, returning its size and SHA-256 (hex).
    pub async fn download_into(
        &self,
        key: &str,
        sink: &mut (impl AsyncWrite + Unpin),
        mut on_bytes: impl FnMut(u64),
    ) -> Result<(u64, String)> {
        let found = self
            .inner
            .get(&self.path(key))
            .await
            .map_err(|e| anyhow::anyhow!(plain_error(&e)))
            .with_context(|| format!("cannot read {key} from {}", self.describe()))?;
        let mut stream = found.into_stream();
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|e| anyhow::anyhow!(plain_error(&e)))
                .with_context(|| format!("reading {key} from {}", self.describe()))?;
            digest.update(&chunk);
            sink.write_all(&chunk)
                .await
                .with_context(|| format!("writing {key} on"))?;
            total += chunk.len() as u64;
            on_bytes(total);
        }
        sink.shutdown().await.context("closing the stream's end")?;
        Ok((total, hex(digest.finish().as_ref())))
    }
}

/// An object being uploaded: what is written goes up in parts; its size and SHA-256 are kept.
pub struct Upload {
    writer: BufWriter,
    digest: ring::digest::Context,
    bytes: u64,
}

impl AsyncWrite for Upload {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let this = &mut *self;
        let written = std::pin::Pin::new(&mut this.writer).poll_write(cx, buf);
        if let std::task::Poll::Ready(Ok(n)) = written {
            this.digest.update(&buf[..n]);
            this.bytes += n as u64;
        }
        written
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

impl Upload {
    /// Completes the upload; returns the object's size and SHA-256 (hex).
    pub async fn finish(mut self) -> Result<(u64, String)> {
        self.shutdown()
            .await
            .map_err(|e| anyhow::anyhow!("completing the upload: {e}"))?;
        Ok((self.bytes, hex(self.digest.finish().as_ref())))
    }

    /// Gives the upload up (its parts are removed).
    pub async fn abort(mut self) {
        let _ = self.writer.abort().await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An object-store error in one line, without the library's debug structures.
fn plain_error(error: &object_store::Error) -> String {
    let text = error.to_string().replace('\n', " ");
    // "Generic S3 error: ... " and similar: the server's code is what a user can act on.
    for (code, said) in [
        ("NoSuchBucket", "the bucket does not exist"),
        (
            "InvalidAccessKeyId",
            "the access key is not known to the server",
        ),
        ("SignatureDoesNotMatch", "the secret key is wrong"),
        ("AccessDenied", "access denied"),
    ] {
        if text.contains(code) {
            return said.to_string();
        }
    }
    if text.contains("Connection refused") || text.contains("error sending request") {
        return format!("the object store does not answer ({text})");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_url_names_a_bucket_and_a_plain_prefix() {
        assert_eq!(
            StoreUrl::parse("s3://backups/shop/prod/").unwrap(),
            StoreUrl {
                bucket: "backups".into(),
                prefix: "shop/prod".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://backups").unwrap().to_string(),
            "s3://backups"
        );
        for bad in [
            "backups/shop",
            "s3://",
            "s3://Backups/x",
            "s3://ab/x",
            "s3://-bucket/x",
            "s3://bucket/a/../b",
            "s3://bucket/a//b",
            "gs://bucket/x",
        ] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad} was accepted");
        }
        let error = StoreUrl::parse("https://bucket/x").unwrap_err().to_string();
        assert_eq!(
            error,
            "--to https://bucket/x: not an S3 URL (expected s3://BUCKET/PREFIX)"
        );
    }

    #[test]
    fn credentials_never_show_their_secret() {
        let c = Credentials {
            access_key_id: "AKIA1".into(),
            secret_access_key: "very-secret".into(),
        };
        assert!(!format!("{c:?}").contains("very-secret"));
    }
}
