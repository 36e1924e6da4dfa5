//! `kubectl mysqlha report NAME [-o FILE]`: one tar.gz for support. The cluster's manifests
//! (Secrets reduced to their key names), `status -o json`, per member its server's replication
//! status, GTID state, key variables, log tails, Pod and events, the namespace's events about the
//! cluster, the agent's log when there is one, and a README saying what each file is. Every
//! value of the cluster's Secrets is scrubbed from every file. A member that does not answer
//! gets its error in its files; the report goes on. Reads only: no operation lock.
use crate::base::archive::{self, Archive};
use crate::base::progress::Progress;
use crate::base::redact::{self, Scrubber};
use crate::cli::ReportArgs;
use crate::cluster::diagnostics::{self, LogTail};
use crate::cluster::{pod_phase, Cluster, Member, PodPhase};
use crate::k8s::context::Context;
use crate::k8s::lock;
use crate::manifests;
use anyhow::{anyhow, bail, Context as _, Result};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Event, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::Resource;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Checks, before anything is contacted, that the archive may be written where asked.
pub fn validate(args: &ReportArgs) -> Result<()> {
    if let Some(path) = &args.output {
        if path.as_os_str() == "-" && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
            bail!("refusing to write the archive to a terminal (redirect stdout, or use -o FILE)");
        }
        if path.as_os_str() != "-" && !args.force && path.exists() {
            bail!(
                "{} already exists (use --force to overwrite it)",
                path.display()
            );
        }
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: &ReportArgs) -> Result<()> {
    let cluster = Cluster::load(ctx, &args.name).await?;
    let now = Timestamp::now();
    let root = format!("{}-report-{}", cluster.name, now.strftime("%Y%m%dT%H%M%SZ"));
    let progress = Progress::new();
    let task = progress.task(&format!("report {}", cluster.name));
    let mut bundle = Bundle::new(&root);

    task.set("reading the cluster's objects");
    let found = manifests(&cluster, &mut bundle).await;
    let scrubber = Scrubber::for_secrets(&found.secrets);
    if found.secrets.is_empty() {
        bundle.problem("no Secret of the cluster could be read: its values could not be scrubbed from the logs".into());
    }

    let events = events(&cluster, &found.names, &mut bundle).await;

    task.set("observing the members");
    let member_parts = futures::future::join_all(
        cluster
            .members
            .iter()
            .map(|m| member_files(&cluster, m, &events, &progress)),
    );
    let (status, member_parts) =
        tokio::join!(crate::cluster::health::report(&cluster), member_parts);
    bundle.add_result(
        "status.json",
        serde_json::to_string_pretty(&status)
            .map(|s| s + "\n")
            .context("cannot render the status as JSON"),
    );
    for parts in member_parts {
        for (path, result) in parts.files {
            bundle.add_result(&path, result);
        }
        for problem in parts.problems {
            bundle.problem(problem);
        }
    }

    if let Some(config) = &status.backups {
        task.set("reading the backup catalog");
        bundle.add_result("backups.json", backup_catalog(ctx, &cluster, config).await);
    }

    task.set("reading the agent's log");
    let agent_pods = agent(&cluster, &mut bundle).await;

    bundle.add(
        "errors.txt",
        if bundle.problems.is_empty() {
            "(none: everything was collected)\n".to_string()
        } else {
            bundle.problems.join("\n") + "\n"
        },
    );
    let readme = readme(&cluster, &now, &bundle, &agent_pods);
    bundle.add("README", readme);
    let problems = bundle.problems.len();
    for problem in &bundle.problems {
        eprintln!("warning: {}", scrubber.scrub(problem));
    }
    bundle.archive.map_contents(|text| scrubber.scrub(text));
    let bytes = bundle.archive.to_tar_gz(now.as_second().max(0) as u64)?;

    let summary = if problems == 0 {
        "everything collected".to_string()
    } else {
        format!("{problems} part(s) could not be collected, see errors.txt")
    };
    match args.output.as_deref() {
        Some(path) if path.as_os_str() == "-" => {
            std::io::stdout()
                .write_all(&bytes)
                .context("cannot write the archive to stdout")?;
            task.finish(&format!("written to stdout ({summary})"));
        }
        path => {
            let path: PathBuf = path.map_or_else(
                || PathBuf::from(format!("{root}.tar.gz")),
                Path::to_path_buf,
            );
            archive::write_file(&path, &bytes, args.force)?;
            task.finish(&format!("written ({summary})"));
            println!("{}", path.display());
        }
    }
    Ok(())
}

/// How long the backup catalog may take to read.
const CATALOG_LIMIT: std::time::Duration = std::time::Duration::from_secs(20);

/// `backups.json`: the store (never its key), every base backup's manifest, the archive's head.
async fn backup_catalog(
    ctx: &Context,
    cluster: &Cluster,
    config: &crate::manifests::backup::BackupConfig,
) -> Result<String> {
    let read = async {
        let store = crate::cmd::backup::open(ctx, config).await?;
        let listed = crate::ops::backup::list(&store, &cluster.name).await?;
        let head = crate::store::archive::read_head(&store, &cluster.name).await?;
        let backups = crate::cmd::backup::listed_json(&listed);
        let doc = serde_json::json!({
            "store": store.describe(),
            "config": config,
            "backups": backups,
            "archive": head,
        });
        Ok::<String, anyhow::Error>(serde_json::to_string_pretty(&doc)? + "\n")
    };
    tokio::time::timeout(CATALOG_LIMIT, read)
        .await
        .unwrap_or_else(|_| {
            Err(anyhow::anyhow!(
                "the object store did not answer within {}s",
                CATALOG_LIMIT.as_secs()
            ))
        })
        .context("cannot read the backup catalog")
}

/// The archive being filled, and what could not be collected.
struct Bundle {
    archive: Archive,
    problems: Vec<String>,
}

impl Bundle {
    fn new(root: &str) -> Self {
        Self {
            archive: Archive::new(root),
            problems: Vec::new(),
        }
    }

    fn add(&mut self, path: &str, text: impl Into<String>) {
        self.archive.add(path, text);
    }

    /// Something not collected (shown on stderr at the end, scrubbed like the files).
    fn problem(&mut self, line: String) {
        self.problems.push(line);
    }

    /// Writes the error in the file's place and counts it as a problem.
    fn fail(&mut self, path: &str, error: anyhow::Error) {
        let line = crate::base::one_line(&error);
        self.problem(format!("{path}: {line}"));
        self.add(path, format!("error: {line}\n"));
    }

    fn add_result(&mut self, path: &str, result: Result<String>) {
        match result {
            Ok(text) => self.add(path, text),
            Err(e) => self.fail(path, e),
        }
    }
}

/// What the manifests step found: the Secrets (for the scrubber) and the names of the
/// cluster's objects (for its events).
struct Found {
    secrets: Vec<Secret>,
    names: BTreeSet<String>,
}

/// events.txt: the namespace's events about the cluster's objects (`names`); returns them.
async fn events(cluster: &Cluster, names: &BTreeSet<String>, bundle: &mut Bundle) -> Vec<Event> {
    match diagnostics::events_about(&cluster.client, &cluster.namespace, names).await {
        Ok(events) => {
            let all: Vec<&Event> = events.iter().collect();
            bundle.add("events.txt", diagnostics::events_table(&all));
            events
        }
        Err(e) => {
            bundle.fail("events.txt", e);
            Vec::new()
        }
    }
}

/// manifests/*.yaml: StatefulSet, Services, ConfigMaps, Secrets (key names only), claims, the
/// operation Lease and PodDisruptionBudgets.
async fn manifests(cluster: &Cluster, bundle: &mut Bundle) -> Found {
    let mut names = BTreeSet::from([cluster.name.clone()]);
    names.extend(cluster.members.iter().map(|m| m.name.clone()));
    let statefulset = diagnostics::without_managed_fields(cluster.statefulset.clone());
    bundle.add_result(
        "manifests/statefulset.yaml",
        diagnostics::yaml_stream(&[statefulset]),
    );
    labelled::<Service>(cluster, bundle, "manifests/services.yaml", &mut names).await;
    labelled::<ConfigMap>(cluster, bundle, "manifests/configmaps.yaml", &mut names).await;
    labelled::<PersistentVolumeClaim>(
        cluster,
        bundle,
        "manifests/persistentvolumeclaims.yaml",
        &mut names,
    )
    .await;
    labelled::<PodDisruptionBudget>(
        cluster,
        bundle,
        "manifests/poddisruptionbudgets.yaml",
        &mut names,
    )
    .await;
    let lease = lock::lease_name(&cluster.name);
    names.insert(lease.clone());
    bundle.add_result(
        "manifests/lease.yaml",
        diagnostics::get::<Lease>(&cluster.client, &cluster.namespace, &lease)
            .await
            .and_then(|found| match found {
                Some(lease) => diagnostics::yaml_stream(&[lease]),
                None => Ok(format!(
                    "# no Lease {lease}: no operation holds the cluster's lock\n"
                )),
            }),
    );
    let secrets = secrets(cluster, bundle).await;
    names.extend(secrets.iter().filter_map(|s| s.metadata.name.clone()));
    Found { secrets, names }
}

/// Writes the cluster's objects of kind K (by its labels) to `file`; adds their names.
async fn labelled<K>(
    cluster: &Cluster,
    bundle: &mut Bundle,
    file: &str,
    names: &mut BTreeSet<String>,
) where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    K::DynamicType: Default,
{
    let selector = manifests::selector_string(&cluster.name);
    let result = diagnostics::list::<K>(&cluster.client, &cluster.namespace, &selector)
        .await
        .and_then(|objects| {
            names.extend(objects.iter().filter_map(|o| o.meta().name.clone()));
            if objects.is_empty() {
                Ok(format!(
                    "# no {} labelled {selector}\n",
                    K::kind(&Default::default())
                ))
            } else {
                diagnostics::yaml_stream(&objects)
            }
        });
    bundle.add_result(file, result);
}

/// manifests/secrets.yaml with key names only; returns the Secrets (values included) for the
/// scrubber: those labelled as the cluster's, and NAME-credentials in any case.
async fn secrets(cluster: &Cluster, bundle: &mut Bundle) -> Vec<Secret> {
    let file = "manifests/secrets.yaml";
    let selector = manifests::selector_string(&cluster.name);
    let mut secrets =
        match diagnostics::list::<Secret>(&cluster.client, &cluster.namespace, &selector).await {
            Ok(secrets) => secrets,
            Err(e) => {
                bundle.fail(file, e);
                Vec::new()
            }
        };
    let credentials = format!("{}-credentials", cluster.name);
    if !secrets
        .iter()
        .any(|s| s.metadata.name.as_deref() == Some(&credentials))
    {
        match diagnostics::get::<Secret>(&cluster.client, &cluster.namespace, &credentials).await {
            Ok(Some(secret)) => secrets.push(secret),
            Ok(None) => bundle.problem(format!("{file}: Secret {credentials} does not exist")),
            Err(e) => bundle.problem(format!("{file}: {}", crate::base::one_line(&e))),
        }
    }
    if !secrets.is_empty() {
        let shown: Vec<serde_json::Value> = secrets.iter().map(redact::key_names_only).collect();
        bundle.add_result(file, diagnostics::yaml_stream(&shown));
    }
    secrets
}

/// members/POD/…: the Pod, the events about it and its claim, the server's answers to the
/// engine's report queries, and its containers' log tails.
async fn member_files(
    cluster: &Cluster,
    member: &Member,
    events: &[Event],
    progress: &Progress,
) -> MemberParts {
    let task = progress.task(&member.name);
    let dir = format!("members/{}", member.name);
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let Some(pod) = &member.pod else {
        files.push((
            format!("{dir}/pod.yaml"),
            Err(anyhow!("pod {} does not exist", member.name)),
        ));
        task.finish("no pod");
        return MemberParts { files, problems };
    };
    files.push((
        format!("{dir}/pod.yaml"),
        diagnostics::yaml_stream(&[diagnostics::without_managed_fields(pod.clone())]),
    ));
    let claim = format!("data-{}", member.name);
    let about: Vec<&Event> = events
        .iter()
        .filter(|e| {
            e.involved_object
                .name
                .as_ref()
                .is_some_and(|n| *n == member.name || *n == claim)
        })
        .collect();
    files.push((
        format!("{dir}/events.txt"),
        Ok(diagnostics::events_table(&about)),
    ));

    task.set("asking the server");
    let phase = pod_phase(Some(pod));
    let mut unanswered: Option<String> = match &phase {
        PodPhase::Running { .. } => None,
        other => {
            let reason = format!("its server is not running ({})", describe(other));
            problems.push(format!("{dir}: server not asked: {reason}"));
            Some(reason)
        }
    };
    for (index, (name, statement)) in cluster.engine.report_queries().iter().enumerate() {
        let path = format!("{dir}/{name}.txt");
        if let Some(reason) = &unanswered {
            files.push((path, Ok(format!("# {statement}\n\nnot asked: {reason}\n"))));
            continue;
        }
        let answer = diagnostics::ask(cluster.server(&member.name), statement).await;
        if let (0, Err(e)) = (index, &answer) {
            unanswered = Some(format!("it did not answer the first query ({e:#})"));
        }
        files.push((
            path,
            answer.map(|rows| format!("# {statement}\n\n{}", diagnostics::rows_text(&rows))),
        ));
    }

    task.set("reading the logs");
    for tail in diagnostics::log_tails(&cluster.pods, pod).await {
        files.push(log_file(&format!("{dir}/logs"), tail));
    }
    let failed = files.iter().filter(|(_, r)| r.is_err()).count() + problems.len();
    task.finish(&if failed == 0 {
        "collected".to_string()
    } else {
        format!("{failed} part(s) could not be collected")
    });
    MemberParts { files, problems }
}

/// A member's files, and what could not be collected that no single file stands for.
struct MemberParts {
    files: Vec<(String, Result<String>)>,
    problems: Vec<String>,
}

/// A pod's phase in words.
fn describe(phase: &PodPhase) -> String {
    match phase {
        PodPhase::Missing => "no pod".into(),
        PodPhase::WaitingForData => "waiting for data".into(),
        PodPhase::Running { .. } => "running".into(),
        PodPhase::Pending(None) => "pending".into(),
        PodPhase::Pending(Some(reason)) => format!("pending: {reason}"),
    }
}

fn log_file(dir: &str, tail: LogTail) -> (String, Result<String>) {
    let suffix = if tail.previous { ".previous" } else { "" };
    (format!("{dir}/{}{suffix}.log", tail.container), tail.text)
}

/// agent/POD/CONTAINER.log for the pods of an agent Deployment NAME-agent, if there is one.
/// Returns their names.
async fn agent(cluster: &Cluster, bundle: &mut Bundle) -> Vec<String> {
    let pods = match diagnostics::agent_pods(&cluster.pods, &cluster.name).await {
        Ok(pods) => pods,
        Err(e) => {
            bundle.problem(format!("agent/: {}", crate::base::one_line(&e)));
            return Vec::new();
        }
    };
    let mut names = Vec::new();
    for pod in &pods {
        let name = pod.metadata.name.clone().unwrap_or_default();
        for tail in diagnostics::log_tails(&cluster.pods, pod).await {
            let (path, result) = log_file(&format!("agent/{name}"), tail);
            bundle.add_result(&path, result);
        }
        names.push(name);
    }
    names
}

/// What each file is, for whoever opens the archive.
fn readme(cluster: &Cluster, now: &Timestamp, bundle: &Bundle, agent_pods: &[String]) -> String {
    let engine = cluster.engine;
    let (replication, gtid) = match engine {
        crate::db::engine::Engine::Mariadb => (
            "SHOW SLAVE STATUS (no rows on the primary)",
            "gtid_current_pos, gtid_binlog_pos, gtid_binlog_state, gtid_slave_pos",
        ),
        crate::db::engine::Engine::Mysql => (
            "SHOW REPLICA STATUS (no rows on the primary)",
            "gtid_mode, server_uuid, gtid_executed, gtid_purged",
        ),
    };
    let agent = if agent_pods.is_empty() {
        format!(
            "agent/                           (absent) the agent's log: no agent runs for this cluster\n\
             {:33}(this version of kubectl-mysqlha has no agent; the pods of a Deployment\n\
             {:33}{}-agent would be collected here)\n",
            "", "", cluster.name
        )
    } else {
        format!(
            "agent/POD/CONTAINER.log          the last {} lines of the agent's logs (pods {})\n",
            diagnostics::LOG_TAIL_LINES,
            agent_pods.join(", ")
        )
    };
    let mut text = format!(
        "Support report of the {engine} cluster {name} in namespace {namespace}\n\
         written by kubectl-mysqlha {version} at {now}.\n\
         \n\
         No secret value is in this archive: Secrets are reduced to the names of their keys, and\n\
         every value of the cluster's Secrets is replaced by {redacted} wherever it appeared\n\
         (logs included). A part that could not be collected holds `error: ...` instead, and is\n\
         listed in errors.txt.\n\
         \n\
         What each file is:\n\
         README                           this file\n\
         errors.txt                       what could not be collected, and why\n\
         status.json                      `kubectl mysqlha status {name} -o json`: roles, GTID positions,\n\
         {pad}replication threads, lag, durability and the verdict\n\
         events.txt                       the namespace's events about the cluster's objects, oldest first\n\
         manifests/statefulset.yaml       the StatefulSet {name}\n\
         manifests/services.yaml          the Services (headless {name}, write {name}-primary, read {name}-read, one {name}-N-repl per member)\n\
         manifests/configmaps.yaml        the ConfigMap {name}: record of the primary, engine, settings, scripts\n\
         manifests/secrets.yaml           the cluster's Secrets: metadata and key names only, no value\n\
         manifests/persistentvolumeclaims.yaml  the members' volume claims\n\
         manifests/lease.yaml             the operation lock {lease} (absent when no operation runs)\n\
         manifests/poddisruptionbudgets.yaml  PodDisruptionBudgets of the cluster, if any\n\
         members/POD/pod.yaml             the member's Pod object\n\
         members/POD/events.txt           events about the pod and its claim data-POD\n\
         members/POD/variables.txt        key server variables: version, server_id, read_only{super_read_only},\n\
         {pad}binlog format, durability settings, buffer pool size, semi-sync settings\n\
         members/POD/gtid.txt             GTID state: {gtid}\n\
         members/POD/replication.txt      {replication}\n\
         members/POD/semi-sync-status.txt semi-synchronous replication status counters\n\
         members/POD/binary-logs.txt      SHOW BINARY LOGS: the binary log files and their sizes\n\
         members/POD/sessions.txt         the server's sessions (processlist), without their statements\n\
         members/POD/logs/C.log           the last {lines} lines of container C's log; the server logs to\n\
         {pad}stderr, so logs/mysql.log is the server's error log; config and data\n\
         {pad}are the init containers that write my.cnf and wait for data\n\
         members/POD/logs/C.previous.log  the same for the container's previous run, when it restarted\n\
         {agent}\
         \n\
         Each members/POD/*.txt file starts with the statement that was asked.\n\
         \n\
         Files in this archive:\n",
        name = cluster.name,
        namespace = cluster.namespace,
        version = crate::base::VERSION_LINE,
        redacted = redact::REDACTED,
        lease = lock::lease_name(&cluster.name),
        pad = format!("{:33}", ""),
        super_read_only = if engine == crate::db::engine::Engine::Mysql {
            ", super_read_only"
        } else {
            ""
        },
        lines = diagnostics::LOG_TAIL_LINES,
    );
    for path in bundle.archive.paths().chain(["README"]) {
        text += &format!("  {path}\n");
    }
    text
}
