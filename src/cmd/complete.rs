//! Candidates for kubectl's plugin completion (`kubectl_complete-mysqlha`, cobra style).
//!
//! kubectl ≥ 1.26 completes `kubectl mysqlha …<TAB>` by running `kubectl_complete-mysqlha` from
//! PATH with the words typed after `mysqlha`; the last word (possibly empty) is the one being
//! completed. The shim runs `kubectl-mysqlha __complete -- WORDS...` (the `--` keeps clap from
//! reading words such as `--help` or `-n` as flags of `__complete` itself). The answer is one
//! candidate per line (`candidate<TAB>description`), then a `:<directive>` line.
//!
//! What a position wants is derived from clap's command tree (`Cli::command()`), not a hand list:
//! subcommands and flags come from it, possible values of value-enum arguments too; the `NAME`
//! positional wants cluster names and `POD` positionals/values want pod names. Anything that
//! fails (no kubeconfig, unreachable cluster, timeout) yields no candidates and no message: the
//! directive alone, so the shell stays quiet.
use crate::cli::{Cli, CompleteArgs, GlobalArgs};
use clap::{Arg, ArgAction, Command, CommandFactory, ValueHint};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::ListParams;
use kube::config::Kubeconfig;
use kube::Api;
use std::path::PathBuf;
use std::time::Duration;

/// Cobra's ShellCompDirective: let the shell complete file names.
pub const DIRECTIVE_DEFAULT: u32 = 0;
/// Cobra's ShellCompDirective: no file completion when there is no candidate.
pub const DIRECTIVE_NO_FILE_COMP: u32 = 4;

/// How long a lookup in the cluster may take before completion gives up silently.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// The kind of candidate the word being completed wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    /// Subcommand names.
    Subcommands,
    /// Flags of the current command (its own and the global ones).
    Flags,
    /// A fixed set of values (a value-enum argument).
    Values(Vec<String>),
    /// Names of the clusters in the namespace.
    Clusters,
    /// Pods of the cluster (of every cluster when none is named yet).
    Pods { cluster: Option<String> },
    /// Namespace names.
    Namespaces,
    /// Context names of the kubeconfig.
    Contexts,
    /// A path: the shell's own file completion.
    Files,
    /// A free value (a number, a size, a duration…): nothing to offer.
    Nothing,
}

/// The analysis of the typed words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub want: Want,
    /// The subcommand path (`["rebuild-replica"]`); empty at the top level.
    pub path: Vec<String>,
    /// What is typed of the value being completed (after `--flag=` when there is one).
    pub typed: String,
    /// `--flag=` when the value is completed inside the flag's word, else empty.
    pub lead: String,
    /// Ids of the flags already given (not offered again).
    pub used: Vec<String>,
    /// `--kubeconfig`, `--context` and `--namespace` given among the words.
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// The CLI's command tree with global flags propagated to the subcommands and the automatic
/// `help` subcommand and `--help`/`--version` flags in place.
pub fn command_tree() -> Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// Works out what the last word wants, from the words before it.
pub fn analyze(root: &Command, words: &[String]) -> Request {
    let (current, done) = match words.split_last() {
        Some((last, rest)) => (last.as_str(), rest),
        None => ("", &[][..]),
    };
    let mut req = Request {
        want: Want::Nothing,
        path: Vec::new(),
        typed: current.to_string(),
        lead: String::new(),
        used: Vec::new(),
        kubeconfig: None,
        context: None,
        namespace: None,
    };
    let mut cmd = root;
    let mut positionals: Vec<String> = Vec::new();
    let mut pending: Option<&Arg> = None;
    let mut escaped = false;

    for word in done {
        if let Some(arg) = pending.take() {
            req.record(arg, word);
            continue;
        }
        if !escaped && word == "--" {
            escaped = true;
        } else if !escaped && word.starts_with("--") {
            let (name, value) = split_long(word);
            if let Some(arg) = find_long(cmd, name) {
                req.used.push(arg.get_id().to_string());
                if takes_value(arg) {
                    match value {
                        Some(value) => req.record(arg, value),
                        None => pending = Some(arg),
                    }
                }
            }
        } else if !escaped && word.starts_with('-') && word.len() > 1 {
            // A cluster of short flags (`-y`, `-n db`, `-ndb`, `-yn db`).
            for (i, c) in word.char_indices().skip(1) {
                let Some(arg) = find_short(cmd, c) else { break };
                req.used.push(arg.get_id().to_string());
                if takes_value(arg) {
                    let rest = word[i + c.len_utf8()..].trim_start_matches('=');
                    if rest.is_empty() {
                        pending = Some(arg);
                    } else {
                        req.record(arg, rest);
                    }
                    break;
                }
            }
        } else if let Some(sub) = cmd
            .has_subcommands()
            .then(|| cmd.find_subcommand(word))
            .flatten()
        {
            cmd = sub;
            req.path.push(sub.get_name().to_string());
            req.used.clear();
        } else {
            positionals.push(word.clone());
        }
    }

    let cluster = cluster_named(cmd, &positionals);
    req.want = if let Some(arg) = pending {
        value_want(arg, cluster)
    } else if !escaped && current.starts_with("--") && current.contains('=') {
        let (name, value) = split_long(current);
        match find_long(cmd, name).filter(|arg| takes_value(arg)) {
            Some(arg) => {
                req.lead = format!("{name}=");
                req.typed = value.unwrap_or_default().to_string();
                value_want(arg, cluster)
            }
            None => Want::Nothing,
        }
    } else if !escaped && current.starts_with('-') {
        Want::Flags
    } else if cmd.has_subcommands() {
        Want::Subcommands
    } else if cmd.get_name() == "help" {
        // `help <TAB>`: the command to show the help of.
        Want::Subcommands
    } else {
        let mut args = cmd.get_positionals().filter(|a| !a.is_hide_set());
        let arg = args.nth(positionals.len()).or_else(|| {
            // Past the last positional: only a positional taking many values wants more.
            let last = cmd.get_positionals().filter(|a| !a.is_hide_set()).last()?;
            matches!(last.get_action(), ArgAction::Append).then_some(last)
        });
        match arg {
            Some(arg) => value_want(arg, cluster),
            None => Want::Nothing,
        }
    };
    req
}

impl Request {
    fn record(&mut self, arg: &Arg, value: &str) {
        match arg.get_id().as_str() {
            "kubeconfig" => self.kubeconfig = Some(PathBuf::from(value)),
            "context" => self.context = Some(value.to_string()),
            "namespace" => self.namespace = Some(value.to_string()),
            _ => {}
        }
    }

    /// The connection settings: the ones typed among the words win over the ones given to
    /// `__complete` itself.
    pub fn global(&self, base: &GlobalArgs) -> GlobalArgs {
        let mut global = base.clone();
        if let Some(path) = &self.kubeconfig {
            global.kubeconfig = Some(path.clone());
        }
        if let Some(context) = &self.context {
            global.context = Some(context.clone());
        }
        if let Some(namespace) = &self.namespace {
            global.namespace = Some(namespace.clone());
        }
        global
    }
}

fn split_long(word: &str) -> (&str, Option<&str>) {
    match word.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (word, None),
    }
}

fn find_long<'a>(cmd: &'a Command, flag: &str) -> Option<&'a Arg> {
    let name = flag.strip_prefix("--")?;
    cmd.get_arguments().find(|a| {
        a.get_long_and_visible_aliases()
            .is_some_and(|longs| longs.contains(&name))
    })
}

fn find_short(cmd: &Command, c: char) -> Option<&Arg> {
    cmd.get_arguments().find(|a| {
        a.get_short_and_visible_aliases()
            .is_some_and(|shorts| shorts.contains(&c))
    })
}

fn takes_value(arg: &Arg) -> bool {
    arg.get_action().takes_values()
}

/// The value of the `NAME` positional, when it is typed.
fn cluster_named(cmd: &Command, positionals: &[String]) -> Option<String> {
    cmd.get_positionals()
        .zip(positionals)
        .find(|(arg, _)| arg.get_id() == "name")
        .map(|(_, value)| value.clone())
}

/// What a value of `arg` (a flag's value or a positional) wants.
fn value_want(arg: &Arg, cluster: Option<String>) -> Want {
    let values: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    if !values.is_empty() {
        return Want::Values(values);
    }
    let id = arg.get_id().as_str();
    let is_pod = id == "pod"
        || arg
            .get_value_names()
            .is_some_and(|names| names.iter().any(|n| n.as_str() == "POD"));
    match id {
        "name" if arg.is_positional() => Want::Clusters,
        _ if is_pod => Want::Pods { cluster },
        "namespace" => Want::Namespaces,
        "context" => Want::Contexts,
        _ if matches!(
            arg.get_value_hint(),
            ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath
        ) =>
        {
            Want::Files
        }
        _ => Want::Nothing,
    }
}

/// The candidates that need no cluster: subcommands, flags and fixed values, with descriptions.
pub fn static_candidates(root: &Command, req: &Request) -> Vec<(String, String)> {
    let cmd = req
        .path
        .iter()
        .fold(root, |cmd, name| cmd.find_subcommand(name).unwrap_or(cmd));
    match &req.want {
        Want::Subcommands => {
            let parent = if cmd.get_name() == "help" { root } else { cmd };
            parent
                .get_subcommands()
                .filter(|s| !s.is_hide_set())
                .map(|s| (s.get_name().to_string(), about(s.get_about())))
                .collect()
        }
        Want::Flags => {
            let mut flags = Vec::new();
            for arg in cmd
                .get_arguments()
                .filter(|a| !a.is_positional() && !a.is_hide_set())
            {
                let repeatable = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
                if !repeatable && req.used.iter().any(|id| id == arg.get_id().as_str()) {
                    continue;
                }
                let help = about(arg.get_help());
                if let Some(long) = arg.get_long() {
                    flags.push((format!("--{long}"), help.clone()));
                }
                // Like cobra: short forms only while the word is not `--…`.
                if let Some(short) = arg.get_short().filter(|_| !req.typed.starts_with("--")) {
                    flags.push((format!("-{short}"), help));
                }
            }
            flags
        }
        Want::Values(values) => values.iter().map(|v| (v.clone(), String::new())).collect(),
        _ => Vec::new(),
    }
}

fn about(text: Option<&clap::builder::StyledStr>) -> String {
    text.map(|t| {
        t.to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_end_matches('.')
            .to_string()
    })
    .unwrap_or_default()
}

/// The answer kubectl reads: matching candidates (with `lead` put back in front), one per line,
/// then the directive.
pub fn render(req: &Request, candidates: &[(String, String)]) -> String {
    let mut out = String::new();
    for (value, description) in candidates.iter().filter(|(v, _)| v.starts_with(&req.typed)) {
        out.push_str(&req.lead);
        out.push_str(value);
        if !description.is_empty() {
            out.push('\t');
            out.push_str(description);
        }
        out.push('\n');
    }
    let directive = if req.want == Want::Files {
        DIRECTIVE_DEFAULT
    } else {
        DIRECTIVE_NO_FILE_COMP
    };
    out.push_str(&format!(":{directive}\n"));
    out
}

/// The shell completion script for the `kubectl-mysqlha` command (`completion SHELL`).
///
/// clap_complete 4.6's bash script never completes past a subcommand when the binary's name has
/// a hyphen (clap-rs/clap#6421): its dispatch loop names the state `kubectl__mysqlha__subcmd__status`
/// while the case arms are spelled `kubectl__subcmd__mysqlha__subcmd__status`. The arms are
/// respelled here. zsh and fish scripts are as generated.
// Used by main.rs's `completion` command once it calls this instead of clap_complete directly.
pub fn script(shell: clap_complete::Shell) -> String {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kubectl-mysqlha", &mut out);
    let script = String::from_utf8(out).expect("clap_complete writes UTF-8");
    match shell {
        clap_complete::Shell::Bash => script.replace(
            "kubectl__subcmd__mysqlha__subcmd__",
            "kubectl__mysqlha__subcmd__",
        ),
        _ => script,
    }
}

pub async fn run(global: &GlobalArgs, args: &CompleteArgs) -> anyhow::Result<()> {
    let root = command_tree();
    let req = analyze(&root, &args.words);
    let mut candidates = static_candidates(&root, &req);
    let global = req.global(global);
    let looked_up = match &req.want {
        Want::Clusters => tokio::time::timeout(LOOKUP_TIMEOUT, cluster_names(&global)).await,
        Want::Pods { cluster } => {
            tokio::time::timeout(LOOKUP_TIMEOUT, pod_names(&global, cluster.as_deref())).await
        }
        Want::Namespaces => tokio::time::timeout(LOOKUP_TIMEOUT, namespace_names(&global)).await,
        Want::Contexts => Ok(context_names(&global)),
        _ => Ok(Ok(Vec::new())),
    };
    // Unreachable cluster, no kubeconfig, timeout: no candidates, and no message either.
    if let Ok(Ok(mut names)) = looked_up {
        names.sort();
        candidates.extend(names.into_iter().map(|n| (n, String::new())));
    }
    print!("{}", render(&req, &candidates));
    Ok(())
}

async fn cluster_names(global: &GlobalArgs) -> anyhow::Result<Vec<String>> {
    names_of::<StatefulSet>(global, &managed_selector()).await
}

async fn pod_names(global: &GlobalArgs, cluster: Option<&str>) -> anyhow::Result<Vec<String>> {
    let selector = match cluster {
        Some(name) => crate::manifests::selector_string(name),
        None => managed_selector(),
    };
    names_of::<Pod>(global, &selector).await
}

/// Objects the plugin made.
fn managed_selector() -> String {
    format!(
        "app.kubernetes.io/managed-by={}",
        crate::manifests::FIELD_MANAGER
    )
}

/// Names of the objects of kind K in the namespace that match `selector`.
async fn names_of<K>(global: &GlobalArgs, selector: &str) -> anyhow::Result<Vec<String>>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let ctx = global.connect().await?;
    let api: Api<K> = Api::namespaced(ctx.client, &ctx.namespace);
    let list = api
        .list_metadata(&ListParams::default().labels(selector))
        .await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect())
}

async fn namespace_names(global: &GlobalArgs) -> anyhow::Result<Vec<String>> {
    let ctx = global.connect().await?;
    let api: Api<Namespace> = Api::all(ctx.client);
    let list = api.list_metadata(&ListParams::default()).await?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect())
}

fn context_names(global: &GlobalArgs) -> anyhow::Result<Vec<String>> {
    let config = match &global.kubeconfig {
        Some(path) => Kubeconfig::read_from(path)?,
        None => Kubeconfig::read()?,
    };
    Ok(config.contexts.into_iter().map(|c| c.name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(words: &[&str]) -> Request {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        analyze(&command_tree(), &words)
    }

    fn names(words: &[&str]) -> Vec<String> {
        let req = want(words);
        static_candidates(&command_tree(), &req)
            .into_iter()
            .map(|(v, _)| v)
            .filter(|v| v.starts_with(&req.typed))
            .collect()
    }

    fn output(words: &[&str]) -> String {
        let req = want(words);
        render(&req, &static_candidates(&command_tree(), &req))
    }

    #[test]
    fn first_word_is_a_subcommand() {
        assert_eq!(want(&[""]).want, Want::Subcommands);
        assert_eq!(want(&[]).want, Want::Subcommands);
        assert_eq!(want(&["st"]).want, Want::Subcommands);
        // Global flags before the subcommand do not count as the subcommand.
        assert_eq!(want(&["-n", "db", ""]).want, Want::Subcommands);
        assert_eq!(want(&["--namespace=db", ""]).want, Want::Subcommands);
    }

    #[test]
    fn subcommands_come_from_clap_and_hide_the_hidden_one() {
        let all = names(&[""]);
        for sub in [
            "create",
            "status",
            "scale",
            "rebuild-replica",
            "switchover",
            "failover",
            "delete",
            "version",
            "completion",
        ] {
            assert!(all.contains(&sub.to_string()), "{sub} missing from {all:?}");
        }
        assert!(!all.iter().any(|s| s == "__complete"));
        assert_eq!(
            names(&["s"]).len(),
            all.iter().filter(|s| s.starts_with('s')).count()
        );
        assert_eq!(
            output(&["sw"]),
            "switchover\tPlanned move of the primary to a replica, losing no write\n:4\n"
        );
    }

    #[test]
    fn name_positional_wants_clusters() {
        for sub in [
            "status",
            "scale",
            "rebuild-replica",
            "switchover",
            "failover",
            "delete",
            "create",
        ] {
            assert_eq!(want(&[sub, ""]).want, Want::Clusters, "{sub}");
        }
        assert_eq!(want(&["status", "-n", "db", "sh"]).want, Want::Clusters);
        assert_eq!(
            want(&["status", "-n", "db", "sh"]).namespace.as_deref(),
            Some("db")
        );
        assert_eq!(
            want(&["-n", "db", "delete", "--yes", ""]).want,
            Want::Clusters
        );
        assert_eq!(
            want(&["-n", "db", "delete", ""]).namespace.as_deref(),
            Some("db")
        );
        // Past the positionals there is nothing to offer.
        assert_eq!(want(&["status", "shop", ""]).want, Want::Nothing);
        assert_eq!(want(&["version", ""]).want, Want::Nothing);
    }

    #[test]
    fn pod_positional_and_pod_flags_want_pods_of_the_cluster() {
        let shop = Want::Pods {
            cluster: Some("shop".into()),
        };
        assert_eq!(want(&["rebuild-replica", "shop", ""]).want, shop);
        assert_eq!(want(&["rebuild-replica", "shop", "--from", ""]).want, shop);
        assert_eq!(
            want(&["rebuild-replica", "shop", "shop-2", "--from", "sh"]).want,
            shop
        );
        assert_eq!(want(&["rebuild-replica", "--yes", "shop", ""]).want, shop);
        assert_eq!(want(&["switchover", "shop", "--to", ""]).want, shop);
        assert_eq!(want(&["failover", "shop", "-y", "--to", ""]).want, shop);
        assert_eq!(
            want(&["switchover", "--to", ""]).want,
            Want::Pods { cluster: None }
        );
        // `--to=` inside one word: the value is completed, and the flag put back in front.
        let req = want(&["switchover", "shop", "--to=shop-"]);
        assert_eq!(
            (req.want, req.lead.as_str(), req.typed.as_str()),
            (shop, "--to=", "shop-")
        );
        let req = want(&["switchover", "shop", "--to=shop-"]);
        assert_eq!(
            render(
                &req,
                &[
                    ("shop-1".into(), String::new()),
                    ("other-0".into(), String::new())
                ]
            ),
            "--to=shop-1\n:4\n"
        );
    }

    #[test]
    fn flags_when_the_word_starts_with_a_dash() {
        assert_eq!(want(&["status", "shop", "-"]).want, Want::Flags);
        let flags = names(&["rebuild-replica", "shop", "--"]);
        for flag in [
            "--from",
            "--yes",
            "--timeout",
            "--namespace",
            "--context",
            "--kubeconfig",
            "--help",
        ] {
            assert!(
                flags.contains(&flag.to_string()),
                "{flag} missing from {flags:?}"
            );
        }
        assert!(
            !flags.contains(&"-y".to_string()),
            "short flags only while the word is not `--…`"
        );
        assert!(names(&["rebuild-replica", "shop", "-"]).contains(&"-y".to_string()));
        // A flag given already is not offered again.
        assert!(!names(&["delete", "shop", "--yes", "--"]).contains(&"--yes".to_string()));
        assert!(names(&["create", "--dr"]) == ["--dry-run"]);
        // Root flags before the subcommand.
        assert!(names(&["--"]).contains(&"--namespace".to_string()));
        assert!(names(&["--"]).contains(&"--version".to_string()));
    }

    #[test]
    fn flag_values() {
        assert_eq!(
            want(&["status", "shop", "-o", ""]).want,
            Want::Values(vec!["table".into(), "json".into(), "yaml".into()])
        );
        assert_eq!(
            want(&["status", "shop", "--output", ""]).want,
            Want::Values(vec!["table".into(), "json".into(), "yaml".into()])
        );
        assert_eq!(
            names(&["create", "shop", "--durability", ""]),
            ["semi-sync", "async"]
        );
        assert_eq!(
            names(&["completion", ""]),
            ["bash", "elvish", "fish", "powershell", "zsh"]
        );
        assert_eq!(
            want(&["create", "shop", "--replicas", ""]).want,
            Want::Nothing
        );
        assert_eq!(
            want(&["create", "shop", "--timeout", ""]).want,
            Want::Nothing
        );
        assert_eq!(want(&["status", "-n", ""]).want, Want::Namespaces);
        assert_eq!(want(&["status", "--namespace=k"]).want, Want::Namespaces);
        assert_eq!(want(&["status", "--context", ""]).want, Want::Contexts);
        assert_eq!(want(&["status", "--kubeconfig", ""]).want, Want::Files);
        // A flag value that looks like a subcommand is still a value.
        assert_eq!(want(&["-n", "status", ""]).want, Want::Subcommands);
        // The value of --replicas is not taken for the NAME positional.
        assert_eq!(want(&["scale", "--replicas", "5", ""]).want, Want::Clusters);
    }

    #[test]
    fn directives() {
        assert!(output(&["status", "shop", "--replicas", ""]).ends_with(":4\n"));
        assert_eq!(output(&["status", "--kubeconfig", ""]), ":0\n");
        assert_eq!(output(&["version", ""]), ":4\n");
    }

    #[test]
    fn after_double_dash_words_are_positionals() {
        assert_eq!(want(&["status", "--", "-"]).want, Want::Clusters);
    }

    /// `bash` completes with the script (COMP_WORDS as bash sets them on TAB).
    fn bash_complete(script: &str, words: &[&str]) -> String {
        let path =
            std::env::temp_dir().join(format!("mysqlha-completion-{}.bash", std::process::id()));
        std::fs::write(&path, script).unwrap();
        let cword = words.len() - 1;
        let all: Vec<&str> = std::iter::once("kubectl-mysqlha")
            .chain(words.iter().copied())
            .collect();
        let quoted = |w: &str| format!("'{w}'");
        // Bash calls the function with the command, the current word and the previous one.
        let program = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; _kubectl__mysqlha kubectl-mysqlha {} {}; echo \"${{COMPREPLY[*]}}\"",
            path.display(),
            all.iter().map(|w| quoted(w)).collect::<Vec<_>>().join(" "),
            cword + 1,
            quoted(all[cword + 1]),
            quoted(all[cword]),
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(program)
            .output()
            .expect("bash");
        let _ = std::fs::remove_file(&path);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    }

    #[test]
    fn bash_script_completes_past_the_subcommand() {
        let script = script(clap_complete::Shell::Bash);
        assert_eq!(bash_complete(&script, &["st"]), "status");
        assert_eq!(bash_complete(&script, &["status", "--o"]), "--output");
        assert_eq!(
            bash_complete(&script, &["rebuild-replica", "--f"]),
            "--from"
        );
        assert_eq!(bash_complete(&script, &["status", "--output", "j"]), "json");
        // What clap_complete alone writes: nothing past the subcommand (clap-rs/clap#6421).
        let mut raw = Vec::new();
        clap_complete::generate(
            clap_complete::Shell::Bash,
            &mut Cli::command(),
            "kubectl-mysqlha",
            &mut raw,
        );
        assert_eq!(
            bash_complete(&String::from_utf8(raw).unwrap(), &["status", "--o"]),
            ""
        );
    }

    #[test]
    fn help_completes_subcommands() {
        assert_eq!(want(&["help", ""]).want, Want::Subcommands);
        assert!(names(&["help", ""]).contains(&"status".to_string()));
    }
}
