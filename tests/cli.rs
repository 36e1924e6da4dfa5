//! The CLI without a cluster: the built binary, run with no usable kubeconfig
//! (KUBECONFIG=/nonexistent, an empty HOME), so anything that tried to reach a cluster would fail.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-mysqlha");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// An empty HOME of its own, so no ~/.kube/config is found either.
fn empty_home() -> PathBuf {
    let home =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("cli-home-{}", std::process::id()));
    std::fs::create_dir_all(&home).unwrap();
    home
}

fn plugin(args: &[&str]) -> Run {
    let out = Command::new(PLUGIN)
        .args(args)
        .env("KUBECONFIG", "/nonexistent")
        .env("HOME", empty_home())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("MYSQLHA_IMAGE")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The commit part of `(commit …)`: 7 to 40 hex digits (from git or MYSQLHA_GIT_COMMIT,
/// possibly `-dirty` when scripts/release built a changed tree), or `unknown` outside git.
fn is_commit(s: &str) -> bool {
    let hex = s.strip_suffix("-dirty").unwrap_or(s);
    s == "unknown" || ((7..=40).contains(&hex.len()) && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

#[test]
fn version_works_without_a_kubeconfig() {
    for args in [&["version"][..], &["--version"][..]] {
        let run = plugin(args);
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "");
        let line = run.stdout.strip_suffix('\n').expect("one line");
        let rest = line
            .strip_prefix(concat!(
                "kubectl-mysqlha ",
                env!("CARGO_PKG_VERSION"),
                " (commit "
            ))
            .unwrap_or_else(|| panic!("{line:?}"));
        let commit = rest.strip_suffix(')').unwrap_or_else(|| panic!("{line:?}"));
        assert!(is_commit(commit), "{line:?}");
        assert!(!line.contains('\n'));
    }
}

/// Usage errors (clap's): exit 2, nothing on stdout, and one clear `error:` line first on stderr
/// (clap adds the usage and a hint below it, but no second error).
#[test]
fn usage_errors_exit_2_with_one_error_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["bogus"], "error: unrecognized subcommand 'bogus'"),
        (&["--bogus"], "error: unexpected argument '--bogus' found"),
        (&["status", "shop", "--replicas", "3"], "error: unexpected argument '--replicas' found"),
        (&["create", "shop", "--replicas", "abc"], "error: invalid value 'abc' for '--replicas <REPLICAS>': invalid digit found in string"),
        (&["create", "shop", "--timeout", "5d"], "error: invalid value '5d' for '--timeout <TIMEOUT>': invalid duration '5d' (use e.g. 90s, 10m, 1h)"),
        (&["create", "shop", "--timeout", "99999999999999999h"], "error: invalid value '99999999999999999h' for '--timeout <TIMEOUT>': duration '99999999999999999h' is too long (at most 7d = 168h)"),
        (&["switchover", "shop", "--wait", "forever"], "error: invalid value 'forever' for '--wait [<DURATION>]': invalid duration 'forever' (use e.g. 90s, 10m, 1h)"),
        (&["create", "shop", "--durability", "sync"], "error: invalid value 'sync' for '--durability <DURABILITY>'"),
        (&["status", "shop", "-o", "xml"], "error: invalid value 'xml' for '--output <OUTPUT>'"),
        (&["status", "shop", "extra"], "error: unexpected argument 'extra' found"),
        (&["status", "shop", "--watch", "0s"], "error: invalid value '0s' for '--watch [<INTERVAL>]': duration '0s' is zero (use e.g. 90s, 10m, 1h)"),
        (&["status", "shop", "--color", "red"], "error: invalid value 'red' for '--color <COLOR>'"),
        (&["scale", "shop"], "error: the following required arguments were not provided:"),
        (&["completion", "tcsh"], "error: invalid value 'tcsh' for '<SHELL>'"),
    ];
    for (args, first) in cases {
        let run = plugin(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(
            run.stderr.lines().next(),
            Some(*first),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(
            run.stderr.lines().filter(|l| l.contains("error:")).count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
    }
    // The missing argument is named on the line below.
    assert!(plugin(&["scale", "shop"])
        .stderr
        .contains("\n  --replicas <REPLICAS>\n"));
    assert!(plugin(&["status"]).stderr.contains("\n  <NAME>\n"));
}

#[test]
fn no_command_prints_the_help_and_exits_2() {
    let run = plugin(&[]);
    assert_eq!(run.code, Some(2));
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr
            .contains("Usage: kubectl mysqlha [OPTIONS] <COMMAND>"),
        "{}",
        run.stderr
    );
}

/// Invalid input the plugin itself rejects: exit 1 and exactly one `error:` line, before any
/// cluster is contacted (a connection attempt would fail on the kubeconfig instead).
#[test]
fn invalid_create_and_scale_input_fail_with_one_error_line() {
    let long = "a".repeat(46);
    let long_error =
        format!("error: invalid cluster name '{long}': at most 45 characters (46 given)\n");
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["create", "Bad_Name"],
            "error: invalid cluster name 'Bad_Name': use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit\n".into(),
        ),
        (
            vec!["create", "Bad_Name", "--dry-run"],
            "error: invalid cluster name 'Bad_Name': use lowercase letters, digits and '-', starting with a letter and ending with a letter or digit\n".into(),
        ),
        (vec!["create", "x", "--replicas", "0"], "error: --replicas must be at least 1 (the primary), got 0\n".into()),
        (vec!["create", "x", "--replicas", "-1"], "error: --replicas must be at least 1 (the primary), got -1\n".into()),
        (vec!["create", "x", "--replicas=-1", "--dry-run"], "error: --replicas must be at least 1 (the primary), got -1\n".into()),
        (vec!["create", "x", "--replicas", "1000"], "error: --replicas must be at most 999 (a member's server id ends in its ordinal), got 1000\n".into()),
        (vec!["scale", "x", "--replicas", "1000"], "error: --replicas must be at most 999 (a member's server id ends in its ordinal), got 1000\n".into()),
        (vec!["create", &long], long_error.clone()),
        (vec!["create", &long, "--dry-run"], long_error),
        (vec!["scale", "x", "--replicas", "0"], "error: --replicas must be at least 1 (the primary), got 0\n".into()),
        (vec!["status", "x", "--watch", "-o", "json"], "error: --watch shows the table only: leave out -o/--output, or run status -o json in a loop\n".into()),
        (vec!["status", "x", "-o", "yaml", "--watch", "5s"], "error: --watch shows the table only: leave out -o/--output, or run status -o json in a loop\n".into()),
        (vec!["create", "x", "--storage", "notasize", "--dry-run"], "error: invalid --storage 'notasize': expected a Kubernetes quantity greater than zero, e.g. 10Gi, 512Mi, 500m or 2\n".into()),
        (vec!["create", "x", "--memory", "1GB"], "error: invalid --memory '1GB': expected a Kubernetes quantity greater than zero, e.g. 10Gi, 512Mi, 500m or 2\n".into()),
    ];
    // Usage errors exit 2, like clap's own.
    for (args, expected) in cases {
        let run = plugin(&args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr, expected, "{args:?}");
    }
    // 45 characters is still a valid name.
    assert_eq!(
        plugin(&["create", &"a".repeat(45), "--dry-run"]).code,
        Some(0)
    );
}

/// `create NAME --dry-run` prints every manifest and contacts nothing.
#[test]
fn create_dry_run_prints_the_manifests_offline() {
    for (args, namespace, replicas, tls) in [
        (&["create", "shop", "--dry-run"][..], "default", 3, true),
        (
            &["create", "shop", "--dry-run", "-n", "db", "--replicas", "5"][..],
            "db",
            5,
            true,
        ),
        (
            &["create", "shop", "--dry-run", "--no-tls"][..],
            "default",
            3,
            false,
        ),
    ] {
        let run = plugin(args);
        assert_eq!(run.code, Some(0), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr, "", "{args:?}");
        let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&run.stdout)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .filter(|d: &serde_yaml::Value| !d.is_null())
            .collect();
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for doc in &docs {
            *kinds
                .entry(doc["kind"].as_str().expect("kind"))
                .or_default() += 1;
            let meta = &doc["metadata"];
            assert_eq!(meta["namespace"].as_str(), Some(namespace), "{doc:?}");
            assert!(
                meta["name"].as_str().unwrap().starts_with("shop"),
                "{doc:?}"
            );
            assert_eq!(
                meta["labels"]["app.kubernetes.io/instance"].as_str(),
                Some("shop")
            );
            assert_eq!(
                meta["labels"]["app.kubernetes.io/managed-by"].as_str(),
                Some("kubectl-mysqlha")
            );
        }
        // With TLS: the CA's Secret and ConfigMap NAME-ca besides; no key or certificate shown.
        let with_tls = usize::from(tls);
        assert!(!run.stdout.contains("PRIVATE KEY"), "{args:?}");
        assert!(!run.stdout.contains("BEGIN CERTIFICATE"), "{args:?}");
        assert_eq!(run.stdout.contains("tls-shop-0.key"), tls, "{args:?}");
        assert_eq!(
            kinds,
            BTreeMap::from([
                ("ConfigMap", 1 + with_tls),
                ("PodDisruptionBudget", 1),
                ("Secret", 1 + with_tls),
                // headless, write, read, and one member Service per member
                ("Service", 3 + replicas as usize),
                ("StatefulSet", 1)
            ]),
            "{args:?}"
        );
        let sts = docs.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
        assert_eq!(sts["spec"]["replicas"].as_i64(), Some(replicas));
    }
}

/// The commands listed by `--help` (clap's own `help` aside).
fn commands() -> Vec<String> {
    let help = plugin(&["--help"]);
    assert_eq!(help.code, Some(0));
    let list: Vec<String> = help
        .stdout
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect();
    assert!(list.len() >= 9, "{list:?}");
    list
}

#[test]
fn every_help_has_examples() {
    for flag in ["--help", "-h"] {
        let root = plugin(&[flag]);
        assert!(
            root.stdout.contains("\nExamples:\n  kubectl mysqlha "),
            "{}",
            root.stdout
        );
        for command in commands() {
            let run = plugin(&[&command, flag]);
            assert_eq!(run.code, Some(0), "{command} {flag}: {}", run.stderr);
            assert!(
                run.stdout
                    .contains(&format!("\nExamples:\n  kubectl mysqlha {command}")),
                "`kubectl mysqlha {command} {flag}` has no examples:\n{}",
                run.stdout
            );
        }
    }
}

/// `sql` refuses client arguments that would change the account or the connection, and
/// `--replica` with `--pod`, before contacting anything: exit 2, one `error:` line.
#[test]
fn sql_usage_errors_exit_2_before_contacting_anything() {
    let cases: &[(&[&str], &str)] = &[
        (&["sql", "shop", "--", "-uroot"], "error: client argument '-uroot' is not allowed: kubectl mysqlha sql always connects as the plugin's own account through the server's socket (no user, password, host, port, socket or defaults file to give)"),
        (&["sql", "shop", "-e", "SELECT 1", "--", "--table", "--password=x"], "error: client argument '--password=x' is not allowed: kubectl mysqlha sql always connects as the plugin's own account through the server's socket (no user, password, host, port, socket or defaults file to give)"),
        (&["sql", "shop", "--", "--defaults-file=/tmp/x.cnf"], "error: client argument '--defaults-file=/tmp/x.cnf' is not allowed: kubectl mysqlha sql always connects as the plugin's own account through the server's socket (no user, password, host, port, socket or defaults file to give)"),
        (&["sql", "shop", "--replica", "--pod", "shop-1"], "error: the argument '--replica' cannot be used with '--pod <POD>'"),
    ];
    for (args, line) in cases {
        let run = plugin(args);
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().next(), Some(*line), "{args:?}");
        assert_eq!(
            run.stderr.lines().filter(|l| l.contains("error:")).count(),
            1,
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("kubeconfig"),
            "{args:?}: {}",
            run.stderr
        );
    }
}
