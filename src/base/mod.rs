//! The bottom layer: terminal output, progress, input checks, redaction, archives and the
//! plugin's error wording, the metrics text format. Nothing here knows Kubernetes or databases.
pub mod archive;
pub mod exposition;
pub mod input;
pub mod progress;
pub mod redact;
pub mod style;
pub mod terminal;

/// The plugin's version and the commit it was built from.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MYSQLHA_GIT_COMMIT"),
    ")"
);

/// At most `limit` bytes, cut at a character boundary and marked "...".
pub fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_string();
    }
    let mut end = limit - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A bad argument, found before anything is contacted: exit status 2, like clap's own.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A bad argument's error, as a UsageError.
pub fn usage(error: anyhow::Error) -> anyhow::Error {
    UsageError(one_line(&error)).into()
}

/// The error and its causes on one line, most general first. An API error shows the API
/// server's message, never the raw response structure.
pub fn one_line(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = match cause.downcast_ref::<kube::Error>() {
            Some(kube::Error::Api(status)) => api_message(status),
            _ => cause.to_string(),
        }
        .replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// What the API server said, in its words (e.g. `namespaces "shop" not found (NotFound)`).
fn api_message(status: &kube::core::Status) -> String {
    match (status.message.is_empty(), status.reason.is_empty()) {
        (false, false) => format!("{} ({})", status.message, status.reason),
        (false, true) => status.message.clone(),
        (true, false) => format!("{} (HTTP {})", status.reason, status.code),
        (true, true) => format!("the API server answered HTTP {}", status.code),
    }
}
