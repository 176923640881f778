//! The root key: the 32 bytes every secret keygate keeps at rest is encrypted under (the local
//! provider's key versions, the gateway's AWS access key secrets). It lives outside every
//! database: in a file (created 0600 on first use) or in `$KEYGATE_ROOT_KEY` as base64.
//!
//! This module is the one place that reads, creates and decodes it; the local provider and
//! the gateway both call it.

use std::io::{Read as _, Write as _};
use std::path::Path;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// The length of a root key in bytes.
pub const ROOT_KEY_LEN: usize = 32;

/// The environment variable holding the root key (base64 of 32 bytes), overriding any file.
/// Only binaries read it; libraries take the key or the file explicitly.
pub const ROOT_KEY_ENV: &str = "KEYGATE_ROOT_KEY";

/// Reads the root key file at `path`, creating it (and its folder) with fresh random bytes,
/// mode 0600, when it does not exist. Two processes creating it at once both end up with the
/// bytes of the one that won (`create_new`). A file that other users may read is logged as
/// a warning.
///
/// # Errors
/// [`Error::InvalidArgument`] when the file does not hold exactly [`ROOT_KEY_LEN`] bytes;
/// [`Error::Unavailable`] (with the I/O error as its source) when it cannot be read or
/// written. Messages name the path, never the bytes.
pub fn read_or_create(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let io_err = |what: &str, e: std::io::Error| {
        Error::unavailable_because(format!("{what} root key file {}", path.display()), e)
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::private_fs::create_dir_all(parent)
            .map_err(|e| io_err("cannot create the folder of", e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            let mut bytes = Zeroizing::new(vec![0u8; ROOT_KEY_LEN]);
            aws_lc_rs::rand::fill(bytes.as_mut_slice())
                .map_err(|_| Error::unavailable("the random number generator failed"))?;
            file.write_all(&bytes)
                .and_then(|()| file.sync_all())
                .map_err(|e| io_err("cannot write the", e))?;
            tracing::info!(path = %path.display(), "created a new root key file");
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let mut file = std::fs::File::open(path).map_err(|e| io_err("cannot open the", e))?;
            warn_if_readable_by_others(&file, path);
            let mut bytes = Zeroizing::new(Vec::with_capacity(ROOT_KEY_LEN + 1));
            // One byte more than needed, so an oversized file is noticed without reading it
            // all.
            (&mut file)
                .take(ROOT_KEY_LEN as u64 + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| io_err("cannot read the", e))?;
            if bytes.len() != ROOT_KEY_LEN {
                return Err(Error::invalid(format!(
                    "the root key file {} must hold exactly {ROOT_KEY_LEN} bytes, it holds {}",
                    path.display(),
                    if bytes.len() > ROOT_KEY_LEN {
                        "more".to_owned()
                    } else {
                        bytes.len().to_string()
                    }
                )));
            }
            Ok(bytes)
        }
        Err(e) => Err(io_err("cannot create the", e)),
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(file: &std::fs::File, path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = file.metadata()
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            "the root key file is accessible to other users; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_file: &std::fs::File, _path: &Path) {}

/// Decodes a root key given as base64 (the value of [`ROOT_KEY_ENV`]).
///
/// # Errors
/// [`Error::InvalidArgument`] when the value is not base64 of exactly [`ROOT_KEY_LEN`]
/// bytes. The message never echoes the value.
pub fn decode_base64(value: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| Error::invalid(format!("{ROOT_KEY_ENV} is not valid base64")))?,
    );
    if bytes.len() != ROOT_KEY_LEN {
        return Err(Error::invalid(format!(
            "{ROOT_KEY_ENV} must decode to {ROOT_KEY_LEN} bytes, got {}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_missing_file_is_created_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/root.key");
        let first = read_or_create(&path).unwrap();
        assert_eq!(first.len(), ROOT_KEY_LEN);
        assert_eq!(read_or_create(&path).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_file_of_the_wrong_length_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.key");
        std::fs::write(&path, [1u8; 16]).unwrap();
        let err = read_or_create(&path).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument(ref m) if m.contains("16")),
            "{err}"
        );
        std::fs::write(&path, [1u8; 40]).unwrap();
        assert!(matches!(
            read_or_create(&path),
            Err(Error::InvalidArgument(_))
        ));
    }

    #[test]
    fn base64_must_hold_32_bytes_and_is_never_echoed() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_base64(&good).unwrap().len(), 32);
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let err = decode_base64(&short).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        let err = decode_base64("not base64!!").unwrap_err().to_string();
        assert!(!err.contains("not base64!!"), "value echoed: {err}");
    }
}
