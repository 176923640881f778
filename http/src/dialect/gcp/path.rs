//! Cloud KMS resource names: `projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/
//! cryptoKeyVersions/{v}`, and the `:verb` a request path may end with.

use std::fmt;

use super::error::{GcpError, GcpResult};

/// `projects/{p}/locations/{l}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationName {
    /// The project (any id: keygate has no projects, answers echo it).
    pub project: String,
    /// The location: a keygate provider name, or `global`.
    pub location: String,
}

/// `projects/{p}/locations/{l}/keyRings/{r}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingName {
    /// Where the ring is.
    pub location: LocationName,
    /// The key ring id.
    pub ring: String,
}

/// `.../keyRings/{r}/cryptoKeys/{k}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyName {
    /// The ring the key is addressed through.
    pub ring: RingName,
    /// The crypto key id: the keygate key's name.
    pub key: String,
}

/// `.../cryptoKeys/{k}/cryptoKeyVersions/{v}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionName {
    /// The key.
    pub key: KeyName,
    /// The keygate version id.
    pub version: String,
}

impl fmt::Display for LocationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "projects/{}/locations/{}", self.project, self.location)
    }
}

impl fmt::Display for RingName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/keyRings/{}", self.location, self.ring)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/cryptoKeys/{}", self.ring, self.key)
    }
}

impl fmt::Display for VersionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/cryptoKeyVersions/{}", self.key, self.version)
    }
}

impl KeyName {
    /// The version `v` of this key.
    pub fn version(&self, v: impl Into<String>) -> VersionName {
        VersionName {
            key: self.clone(),
            version: v.into(),
        }
    }
}

impl RingName {
    /// The key `k` in this ring.
    pub fn key(&self, k: impl Into<String>) -> KeyName {
        KeyName {
            ring: self.clone(),
            key: k.into(),
        }
    }
}

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `projects/{p}`.
    Project(String),
    /// `projects/{p}/locations`.
    Locations(String),
    /// `projects/{p}/locations/{l}`.
    Location(LocationName),
    /// `.../locations/{l}/keyRings`.
    KeyRings(LocationName),
    /// `.../keyRings/{r}`.
    KeyRing(RingName),
    /// `.../keyRings/{r}/cryptoKeys`.
    CryptoKeys(RingName),
    /// `.../keyRings/{r}/importJobs[/...]`: not supported.
    ImportJobs(RingName),
    /// `.../cryptoKeys/{k}`.
    CryptoKey(KeyName),
    /// `.../cryptoKeys/{k}/cryptoKeyVersions`.
    Versions(KeyName),
    /// `.../cryptoKeyVersions/{v}`.
    Version(VersionName),
    /// `.../cryptoKeyVersions/{v}/publicKey`.
    PublicKey(VersionName),
}

/// A parsed request path: the resource and the `:verb` after it, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The resource.
    pub resource: Resource,
    /// The custom verb (`encrypt`, `getIamPolicy`, ...).
    pub verb: Option<String>,
}

/// Parses the part of a path after `/v1/projects/`.
///
/// # Errors
/// [`GcpError::no_method`] for a path that names no Cloud KMS resource.
pub fn parse(rest: &str) -> GcpResult<Target> {
    let mut segments: Vec<&str> = rest.split('/').collect();
    let mut verb = None;
    if let Some(last) = segments.last_mut()
        && let Some((name, v)) = last.split_once(':')
    {
        *last = name;
        verb = Some(v.to_owned());
    }
    if segments.iter().any(|s| s.is_empty()) {
        return Err(GcpError::no_method());
    }
    let owned = |s: &str| s.to_owned();
    let resource = match segments.as_slice() {
        [p] => Resource::Project(owned(p)),
        [p, "locations"] => Resource::Locations(owned(p)),
        [p, "locations", l, rest @ ..] => {
            let location = LocationName {
                project: owned(p),
                location: owned(l),
            };
            match rest {
                [] => Resource::Location(location),
                ["keyRings"] => Resource::KeyRings(location),
                ["keyRings", r, rest @ ..] => {
                    let ring = RingName {
                        location,
                        ring: owned(r),
                    };
                    match rest {
                        [] => Resource::KeyRing(ring),
                        ["cryptoKeys"] => Resource::CryptoKeys(ring),
                        ["importJobs", ..] => Resource::ImportJobs(ring),
                        ["cryptoKeys", k, rest @ ..] => {
                            let key = ring.key(*k);
                            match rest {
                                [] => Resource::CryptoKey(key),
                                ["cryptoKeyVersions"] => Resource::Versions(key),
                                ["cryptoKeyVersions", v] => Resource::Version(key.version(*v)),
                                ["cryptoKeyVersions", v, "publicKey"] => {
                                    Resource::PublicKey(key.version(*v))
                                }
                                _ => return Err(GcpError::no_method()),
                            }
                        }
                        _ => return Err(GcpError::no_method()),
                    }
                }
                _ => return Err(GcpError::no_method()),
            }
        }
        _ => return Err(GcpError::no_method()),
    };
    Ok(Target { resource, verb })
}

/// Checks a key ring or crypto key id as Cloud KMS does: 1–63 of `[a-zA-Z0-9_-]`.
///
/// # Errors
/// [`GcpError::invalid`] naming the field.
pub fn check_id(field: &str, id: &str) -> GcpResult<()> {
    let ok = (1..=63).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(GcpError::invalid(format!(
            "{field} must match the expression [a-zA-Z0-9_-]{{1,63}}, got `{id}`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_with_verbs() {
        let t = parse("p/locations/local/keyRings/r/cryptoKeys/k:encrypt").unwrap();
        assert_eq!(t.verb.as_deref(), Some("encrypt"));
        let Resource::CryptoKey(k) = t.resource else {
            panic!("not a key")
        };
        assert_eq!(
            k.to_string(),
            "projects/p/locations/local/keyRings/r/cryptoKeys/k"
        );
        let t =
            parse("p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/2/publicKey").unwrap();
        assert!(matches!(t.resource, Resource::PublicKey(ref v) if v.version == "2"));
        assert!(matches!(
            parse("p/locations").unwrap().resource,
            Resource::Locations(ref p) if p == "p"
        ));
        assert!(matches!(
            parse("p/locations/l/keyRings").unwrap().resource,
            Resource::KeyRings(_)
        ));
        let t = parse("p/locations/l/keyRings/r:getIamPolicy").unwrap();
        assert!(matches!(t.resource, Resource::KeyRing(_)));
        assert_eq!(t.verb.as_deref(), Some("getIamPolicy"));
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for bad in [
            "",
            "p/zones/x",
            "p/locations/l/keyRings/r/other",
            "p/locations/l/keyRings//cryptoKeys",
            "p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/1/x",
        ] {
            assert_eq!(parse(bad).unwrap_err().http.as_u16(), 404, "{bad}");
        }
    }

    #[test]
    fn ids_are_checked_like_cloud_kms() {
        assert!(check_id("keyRingId", "ring_1-a").is_ok());
        assert!(check_id("keyRingId", "").is_err());
        assert!(check_id("keyRingId", "a.b").is_err());
        assert!(check_id("keyRingId", &"a".repeat(64)).is_err());
    }
}
