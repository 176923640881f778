//! Folders and files keygate keeps secrets in (the home, its databases, the root key): folders
//! are created 0700 and files 0600, so wrapped key material, token hashes and the audit log are
//! never readable by other users of the machine. SQLite creates a database's `-wal`, `-shm`
//! and `-journal` files with the database file's own mode, so a database created 0600 keeps
//! its companions 0600 too.

use std::io;
use std::path::Path;

/// The mode of folders keygate creates.
pub const DIR_MODE: u32 = 0o700;
/// The mode of files keygate creates.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` and its missing parents, each new one 0700. Folders that already exist keep
/// their mode: they may be the user's own (`~/.local/share`).
///
/// # Errors
/// The I/O error when a folder cannot be created.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Makes ready the SQLite database file at `path`: its folder (see [`create_dir_all`]), the
/// file itself created empty and 0600 when missing (SQLite takes an empty file as a new
/// database), and an existing file and its `-wal`, `-shm` and `-journal` companions brought
/// to 0600 when a former keygate left them readable by others.
///
/// # Errors
/// The I/O error when the folder or the file cannot be created, or a mode cannot be set.
pub fn prepare_database(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            restrict(path)?;
            for suffix in ["-wal", "-shm", "-journal"] {
                let mut companion = path.as_os_str().to_owned();
                companion.push(suffix);
                match restrict(Path::new(&companion)) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    other => other?,
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// Takes group and other permissions off an existing regular file.
fn restrict(path: &Path) -> io::Result<()> {
    let meta = std::fs::metadata(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode();
        if meta.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = meta;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_folders_are_0700_and_databases_0600() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("a/b/gateway.db");
        prepare_database(&db).unwrap();
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        assert_eq!(mode(&tmp.path().join("a/b")), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
        // The temp dir itself existed before: left as it was.
        assert_ne!(mode(tmp.path()), 0);
    }

    #[test]
    fn existing_databases_and_their_companions_are_tightened_not_emptied() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("local.db");
        let wal = tmp.path().join("local.db-wal");
        std::fs::write(&db, b"data").unwrap();
        std::fs::write(&wal, b"wal").unwrap();
        for p in [&db, &wal] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
        assert_eq!(std::fs::read(&db).unwrap(), b"data");
    }
}
