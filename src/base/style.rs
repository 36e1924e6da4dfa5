//! Colour on the terminal: whether to use it (`--color`, `NO_COLOR`, whether stdout is a
//! terminal) and the escape codes that paint a piece of text; and plain left-aligned columns.
use std::io::IsTerminal;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Color {
    Green,
    Yellow,
    Red,
    Cyan,
    Magenta,
}

impl Color {
    fn code(self) -> &'static str {
        match self {
            Color::Red => "31",
            Color::Green => "32",
            Color::Yellow => "33",
            Color::Magenta => "35",
            Color::Cyan => "36",
        }
    }
}

/// Whether output is painted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    pub enabled: bool,
}

impl Style {
    /// `always` paints even into a pipe, `never` never; `auto` paints when stdout is a terminal
    /// and `NO_COLOR` is unset (or empty).
    pub fn for_stdout(choice: ColorChoice) -> Self {
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        Style { enabled }
    }

    /// `text` in `color` (as it is when colour is off or there is no colour).
    pub fn paint(self, text: &str, color: Option<Color>) -> String {
        match color {
            Some(c) if self.enabled => format!("\x1b[{}m{text}\x1b[0m", c.code()),
            _ => text.to_string(),
        }
    }
}

/// Left-aligned columns two spaces apart, a header line first (widths in characters, as
/// `format!` pads).
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out += &line(&mut row.iter().map(String::as_str));
    }
    out
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Yaml,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paints_only_when_enabled() {
        let on = Style { enabled: true };
        assert_eq!(on.paint("ok", Some(Color::Green)), "\x1b[32mok\x1b[0m");
        assert_eq!(on.paint("ok", None), "ok");
        assert_eq!(Style::default().paint("ok", Some(Color::Red)), "ok");
        assert!(Style::for_stdout(ColorChoice::Always).enabled);
        assert!(!Style::for_stdout(ColorChoice::Never).enabled);
    }
}
