//! Least privilege, proven: every command runs as a ServiceAccount bound (RoleBinding) to
//! exactly the Role printed in docs/security.md, and as one bound to the built-in `admin`
//! ClusterRole (what most teams are given), through a token kubeconfig, in a namespace that
//! enforces the `restricted` Pod Security Standard: create (with its agent), agent enable and
//! disable, status, sql, report, set (refused storage, a rolling restart), upgrade, scale,
//! rebuild-replica, switchover, failover, delete. Under the built-in `edit` role (which may not
//! create Roles) create refuses before changing anything unless --no-agent.
mod common;
use common::*;
use std::time::Duration;

for_both_engines!(
    the_readme_role_runs_every_command,
    the_builtin_admin_role_runs_every_command_and_edit_creates_without_the_agent,
);

/// The Role YAML between the role markers of docs/security.md.
fn readme_role() -> String {
    let readme = include_str!("../docs/security.md");
    let start = readme
        .find("<!-- role:begin -->")
        .expect("docs/security.md has the Role");
    let end = readme
        .find("<!-- role:end -->")
        .expect("docs/security.md has the Role's end");
    let block = &readme[start..end];
    let yaml = block
        .split_once("```yaml\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the Role is a yaml block")
        .0;
    yaml.to_string()
}

/// A kubeconfig for ServiceAccount `sa` in `ns`, using the test bed's server and CA.
fn token_kubeconfig(ns: &Namespace, sa: &str) -> std::path::PathBuf {
    let token = ns
        .kubectl(&["create", "token", sa, "--duration", "2h"])
        .ok()
        .stdout;
    let view = |path: &str| {
        kubectl(&[
            "config",
            "view",
            "--raw",
            "--minify",
            "-o",
            &format!("jsonpath={path}"),
        ])
        .ok()
        .stdout
    };
    let server = view("{.clusters[0].cluster.server}");
    let mut ca = view("{.clusters[0].cluster.certificate-authority-data}");
    if ca.is_empty() {
        let file = view("{.clusters[0].cluster.certificate-authority}");
        let pem = std::fs::read(file).expect("the test bed's CA file");
        ca = run("base64", &["-w0"], Some(&String::from_utf8(pem).unwrap()))
            .ok()
            .stdout;
    }
    let config = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: bed\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: dba\n  context:\n    cluster: bed\n    user: dba\n    namespace: {}\ncurrent-context: dba\nusers:\n- name: dba\n  user:\n    token: {}\n",
        ns.name,
        token.trim()
    );
    let path = std::env::temp_dir().join(format!("mysqlha-rbac-{}.kubeconfig", ns.name));
    std::fs::write(&path, config).unwrap();
    path
}

/// A namespace that enforces the `restricted` Pod Security Standard.
fn restricted_namespace(prefix: &str, engine: Engine) -> Namespace {
    let ns = Namespace::with_engine(prefix, engine);
    kubectl(&[
        "label",
        "namespace",
        &ns.name,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
    ])
    .ok();
    ns
}

/// ServiceAccount `sa` bound in `ns` to `role` (`--role=X` or `--clusterrole=X`).
fn service_account_with(ns: &Namespace, sa: &str, role: &str) {
    ns.kubectl(&["create", "serviceaccount", sa]).ok();
    ns.kubectl(&[
        "create",
        "rolebinding",
        sa,
        role,
        &format!("--serviceaccount={}:{sa}", ns.name),
    ])
    .ok();
}

fn the_readme_role_runs_every_command(engine: Engine) {
    let ns = restricted_namespace("e2e-rbac", engine);
    run(
        "kubectl",
        &["apply", "-n", &ns.name, "-f", "-"],
        Some(&readme_role()),
    )
    .ok();
    service_account_with(&ns, "dba", "--role=mysqlha-operator");
    every_command_as(&ns, engine, "dba", Reads::NothingClusterWide);
}

fn the_builtin_admin_role_runs_every_command_and_edit_creates_without_the_agent(engine: Engine) {
    let ns = restricted_namespace("e2e-admin", engine);
    service_account_with(&ns, "dev", "--clusterrole=edit");
    let kubeconfig = token_kubeconfig(&ns, "dev");
    let kc = kubeconfig.to_str().unwrap();
    let image = engine.image();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "create",
            "e1",
            "--replicas",
            "1",
            "--storage",
            "4Gi",
            "--engine",
            engine.name(),
            "--image",
            &image,
            "--storage-class",
            "fixed",
            "--kubeconfig",
            kc,
        ];
        args.extend(extra);
        run(PLUGIN, &args, None)
    };
    // edit may not create Roles: refused at once, nothing created.
    let refused = create(&["--agent-image", &agent_image()]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .starts_with("error: cannot deploy the automatic-failover agent of cluster e1:")
            && refused.stderr.contains("--no-agent")
            && refused.stderr.lines().count() == 1,
        "{}",
        refused.stderr
    );
    let left = ns
        .kubectl(&[
            "get",
            "statefulset,service,configmap,secret,pvc",
            "-o",
            "name",
        ])
        .ok()
        .stdout;
    assert!(
        left.lines().all(|l| l.contains("kube-root-ca.crt")),
        "a refused create left: {left}"
    );
    // Without the agent, edit creates (and deletes) a cluster.
    create(&["--no-agent"]).ok();
    // edit enables base backups; the agent's grant is refused to it: said, not an error.
    make_s3_secret(&ns, "s3", None);
    let args = backup_enable_args(&ns, "e1", &["--kubeconfig", kc]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let enabled = run(PLUGIN, &args, None).ok();
    assert!(
        enabled.stderr.contains("cannot read the store's key")
            && enabled.stderr.contains("kubectl mysqlha agent enable e1"),
        "{}",
        enabled.stderr
    );
    run(PLUGIN, &["backup", "e1", "--kubeconfig", kc], None).ok();
    run(
        PLUGIN,
        &["backup", "disable", "e1", "--kubeconfig", kc],
        None,
    )
    .ok();
    run(PLUGIN, &["delete", "e1", "--yes", "--kubeconfig", kc], None).ok();
    let _ = std::fs::remove_file(kubeconfig);

    service_account_with(&ns, "dba", "--clusterrole=admin");
    every_command_as(&ns, engine, "dba", Reads::ItsNamespace);
}

/// The agent's Deployment, ServiceAccount, Role and RoleBinding of cluster r1 exist.
fn assert_agent_objects(ns: &Namespace) {
    let agent = ns
        .kubectl(&[
            "get",
            "deployment,serviceaccount,role,rolebinding",
            "r1-agent",
            "-o",
            "name",
        ])
        .ok();
    assert_eq!(agent.stdout.lines().count(), 4, "{}", agent.stdout);
}

/// What a role lets its holder read beyond the namespace's objects.
#[derive(PartialEq)]
enum Reads {
    /// The documented Role: not even its own Namespace object.
    NothingClusterWide,
    /// The built-in admin role bound in the namespace: its own Namespace object too.
    ItsNamespace,
}

/// Every command, as ServiceAccount `sa` of `ns` through a token kubeconfig.
fn every_command_as(ns: &Namespace, engine: Engine, sa: &str, reads: Reads) {
    let kubeconfig = token_kubeconfig(ns, sa);
    let kc = kubeconfig.to_str().unwrap().to_string();
    let dba = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--kubeconfig", &kc]);
        let out = run(PLUGIN, &all, None);
        // The Role lets every command record its history (Events).
        assert!(!out.stderr.contains("cannot record"), "{}", out.stderr);
        out
    };
    // The account really is limited: it may not list nodes, nor (the documented Role) read its
    // namespace.
    let nodes = run("kubectl", &["--kubeconfig", &kc, "get", "nodes"], None);
    assert_ne!(nodes.code, 0, "the ServiceAccount must not list Nodes");
    let namespace = run(
        "kubectl",
        &["--kubeconfig", &kc, "get", "namespace", &ns.name],
        None,
    );
    assert_eq!(
        namespace.code == 0,
        reads == Reads::ItsNamespace,
        "reading Namespace {}: {}",
        ns.name,
        namespace.stderr
    );
    let image = engine.image();
    let created = dba(&[
        "create",
        "r1",
        "--replicas",
        "2",
        "--storage",
        "4Gi",
        "--engine",
        engine.name(),
        "--image",
        &image,
        "--storage-class",
        "fixed",
    ])
    .ok();
    // The bed serves the prometheus-operator's PodMonitor CRD: the documented Role makes the
    // agent's PodMonitor; the built-in admin role names no custom resource: create says so in
    // one line and goes on.
    let pod_monitor = || {
        ns.kubectl(&["get", "podmonitor", "r1-agent", "-o", "name"])
            .code
            == 0
    };
    let warned: Vec<&str> = created
        .stderr
        .lines()
        .filter(|l| l.contains("PodMonitor"))
        .collect();
    match reads {
        Reads::NothingClusterWide => {
            assert!(pod_monitor(), "no PodMonitor r1-agent: {}", created.stderr);
            assert!(warned.is_empty(), "{}", created.stderr);
        }
        Reads::ItsNamespace => {
            assert!(!pod_monitor());
            assert!(
                warned.len() == 1
                    && warned[0].starts_with("warning: cannot apply PodMonitor r1-agent")
                    && warned[0].contains("forbidden"),
                "{}",
                created.stderr
            );
        }
    }
    // create deployed the agent with the Role's rights; its pods were admitted and one leads.
    eventually("an agent pod leads", Duration::from_secs(120), || {
        !event_messages(ns, "r1", "AgentLeader").is_empty()
    });
    // Its Role names the members: exec into and delete of any other pod is refused to it.
    let agent_sa = format!("system:serviceaccount:{}:r1-agent", ns.name);
    let can = |verb: &str, what: &str, sub: &[&str]| {
        let mut args = vec!["auth", "can-i", verb, what, "--as", &agent_sa];
        args.extend(sub);
        ns.kubectl(&args).stdout.trim() == "yes"
    };
    assert!(can("create", "pods/r1-0", &["--subresource=exec"]));
    assert!(can("delete", "pods/r1-1", &[]));
    assert!(can("get", "secrets/r1-credentials", &[]));
    assert!(!can("create", "pods/other-app-0", &["--subresource=exec"]));
    assert!(!can("delete", "pods/other-app-0", &[]));
    assert!(!can("get", "secrets/other-app", &[]));
    assert!(!can("list", "secrets", &[]));
    // disable removes it with the Role's rights (and keeps it from racing the failover below).
    assert_agent_objects(ns);
    dba(&["agent", "disable", "r1"]).ok();
    assert!(!pod_monitor(), "agent disable left PodMonitor r1-agent");
    let status = dba(&["status", "r1", "-o", "json"]).ok();
    assert!(
        status.stdout.contains("\"healthy\": true"),
        "{}",
        status.stdout
    );
    let sql = dba(&["sql", "r1", "--replica", "-e", "SELECT 6*7"]).ok();
    assert_eq!(sql.stdout, "6*7\n42\n");
    // report reads everything it needs with the Role: nothing missing from the archive.
    let archive = std::env::temp_dir().join(format!("mysqlha-rbac-{}.tar.gz", ns.name));
    let archive = archive.to_str().unwrap();
    dba(&["report", "r1", "-o", archive, "--force"]).ok();
    let errors = run(
        "tar",
        &["xzOf", archive, "--wildcards", "*/errors.txt"],
        None,
    )
    .ok();
    assert_eq!(
        errors.stdout.trim(),
        "(none: everything was collected)",
        "{}",
        errors.stdout
    );
    let _ = std::fs::remove_file(archive);
    // set --storage asks the claims with the Role's rights (patch): the class refuses, not RBAC.
    let grow = dba(&["set", "r1", "--storage", "8Gi"]);
    assert_eq!(grow.code, 1, "{}", grow.stderr);
    assert!(
        grow.stderr.contains("cannot grow to 8Gi") && !grow.stderr.contains("cannot patch"),
        "{}",
        grow.stderr
    );
    // A rolling set: every member restarted, the primary last by switchover.
    let rolled = dba(&["set", "r1", "--memory", "600Mi"]).ok();
    assert!(
        rolled.stdout.contains("(2 restarted; primary r1-0 →"),
        "{}",
        rolled.stdout
    );
    // upgrade: MariaDB to the next series (every member restarted, a switchover); MySQL has
    // one version on the bed, so its upgrade to the same image restarts nothing (what it
    // still needs of the Role: the lock, reading every member, its events).
    let (target, restarted) = match engine {
        Engine::Mariadb => (
            std::env::var("MYSQLHA_MARIADB_NEXT_IMAGE")
                .expect("MYSQLHA_MARIADB_NEXT_IMAGE is not set: bring the test bed up"),
            "(2 restarted; primary r1-1 →",
        ),
        Engine::Mysql => (image.clone(), "(0 restarted)"),
    };
    let upgraded = dba(&["upgrade", "r1", "--image", &target]).ok();
    assert!(upgraded.stdout.contains(restarted), "{}", upgraded.stdout);
    // Back to r1-0 as the primary (MySQL's upgrade moved nothing), as the steps below expect.
    let status = dba(&["status", "r1", "-o", "json"]).ok();
    let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    if status["primary"] != "r1-0" {
        dba(&["switchover", "r1", "--to", "r1-0"]).ok();
    }
    dba(&["scale", "r1", "--replicas", "3"]).ok();
    dba(&["rebuild-replica", "r1", "r1-2", "--yes"]).ok();
    dba(&["switchover", "r1", "--to", "r1-1"]).ok();
    signal_primary(ns, "r1-1", "-STOP");
    let failover = dba(&["failover", "r1", "--yes"]);
    signal_primary(ns, "r1-1", "-CONT");
    assert_eq!(failover.code, 0, "{}", failover.stderr);
    eventually(
        "the old primary is back (read-only)",
        Duration::from_secs(120),
        || {
            ns.kubectl(&[
                "get",
                "pod",
                "r1-1",
                "-o",
                "jsonpath={.status.containerStatuses[0].state.running}",
            ])
            .stdout
            .contains("startedAt")
        },
    );
    dba(&["rebuild-replica", "r1", "r1-1", "--yes"]).ok();
    let status = dba(&["status", "r1", "-o", "json"]).ok();
    assert!(
        status.stdout.contains("\"healthy\": true"),
        "{}",
        status.stdout
    );
    // ... and status read it back (list events).
    assert!(
        status.stdout.contains("\"reason\": \"RebuildReplicaDone\""),
        "{}",
        status.stdout
    );
    // agent enable makes the agent's Deployment, ServiceAccount, Role and binding.
    let enabled = dba(&["agent", "enable", "r1", "--agent-image", &agent_image()]).ok();
    assert!(
        enabled.stdout.contains("Deployment r1-agent"),
        "{}",
        enabled.stdout
    );
    assert_agent_objects(ns);
    // backup enable (with a schedule) grants the agent the store's key, within these rights.
    make_s3_secret(ns, "s3", None);
    let args = backup_enable_args(ns, "r1", &["--every", "24h"]);
    dba(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    assert!(can("get", "secrets/s3", &[]));
    assert!(can("patch", "configmaps/r1-backup", &[]));
    assert!(!can("get", "secrets/other-app", &[]));
    dba(&["delete", "r1", "--yes"]).ok();
    let left = ns
        .kubectl(&[
            "get",
            "statefulset,service,configmap,secret,pvc,lease",
            "-o",
            "name",
        ])
        .ok()
        .stdout;
    // What stays by design: where the backups are (restore --from finds them), the user's key.
    let left: Vec<&str> = left
        .lines()
        .filter(|l| !l.contains("kube-root-ca.crt"))
        .filter(|l| *l != "configmap/r1-backup" && *l != "secret/s3")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let agent_left = ns
        .kubectl(&[
            "get",
            "deployment,serviceaccount,role,rolebinding",
            "-o",
            "name",
        ])
        .ok()
        .stdout;
    assert!(
        !agent_left.contains("r1-agent"),
        "the agent left behind: {agent_left}"
    );
    let _ = std::fs::remove_file(kubeconfig);
}
