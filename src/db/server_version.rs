//! Server versions: the series (major.minor) a server reports or an image's tag names, and
//! which members can clone from which.
/// "10.11.14-MariaDB-0+deb12u2-log" or "11.8" → (10, 11): the major series of a version string.
pub fn series(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The server series an image's tag names ("localhost/mysqlha/mariadb:11.8-trixie" → 11.8).
pub fn image_series(image: &str) -> Option<(u32, u32)> {
    let name = image.split('@').next()?;
    let last = name.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    series(tag)
}

/// A backup is prepared by the receiving member's own tools (MariaDB: mariadb-backup --prepare
/// of its image): a donor must run the series the receiver will run (`receiver` unknown: any).
pub fn can_clone(donor_version: &str, receiver: Option<(u32, u32)>) -> bool {
    receiver.is_none_or(|r| series(donor_version) == Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_from_versions_and_tags() {
        assert_eq!(series("10.11.14-MariaDB-0+deb12u2-log"), Some((10, 11)));
        assert_eq!(series("11.8.3-MariaDB-1 from Debian"), Some((11, 8)));
        assert_eq!(series("9.7.0"), Some((9, 7)));
        assert_eq!(
            image_series("localhost/mysqlha/mariadb:11.8-trixie"),
            Some((11, 8))
        );
        assert_eq!(image_series("registry:5000/mariadb:10.11"), Some((10, 11)));
        assert_eq!(image_series("mariadb:latest"), None);
        assert_eq!(image_series("registry:5000/mariadb"), None);
        assert!(can_clone("11.8.9-MariaDB", Some((11, 8))));
        assert!(!can_clone("10.11.14-MariaDB-log", Some((11, 8))));
        assert!(can_clone("10.11.14-MariaDB-log", None));
    }
}
