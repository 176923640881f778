//! The keygate home directory: where the embedded default keeps its databases and root key.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use keygate_core::{Error, Result};
use zeroize::Zeroizing;

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "KEYGATE_HOME";
/// Environment variable holding the root key (base64 of 32 bytes), overriding the key file.
pub const ROOT_KEY_ENV: &str = "KEYGATE_ROOT_KEY";

/// Paths inside a keygate home.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    dir: PathBuf,
}

impl Home {
    /// The home at `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `explicit` if given (the CLI fills it from `--home` or `$KEYGATE_HOME`), else the XDG
    /// data dir's `keygate/`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when no data directory can be determined.
    pub fn resolve(explicit: Option<PathBuf>) -> Result<Self> {
        if let Some(dir) = explicit {
            return Ok(Self::new(dir));
        }
        dirs::data_dir()
            .map(|d| Self::new(d.join("keygate")))
            .ok_or_else(|| {
                Error::invalid(
                    "cannot determine a data directory; pass --home DIR or set KEYGATE_HOME",
                )
            })
    }

    /// The home directory itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The local provider's key database.
    pub fn local_db(&self) -> PathBuf {
        self.dir.join("local.db")
    }

    /// The gateway's own database (aliases; audit, tokens and policy as they land).
    pub fn gateway_db(&self) -> PathBuf {
        self.dir.join("gateway.db")
    }

    /// The root key file, created with mode 0600 on first use.
    pub fn root_key_file(&self) -> PathBuf {
        self.dir.join("root.key")
    }
}

/// Decodes a root key given as base64 (from `KEYGATE_ROOT_KEY`).
///
/// # Errors
/// [`Error::InvalidArgument`] when the value is not base64 of exactly 32 bytes. The message
/// never echoes the value.
pub fn decode_root_key(value: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| Error::invalid(format!("{ROOT_KEY_ENV} is not valid base64")))?,
    );
    if bytes.len() != 32 {
        return Err(Error::invalid(format!(
            "{ROOT_KEY_ENV} must decode to 32 bytes, got {}",
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
    fn explicit_home_holds_the_files() {
        let h = Home::resolve(Some("/b".into())).unwrap();
        assert_eq!(h.dir(), Path::new("/b"));
        assert_eq!(h.local_db(), Path::new("/b/local.db"));
    }

    #[test]
    fn root_key_must_be_32_bytes_of_base64() {
        let good = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(decode_root_key(&good).unwrap().len(), 32);
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        let err = decode_root_key(&short).unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        let err = decode_root_key("not base64!!").unwrap_err().to_string();
        assert!(!err.contains("not base64!!"), "value echoed: {err}");
    }
}
