//! The cluster's TLS material: its own certificate authority (Secret NAME-ca, never mounted in a
//! pod), one server-and-client certificate per member (in the credentials Secret, which every
//! member mounts), and the CA certificate for anyone to read (ConfigMap NAME-ca, key ca.crt).
//! Pure: the key generation and signing are local (rcgen on ring), nothing talks to a cluster.
use super::{metadata, ClusterSpec};
use anyhow::{Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

/// The key of the CA certificate in ConfigMap NAME-ca (public) and, as `tls-ca.crt`, in the
/// credentials Secret.
pub const CA_CERT_KEY: &str = "ca.crt";
/// Where a member's credentials Secret is mounted.
pub const SECRET_DIR: &str = "/etc/mysqlha/secret";
/// Where a member's server and clients read its TLS files: its run directory, copied there from
/// the Secret by write-config.sh at every start, and written there by `tls rotate` (which then
/// reloads them; the kubelet refreshes a mounted Secret only within a minute or so).
pub const RUN_DIR: &str = "/etc/mysqlha/run/tls";
/// The credentials Secret's key holding the generation of the members' TLS files (one more
/// with every rotation): a member copies the Secret's files at a start only when they are not
/// older than those a rotation wrote into its run directory.
pub const GENERATION_KEY: &str = "tls-generation";
/// The ConfigMap key of the cluster's record that says whether members speak TLS.
pub const TLS_KEY: &str = "tls";
/// The ConfigMap key of the server settings that refuse plain-text clients.
pub const REQUIRE_CNF_KEY: &str = "require-tls.cnf";

/// What a cluster does with TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tls {
    /// Nothing of its own: replication and clones as the engine does without certificates
    /// (clusters made before TLS, and `create --no-tls`).
    #[default]
    Off,
    /// Every member has a certificate of the cluster's CA; replication and clones go over TLS,
    /// each end verified; clients may use TLS (and verify with ConfigMap NAME-ca).
    Verified,
    /// As Verified, and the servers refuse clients that do not use TLS
    /// (require_secure_transport; the pod's own socket still serves).
    Required,
}

impl Tls {
    /// The value of the record's key (absent: Off).
    pub fn record(self) -> Option<&'static str> {
        match self {
            Tls::Off => None,
            Tls::Verified => Some("verified"),
            Tls::Required => Some("required"),
        }
    }

    pub fn from_record(value: Option<&str>) -> Result<Self> {
        match value {
            None | Some("") | Some("off") => Ok(Tls::Off),
            Some("verified") => Ok(Tls::Verified),
            Some("required") => Ok(Tls::Required),
            Some(other) => {
                anyhow::bail!("unknown TLS mode '{other}' in the cluster's record (key {TLS_KEY})")
            }
        }
    }

    pub fn on(self) -> bool {
        self != Tls::Off
    }

    /// The files every member reads, when the cluster speaks TLS.
    pub fn files(self) -> Option<crate::db::engine::TlsFiles> {
        self.on().then(member_files)
    }
}

/// How long a member certificate is valid from its issue, and the CA's.
const MEMBER_VALIDITY: Duration = Duration::days(730);
const CA_VALIDITY: Duration = Duration::days(3650);
/// Issued a little in the past: a node whose clock lags still takes a new certificate.
const CLOCK_SKEW: Duration = Duration::hours(1);

/// Secret NAME-ca: the cluster's CA certificate and key (type kubernetes.io/tls).
pub fn ca_secret_name(cluster: &str) -> String {
    format!("{cluster}-ca")
}

/// The credentials Secret's key holding `file` ("ca.crt", "POD.crt", "POD.key").
pub fn secret_key(file: &str) -> String {
    format!("tls-{file}")
}

/// The files a member's server and clients use (its own certificate and key, the CA bundle),
/// in its run directory.
pub fn member_files() -> crate::db::engine::TlsFiles {
    crate::db::engine::TlsFiles {
        ca: format!("{RUN_DIR}/ca.crt"),
        cert: format!("{RUN_DIR}/server.crt"),
        key: format!("{RUN_DIR}/server.key"),
    }
}

/// Every name a client may reach member `pod` of cluster `cluster` in `namespace` by: its pod
/// DNS name under the headless Service, its member Service (what replicas and clones use), and
/// the cluster's write and read Services (a client of NAME-primary verifies whichever member is
/// primary then), each short and qualified; and localhost.
pub fn member_names(cluster: &str, namespace: &str, pod: &str) -> Vec<String> {
    let qualified = |host: &str| {
        vec![
            host.to_string(),
            format!("{host}.{namespace}"),
            format!("{host}.{namespace}.svc"),
            format!("{host}.{namespace}.svc.cluster.local"),
        ]
    };
    let mut names = vec![pod.to_string()];
    names.extend(qualified(&format!("{pod}.{cluster}")));
    names.extend(qualified(&super::member_service_name(pod)));
    names.extend(qualified(&format!("{cluster}-primary")));
    names.extend(qualified(&format!("{cluster}-read")));
    names.push("localhost".into());
    names
}

/// A certificate and its private key, PEM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedCertificate {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The cluster's certificate authority.
pub struct Authority {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    /// A new CA for cluster `cluster`, valid from `now`.
    pub fn generate(cluster: &str, namespace: &str, now: OffsetDateTime) -> Result<(Self, String)> {
        let key = KeyPair::generate().context("cannot generate the CA's key")?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "kubectl-mysqlha");
        dn.push(
            DnType::CommonName,
            format!("mysqlha CA of {cluster} in {namespace}"),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.not_before = now - CLOCK_SKEW;
        params.not_after = now + CA_VALIDITY;
        let cert = params
            .self_signed(&key)
            .context("cannot sign the CA certificate")?;
        let key_pem = key.serialize_pem();
        Ok((
            Authority {
                cert_pem: cert.pem(),
                issuer: Issuer::new(params, key),
            },
            key_pem,
        ))
    }

    /// The CA of a Secret of type kubernetes.io/tls (tls.crt, tls.key): the cluster's own
    /// NAME-ca, or one the user supplies (cert-manager's CA issuers keep theirs so).
    pub fn from_secret(secret: &Secret) -> Result<Self> {
        let name = secret.metadata.name.as_deref().unwrap_or("(unnamed)");
        let get = |key: &str| -> Result<String> {
            let bytes = secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|v| v.0.clone())
                .or_else(|| {
                    secret
                        .string_data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .map(|s| s.clone().into_bytes())
                })
                .with_context(|| format!("Secret {name} has no key {key}"))?;
            String::from_utf8(bytes)
                .with_context(|| format!("Secret {name}: key {key} is not PEM text"))
        };
        let (cert_pem, key_pem) = (get("tls.crt")?, get("tls.key")?);
        let key = KeyPair::from_pem(&key_pem)
            .with_context(|| format!("Secret {name}: key tls.key is not a private key rcgen can sign with (ECDSA, Ed25519 or RSA PKCS#8)"))?;
        not_after(&cert_pem)
            .with_context(|| format!("Secret {name}: key tls.crt is not a PEM certificate"))?;
        if !is_ca(&cert_pem) {
            anyhow::bail!(
                "Secret {name}: key tls.crt is not a CA certificate (no basic constraint CA:TRUE)"
            );
        }
        let issuer = Issuer::from_ca_cert_pem(&cert_pem, key)
            .with_context(|| format!("Secret {name}: key tls.crt cannot be read"))?;
        Ok(Authority { cert_pem, issuer })
    }

    /// A certificate for member `pod`, for its server and as a replica's client certificate.
    pub fn issue_member(
        &self,
        cluster: &str,
        namespace: &str,
        pod: &str,
        now: OffsetDateTime,
    ) -> Result<KeyedCertificate> {
        let key =
            KeyPair::generate().with_context(|| format!("cannot generate a key for {pod}"))?;
        let mut params = CertificateParams::new(member_names(cluster, namespace, pod))
            .with_context(|| format!("cannot make a certificate for {pod}"))?;
        params.distinguished_name = DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{pod}.{cluster}.{namespace}"));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        params.not_before = now - CLOCK_SKEW;
        params.not_after = now + MEMBER_VALIDITY;
        let cert = params
            .signed_by(&key, &self.issuer)
            .with_context(|| format!("cannot sign the certificate of {pod}"))?;
        Ok(KeyedCertificate {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The credentials Secret's TLS entries for members `pods`: the CA certificate and each
    /// member's certificate and key.
    pub fn member_entries(
        &self,
        cluster: &str,
        namespace: &str,
        pods: &[String],
        now: OffsetDateTime,
    ) -> Result<BTreeMap<String, String>> {
        let mut entries = BTreeMap::from([
            (secret_key(CA_CERT_KEY), self.cert_pem.clone()),
            (GENERATION_KEY.to_string(), "1".to_string()),
        ]);
        for pod in pods {
            let issued = self.issue_member(cluster, namespace, pod, now)?;
            entries.insert(secret_key(&format!("{pod}.crt")), issued.cert_pem);
            entries.insert(secret_key(&format!("{pod}.key")), issued.key_pem);
        }
        Ok(entries)
    }
}

/// The first certificate of `pem`.
fn parse_first<T>(
    pem: &str,
    read: impl Fn(&x509_parser::certificate::X509Certificate) -> T,
) -> Option<T> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
    let cert = block.parse_x509().ok()?;
    Some(read(&cert))
}

/// When the first certificate of `pem` expires.
pub fn not_after(pem: &str) -> Option<OffsetDateTime> {
    parse_first(pem, |c| c.validity().not_after.to_datetime())
}

/// Whether the first certificate of `pem` may sign others (basic constraint CA:TRUE).
fn is_ca(pem: &str) -> bool {
    parse_first(pem, |c| c.is_ca()).unwrap_or(false)
}

/// The ConfigMap key naming the Secret of the CA that signs the members' certificates, when it
/// is the user's (`create --tls-ca`); absent: the cluster's own, NAME-ca.
pub const CA_SECRET_KEY: &str = "tls-ca-secret";

/// What `create` puts into a new cluster's objects for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Material {
    /// The CA certificate (ConfigMap NAME-ca).
    pub ca_cert: String,
    /// The CA's key when the CA is the cluster's own and new (Secret NAME-ca is made); None
    /// when it is kept or the user's.
    pub new_ca_key: Option<String>,
    /// The credentials Secret's entries: the CA certificate, each member's certificate and key.
    pub members: BTreeMap<String, String>,
}

impl Material {
    /// Made for a new cluster of `spec.replicas` members, signed by `ca` (with `new_ca_key`
    /// when the CA was generated for it).
    pub fn issue(
        spec: &ClusterSpec,
        ca: &Authority,
        new_ca_key: Option<String>,
        now: OffsetDateTime,
    ) -> Result<Self> {
        let pods = member_pods(&spec.name, spec.replicas);
        Ok(Material {
            ca_cert: ca.cert_pem.clone(),
            new_ca_key,
            members: ca.member_entries(&spec.name, &spec.namespace, &pods, now)?,
        })
    }

    /// What `create --dry-run` shows: the keys, never a private key (nor certificates that
    /// would not be the ones made).
    pub fn not_shown(spec: &ClusterSpec) -> Self {
        let shown = super::secret::NOT_SHOWN.to_string();
        let mut members = BTreeMap::from([(secret_key(CA_CERT_KEY), shown.clone())]);
        for pod in member_pods(&spec.name, spec.replicas) {
            members.insert(secret_key(&format!("{pod}.crt")), shown.clone());
            members.insert(secret_key(&format!("{pod}.key")), shown.clone());
        }
        Material {
            ca_cert: shown.clone(),
            new_ca_key: spec.tls_ca.is_none().then(|| shown.clone()),
            members,
        }
    }
}

/// Secret NAME-ca: the CA's certificate and key, read only by the plugin (no pod mounts it).
pub fn ca_secret(spec: &ClusterSpec, cert_pem: &str, key_pem: &str) -> Secret {
    Secret {
        metadata: metadata(spec, ca_secret_name(&spec.name)),
        type_: Some("kubernetes.io/tls".into()),
        string_data: Some(BTreeMap::from([
            ("tls.crt".to_string(), cert_pem.to_string()),
            ("tls.key".to_string(), key_pem.to_string()),
        ])),
        ..Default::default()
    }
}

/// ConfigMap NAME-ca: the CA certificate, for any client to verify the members with.
pub fn ca_config_map(spec: &ClusterSpec, cert_pem: &str) -> ConfigMap {
    ConfigMap {
        metadata: metadata(spec, ca_secret_name(&spec.name)),
        data: Some(BTreeMap::from([(
            CA_CERT_KEY.to_string(),
            cert_pem.to_string(),
        )])),
        ..Default::default()
    }
}

/// The member pods of a cluster of `members`: NAME-0 .. NAME-(members-1).
pub fn member_pods(cluster: &str, members: i32) -> Vec<String> {
    (0..members).map(|i| format!("{cluster}-{i}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        rcgen::date_time_ymd(2026, 12, 7)
    }

    #[test]
    fn a_member_is_named_by_every_address_a_client_uses() {
        let names = member_names("shop", "db", "shop-1");
        for expected in [
            "shop-1",
            "shop-1.shop",
            "shop-1.shop.db.svc.cluster.local",
            "shop-1-repl.db.svc.cluster.local",
            "shop-1-repl",
            "shop-primary.db.svc",
            "shop-primary.db.svc.cluster.local",
            "shop-read.db",
            "localhost",
        ] {
            assert!(
                names.contains(&expected.to_string()),
                "{expected}: {names:?}"
            );
        }
        // Another member's names are not this one's.
        assert!(!names.iter().any(|n| n.starts_with("shop-0")));
    }

    #[test]
    fn the_record_reads_back_and_an_old_cluster_has_none() {
        for tls in [Tls::Off, Tls::Verified, Tls::Required] {
            assert_eq!(Tls::from_record(tls.record()).unwrap(), tls);
        }
        assert_eq!(Tls::from_record(None).unwrap(), Tls::Off);
        assert!(Tls::Off.files().is_none());
        assert!(Tls::Required.files().is_some());
        let e = Tls::from_record(Some("maybe")).unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown TLS mode 'maybe' in the cluster's record (key tls)"
        );
    }

    #[test]
    fn member_files_are_in_the_run_directory() {
        let files = member_files();
        assert_eq!(files.ca, "/etc/mysqlha/run/tls/ca.crt");
        assert_eq!(files.cert, "/etc/mysqlha/run/tls/server.crt");
        assert_eq!(files.key, "/etc/mysqlha/run/tls/server.key");
    }

    #[test]
    fn a_generated_ca_signs_members_and_reads_back_from_its_secret() {
        let spec = crate::manifests::test_spec();
        let (ca, key_pem) = Authority::generate("shop", "db", now()).unwrap();
        assert!(ca.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        let secret = ca_secret(&spec, &ca.cert_pem, &key_pem);
        assert_eq!(secret.metadata.name.as_deref(), Some("shop-ca"));
        assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
        let again = Authority::from_secret(&secret).unwrap();
        assert_eq!(again.cert_pem, ca.cert_pem);
        assert_eq!(
            not_after(&again.cert_pem).unwrap().date(),
            (now() + CA_VALIDITY).date()
        );
        let entries = again
            .member_entries("shop", "db", &member_pods("shop", 2), now())
            .unwrap();
        let keys: Vec<&str> = entries.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "tls-ca.crt",
                "tls-generation",
                "tls-shop-0.crt",
                "tls-shop-0.key",
                "tls-shop-1.crt",
                "tls-shop-1.key"
            ]
        );
        assert!(entries["tls-shop-1.key"].contains("PRIVATE KEY"));
        let expiry = not_after(&entries["tls-shop-1.crt"]).unwrap();
        assert_eq!(expiry.date(), (now() + MEMBER_VALIDITY).date());
        assert_ne!(entries["tls-shop-0.key"], entries["tls-shop-1.key"]);
        let public = ca_config_map(&spec, &ca.cert_pem);
        assert_eq!(public.data.unwrap()[CA_CERT_KEY], ca.cert_pem);
    }

    #[test]
    fn a_secret_without_a_ca_is_named_in_the_error() {
        let secret = Secret {
            metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
                name: Some("company-ca".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let e = format!("{:#}", Authority::from_secret(&secret).err().unwrap());
        assert_eq!(e, "Secret company-ca has no key tls.crt");
        let (leaf, _) = {
            let (ca, _) = Authority::generate("shop", "db", now()).unwrap();
            let issued = ca.issue_member("shop", "db", "shop-0", now()).unwrap();
            (issued.cert_pem, issued.key_pem)
        };
        let key = KeyPair::generate().unwrap().serialize_pem();
        let not_a_ca = ca_secret(&crate::manifests::test_spec(), &leaf, &key);
        let e = format!("{:#}", Authority::from_secret(&not_a_ca).err().unwrap());
        assert_eq!(
            e,
            "Secret shop-ca: key tls.crt is not a CA certificate (no basic constraint CA:TRUE)"
        );
    }
}
