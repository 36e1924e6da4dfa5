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

impl Passwords {
    pub fn generate() -> std::io::Result<Self> {
        Ok(Self {
            root: random_password()?,
            replication: random_password()?,
        })
    }

    #[cfg(test)]
    pub fn fixed(root: &str, replication: &str) -> Self {
        Self {
            root: root.into(),
            replication: replication.into(),
        }
    }

    /// Reads the passwords back from an existing Secret.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let data = secret.data.as_ref()?;
        let get = |key: &str| {
            data.get(key)
                .and_then(|v| String::from_utf8(v.0.clone()).ok())
                .filter(|s| !s.is_empty())
        };
        Some(Self {
            root: get(ROOT_PASSWORD_KEY)?,
            replication: get(REPLICATION_PASSWORD_KEY)?,
        })
    }
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

pub fn secret(spec: &ClusterSpec, passwords: &Passwords) -> Secret {
    Secret {
        metadata: metadata(spec, spec.secret_name()),
        type_: Some("Opaque".into()),
        string_data: Some(BTreeMap::from([
            (ROOT_PASSWORD_KEY.to_string(), passwords.root.clone()),
            (
                REPLICATION_PASSWORD_KEY.to_string(),
                passwords.replication.clone(),
            ),
        ])),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
