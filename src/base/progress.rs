//! Progress on stderr: indicatif bars and spinners on a terminal, one plain line per phase
//! otherwise (CI logs), never on stdout.
use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    pub fn new() -> Self {
        let multi = std::io::stderr()
            .is_terminal()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { multi }
    }

    /// A line of progress for one pod (or one step).
    pub fn task(&self, prefix: &str) -> Task {
        let bar = self.multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})").unwrap(),
            );
            bar.set_prefix(prefix.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            bar,
            prefix: prefix.to_string(),
            started: Instant::now(),
        }
    }
}

pub struct Task {
    bar: Option<ProgressBar>,
    prefix: String,
    started: Instant,
}

impl Task {
    pub fn set(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => eprintln!(
                "{}: {message} (+{:.1}s)",
                self.prefix,
                self.started.elapsed().as_secs_f64()
            ),
        }
    }

    /// Switches to a byte counter with throughput and, when `total` is known, an ETA.
    pub fn bytes(&self, message: &str, total: Option<u64>) {
        match &self.bar {
            Some(bar) => {
                let template = if total.is_some() {
                    "{spinner} {prefix:.bold} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
                } else {
                    "{spinner} {prefix:.bold} {msg} {bytes} {bytes_per_sec}"
                };
                bar.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap()
                        .progress_chars("=> "),
                );
                bar.set_length(total.unwrap_or(0));
                bar.set_position(0);
                bar.reset_elapsed();
                bar.set_message(message.to_string());
            }
            None => eprintln!(
                "{}: {message}{}",
                self.prefix,
                total
                    .map(|t| format!(" (about {})", HumanBytes(t)))
                    .unwrap_or_default()
            ),
        }
    }

    pub fn position(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            if bar.length().is_some_and(|l| l > 0 && bytes > l) {
                bar.set_length(bytes);
            }
            bar.set_position(bytes);
        }
    }

    pub fn finish(&self, message: &str) {
        let line = format!(
            "{} {message} ({:.1}s)",
            self.prefix,
            self.started.elapsed().as_secs_f64()
        );
        match &self.bar {
            Some(bar) => {
                bar.set_style(ProgressStyle::with_template("✓ {msg}").unwrap());
                bar.finish_with_message(line);
            }
            None => eprintln!("{line}"),
        }
    }
}
