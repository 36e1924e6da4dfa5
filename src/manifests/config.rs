use super::{metadata, ClusterSpec};
use k8s_openapi::api::core::v1::ConfigMap;
use std::collections::BTreeMap;

/// ConfigMap key holding the pod name of the primary of record.
pub const PRIMARY_KEY: &str = "primary";

/// ConfigMap key holding the generation of the record of the primary (a number, one more with
/// every move; 0 or absent before the first).
pub const PRIMARY_GENERATION_KEY: &str = "primary-generation";

/// ConfigMap key holding the durability mode ("semi-sync" or "async").
pub const DURABILITY_KEY: &str = "durability";

/// ConfigMap key holding the engine ("mariadb" or "mysql"): every command reads it.
pub const ENGINE_KEY: &str = "engine";

/// Whether the primary of `spec` waits for a replica's acknowledgement: semi-sync durability
/// and someone to acknowledge (a lone primary cannot wait for anyone).
fn primary_waits(spec: &ClusterSpec) -> bool {
    spec.semi_sync && spec.replicas > 1
}

pub fn config_map(spec: &ClusterSpec) -> ConfigMap {
    // What pods run on their own. The scripts the plugin runs in pods travel with the plugin
    // (see clone::OPERATION_SCRIPTS), so a cluster made by an older plugin never lacks them.
    let common = [
        ("init.sh", include_str!("scripts/init.sh")),
        ("write-config.sh", include_str!("scripts/write-config.sh")),
        ("wait-for-data.sh", include_str!("scripts/wait-for-data.sh")),
        ("pre-stop.sh", include_str!("scripts/pre-stop.sh")),
    ];
    let engine = spec.engine;
    let mut data = BTreeMap::from([
        (
            "primary.cnf".to_string(),
            engine.role_cnf(primary_waits(spec), true),
        ),
        ("replica.cnf".to_string(), engine.role_cnf(false, false)),
        ("hold.cnf".to_string(), engine.hold_cnf().to_string()),
        (PRIMARY_KEY.to_string(), spec.primary.clone()),
        (
            PRIMARY_GENERATION_KEY.to_string(),
            spec.generation.to_string(),
        ),
        (ENGINE_KEY.to_string(), engine.name().to_string()),
        (
            DURABILITY_KEY.to_string(),
            if spec.semi_sync { "semi-sync" } else { "async" }.to_string(),
        ),
    ]);
    if let Some(tls) = spec.tls.record() {
        data.insert(super::tls::TLS_KEY.to_string(), tls.to_string());
    }
    if let Some(user_ca) = &spec.tls_ca {
        data.insert(super::tls::CA_SECRET_KEY.to_string(), user_ca.clone());
    }
    if spec.tls == super::tls::Tls::Required {
        data.insert(
            super::tls::REQUIRE_CNF_KEY.to_string(),
            "[mysqld]\n# create --require-tls: clients without TLS are refused (the pod's socket serves)\nrequire_secure_transport=ON\n".to_string(),
        );
    }
    let scripts = common.iter().chain(engine.pod_scripts());
    data.extend(scripts.map(|(k, v)| (k.to_string(), v.to_string())));
    ConfigMap {
        metadata: metadata(spec, spec.name.clone()),
        data: Some(data),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::engine::Engine;

    #[test]
    fn role_files_are_the_names_init_reads() {
        let cm = config_map(&crate::manifests::test_spec());
        let data = cm.data.unwrap();
        let init = &data["write-config.sh"];
        assert!(init.contains("/etc/mysqlha/config/${role}.cnf"));
        assert!(data.contains_key("primary.cnf") && data.contains_key("replica.cnf"));
        assert!(data.contains_key("start.sh") && data.contains_key("probe.sh"));
        assert_eq!(data[PRIMARY_KEY], "shop-0");
        assert_eq!(data[ENGINE_KEY], "mariadb");
    }

    /// Runs write-config.sh's server-id lines for a pod (ordinal, uid).
    fn server_id(ordinal: u32, uid: &str) -> u64 {
        let script = include_str!("scripts/write-config.sh");
        let lines: Vec<&str> = script
            .lines()
            .filter(|l| l.starts_with("uid_hash=") || l.starts_with("server_id=$(("))
            .collect();
        assert_eq!(
            lines.len(),
            2,
            "write-config.sh computes the server id in two lines"
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "ordinal={ordinal}\n{}\necho $server_id",
                lines.join("\n")
            ))
            .env("POD_UID", uid)
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn a_new_pod_registers_with_a_new_server_id_unique_among_members() {
        let (a, b) = (
            "3f1c2d4e-0000-4000-8000-000000000001",
            "9a8b7c6d-0000-4000-8000-000000000002",
        );
        // The pod that replaces a member (same ordinal, new uid) gets a new id: a dump thread
        // its predecessor left on the primary is never its own.
        assert_ne!(server_id(2, a), server_id(2, b));
        // The same pod keeps its id across restarts of its server.
        assert_eq!(server_id(2, a), server_id(2, a));
        // Members never share one: the ordinal is the id's last three digits.
        for ordinal in [0, 1, 2, 998] {
            for uid in [a, b, ""] {
                let id = server_id(ordinal, uid);
                assert_eq!(id % 1000, u64::from(ordinal) + 1);
                assert!((1..=u64::from(u32::MAX)).contains(&id), "{id}");
            }
        }
    }

    /// The two records and the hold mark a restarting member may find.
    struct Found {
        mounted: (&'static str, Option<&'static str>),
        own: Option<&'static str>,
        held: bool,
    }

    /// Runs write-config.sh as pod `pod` over a scratch copy of /etc/mysqlha holding `found`;
    /// returns the role it wrote.
    /// A directory of its own for one run of a script under test (tests run in parallel).
    fn scratch_dir(what: &str) -> std::path::PathBuf {
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::env::temp_dir().join(format!("mysqlha-{what}-{}-{n}", std::process::id()))
    }

    fn role_at_restart(pod: &str, found: &Found) -> String {
        let dir = scratch_dir(&format!("write-config-{pod}"));
        let (config, run) = (dir.join("config"), dir.join("run"));
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(config.join(PRIMARY_KEY), found.mounted.0).unwrap();
        if let Some(generation) = found.mounted.1 {
            std::fs::write(config.join(PRIMARY_GENERATION_KEY), generation).unwrap();
        }
        if let Some(own) = found.own {
            std::fs::write(run.join("primary"), own).unwrap();
        }
        if found.held {
            std::fs::write(run.join("held-old-primary"), "").unwrap();
        }
        let script =
            include_str!("scripts/write-config.sh").replace("/etc/mysqlha", dir.to_str().unwrap());
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("POD_NAME", pod)
            .env("POD_UID", "3f1c2d4e-0000-4000-8000-000000000001")
            .env("HEADLESS_SERVICE", "ha")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let role = std::fs::read_to_string(run.join("role")).unwrap();
        // File reads and writes by SQL reach the pod's own empty directory only.
        let cnf = std::fs::read_to_string(run.join("my.cnf")).unwrap();
        let files = run.join("files");
        assert!(
            cnf.contains(&format!("secure_file_priv={}\n", files.display())),
            "{cnf}"
        );
        assert!(files.is_dir());
        std::fs::remove_dir_all(&dir).ok();
        role.trim().to_string()
    }

    #[test]
    fn a_restarting_member_takes_the_role_of_the_newest_record() {
        let cases = [
            // (pod, mounted (primary, generation), own copy, held, role): why
            // The kubelet has not refreshed the mount since ha-0 was promoted (generation 5).
            (
                "ha-0",
                ("ha-1", Some("4")),
                Some("ha-0 5\n"),
                false,
                "primary",
            ),
            (
                "ha-1",
                ("ha-1", Some("4")),
                Some("ha-0 5\n"),
                false,
                "replica",
            ),
            // The kubelet rewrote the mount (same content or not) after the copy: still the
            // newer generation decides, not the files' times.
            (
                "ha-0",
                ("ha-0", Some("5")),
                Some("ha-0 5\n"),
                false,
                "primary",
            ),
            (
                "ha-0",
                ("ha-1", Some("6")),
                Some("ha-0 5\n"),
                false,
                "replica",
            ),
            // A copy this member was not told of is older than the mount.
            (
                "ha-2",
                ("ha-2", Some("7")),
                Some("ha-1 6"),
                false,
                "primary",
            ),
            // A copy without generation (an older plugin's) loses to any ConfigMap.
            ("ha-0", ("ha-1", None), Some("ha-0\n"), false, "replica"),
            ("ha-0", ("ha-0", Some("2")), None, false, "primary"),
            // A fenced or stopped old primary stays read-only whatever the records say.
            ("ha-0", ("ha-0", Some("3")), Some("ha-0 3"), true, "replica"),
            // No primary of record (kept data being brought back).
            ("ha-0", ("", Some("3")), Some("- 4"), false, "replica"),
            // Garbage in either generation counts as 0.
            (
                "ha-0",
                ("ha-0", Some("x")),
                Some("ha-1 y"),
                false,
                "primary",
            ),
        ];
        for (pod, mounted, own, held, role) in cases {
            let found = Found { mounted, own, held };
            assert_eq!(
                role_at_restart(pod, &found),
                role,
                "{pod} with mount {mounted:?}, own copy {own:?}, held {held}"
            );
        }
    }

    #[test]
    fn the_primary_waits_unless_alone_or_opted_out() {
        let mut spec = crate::manifests::test_spec();
        let primary = |s: &ClusterSpec| config_map(s).data.unwrap()["primary.cnf"].clone();
        assert!(primary(&spec).contains("rpl_semi_sync_master_enabled=ON"));
        spec.replicas = 1;
        assert!(primary(&spec).contains("rpl_semi_sync_master_enabled=OFF"));
        spec.replicas = 3;
        spec.semi_sync = false;
        assert!(primary(&spec).contains("rpl_semi_sync_master_enabled=OFF"));
        assert_eq!(config_map(&spec).data.unwrap()[DURABILITY_KEY], "async");
        spec.semi_sync = true;
        spec.engine = Engine::Mysql;
        let data = config_map(&spec).data.unwrap();
        assert!(data["primary.cnf"].contains("rpl_semi_sync_source_enabled=ON"));
        assert!(data["replica.cnf"].contains("super_read_only=ON"));
        assert!(data["start.sh"].contains("mysqld --defaults-file=/etc/mysqlha/run/my.cnf &"));
        assert_eq!(data[ENGINE_KEY], "mysql");
    }

    /// Runs pre-stop.sh over a scratch /etc/mysqlha with a stub `mariadb` that answers from
    /// files of the scratch dir (`read_only`: 0 or 1, `replica`: a row or nothing; one replica
    /// connected, no client coming), starting as a writable primary; `then` runs 1 s after the
    /// hook started, playing the agent on that dir. Returns the hook's last word and its seconds.
    fn pre_stop(then: impl FnOnce(&std::path::Path) + Send + 'static) -> (String, f64) {
        let dir = scratch_dir("pre-stop");
        let bin = dir.join("bin");
        std::fs::create_dir_all(dir.join("run")).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(dir.join("read_only"), "0").unwrap();
        std::fs::write(dir.join("replica"), "").unwrap();
        let d = dir.display();
        let stub = format!(
            "#!/bin/sh\nfor q; do :; done\ncase $q in\n  'SELECT @@read_only') cat {d}/read_only ;;\n  *'Binlog Dump'*) echo 1 ;;\n  'SHOW REPLICA STATUS') cat {d}/replica ;;\n  *Connections*) echo 'Connections 7' ;;\nesac\n"
        );
        let client = bin.join("mariadb");
        std::fs::write(&client, stub).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&client)
            .status()
            .unwrap();
        let log = dir.join("log");
        let script = include_str!("scripts/pre-stop.sh")
            .replace("/etc/mysqlha", dir.to_str().unwrap())
            .replace("/proc/1/fd/1", log.to_str().unwrap())
            .replace("MOVE_WAIT=30", "MOVE_WAIT=4")
            .replace("CLAIM_WAIT=10", "CLAIM_WAIT=2");
        let started = std::time::Instant::now();
        let mut hook = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .spawn()
            .unwrap();
        let agent = {
            let dir = dir.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_secs(1));
                then(&dir);
            })
        };
        assert!(hook.wait().unwrap().success());
        let took = started.elapsed().as_secs_f64();
        agent.join().unwrap();
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        std::fs::remove_dir_all(&dir).ok();
        (said.lines().last().unwrap_or("").to_string(), took)
    }

    /// The agent's part of a planned move, on the hook's scratch dir: it claims the move,
    /// fences (read-only, the hold mark), repoints (replicating), and releases the hold unless
    /// `release` is false.
    fn switched_over(dir: &std::path::Path, release: bool) {
        std::fs::write(dir.join("run/leaving"), "").unwrap();
        std::fs::write(dir.join("run/held-old-primary"), "").unwrap();
        std::fs::write(dir.join("read_only"), "1").unwrap();
        std::fs::write(dir.join("replica"), "Waiting for master\n").unwrap();
        if release {
            // The release is a second exec, a moment after the repointing.
            std::thread::sleep(std::time::Duration::from_millis(1500));
            std::fs::remove_file(dir.join("run/held-old-primary")).unwrap();
        }
    }

    #[test]
    fn a_leaving_primary_stops_only_once_the_agent_has_released_its_hold() {
        // Repointed, then released 1.5 s later: it stopped only after that (and its linger).
        let (said, took) = pre_stop(|dir| switched_over(dir, true));
        assert_eq!(said, "preStop: switched over: stopping as a replica");
        assert!(took >= 2.5, "stopped before the hold was released: {took}");
        // Never released: it stops at its deadline.
        let (said, _) = pre_stop(|dir| switched_over(dir, false));
        assert_eq!(said, "preStop: the switchover took over 4s: stopping");
        // No agent claims the move: it stops after the claim wait.
        let (said, took) = pre_stop(|_| {});
        assert_eq!(said, "preStop: no agent claimed the switchover: stopping");
        assert!((1.0..4.0).contains(&took), "{took}");
    }
}
