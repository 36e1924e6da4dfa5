//! The module graph has layers, each using only those below it (src/lib.rs lists them): a
//! `crate::` path in a file may name its own layer or a lower one, never a higher one.
use std::path::Path;

/// Bottom to top; `cli` and `cmd` share the top.
const LAYERS: &[&[&str]] = &[
    &["base"],
    &["db"],
    &["store"],
    &["manifests"],
    &["k8s"],
    &["cluster"],
    &["ops"],
    &["agent"],
    &["cli", "cmd"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The top-level modules a file's code (comments left out) names through `crate::`.
fn named_modules(source: &str) -> Vec<String> {
    let mut named = Vec::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // crate::{a::b, c}: the first segment of each item at the group's top level.
                let mut depth = 0;
                let mut item = String::new();
                for ch in group.chars() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            named.push(first_segment(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(ch);
                }
                named.push(first_segment(&item));
            } else {
                named.push(first_segment(rest));
            }
        }
    }
    named.retain(|n| !n.is_empty());
    named
}

fn first_segment(path: &str) -> String {
    path.trim()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_module_uses_a_higher_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &mut all);
    let mut upward = Vec::new();
    for file in &all {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let own = layer_of(&top).unwrap_or_else(|| {
            panic!("src/{top} is in no layer: add it to LAYERS here and to src/lib.rs")
        });
        for named in named_modules(&std::fs::read_to_string(file).unwrap()) {
            match layer_of(&named) {
                Some(layer) if layer > own => {
                    upward.push(format!("src/{} uses crate::{named}", relative.display()))
                }
                Some(_) => {}
                None => upward.push(format!(
                    "src/{} names crate::{named}, which is in no layer",
                    relative.display()
                )),
            }
        }
    }
    assert!(upward.is_empty(), "upward imports:\n{}", upward.join("\n"));
}

#[test]
fn the_checker_sees_groups_and_ignores_comments() {
    assert_eq!(
        named_modules("use crate::{k8s::wait, ops::{topology, plan}};\n// crate::agent\nlet x = crate::db::gtid::parse(y);"),
        ["k8s", "ops", "db"]
    );
}
