//! The keygate home directory: where the embedded default keeps its databases, its root key
//! and its configuration.

use std::path::{Path, PathBuf};

use keygate_core::{Error, Result};

/// Environment variable naming the home directory.
pub const HOME_ENV: &str = "KEYGATE_HOME";

/// A keygate home: the directory the embedded default keeps its databases, its root key and
/// its configuration in.
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn explicit_home_holds_the_files() {
        let h = Home::resolve(Some("/b".into())).unwrap();
        assert_eq!(h.dir(), Path::new("/b"));
    }
}
