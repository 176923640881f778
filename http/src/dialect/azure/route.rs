//! The vault's paths, parsed by hand: the SDK writes an omitted version as an empty segment
//! (`/keys/k//encrypt`, `/keys/k/`), which a router's path parameters do not match.

use axum::http::Method;
use keygate_core::access::Action;

use super::error::AzureError;

/// A cryptographic operation on a key (version).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CryptoOp {
    /// `encrypt`.
    Encrypt,
    /// `decrypt`.
    Decrypt,
    /// `wrapkey`.
    WrapKey,
    /// `unwrapkey`.
    UnwrapKey,
    /// `sign`.
    Sign,
    /// `verify`.
    Verify,
}

impl CryptoOp {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "encrypt" => Self::Encrypt,
            "decrypt" => Self::Decrypt,
            "wrapkey" => Self::WrapKey,
            "unwrapkey" => Self::UnwrapKey,
            "sign" => Self::Sign,
            "verify" => Self::Verify,
            _ => return None,
        })
    }

    /// Azure's name of the operation (as its messages and key_ops spell it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Encrypt => "encrypt",
            Self::Decrypt => "decrypt",
            Self::WrapKey => "wrapKey",
            Self::UnwrapKey => "unwrapKey",
            Self::Sign => "sign",
            Self::Verify => "verify",
        }
    }
}

/// A request the vault serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// GET /keys.
    ListKeys,
    /// POST /keys/{n}/create.
    CreateKey(String),
    /// GET /keys/{n}[/{v}].
    GetKey(String, Option<String>),
    /// PATCH /keys/{n}[/{v}].
    UpdateKey(String, Option<String>),
    /// DELETE /keys/{n}.
    DeleteKey(String),
    /// GET /keys/{n}/versions.
    ListVersions(String),
    /// POST /keys/{n}/rotate.
    Rotate(String),
    /// GET /keys/{n}/rotationpolicy.
    GetRotationPolicy(String),
    /// PUT /keys/{n}/rotationpolicy.
    SetRotationPolicy(String),
    /// POST /keys/{n}[/{v}]/{op}.
    Crypto(String, Option<String>, CryptoOp),
    /// GET /deletedkeys.
    ListDeleted,
    /// GET /deletedkeys/{n}.
    GetDeleted(String),
    /// DELETE /deletedkeys/{n}.
    PurgeDeleted(String),
    /// POST /deletedkeys/{n}/recover.
    RecoverDeleted(String),
    /// POST /rng.
    Random,
    /// An Azure operation keygate does not offer (backup, restore, import, release,
    /// attestation): 400 naming it.
    Unsupported(&'static str),
}

/// Every request the router serves, as `{n}` (a key name) and `{v}` (a version)
/// templates: the routing table as data (a test checks that each parses, and tests
/// enumerate the writes from it). The operations keygate refuses as unsupported are left out.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/keys"),
    ("POST", "/keys/{n}/create"),
    ("GET", "/keys/{n}"),
    ("GET", "/keys/{n}/{v}"),
    ("PATCH", "/keys/{n}"),
    ("PATCH", "/keys/{n}/{v}"),
    ("DELETE", "/keys/{n}"),
    ("GET", "/keys/{n}/versions"),
    ("POST", "/keys/{n}/rotate"),
    ("GET", "/keys/{n}/rotationpolicy"),
    ("PUT", "/keys/{n}/rotationpolicy"),
    ("POST", "/keys/{n}/encrypt"),
    ("POST", "/keys/{n}/{v}/encrypt"),
    ("POST", "/keys/{n}/decrypt"),
    ("POST", "/keys/{n}/{v}/decrypt"),
    ("POST", "/keys/{n}/wrapkey"),
    ("POST", "/keys/{n}/{v}/wrapkey"),
    ("POST", "/keys/{n}/unwrapkey"),
    ("POST", "/keys/{n}/{v}/unwrapkey"),
    ("POST", "/keys/{n}/sign"),
    ("POST", "/keys/{n}/{v}/sign"),
    ("POST", "/keys/{n}/verify"),
    ("POST", "/keys/{n}/{v}/verify"),
    ("GET", "/deletedkeys"),
    ("GET", "/deletedkeys/{n}"),
    ("DELETE", "/deletedkeys/{n}"),
    ("POST", "/deletedkeys/{n}/recover"),
    ("POST", "/rng"),
];

/// The gateway action of `method path` (a concrete vault path), as the router decides it.
pub fn route_action(method: &str, path: &str) -> Option<Action> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    Route::parse(&method, path).ok()?.action()
}

impl Route {
    /// Parses `method path`.
    ///
    /// # Errors
    /// 404 for a path the vault does not serve, 405 for a known path with another method,
    /// 400 for a key name Azure would refuse.
    pub fn parse(method: &Method, path: &str) -> Result<Self, AzureError> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = method.as_str();
        let route = match (segments.as_slice(), m) {
            (["keys"] | ["keys", ""], "GET") => Self::ListKeys,
            (["deletedkeys"] | ["deletedkeys", ""], "GET") => Self::ListDeleted,
            (["rng"], "POST") => Self::Random,
            (["keys", "restore"], "POST") => Self::Unsupported("restore"),
            (["keys"] | ["deletedkeys"] | ["rng"] | ["keys", "restore"], _) => {
                return Err(AzureError::method_not_allowed());
            }
            (["keys", n] | ["keys", n, ""], _) => {
                let n = name(n)?;
                match m {
                    "GET" => Self::GetKey(n, None),
                    "PATCH" => Self::UpdateKey(n, None),
                    "DELETE" => Self::DeleteKey(n),
                    "PUT" => Self::Unsupported("import"),
                    _ => return Err(AzureError::method_not_allowed()),
                }
            }
            (["keys", n, tail], _) => {
                let n = name(n)?;
                match (*tail, m) {
                    ("create", "POST") => Self::CreateKey(n),
                    ("versions", "GET") => Self::ListVersions(n),
                    ("rotate", "POST") => Self::Rotate(n),
                    ("rotationpolicy", "GET") => Self::GetRotationPolicy(n),
                    ("rotationpolicy", "PUT") => Self::SetRotationPolicy(n),
                    ("backup", "POST") => Self::Unsupported("backup"),
                    ("create" | "versions" | "rotate" | "rotationpolicy" | "backup", _) => {
                        return Err(AzureError::method_not_allowed());
                    }
                    (op, "POST") => match CryptoOp::parse(op) {
                        Some(op) => Self::Crypto(n, None, op),
                        None => return Err(AzureError::no_route()),
                    },
                    (v, "GET") => Self::GetKey(n, Some(version(v)?)),
                    (v, "PATCH") => Self::UpdateKey(n, Some(version(v)?)),
                    _ => return Err(AzureError::method_not_allowed()),
                }
            }
            (["keys", n, v, tail], _) => {
                let n = name(n)?;
                let v = if v.is_empty() {
                    None
                } else {
                    Some(version(v)?)
                };
                match (*tail, m) {
                    ("release", "POST") => Self::Unsupported("release"),
                    ("attestation", "GET") => Self::Unsupported("attestation"),
                    (op, "POST") => match CryptoOp::parse(op) {
                        Some(op) => Self::Crypto(n, v, op),
                        None => return Err(AzureError::no_route()),
                    },
                    (op, _) if CryptoOp::parse(op).is_some() => {
                        return Err(AzureError::method_not_allowed());
                    }
                    _ => return Err(AzureError::no_route()),
                }
            }
            (["deletedkeys", n], _) => {
                let n = name(n)?;
                match m {
                    "GET" => Self::GetDeleted(n),
                    "DELETE" => Self::PurgeDeleted(n),
                    _ => return Err(AzureError::method_not_allowed()),
                }
            }
            (["deletedkeys", n, "recover"], _) => {
                let n = name(n)?;
                match m {
                    "POST" => Self::RecoverDeleted(n),
                    _ => return Err(AzureError::method_not_allowed()),
                }
            }
            _ => return Err(AzureError::no_route()),
        };
        Ok(route)
    }

    /// The Key Vault key permission the route needs (named in a 403, as Key Vault does).
    pub fn permission(&self) -> &'static str {
        match self {
            Self::ListKeys | Self::ListVersions(_) | Self::ListDeleted => "list",
            Self::CreateKey(_) => "create",
            Self::GetKey(..) | Self::GetDeleted(_) | Self::Random | Self::Unsupported(_) => "get",
            Self::UpdateKey(..) => "update",
            Self::DeleteKey(_) => "delete",
            Self::PurgeDeleted(_) => "purge",
            Self::RecoverDeleted(_) => "recover",
            Self::Rotate(_) => "rotate",
            Self::GetRotationPolicy(_) => "getrotationpolicy",
            Self::SetRotationPolicy(_) => "setrotationpolicy",
            Self::Crypto(_, _, op) => op.name(),
        }
    }

    /// The gateway action the route performs first (what a refused attempt is audited as).
    pub fn action(&self) -> Option<Action> {
        Some(match self {
            Self::ListKeys | Self::ListDeleted => Action::KeysList,
            Self::CreateKey(_) => Action::KeysCreate,
            Self::GetKey(..)
            | Self::GetDeleted(_)
            | Self::PurgeDeleted(_)
            | Self::ListVersions(_)
            | Self::GetRotationPolicy(_) => Action::KeysDescribe,
            Self::UpdateKey(..) => Action::KeysUpdate,
            Self::DeleteKey(_) => Action::KeysDelete,
            Self::RecoverDeleted(_) => Action::KeysUndelete,
            Self::Rotate(_) | Self::SetRotationPolicy(_) => Action::KeysRotate,
            Self::Crypto(_, _, op) => match op {
                CryptoOp::Encrypt | CryptoOp::WrapKey => Action::CryptoEncrypt,
                CryptoOp::Decrypt | CryptoOp::UnwrapKey => Action::CryptoDecrypt,
                CryptoOp::Sign => Action::CryptoSign,
                CryptoOp::Verify => Action::CryptoVerify,
            },
            Self::Random => Action::RandomGenerate,
            Self::Unsupported(_) => return None,
        })
    }

    /// Whether the request carries a JSON body (the SDK's first, unauthenticated request
    /// leaves it out to discover the challenge).
    pub fn takes_body(&self) -> bool {
        matches!(
            self,
            Self::CreateKey(_)
                | Self::UpdateKey(..)
                | Self::SetRotationPolicy(_)
                | Self::Crypto(..)
                | Self::Random
        )
    }
}

/// True for a name Azure accepts: 1–127 of `0-9 a-z A-Z -`.
pub fn valid_name(n: &str) -> bool {
    (1..=127).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn name(n: &str) -> Result<String, AzureError> {
    if valid_name(n) {
        Ok(n.to_owned())
    } else {
        Err(AzureError::bad_parameter(format!(
            "The request URI contains an invalid name: {}",
            n.chars().take(130).collect::<String>()
        )))
    }
}

/// keygate version ids: short and plain (`1`, a UUID, ...).
fn version(v: &str) -> Result<String, AzureError> {
    if (1..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(v.to_owned())
    } else {
        Err(AzureError::bad_parameter(
            "The request URI contains an invalid key version.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(m: Method, p: &str) -> Result<Route, u16> {
        Route::parse(&m, p).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn sdk_paths_parse_including_empty_versions() {
        assert_eq!(parse(Method::GET, "/keys"), Ok(Route::ListKeys));
        assert_eq!(
            parse(Method::GET, "/keys/k1/"),
            Ok(Route::GetKey("k1".into(), None))
        );
        assert_eq!(
            parse(Method::GET, "/keys/k1/7"),
            Ok(Route::GetKey("k1".into(), Some("7".into())))
        );
        assert_eq!(
            parse(Method::POST, "/keys/k1//encrypt"),
            Ok(Route::Crypto("k1".into(), None, CryptoOp::Encrypt))
        );
        assert_eq!(
            parse(Method::POST, "/keys/k1/2/unwrapkey"),
            Ok(Route::Crypto(
                "k1".into(),
                Some("2".into()),
                CryptoOp::UnwrapKey
            ))
        );
        assert_eq!(
            parse(Method::POST, "/keys/k1/sign"),
            Ok(Route::Crypto("k1".into(), None, CryptoOp::Sign))
        );
        assert_eq!(
            parse(Method::PATCH, "/keys/k1/"),
            Ok(Route::UpdateKey("k1".into(), None))
        );
        assert_eq!(
            parse(Method::POST, "/deletedkeys/k1/recover"),
            Ok(Route::RecoverDeleted("k1".into()))
        );
        assert_eq!(
            parse(Method::PUT, "/keys/k1/rotationpolicy"),
            Ok(Route::SetRotationPolicy("k1".into()))
        );
    }

    #[test]
    fn the_route_table_is_what_the_parser_serves() {
        let mut kinds = std::collections::HashSet::new();
        for (method, template) in ROUTES {
            let path = template
                .replace("{n}", "k1")
                .replace("{v}", "0123456789abcdef0123456789abcdef");
            let route = Route::parse(&Method::from_bytes(method.as_bytes()).unwrap(), &path)
                .unwrap_or_else(|e| panic!("{method} {template}: {e:?}"));
            assert!(!matches!(route, Route::Unsupported(_)), "{template}");
            kinds.insert(std::mem::discriminant(&route));
        }
        // Every variant but `Unsupported` is in the table.
        assert_eq!(kinds.len(), 15);
    }

    #[test]
    fn unknown_paths_methods_and_names_are_refused() {
        assert_eq!(parse(Method::POST, "/keys/k1/1/frobnicate"), Err(404));
        assert_eq!(parse(Method::POST, "/keys/k1/frobnicate"), Err(404));
        assert_eq!(parse(Method::GET, "/secrets/x"), Err(404));
        assert_eq!(parse(Method::DELETE, "/keys"), Err(405));
        assert_eq!(parse(Method::GET, "/keys/k1/1/encrypt"), Err(405));
        assert_eq!(parse(Method::GET, "/keys/bad_name"), Err(400));
        assert_eq!(
            parse(Method::POST, "/keys/k1/backup"),
            Ok(Route::Unsupported("backup"))
        );
    }
}
