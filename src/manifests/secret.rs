use super::{metadata, ClusterSpec};
use k8s_openapi::api::core::v1::Secret;
use std::collections::BTreeMap;
use std::io::Read;

pub const ROOT_PASSWORD_KEY: &str = "root-password";
pub const REPLICATION_PASSWORD_KEY: &str = "replication-password";

/// The cluster's passwords: random, never empty, alphanumeric (safe inside SQL string literals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwords {
    pub root: String,
    pub replication: String,
}

/// The dry run's stand-in for a password.
pub const NOT_SHOWN: &str = "(generated-by-create-never-shown)";

impl Passwords {
    pub fn generate() -> std::io::Result<Self> {
        Ok(Self {
            root: random_password()?,
            replication: random_password()?,
        })
    }

    /// What `create --dry-run` shows instead of passwords: never a secret on a terminal or in
    /// a log. Not a password the plugin would take (from_secret refuses it): a Secret applied
    /// from the dry run's output is refused by `create` with a clear line.
    pub fn not_shown() -> Self {
        Self {
            root: NOT_SHOWN.into(),
            replication: NOT_SHOWN.into(),
        }
    }

    #[cfg(test)]
    pub fn fixed(root: &str, replication: &str) -> Self {
        Self {
            root: root.into(),
            replication: replication.into(),
        }
    }

    /// Reads the passwords back from an existing Secret. The values are spliced into SQL run by
    /// an all-privileged account, so only what the plugin itself would have generated is taken:
    /// ASCII letters and digits, at least MIN_PASSWORD_LEN of them.
    pub fn from_secret(secret: &Secret) -> anyhow::Result<Self> {
        let name = secret.metadata.name.as_deref().unwrap_or("(unnamed)");
        let get = |key: &str| -> anyhow::Result<String> {
            let value = secret
                .data
                .as_ref()
                .and_then(|data| data.get(key))
                .map(|v| v.0.as_slice())
                .unwrap_or_default();
            check_password(value).map_err(|problem| {
                anyhow::anyhow!(
                    "Secret {name}: key {key} {problem} (the plugin generates [A-Za-z0-9]{{24}}); \
                     replace it or delete the Secret"
                )
            })
        };
        Ok(Self {
            root: get(ROOT_PASSWORD_KEY)?,
            replication: get(REPLICATION_PASSWORD_KEY)?,
        })
    }
}

/// The shortest password taken from an existing Secret.
const MIN_PASSWORD_LEN: usize = 16;

/// A password usable as is inside SQL string literals and shell heredocs, or what is wrong.
fn check_password(value: &[u8]) -> Result<String, String> {
    if value.is_empty() {
        return Err("is missing or empty".into());
    }
    if !value.iter().all(u8::is_ascii_alphanumeric) {
        return Err("holds characters other than letters and digits".into());
    }
    if value.len() < MIN_PASSWORD_LEN {
        return Err(format!(
            "is too short ({} characters, at least {MIN_PASSWORD_LEN})",
            value.len()
        ));
    }
    Ok(String::from_utf8(value.to_vec()).expect("ASCII"))
}

/// A secret for one clone: admits its sender to the receiving pod once.
pub fn one_time_token() -> std::io::Result<String> {
    Ok(format!("{}{}", random_password()?, random_password()?))
}

fn random_password() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut bytes = [0u8; 64];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    // 64 random bytes, keep those that map without modulo bias, take 24.
    let limit = 256 - 256 % ALPHABET.len();
    let password: String = bytes
        .iter()
        .filter(|&&b| (b as usize) < limit)
        .take(24)
        .map(|&b| ALPHABET[b as usize % ALPHABET.len()] as char)
        .collect();
    if password.len() < 24 {
        return random_password();
    }
    Ok(password)
}

/// The credentials Secret every member mounts: the passwords, and with `tls` the CA certificate
/// and each member's certificate and key.
pub fn secret(
    spec: &ClusterSpec,
    passwords: &Passwords,
    tls: Option<&super::tls::Material>,
) -> Secret {
    let mut data = BTreeMap::from([
        (ROOT_PASSWORD_KEY.to_string(), passwords.root.clone()),
        (
            REPLICATION_PASSWORD_KEY.to_string(),
            passwords.replication.clone(),
        ),
    ]);
    if let Some(tls) = tls {
        data.extend(tls.members.clone());
    }
    Secret {
        metadata: metadata(spec, spec.secret_name()),
        type_: Some("Opaque".into()),
        string_data: Some(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dry_runs_stand_in_is_never_taken_as_a_password() {
        let shown = Passwords::not_shown();
        let secret = secret(&crate::manifests::test_spec(), &shown, None);
        let data = secret.string_data.clone().unwrap();
        assert!(data.values().all(|v| v == NOT_SHOWN));
        let as_applied = credentials(NOT_SHOWN.as_bytes(), Some(NOT_SHOWN.as_bytes()));
        assert!(Passwords::from_secret(&as_applied).is_err());
    }

    #[test]
    fn generated_passwords_are_long_random_and_sql_safe() {
        let a = Passwords::generate().unwrap();
        let b = Passwords::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.root, a.replication);
        for p in [&a.root, &a.replication] {
            assert_eq!(p.len(), 24);
            assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
        }
    }

    fn credentials(root: &[u8], replication: Option<&[u8]>) -> Secret {
        let mut data = BTreeMap::from([(
            ROOT_PASSWORD_KEY.to_string(),
            k8s_openapi::ByteString(root.to_vec()),
        )]);
        if let Some(r) = replication {
            data.insert(
                REPLICATION_PASSWORD_KEY.to_string(),
                k8s_openapi::ByteString(r.to_vec()),
            );
        }
        Secret {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("shop-credentials".into()),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        }
    }

    #[test]
    fn generated_passwords_read_back() {
        let p = Passwords::generate().unwrap();
        let secret = credentials(p.root.as_bytes(), Some(p.replication.as_bytes()));
        assert_eq!(Passwords::from_secret(&secret).unwrap(), p);
    }

    #[test]
    fn secrets_never_become_code() {
        let good = b"abcdefghABCDEFGH12345678";
        let error = |root: &[u8], repl: Option<&[u8]>| {
            format!(
                "{:#}",
                Passwords::from_secret(&credentials(root, repl)).unwrap_err()
            )
        };
        let e = error(b"x'; DROP USER root; -- abcdefgh", Some(good));
        assert!(
            e.contains("Secret shop-credentials: key root-password holds characters other than letters and digits"),
            "{e}"
        );
        assert!(e.contains("replace it or delete the Secret"), "{e}");
        for bad in [
            &b"abcdefghABCDEFGH1234567$"[..],
            b"abcdefghABCDEFGH 1234567",
            b"abcdefghABCDEFGH\n1234567",
            b"abcdefghABCDEFGH\x001234567",
            "abcdefghABCDEFGHé1234567".as_bytes(),
            b"\xff\xfeabcdefghABCDEFGH12",
        ] {
            let e = error(good, Some(bad));
            assert!(
                e.contains("key replication-password holds characters other than"),
                "{e}"
            );
        }
        let e = error(b"", Some(good));
        assert!(e.contains("key root-password is missing or empty"), "{e}");
        let e = error(good, None);
        assert!(e.contains("key replication-password is missing"), "{e}");
        let e = error(b"abcDEF123", Some(good));
        assert!(
            e.contains("key root-password is too short (9 characters, at least 16)"),
            "{e}"
        );
        let no_data = Secret {
            data: None,
            ..credentials(good, None)
        };
        assert!(Passwords::from_secret(&no_data).is_err());
        assert!(Passwords::from_secret(&credentials(b"abcdefghABCDEFGH", Some(good))).is_ok());
    }
}
