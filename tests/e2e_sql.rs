//! Issue 14, `kubectl mysqlha sql` end to end on the test bed: statements on the primary, the
//! least-lagging replica and a named member; the client's exit status; piped stdin; an
//! interactive session on a pseudo-terminal (util-linux `script`) with its size forwarded, the
//! terminal restored at the end and after a SIGTERM; bad input.
mod common;
use common::*;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

for_both_engines!(sql_sessions_on_every_member_and_bad_input);

fn sql_sessions_on_every_member_and_bad_input(engine: Engine) {
    let ns = Namespace::with_engine("e2e-sql", engine);
    create_cluster(&ns, "db", 3);
    let password = ns.root_password("db");
    assert!(!password.trim().is_empty());
    // Everything the plugin printed, searched for the password at the end.
    let seen = std::cell::RefCell::new(String::new());
    let check = |run: Run| {
        seen.borrow_mut()
            .push_str(&format!("{}{}", run.stdout, run.stderr));
        run
    };
    let who = "SELECT @@hostname, @@read_only";

    let primary = check(sql(&ns, &["sql", "db", "-e", who]).ok());
    assert_eq!(
        primary.stdout, "@@hostname\t@@read_only\ndb-0\t0\n",
        "tab-separated batch output of the primary"
    );

    // Every replica has applied the primary's writes: each is running and replicating.
    ns.wait_applied("db-1", "db-0");
    ns.wait_applied("db-2", "db-0");
    let replica = check(sql(&ns, &["sql", "db", "--replica", "-e", who]).ok());
    let row = replica
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        row == "db-1\t1" || row == "db-2\t1",
        "--replica: {}",
        replica.stdout
    );

    let named = check(sql(&ns, &["sql", "db", "--pod", "db-2", "-e", who]).ok());
    assert_eq!(named.stdout.lines().nth(1), Some("db-2\t1"));

    // A session on a replica cannot write (the plugin's account may write where read_only is
    // on, on MariaDB): refused with the server's read-only error, no errant transaction left.
    // MariaDB refuses it in the read-only session (1792); MySQL's super_read_only comes first
    // (1290).
    let read_only_error = match engine {
        Engine::Mariadb => ["ERROR 1792", "READ ONLY transaction"],
        Engine::Mysql => ["ERROR 1290", "--super-read-only option"],
    };
    for target in [&["--replica"][..], &["--pod", "db-1"][..]] {
        let mut args = vec!["sql", "db"];
        args.extend(target);
        args.extend(["-e", "CREATE DATABASE written_on_a_replica"]);
        let refused = check(sql(&ns, &args));
        assert_eq!(refused.code, 1, "{target:?}: {}", refused.stderr);
        assert!(
            read_only_error.iter().all(|e| refused.stderr.contains(e)),
            "{target:?}: {}",
            refused.stderr
        );
    }
    let status = ns.status_json("db");
    for member in status["members"].as_array().unwrap() {
        assert_eq!(
            member["errant"].as_array().map(Vec::len),
            Some(0),
            "{member:#}"
        );
    }
    assert_eq!(status["verdict"], "healthy", "{status:#}");

    // Extra client arguments reach the client.
    let table = check(
        sql(
            &ns,
            &["sql", "db", "-e", "SELECT 6*7 AS answer", "--", "--table"],
        )
        .ok(),
    );
    assert!(table.stdout.contains("| answer |"), "{}", table.stdout);
    assert!(table.stdout.contains("|     42 |"), "{}", table.stdout);

    // A failing statement: the client's status and the server's error, nothing from the plugin.
    let failing = check(sql(&ns, &["sql", "db", "-e", "SELECT no_such_column"]));
    assert_eq!(failing.code, 1, "{}", failing.stderr);
    assert!(failing.stderr.contains("ERROR 1054"), "{}", failing.stderr);
    assert!(!failing.stderr.contains("error:"), "{}", failing.stderr);

    // Statements piped in.
    let piped = check(run(
        PLUGIN,
        &["sql", "db", "-n", &ns.name, "--", "-N"],
        Some("CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY); INSERT INTO app.t VALUES (7); SELECT id * 6 FROM app.t;\n"),
    ))
    .ok();
    assert_eq!(piped.stdout, "42\n");
    let piped_failure = check(run(
        PLUGIN,
        &["sql", "db", "-n", &ns.name],
        Some("SELECT 1;\nSELECT nonsense FROM;\n"),
    ));
    assert_eq!(piped_failure.code, 1, "{}", piped_failure.stderr);

    seen.borrow_mut()
        .push_str(&interactive_session(&ns, engine));
    seen.borrow_mut()
        .push_str(&terminal_restored_after_sigterm(&ns, engine));

    // Bad input: one error line, a non-zero status.
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["sql", "nosuch", "-e", "SELECT 1"],
            1,
            "error: cluster nosuch not found",
        ),
        (
            &["sql", "db", "--pod", "db-7", "-e", "SELECT 1"],
            1,
            "error: pod db-7 is not a member of cluster db (members: db-0, db-1, db-2)",
        ),
        (
            &["sql", "db", "--pod", "db-1", "--replica"],
            2,
            "error: the argument '--pod <POD>' cannot be used with '--replica'",
        ),
        (
            &["sql", "db", "--", "-uroot"],
            2,
            "error: client argument '-uroot' is not allowed",
        ),
        (
            &["sql", "db", "-e", "SELECT 1", "--", "--host=db-1.db"],
            2,
            "error: client argument '--host=db-1.db' is not allowed",
        ),
        (
            &["sql", "db", "--replica", "--", "--init-command=SET SESSION TRANSACTION READ WRITE"],
            2,
            "error: client argument '--init-command=SET SESSION TRANSACTION READ WRITE' is not allowed",
        ),
    ];
    for (args, code, first) in cases {
        let out = check(sql(&ns, args));
        assert_eq!(out.code, *code, "{args:?}: {}", out.stderr);
        assert_eq!(out.stdout, "", "{args:?}");
        assert!(out.stderr.starts_with(first), "{args:?}: {}", out.stderr);
        assert_eq!(
            out.stderr.lines().filter(|l| l.contains("error:")).count(),
            1,
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(
        !seen.borrow().contains(password.trim()),
        "the root password showed in the output"
    );
}

/// The plugin with `-n NAMESPACE` first (what follows `--` goes to the client).
fn sql(ns: &Namespace, args: &[&str]) -> Run {
    let mut all = vec!["-n", ns.name.as_str()];
    all.extend(args);
    run(PLUGIN, &all, None)
}

/// The client's prompt, as it first appears.
fn prompt(engine: Engine) -> &'static str {
    match engine {
        Engine::Mariadb => "MariaDB [(none)]> ",
        Engine::Mysql => "mysql> ",
    }
}

/// A session on a 33x111 terminal: a statement, the size as the pod's tty sees it before and
/// after the terminal grows to 40x120, `exit` with status 0, the terminal's settings as before.
fn interactive_session(ns: &Namespace, engine: Engine) -> String {
    // MySQL's client runs `system` (\!) only when asked to.
    let client_args = match engine {
        Engine::Mariadb => "",
        Engine::Mysql => "-- --system-command",
    };
    let mut term = Pty::start(ns, "db", client_args);
    term.wait_for(prompt(engine));
    term.type_line("SELECT 6*7;");
    term.wait_for("42 |");
    // The client's `system` command runs in the pod, on the tty the session gave it.
    term.type_line("\\! stty size");
    term.wait_for("33 111");
    term.resize_to_40x120();
    term.wait_for_answer("\\! stty size", "40 120");
    term.type_line("exit");
    let (code, output) = term.finish();
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("Connecting to db-0, the primary of cluster db"),
        "{output}"
    );
    assert!(output.contains("TERMINAL-RESTORED"), "{output}");
    output
}

/// A session ended by SIGTERM: status 143, and the terminal leaves raw mode all the same.
fn terminal_restored_after_sigterm(ns: &Namespace, engine: Engine) -> String {
    let term = Pty::start(ns, "db", "");
    term.wait_for(prompt(engine));
    term.signal_term();
    let (code, output) = term.finish();
    assert_eq!(code, 143, "{output}");
    assert!(output.contains("TERMINAL-RESTORED"), "{output}");
    output
}

/// `kubectl mysqlha sql` run by a shell on a pseudo-terminal (util-linux `script`): the shell
/// sets the terminal to 33x111, notes its settings, runs the plugin, then resizes the terminal
/// or sends the plugin SIGTERM when the test drops a file, and prints TERMINAL-RESTORED when the
/// settings after the plugin are those before.
struct Pty {
    child: Child,
    input: ChildStdin,
    output: Arc<Mutex<Vec<u8>>>,
    dir: PathBuf,
}

impl Pty {
    fn start(ns: &Namespace, cluster: &str, client_args: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "e2e-sql-pty-{}-{}",
            ns.name,
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let shell = format!(
            "stty rows 33 cols 111; before=$(stty -g); \
             {PLUGIN} -n {ns} sql {cluster} {client_args} </dev/tty & pid=$!; \
             while kill -0 $pid 2>/dev/null; do \
               if [ -e {d}/resize ]; then rm {d}/resize; stty rows 40 cols 120; fi; \
               if [ -e {d}/term ]; then rm {d}/term; kill -TERM $pid; fi; \
               sleep 0.1; \
             done; \
             wait $pid; rc=$?; \
             [ \"$(stty -g)\" = \"$before\" ] && echo TERMINAL-RESTORED; exit $rc",
            ns = ns.name
        );
        let mut child = Command::new("timeout")
            .args([
                "180",
                "script",
                "-qfec",
                &format!("sh -c '{shell}'"),
                "/dev/null",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run script (util-linux)");
        let input = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            child,
            input,
            output,
            dir,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    /// Waits (at most 90 s) until the terminal has shown `text`.
    fn wait_for(&self, text: &str) {
        let start = Instant::now();
        while !self.text().contains(text) {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "the terminal never showed {text:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `line` every second until the terminal shows `text` (at most 30 times).
    fn wait_for_answer(&mut self, line: &str, text: &str) {
        for _ in 0..30 {
            self.type_line(line);
            std::thread::sleep(Duration::from_secs(1));
            if self.text().contains(text) {
                return;
            }
        }
        panic!("the terminal never showed {text:?}:\n{}", self.text());
    }

    /// Types `line` and Enter (a carriage return, as a terminal in raw mode sends it).
    fn type_line(&mut self, line: &str) {
        self.input
            .write_all(format!("{line}\r").as_bytes())
            .unwrap();
        self.input.flush().unwrap();
    }

    fn resize_to_40x120(&self) {
        std::fs::write(self.dir.join("resize"), "").unwrap();
    }

    fn signal_term(&self) {
        std::fs::write(self.dir.join("term"), "").unwrap();
    }

    /// Waits for the shell's end; its status (the plugin's) and everything the terminal showed.
    fn finish(mut self) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the session did not end:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        // The reader thread takes the last bytes.
        std::thread::sleep(Duration::from_millis(300));
        std::fs::remove_dir_all(&self.dir).ok();
        (status.code().unwrap_or(-1), self.text())
    }
}
