//! Checks of what the user typed, made before anything in the cluster is contacted: every bad
//! value is refused with one line that names the flag, the value and what is expected.

/// A Kubernetes quantity (`10Gi`, `500m`, `1.5`, `2e3`), greater than zero.
pub fn quantity(flag: &str, value: &str) -> Result<(), String> {
    let bad = || {
        format!("invalid {flag} '{value}': expected a Kubernetes quantity greater than zero, e.g. 10Gi, 512Mi, 500m or 2")
    };
    let digits_end = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(digits_end);
    let number_ok = !number.is_empty()
        && number != "."
        && number.matches('.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit());
    let suffix_ok = matches!(
        suffix,
        "" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei" | "m" | "k" | "M" | "G" | "T" | "P" | "E"
    ) || exponent(suffix);
    if !number_ok || !suffix_ok {
        return Err(bad());
    }
    if number.chars().all(|c| c == '0' || c == '.') {
        return Err(bad());
    }
    Ok(())
}

/// `e3`, `E-2`: a decimal exponent suffix.
fn exponent(suffix: &str) -> bool {
    let Some(rest) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let rest = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit())
}

/// A DNS-1123 subdomain (StorageClass and other object names).
pub fn object_name(flag: &str, value: &str) -> Result<(), String> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if value.is_empty() || value.len() > 253 || !value.split('.').all(label_ok) {
        return Err(format!(
            "invalid {flag} '{value}': expected a Kubernetes object name (lowercase letters, digits, '-' and '.')"
        ));
    }
    Ok(())
}

/// A container image reference: `[registry[:port]/]path[:tag][@sha256:digest]`, the grammar of
/// the distribution spec (lowercase path components, tags of at most 128 characters).
pub fn image(value: &str) -> Result<(), String> {
    let bad = |why: &str| {
        Err(format!(
            "invalid --image '{value}': {why} (expected e.g. mariadb:10.11 or registry.example.com/db/mariadb@sha256:…)"
        ))
    };
    if value.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("empty or contains spaces");
    }
    let (rest, digest) = match value.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (value, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return bad("a digest is algorithm:hex");
        };
        if algo.is_empty()
            || !algo
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
            || hex.len() < 32
            || !hex.chars().all(|c| c.is_ascii_hexdigit())
        {
            return bad("malformed digest");
        }
    }
    // A tag is what follows the last ':' after the last '/'.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(tag) = tag {
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !tag_ok {
            return bad("malformed tag");
        }
    }
    let mut parts: Vec<&str> = path.split('/').collect();
    // The first part is a registry when it has a '.' or ':' or is localhost.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (name, port) = host.split_once(':').unwrap_or((host, "1"));
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
            || port.is_empty()
            || !port.chars().all(|c| c.is_ascii_digit())
        {
            return bad("malformed registry host");
        }
    }
    let component_ok = |c: &str| {
        !c.is_empty()
            && c.starts_with(|x: char| x.is_ascii_lowercase() || x.is_ascii_digit())
            && c.ends_with(|x: char| x.is_ascii_lowercase() || x.is_ascii_digit())
            && c.chars()
                .all(|x| x.is_ascii_lowercase() || x.is_ascii_digit() || "._-".contains(x))
    };
    if parts.is_empty() || !parts.iter().all(|c| component_ok(c)) {
        return bad(
            "the repository path takes lowercase letters, digits and . _ - between slashes",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in [
            "10Gi", "1", "0.5", "500m", "1.5Gi", "2e3", "1E-1", "100M", "512Mi",
        ] {
            assert!(quantity("--storage", ok).is_ok(), "{ok}");
        }
        for bad in [
            "notasize", "", "0", "0Gi", "-1Gi", "10GB", "1..5", ".", "Gi", "10 Gi", "1e", "10gi",
        ] {
            let e = quantity("--storage", bad).unwrap_err();
            assert!(e.starts_with(&format!("invalid --storage '{bad}'")), "{e}");
        }
    }

    #[test]
    fn images() {
        for ok in [
            "mariadb:10.11",
            "mariadb",
            "localhost/mysqlha/mariadb:10.11-bookworm",
            "registry.example.com:5000/db/mariadb:11.8",
            "docker.io/library/mariadb@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "mariadb:10.11@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(image(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Mariadb:10.11",
            "mariadb:",
            "mariadb:10 11",
            "mariadb@sha256:xyz",
            "a//b",
            "mariadb:-x",
            ":tag",
        ] {
            assert!(image(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_names() {
        assert!(object_name("--storage-class", "standard").is_ok());
        assert!(object_name("--storage-class", "fast.ssd-1").is_ok());
        assert!(object_name("--storage-class", "Fast").is_err());
        assert!(object_name("--storage-class", "-x").is_err());
        assert!(object_name("--storage-class", "").is_err());
    }
}
