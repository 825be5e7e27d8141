//! Files and directories that hold Suoja's data — the SQLite database, the root key, the erasure
//! ledger, backups and their scratch space — are created readable by the owner alone (files
//! 0600, directories 0700), whatever the process's umask. SQLite creates its `-wal` and `-shm`
//! files with the database file's mode, so creating that file first is enough for them.

use std::io::Write as _;
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};

/// Creates `dir` and its missing parents with mode 0700 (existing ones are left as they are).
pub fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    b.mode(0o700);
    b.create(dir)
}

/// Creates `dir` as [`private_dir_all`] does, and makes it the owner's alone if it already
/// existed with wider permissions (a directory Suoja owns, such as its data directory).
pub fn own_dir(dir: &Path) -> std::io::Result<()> {
    private_dir_all(dir)?;
    #[cfg(unix)]
    if open_to_others(dir)? {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn options() -> std::fs::OpenOptions {
    #[allow(unused_mut, reason = "the mode is set on Unix only")]
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    o.mode(0o600);
    o
}

/// Creates (or truncates) a file readable by the owner alone.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let f = options().write(true).create(true).truncate(true).open(path)?;
    tighten(path)?;
    Ok(f)
}

/// Opens a file for appending, creating it readable by the owner alone.
pub fn append_private(path: &Path) -> std::io::Result<std::fs::File> {
    options().create(true).append(true).open(path)
}

/// Writes `bytes` to a file readable by the owner alone and syncs it.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = create_private(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Creates an empty file readable by the owner alone if none exists (so that a program that
/// creates it later, such as SQLite, keeps that mode).
pub fn touch_private(path: &Path) -> std::io::Result<()> {
    match options().write(true).create_new(true).open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Sets an existing file's mode to 0600 (a file that existed keeps its mode on open).
fn tighten(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    let _ = path;
    Ok(())
}

/// Whether others than the owner may read or write `path` (mode bits of group or others).
pub fn open_to_others(path: &Path) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test that cannot go on should panic")]
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_and_directories_are_the_owners_alone() {
        let root = std::env::temp_dir().join(format!("suoja-files-{}", suoja_core::random::hex_id()));
        let dir = root.join("a/b");
        private_dir_all(&dir).unwrap();
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        let f = dir.join("f");
        write_private(&f, b"x").unwrap();
        assert_eq!(std::fs::metadata(&f).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(!open_to_others(&f).unwrap());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(open_to_others(&f).unwrap());
        write_private(&f, b"y").unwrap();
        assert!(!open_to_others(&f).unwrap(), "rewriting tightens an existing file");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
