//! Secrets hygiene for what leaves the cluster (the support report): a Secret reduced to the
//! names of its keys, and a scrubber that blanks every value of the cluster's Secrets, as is and
//! base64-encoded, out of any text (defence in depth: a password echoed in a log).
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;

/// What replaces a secret value.
pub const REDACTED: &str = "<redacted>";

/// Values shorter than this are not scrubbed: they would blank ordinary words and numbers
/// (the plugin's passwords have 24 characters).
const MIN_SCRUBBED_LEN: usize = 6;

/// A Secret as a support report shows it: kind, metadata (annotation values blanked, they may
/// hold a last-applied copy of the data) and the names of its keys, never a value.
pub fn key_names_only(secret: &Secret) -> serde_json::Value {
    let mut metadata = secret.metadata.clone();
    metadata.managed_fields = None;
    metadata.annotations = metadata.annotations.map(|annotations| {
        annotations
            .into_keys()
            .map(|k| (k, REDACTED.to_string()))
            .collect::<BTreeMap<_, _>>()
    });
    let keys: Vec<&String> = secret
        .data
        .iter()
        .flat_map(|d| d.keys())
        .chain(secret.string_data.iter().flat_map(|d| d.keys()))
        .collect();
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": secret.type_,
        "keys": keys,
        "note": "values removed by kubectl mysqlha report",
    })
}

/// Blanks known secret values out of text.
pub struct Scrubber {
    /// Longest first, so that a value containing another is blanked whole.
    needles: Vec<String>,
}

impl Scrubber {
    /// A scrubber for every value of `secrets`.
    pub fn for_secrets(secrets: &[Secret]) -> Self {
        Self::new(secrets.iter().flat_map(|s| {
            let data = s.data.iter().flat_map(|d| d.values().map(|v| v.0.clone()));
            let string_data = s
                .string_data
                .iter()
                .flat_map(|d| d.values().map(|v| v.as_bytes().to_vec()));
            data.chain(string_data).collect::<Vec<_>>()
        }))
    }

    /// A scrubber for `values`: each is blanked as is (when it is text) and base64-encoded (with
    /// and without padding).
    pub fn new(values: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut needles = Vec::new();
        for value in values {
            if value.len() < MIN_SCRUBBED_LEN {
                continue;
            }
            if let Ok(text) = std::str::from_utf8(&value) {
                needles.push(text.to_string());
                let trimmed = text.trim();
                if trimmed.len() >= MIN_SCRUBBED_LEN && trimmed != text {
                    needles.push(trimmed.to_string());
                }
            }
            let encoded = base64(&value);
            needles.push(encoded.trim_end_matches('=').to_string());
            needles.push(encoded);
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        Self { needles }
    }

    /// `text` with every secret value replaced by REDACTED.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), REDACTED);
            }
        }
        out
    }
}

/// Standard base64 with padding (RFC 4648), as Kubernetes stores Secret data.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use k8s_openapi::ByteString;

    fn secret() -> Secret {
        Secret {
            metadata: ObjectMeta {
                name: Some("shop-credentials".into()),
                annotations: Some(BTreeMap::from([(
                    "kubectl.kubernetes.io/last-applied-configuration".to_string(),
                    "{\"data\":{\"root-password\":\"c2VjcmV0UGFzc3dvcmQx\"}}".to_string(),
                )])),
                ..Default::default()
            },
            data: Some(BTreeMap::from([
                (
                    "root-password".to_string(),
                    ByteString(b"secretPassword1".to_vec()),
                ),
                (
                    "replication-password".to_string(),
                    ByteString(b"AnotherOne2345678".to_vec()),
                ),
            ])),
            ..Default::default()
        }
    }

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"secretPassword1"), "c2VjcmV0UGFzc3dvcmQx");
    }

    #[test]
    fn a_secret_is_reduced_to_its_key_names() {
        let shown = serde_yaml::to_string(&key_names_only(&secret())).unwrap();
        assert!(shown.contains("root-password"), "{shown}");
        assert!(shown.contains("replication-password"), "{shown}");
        assert!(shown.contains("shop-credentials"), "{shown}");
        for value in [
            "secretPassword1",
            "c2VjcmV0UGFzc3dvcmQx",
            "AnotherOne2345678",
        ] {
            assert!(!shown.contains(value), "{value} in {shown}");
        }
    }

    #[test]
    fn the_scrubber_blanks_values_plain_and_base64() {
        let scrubber = Scrubber::for_secrets(&[secret()]);
        let log = "2026-12-01 login as root with secretPassword1 failed\n\
                   data: c2VjcmV0UGFzc3dvcmQx and QW5vdGhlck9uZTIzNDU2Nzg\n\
                   twice: AnotherOne2345678AnotherOne2345678\n";
        let clean = scrubber.scrub(log);
        for value in [
            "secretPassword1",
            "c2VjcmV0UGFzc3dvcmQx",
            "AnotherOne2345678",
            "QW5vdGhlck9uZTIzNDU2Nzg",
        ] {
            assert!(!clean.contains(value), "{value} left in {clean}");
        }
        assert!(
            clean.contains("login as root with <redacted> failed"),
            "{clean}"
        );
        assert!(clean.contains("twice: <redacted><redacted>"), "{clean}");
        assert_eq!(scrubber.scrub("nothing secret"), "nothing secret");
    }

    #[test]
    fn short_values_are_left_alone() {
        let scrubber = Scrubber::new([b"1".to_vec(), b"abc".to_vec()]);
        assert_eq!(scrubber.scrub("server_id 1 abc"), "server_id 1 abc");
    }
}
