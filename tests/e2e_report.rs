//! `report`: the support archive holds every promised file, no value of the cluster's Secrets
//! (not even one echoed into a server's log, nor base64-encoded), is still written when a
//! member's server does not answer, and bad inputs leave no file behind.
mod common;
use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

for_both_engines!(report_holds_what_it_promises_and_no_secret,);

/// A scratch directory of this test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(ns: &Namespace) -> Self {
        let dir = std::env::temp_dir().join(format!("mysqlha-report-{}", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Unpacks `archive` into `into` and returns every file by its path below the archive's top
/// directory (bytes read as text).
fn unpack(archive: &Path, into: &Path) -> BTreeMap<String, String> {
    std::fs::create_dir_all(into).unwrap();
    run(
        "tar",
        &[
            "xzf",
            archive.to_str().unwrap(),
            "-C",
            into.to_str().unwrap(),
        ],
        None,
    )
    .ok();
    let tops: Vec<PathBuf> = std::fs::read_dir(into)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(tops.len(), 1, "one top directory in the archive: {tops:?}");
    let mut files = BTreeMap::new();
    let mut dirs = vec![tops[0].clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let name = path
                    .strip_prefix(&tops[0])
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                files.insert(name, text);
            }
        }
    }
    files
}

/// Every value of the cluster's Secrets, decoded, with its base64 form as stored.
fn secret_values(ns: &Namespace, cluster: &str) -> Vec<(String, String)> {
    let out = ns
        .kubectl(&[
            "get",
            "secret",
            "-l",
            &format!("app.kubernetes.io/instance={cluster}"),
            "-o",
            "json",
        ])
        .ok()
        .stdout;
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut values = Vec::new();
    for secret in list["items"].as_array().unwrap() {
        for (key, encoded) in secret["data"].as_object().unwrap() {
            // A counter of certificate rotations, not a secret ("1" is in every file).
            if key == "tls-generation" {
                continue;
            }
            let encoded = encoded.as_str().unwrap().to_string();
            let decoded = run("base64", &["-d"], Some(&encoded)).ok().stdout;
            values.push((decoded, encoded));
        }
    }
    assert!(
        values.len() >= 2,
        "the cluster's Secret holds its passwords: {values:?}"
    );
    values
}

/// The plugin in `dir` as the current directory.
fn plugin_in(ns: &Namespace, dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(PLUGIN)
        .args(args)
        .args(["-n", &ns.name])
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn report_holds_what_it_promises_and_no_secret(engine: Engine) {
    let ns = Namespace::with_engine("e2e-rpt", engine);
    let scratch = Scratch::new(&ns);
    let dir = scratch.0.as_path();
    create_cluster(&ns, "rp", 2);
    let secrets = secret_values(&ns, "rp");
    // Defence in depth: a password that reached a server's log (its container's stderr) is
    // scrubbed from the archive. Sent on stdin, never on a command line.
    let root_password = ns.root_password("rp");
    run(
        "kubectl",
        &[
            "-n",
            &ns.name,
            "exec",
            "-i",
            "rp-1",
            "-c",
            "mysql",
            "--",
            "sh",
            "-c",
            "cat > /proc/1/fd/2",
        ],
        Some(&format!("leaked password: {root_password}\n")),
    )
    .ok();

    // The default file name, in the current directory; its path is the result on stdout.
    let out = plugin_in(&ns, dir, &["report", "rp"]).ok();
    let written = out.stdout.trim().to_string();
    assert!(
        written.starts_with("rp-report-") && written.ends_with("Z.tar.gz"),
        "{written}"
    );
    assert_eq!(out.stdout.lines().count(), 1, "{}", out.stdout);
    let files = unpack(&dir.join(&written), &dir.join("default"));

    let mut promised: Vec<String> = [
        "README",
        "errors.txt",
        "status.json",
        "events.txt",
        "manifests/statefulset.yaml",
        "manifests/services.yaml",
        "manifests/configmaps.yaml",
        "manifests/secrets.yaml",
        "manifests/persistentvolumeclaims.yaml",
        "manifests/lease.yaml",
        "manifests/poddisruptionbudgets.yaml",
    ]
    .map(String::from)
    .to_vec();
    for member in ["rp-0", "rp-1"] {
        for file in [
            "pod.yaml",
            "events.txt",
            "variables.txt",
            "gtid.txt",
            "replication.txt",
            "semi-sync-status.txt",
            "binary-logs.txt",
            "sessions.txt",
            "logs/mysql.log",
            "logs/config.log",
        ] {
            promised.push(format!("members/{member}/{file}"));
        }
    }
    for path in &promised {
        assert!(
            files.contains_key(path),
            "{path} missing from {:?}",
            files.keys()
        );
        assert!(
            files["README"].contains(path.as_str()),
            "README does not list {path}"
        );
    }
    assert_eq!(
        files["errors.txt"].trim(),
        "(none: everything was collected)",
        "{}",
        files["errors.txt"]
    );
    let status: serde_json::Value = serde_json::from_str(&files["status.json"]).unwrap();
    assert_eq!(status["primary"], "rp-0", "{status}");
    assert_eq!(status["healthy"], true, "{status}");
    let replica = &files["members/rp-1/replication.txt"];
    let io_running = match engine {
        Engine::Mariadb => "Slave_IO_Running: Yes",
        Engine::Mysql => "Replica_IO_Running: Yes",
    };
    assert!(replica.contains(io_running), "{replica}");
    // It replicates through the primary's member Service.
    assert!(replica.contains("rp-0-repl."), "{replica}");
    let variables = &files["members/rp-1/variables.txt"];
    assert!(variables.contains("read_only"), "{variables}");
    assert!(variables.contains("server_id"), "{variables}");
    if engine == Engine::Mysql {
        assert!(variables.contains("super_read_only"), "{variables}");
    }
    assert!(
        files["members/rp-0/gtid.txt"].contains("gtid_"),
        "{}",
        files["members/rp-0/gtid.txt"]
    );
    let log = &files["members/rp-0/logs/mysql.log"];
    assert!(log.contains("ready for connections"), "{log}");
    let leaked = &files["members/rp-1/logs/mysql.log"];
    assert!(
        leaked.contains("leaked password: <redacted>"),
        "the echoed password is in the log tail, blanked: {leaked}"
    );
    let shown_secrets = &files["manifests/secrets.yaml"];
    assert!(
        shown_secrets.contains("root-password") && shown_secrets.contains("replication-password"),
        "{shown_secrets}"
    );
    let statefulset = &files["manifests/statefulset.yaml"];
    assert!(statefulset.contains("kind: StatefulSet"), "{statefulset}");
    assert!(!statefulset.contains("managedFields"), "{statefulset}");
    assert_no_secret(&files, &secrets);

    // -o FILE; an existing FILE is refused and left as it was; --force overwrites it.
    let file = dir.join("support.tar.gz");
    let path = file.to_str().unwrap();
    std::fs::write(&file, "keep me").unwrap();
    let refused = ns.plugin(&["report", "rp", "-o", path]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.starts_with("error: ") && refused.stderr.contains("already exists"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    let forced = ns.plugin(&["report", "rp", "-o", path, "--force"]).ok();
    assert_eq!(forced.stdout.trim(), path);
    assert!(unpack(&file, &dir.join("forced")).contains_key("status.json"));

    // -o - writes the archive to stdout.
    let piped = run(
        "bash",
        &[
            "-c",
            &format!(
                "set -o pipefail; '{PLUGIN}' report rp -n {} -o - | tar tzf -",
                ns.name
            ),
        ],
        None,
    )
    .ok();
    assert!(piped.stdout.contains("/status.json"), "{}", piped.stdout);

    // An unknown cluster: one error line, exit 1, no file.
    let nothing = dir.join("nothing.tar.gz");
    let unknown = ns.plugin(&["report", "nope", "-o", nothing.to_str().unwrap()]);
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert_eq!(unknown.stderr.lines().count(), 1, "{}", unknown.stderr);
    assert!(
        unknown.stderr.starts_with("error: ") && unknown.stderr.contains("nope"),
        "{}",
        unknown.stderr
    );
    assert!(!nothing.exists(), "no file for an unknown cluster");

    // A replica whose server does not answer (frozen): the archive is still written, and says
    // what failed.
    signal_primary(&ns, "rp-1", "-STOP");
    let frozen_file = dir.join("frozen.tar.gz");
    let frozen = ns.plugin(&["report", "rp", "-o", frozen_file.to_str().unwrap()]);
    signal_primary(&ns, "rp-1", "-CONT");
    assert_eq!(frozen.code, 0, "{}", frozen.stderr);
    assert!(frozen.stderr.contains("rp-1"), "{}", frozen.stderr);
    let files = unpack(&frozen_file, &dir.join("frozen"));
    let errors = &files["errors.txt"];
    assert!(
        errors.contains("members/rp-1/variables.txt"),
        "errors.txt names what failed: {errors}"
    );
    assert!(
        files["members/rp-1/variables.txt"].starts_with("error: "),
        "{}",
        files["members/rp-1/variables.txt"]
    );
    assert!(
        files["members/rp-1/replication.txt"].contains("not asked"),
        "{}",
        files["members/rp-1/replication.txt"]
    );
    assert!(
        files["members/rp-0/replication.txt"].contains("(no rows)"),
        "the primary still answered: {}",
        files["members/rp-0/replication.txt"]
    );
    assert!(files.contains_key("members/rp-1/logs/mysql.log"));
    let status: serde_json::Value = serde_json::from_str(&files["status.json"]).unwrap();
    assert_eq!(status["primary"], "rp-0", "{status}");
    assert_no_secret(&files, &secrets);
}

/// No value of the Secrets, as is or base64-encoded, in any file.
fn assert_no_secret(files: &BTreeMap<String, String>, secrets: &[(String, String)]) {
    for (path, text) in files {
        for (value, encoded) in secrets {
            assert!(
                !text.contains(value.as_str()),
                "a Secret value is in {path}"
            );
            assert!(
                !text.contains(encoded.as_str()),
                "a base64-encoded Secret value is in {path}"
            );
        }
    }
}
