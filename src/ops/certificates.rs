//! The members' TLS certificates after `create`: a member that `scale` adds needs its own in
//! the credentials Secret before its pod starts (write-config.sh refuses to start without it),
//! and `tls rotate` renews them all (and the CA) in running servers without a restart.
use crate::base::progress::Task;
use crate::cluster::{pod_phase, sql, Cluster, PodPhase};
use crate::db::engine::Receiver;
use crate::k8s::apply::apply;
use crate::manifests::tls::{
    self, member_pods, secret_key, Authority, CA_CERT_KEY, GENERATION_KEY, RUN_DIR,
};
use anyhow::{bail, Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Patch, PatchParams};
use kube::Api;
use std::time::Duration;

/// The cluster's Secrets, the credentials Secret's name, and that Secret.
async fn credentials(cluster: &Cluster) -> Result<(Api<Secret>, String, Secret)> {
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = format!("{}-credentials", cluster.name);
    let credentials = secrets
        .get(&name)
        .await
        .with_context(|| format!("cannot read Secret {name}"))?;
    Ok((secrets, name, credentials))
}

/// The CA that signs the members' certificates: Secret NAME-ca, or the user's (`create
/// --tls-ca`).
async fn signing_ca(cluster: &Cluster, secrets: &Api<Secret>) -> Result<Authority> {
    let ca_name = cluster
        .config_spec(cluster.replicas(), &cluster.primary)
        .ca_secret();
    let secret = secrets.get(&ca_name).await.with_context(|| {
        format!("cannot read Secret {ca_name}, the CA that signs the members' certificates")
    })?;
    Authority::from_secret(&secret)
}

/// The text of `secret`'s key `key` (empty when it has none).
fn text(secret: &Secret, key: &str) -> String {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
        .unwrap_or_default()
}

/// The members of 0..count whose certificate is not in `credentials`.
pub fn lacking_certificates(cluster: &str, count: i32, credentials: &Secret) -> Vec<String> {
    let has = |key: &str| {
        credentials
            .data
            .as_ref()
            .is_some_and(|d| d.contains_key(key))
            || credentials
                .string_data
                .as_ref()
                .is_some_and(|d| d.contains_key(key))
    };
    member_pods(cluster, count)
        .into_iter()
        .filter(|pod| {
            !has(&secret_key(&format!("{pod}.crt"))) || !has(&secret_key(&format!("{pod}.key")))
        })
        .collect()
}

/// Issues the certificates members 0..count lack, signed by the cluster's CA (Secret NAME-ca
/// or the user's), into the credentials Secret. Nothing for a cluster without TLS.
pub async fn ensure(cluster: &Cluster, count: i32) -> Result<()> {
    if !cluster.tls.on() {
        return Ok(());
    }
    let (secrets, name, credentials) = credentials(cluster).await?;
    let lacking = lacking_certificates(&cluster.name, count, &credentials);
    if lacking.is_empty() {
        return Ok(());
    }
    let ca = signing_ca(cluster, &secrets).await?;
    let mut entries = ca.member_entries(
        &cluster.name,
        &cluster.namespace,
        &lacking,
        time::OffsetDateTime::now_utc(),
    )?;
    // The CA bundle and the generation are in the Secret already (a rotation may have changed
    // both): only the new members' files are added.
    entries.remove(&secret_key(crate::manifests::tls::CA_CERT_KEY));
    entries.remove(crate::manifests::tls::GENERATION_KEY);
    let patch = serde_json::json!({ "stringData": entries });
    secrets
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| {
            format!(
                "cannot add the certificates of {} to Secret {name}",
                lacking.join(", ")
            )
        })?;
    Ok(())
}

/// What a rotation renews.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// New member certificates from the current CA; the trusted CAs stay.
    Certificates,
    /// A new CA of the cluster's own, trusted beside the old ones by every member and in
    /// ConfigMap NAME-ca; the members keep their certificates (of the old CA) until the next
    /// Certificates rotation, so that clients can come to trust the new CA first.
    NewCa,
    /// New member certificates from the current CA, which alone stays trusted.
    DropOldCas,
}

/// The PEM certificates of a bundle, each ending in a newline.
fn certificates(bundle: &str) -> Vec<String> {
    const END: &str = "-----END CERTIFICATE-----";
    bundle
        .split_inclusive(END)
        .filter_map(|part| {
            let start = part.find("-----BEGIN CERTIFICATE-----")?;
            part.ends_with(END).then(|| format!("{}\n", &part[start..]))
        })
        .collect()
}

/// The CAs members trust after a rotation: the one that signs their certificates first, then,
/// unless the old ones are dropped, every other the old bundle held (clients and members that
/// still present certificates of an old CA keep being trusted).
pub fn bundle_after(signing_ca: &str, old_bundle: &str, rotation: Rotation) -> String {
    let mut bundle = certificates(signing_ca);
    if rotation != Rotation::DropOldCas {
        for old in certificates(old_bundle) {
            if !bundle.contains(&old) {
                bundle.push(old);
            }
        }
    }
    bundle.concat()
}

/// A script (for `sh -s`) that writes `files` (name, content) into the member's TLS directory,
/// each through a new file and a rename (the server never reads half a file).
fn install_script(files: &[(&str, &str)]) -> String {
    const MARK: &str = "MYSQLHA_TLS_FILE_END";
    let mut script = format!("set -e\numask 077\nmkdir -p {RUN_DIR}\n");
    for (name, content) in files {
        assert!(
            !content.contains(MARK),
            "a TLS file holds the script's end mark"
        );
        script += &format!(
            "cat > {RUN_DIR}/{name}.new <<'{MARK}'\n{}\n{MARK}\nmv {RUN_DIR}/{name}.new {RUN_DIR}/{name}\n",
            content.trim_end()
        );
    }
    script
}

/// What a rotation did.
pub struct Rotated {
    /// Members whose running server loaded the new files.
    pub reloaded: Vec<String>,
    /// Members not running: they take the new files from the Secret when they start.
    pub not_running: Vec<String>,
    /// Replicas that reconnected to their source, verifying its new certificate.
    pub reconnected: Vec<String>,
    /// When the new member certificates expire (None: none were issued, a NewCa rotation).
    pub not_after: Option<time::OffsetDateTime>,
}

/// How long a replica may take to connect again after its receiver restarted.
const RECONNECT_LIMIT: Duration = Duration::from_secs(30);

/// Renews the members' certificates (or, NewCa, the CA) without a restart: the Secret first
/// (what a member takes at its next start), then each running member's files, in two rounds so
/// that no member presents a certificate its peers do not trust yet: every member trusts the new
/// bundle (reload), then every member presents its new certificate (reload); last, each replica
/// in turn reconnects to its source, which verifies both ends anew.
pub async fn rotate(cluster: &Cluster, rotation: Rotation, task: &Task) -> Result<Rotated> {
    if !cluster.tls.on() {
        bail!(
            "cluster {} has no TLS (made with --no-tls, or by a version before TLS): there are no certificates to rotate",
            cluster.name
        );
    }
    let (secrets, name, credentials) = credentials(cluster).await?;
    let old_bundle = text(&credentials, &secret_key(CA_CERT_KEY));
    let generation: u64 = text(&credentials, GENERATION_KEY)
        .trim()
        .parse()
        .unwrap_or(0)
        + 1;
    let spec = cluster.config_spec(cluster.replicas(), &cluster.primary);
    let now = time::OffsetDateTime::now_utc();
    task.set("reading the CA");
    let ca = match rotation {
        Rotation::NewCa => {
            if let Some(user) = &cluster.tls_ca {
                bail!("the CA of cluster {} is the user's (Secret {user}, create --tls-ca): renew it there, then run kubectl mysqlha tls rotate {}", cluster.name, cluster.name);
            }
            let (ca, key) = Authority::generate(&cluster.name, &cluster.namespace, now)?;
            apply(&secrets, &tls::ca_secret(&spec, &ca.cert_pem, &key)).await?;
            ca
        }
        _ => signing_ca(cluster, &secrets).await?,
    };
    let bundle = bundle_after(&ca.cert_pem, &old_bundle, rotation);
    let pods = member_pods(&cluster.name, cluster.replicas());
    let renew_members = rotation != Rotation::NewCa;
    let mut entries = match renew_members {
        true => ca.member_entries(&cluster.name, &cluster.namespace, &pods, now)?,
        false => Default::default(),
    };
    entries.insert(secret_key(CA_CERT_KEY), bundle.clone());
    entries.insert(GENERATION_KEY.to_string(), generation.to_string());
    task.set("writing the new certificates into the Secret");
    let patch = serde_json::json!({ "stringData": entries });
    secrets
        .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("cannot write the new certificates into Secret {name}"))?;
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    apply(&configs, &tls::ca_config_map(&spec, &bundle)).await?;
    let (running, not_running): (Vec<String>, Vec<String>) =
        pods.iter().cloned().partition(|pod| {
            let member = cluster.members.iter().find(|m| &m.name == pod);
            matches!(
                pod_phase(member.and_then(|m| m.pod.as_ref())),
                PodPhase::Running { .. }
            )
        });
    for pod in &running {
        task.set(&format!("{pod}: trusting the new CA bundle"));
        install(cluster, pod, &[("ca.crt", &bundle)]).await?;
    }
    for pod in running.iter().filter(|_| renew_members) {
        task.set(&format!("{pod}: loading its new certificate"));
        let cert = &entries[&secret_key(&format!("{pod}.crt"))];
        let key = &entries[&secret_key(&format!("{pod}.key"))];
        let generation = generation.to_string();
        install(
            cluster,
            pod,
            &[
                ("server.crt", cert),
                ("server.key", key),
                ("generation", &generation),
            ],
        )
        .await?;
    }
    let mut reconnected = vec![];
    for pod in &running {
        let state = crate::cluster::observe(cluster.server(pod))
            .await
            .with_context(|| format!("cannot ask {pod} whether it replicates"))?;
        if state.replication.is_none() {
            continue;
        }
        task.set(&format!(
            "{pod}: reconnecting to its source, verifying it anew"
        ));
        reconnect(cluster, pod).await?;
        reconnected.push(pod.clone());
    }
    Ok(Rotated {
        reloaded: running,
        not_running,
        reconnected,
        not_after: entries
            .get(&secret_key(&format!("{}.crt", pods[0])))
            .and_then(|cert| tls::not_after(cert)),
    })
}

/// Writes `files` into `pod`'s TLS directory and has its server reload them.
async fn install(cluster: &Cluster, pod: &str, files: &[(&str, &str)]) -> Result<()> {
    let script = install_script(files);
    crate::k8s::exec::run(cluster.server(pod), &["sh", "-s"], Some(script.as_bytes()))
        .await
        .with_context(|| format!("cannot write the new TLS files into {pod}"))?;
    sql::execute(cluster.server(pod), cluster.engine.reload_tls_statement())
        .await
        .with_context(|| format!("{pod} did not reload its TLS files"))
}

/// Restarts `pod`'s receiver and waits until it is connected again (its source verified).
async fn reconnect(cluster: &Cluster, pod: &str) -> Result<()> {
    sql::execute(
        cluster.server(pod),
        cluster.engine.reconnect_receiver_statements(),
    )
    .await
    .with_context(|| format!("cannot restart the receiver of {pod}"))?;
    until_connected(cluster, pod).await
}

/// The pod template annotation `tls enable` sets; a member whose pod lacks it started without
/// its certificate and is restarted.
pub const TLS_ANNOTATION: &str = "mysqlha.io/tls";

/// Before `tls enable` restarts the members of a cluster made without TLS: the CA (Secret
/// NAME-ca: kept from an interrupted run, or new), every member's certificate and the bundle in
/// the credentials Secret, and ConfigMap NAME-ca. Nothing changes in a running server.
pub async fn issue_for_enable(cluster: &Cluster) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut spec = cluster.config_spec(cluster.replicas(), &cluster.primary);
    spec.tls = tls::Tls::Verified;
    let ca_name = tls::ca_secret_name(&cluster.name);
    let now = time::OffsetDateTime::now_utc();
    let kept = secrets
        .get_opt(&ca_name)
        .await
        .with_context(|| format!("cannot read Secret {ca_name}"))?
        .filter(|s| crate::manifests::is_managed(&s.metadata));
    let ca = match kept {
        Some(secret) => Authority::from_secret(&secret)?,
        None => {
            let (ca, key) = Authority::generate(&cluster.name, &cluster.namespace, now)?;
            apply(&secrets, &tls::ca_secret(&spec, &ca.cert_pem, &key)).await?;
            ca
        }
    };
    let (_, name, credentials) = credentials(cluster).await?;
    let lacking = lacking_certificates(&cluster.name, cluster.replicas(), &credentials);
    let bundle = Some(text(&credentials, &secret_key(CA_CERT_KEY)))
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| ca.cert_pem.clone());
    if !lacking.is_empty() {
        let mut entries = ca.member_entries(&cluster.name, &cluster.namespace, &lacking, now)?;
        entries.insert(secret_key(CA_CERT_KEY), bundle.clone());
        let patch = serde_json::json!({ "stringData": entries });
        secrets
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .with_context(|| {
                format!("cannot write the members' certificates into Secret {name}")
            })?;
    }
    let configs: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    apply(&configs, &tls::ca_config_map(&spec, &bundle)).await?;
    Ok(())
}

/// Points every running replica at the primary again, now over TLS with its certificate and
/// the source's verified (one at a time, each connected before the next).
pub async fn repoint_over_tls(
    cluster: &Cluster,
    passwords: &crate::manifests::Passwords,
    task: &Task,
) -> Result<Vec<String>> {
    let mut repointed = vec![];
    for m in &cluster.members {
        if m.name == cluster.primary
            || !matches!(pod_phase(m.pod.as_ref()), PodPhase::Running { .. })
        {
            continue;
        }
        task.set(&format!(
            "{}: replicating over TLS, verifying its source",
            m.name
        ));
        crate::ops::topology::follow(cluster, &m.name, &cluster.primary, passwords, false).await?;
        until_connected(cluster, &m.name).await?;
        repointed.push(m.name.clone());
    }
    Ok(repointed)
}

/// Waits (RECONNECT_LIMIT) until `pod`'s receiver is connected to its source; when it is not,
/// says the receiver's last error.
async fn until_connected(cluster: &Cluster, pod: &str) -> Result<()> {
    let what = format!("{pod} connects to its source with the new certificates");
    crate::k8s::wait::retry(RECONNECT_LIMIT, &what, || async {
        let state = crate::cluster::observe(cluster.server(pod)).await?;
        let replication = state.replication.as_ref();
        if replication.is_some_and(|r| r.receiver == Receiver::Connected) {
            return Ok(());
        }
        let why = replication
            .and_then(|r| r.last_io_error.clone())
            .unwrap_or_else(|| "no error reported".into());
        bail!("{pod} is not connected to its source: {why}")
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(name: &str) -> String {
        format!("-----BEGIN CERTIFICATE-----\n{name}\n-----END CERTIFICATE-----\n")
    }

    #[test]
    fn a_rotation_trusts_the_signing_ca_first_and_keeps_the_old_ones_until_dropped() {
        let (old, new, older) = (pem("OLD"), pem("NEW"), pem("OLDER"));
        let bundle = format!("{old}{older}");
        assert_eq!(
            bundle_after(&new, &bundle, Rotation::NewCa),
            format!("{new}{old}{older}")
        );
        // Same CA: nothing twice.
        assert_eq!(bundle_after(&old, &bundle, Rotation::Certificates), bundle);
        assert_eq!(
            bundle_after(&new, &format!("{new}{old}"), Rotation::DropOldCas),
            new
        );
        // A bundle without a trailing newline, or with text around, reads the same.
        assert_eq!(
            certificates(&format!("junk\n{}", old.trim_end())),
            vec![old]
        );
    }

    #[test]
    fn files_are_written_whole_then_renamed() {
        let script = install_script(&[("ca.crt", &pem("CA")), ("generation", "3")]);
        let dir = std::env::temp_dir().join(format!("mysqlha-tls-install-{}", std::process::id()));
        let script = script.replace(RUN_DIR, dir.to_str().unwrap());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("ca.crt")).unwrap(),
            pem("CA")
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("generation")).unwrap(),
            "3\n"
        );
        assert!(!dir.join("ca.crt.new").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn only_members_without_both_files_get_a_certificate() {
        let secret = Secret {
            data: Some(
                [
                    "tls-ca.crt",
                    "tls-shop-0.crt",
                    "tls-shop-0.key",
                    "tls-shop-1.crt",
                ]
                .iter()
                .map(|k| (k.to_string(), k8s_openapi::ByteString(vec![1])))
                .collect(),
            ),
            ..Default::default()
        };
        assert_eq!(
            lacking_certificates("shop", 3, &secret),
            ["shop-1", "shop-2"]
        );
        assert!(lacking_certificates("shop", 1, &secret).is_empty());
    }
}
