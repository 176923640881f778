//! The Cloud KMS methods as data: the routing table ([`METHODS`]) and the IAM permission of
//! each method (named in a PERMISSION_DENIED).

use axum::http::Method;
use keygate_core::access::Action;

use super::{Op, route};

/// Every Cloud KMS method the router serves: HTTP method and path under `/v1/`, with `{p}`,
/// `{l}`, `{r}`, `{k}` and `{v}` for the project, location, ring, key and version. The
/// routing table as data: a test checks that each routes, and tests enumerate the writes
/// from it.
pub const METHODS: &[(&str, &str)] = &[
    ("GET", "projects/{p}/locations"),
    ("GET", "projects/{p}/locations/{l}"),
    ("POST", "projects/{p}/locations/{l}:generateRandomBytes"),
    ("GET", "projects/{p}/locations/{l}/keyRings"),
    ("POST", "projects/{p}/locations/{l}/keyRings"),
    ("GET", "projects/{p}/locations/{l}/keyRings/{r}"),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}:getIamPolicy",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}:setIamPolicy",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}:testIamPermissions",
    ),
    ("GET", "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys"),
    ("POST", "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys"),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}",
    ),
    (
        "PATCH",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:encrypt",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:decrypt",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:updatePrimaryVersion",
    ),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:getIamPolicy",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:setIamPolicy",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}:testIamPermissions",
    ),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions",
    ),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}",
    ),
    (
        "PATCH",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:destroy",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:restore",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:encrypt",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:asymmetricSign",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:asymmetricDecrypt",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:macSign",
    ),
    (
        "POST",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}:macVerify",
    ),
    (
        "GET",
        "projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}/cryptoKeyVersions/{v}/publicKey",
    ),
];

/// The gateway action of `method path` (a concrete path under `/v1/`, no query), as the
/// router decides it; `None` for a method without one or a path it does not serve.
pub fn method_action(method: &str, path: &str) -> Option<Action> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let path = path.strip_prefix("projects/")?;
    route(&method, super::super::path::parse(path).ok()?)
        .ok()?
        .action()
}

impl Op {
    /// The Cloud KMS IAM permission the method needs (named in a PERMISSION_DENIED).
    pub fn permission(&self) -> &'static str {
        match self {
            Op::ListLocations(_) => "cloudkms.locations.list",
            Op::GetLocation(_) => "cloudkms.locations.get",
            Op::GenerateRandom(_) => "cloudkms.locations.generateRandomBytes",
            Op::ListRings(_) => "cloudkms.keyRings.list",
            Op::CreateRing(_) => "cloudkms.keyRings.create",
            Op::GetRing(_) | Op::RingTestIam(_) => "cloudkms.keyRings.get",
            Op::RingGetIam(_) => "cloudkms.keyRings.getIamPolicy",
            Op::RingSetIam(_) => "cloudkms.keyRings.setIamPolicy",
            Op::ListKeys(_) => "cloudkms.cryptoKeys.list",
            Op::CreateKey(_) => "cloudkms.cryptoKeys.create",
            Op::GetKey(_) | Op::KeyTestIam(_) => "cloudkms.cryptoKeys.get",
            Op::UpdateKey(_) | Op::UpdatePrimary(_) => "cloudkms.cryptoKeys.update",
            Op::KeyGetIam(_) => "cloudkms.cryptoKeys.getIamPolicy",
            Op::KeySetIam(_) => "cloudkms.cryptoKeys.setIamPolicy",
            Op::Encrypt(..) => "cloudkms.cryptoKeyVersions.useToEncrypt",
            Op::Decrypt(_) | Op::AsymmetricDecrypt(_) => "cloudkms.cryptoKeyVersions.useToDecrypt",
            Op::AsymmetricSign(_) | Op::MacSign(_) => "cloudkms.cryptoKeyVersions.useToSign",
            Op::MacVerify(_) => "cloudkms.cryptoKeyVersions.useToVerify",
            Op::ListVersions(_) => "cloudkms.cryptoKeyVersions.list",
            Op::CreateVersion(_) => "cloudkms.cryptoKeyVersions.create",
            Op::GetVersion(_) => "cloudkms.cryptoKeyVersions.get",
            Op::UpdateVersion(_) => "cloudkms.cryptoKeyVersions.update",
            Op::Destroy(_) => "cloudkms.cryptoKeyVersions.destroy",
            Op::Restore(_) => "cloudkms.cryptoKeyVersions.restore",
            Op::PublicKey(_) => "cloudkms.cryptoKeyVersions.viewPublicKey",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::path::parse;
    use super::*;

    fn op(method: Method, path: &str) -> super::super::super::error::GcpResult<Op> {
        route(&method, parse(path)?)
    }

    #[test]
    fn the_method_table_is_what_the_router_serves() {
        let mut ops = std::collections::HashSet::new();
        for (method, template) in METHODS {
            let path = template
                .strip_prefix("projects/")
                .unwrap()
                .replace("{p}", "p")
                .replace("{l}", "l")
                .replace("{r}", "r")
                .replace("{k}", "k")
                .replace("{v}", "1");
            let op = op(Method::from_bytes(method.as_bytes()).unwrap(), &path)
                .unwrap_or_else(|e| panic!("{method} {template}: {e:?}"));
            ops.insert(std::mem::discriminant(&op));
        }
        // Every method: the table names each of `Op`'s variants at least once (the two
        // `:encrypt` paths are one variant).
        assert_eq!(ops.len(), METHODS.len() - 1);
    }
}
