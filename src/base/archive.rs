//! A gzip-compressed tar archive of text files, built in memory, and writing it to a file that
//! must not exist yet (or to stdout).
use anyhow::{Context as _, Result};
use std::io::Write;
use std::path::Path;

/// Files under one top directory, in the order they were added.
pub struct Archive {
    root: String,
    files: Vec<(String, String)>,
}

impl Archive {
    /// An archive whose files all sit under directory `root`.
    pub fn new(root: &str) -> Self {
        Self {
            root: root.trim_end_matches('/').to_string(),
            files: Vec::new(),
        }
    }

    /// Adds (or replaces) the file at `path` (relative to the root).
    pub fn add(&mut self, path: &str, contents: impl Into<String>) {
        let contents = contents.into();
        match self.files.iter_mut().find(|(p, _)| p == path) {
            Some(file) => file.1 = contents,
            None => self.files.push((path.to_string(), contents)),
        }
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.iter().map(|(p, _)| p.as_str())
    }

    /// Replaces every file's contents by `f(contents)`.
    pub fn map_contents(&mut self, f: impl Fn(&str) -> String) {
        for (_, contents) in &mut self.files {
            *contents = f(contents);
        }
    }

    /// The archive as .tar.gz bytes; every file is mode 0644, dated `mtime` (seconds since
    /// the epoch).
    pub fn to_tar_gz(&self, mtime: u64) -> Result<Vec<u8>> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        for (path, contents) in &self.files {
            let mut header = tar::Header::new_gnu();
            header.set_size(contents.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(mtime);
            header.set_entry_type(tar::EntryType::Regular);
            let full = format!("{}/{path}", self.root);
            tar.append_data(&mut header, &full, contents.as_bytes())
                .with_context(|| format!("cannot add {full} to the archive"))?;
        }
        let gz = tar.into_inner().context("cannot finish the archive")?;
        gz.finish().context("cannot compress the archive")
    }
}

/// Writes `bytes` to `path`, readable by its owner only (a report names the cluster's hosts,
/// users and settings); refuses an existing file unless `overwrite`. A write that fails leaves
/// no file behind.
pub fn write_file(path: &Path, bytes: &[u8], overwrite: bool) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists (use --force to overwrite it)",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
        }
    })?;
    // An overwritten file keeps its mode: made the owner's only as well.
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    if let Err(e) = written {
        drop(file);
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn files_come_back_out_under_the_root() {
        let mut archive = Archive::new("shop-report/");
        archive.add("README", "what is what\n");
        archive.add("members/shop-0/gtid.txt", "0-1-5\n");
        archive.add("README", "replaced\n");
        let bytes = archive.to_tar_gz(1_700_000_000).unwrap();
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        let mut seen = Vec::new();
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            seen.push((path, text));
        }
        assert_eq!(
            seen,
            vec![
                ("shop-report/README".to_string(), "replaced\n".to_string()),
                (
                    "shop-report/members/shop-0/gtid.txt".to_string(),
                    "0-1-5\n".to_string()
                ),
            ]
        );
    }

    #[test]
    fn an_existing_file_is_refused_unless_overwriting() {
        let dir = std::env::temp_dir().join(format!("mysqlha-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.tar.gz");
        let _ = std::fs::remove_file(&path);
        write_file(&path, b"one", false).unwrap();
        let e = write_file(&path, b"two", false).unwrap_err();
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_file(&path, b"two", true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
