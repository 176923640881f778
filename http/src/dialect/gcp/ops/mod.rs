//! The Cloud KMS methods: which request is which method, and what every method shares (the
//! caller's session, the request, key resolution and paging).

mod crypto;
mod iam;
mod keys;
mod rings;
mod table;
mod versions;

pub use table::{METHODS, method_action};

use axum::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keygate_core::access::Action;
use keygate_core::api::{Gateway as _, ProviderSummary};
use keygate_core::{KeyLocator, KeyMetadata};
use serde_json::Value;
use time::OffsetDateTime;

use super::GcpState;
use super::error::{GcpError, GcpResult};
use super::model::Algorithm;
use super::path::{KeyName, LocationName, Resource, RingName, Target, VersionName};
use super::wire::{Body, Query};
use super::{IMPLICIT_RING, RING_LABEL};
use keygate_server::service::Session;
use keygate_server::store::{GcpRecords, KeyRecord};

/// One Cloud KMS method call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `GET projects/{p}/locations`.
    ListLocations(String),
    /// `GET .../locations/{l}`.
    GetLocation(LocationName),
    /// `POST .../locations/{l}:generateRandomBytes`.
    GenerateRandom(LocationName),
    /// `GET .../keyRings`.
    ListRings(LocationName),
    /// `POST .../keyRings?keyRingId=`.
    CreateRing(LocationName),
    /// `GET .../keyRings/{r}`.
    GetRing(RingName),
    /// `:getIamPolicy` on a ring.
    RingGetIam(RingName),
    /// `:setIamPolicy` on a ring.
    RingSetIam(RingName),
    /// `:testIamPermissions` on a ring.
    RingTestIam(RingName),
    /// `GET .../cryptoKeys`.
    ListKeys(RingName),
    /// `POST .../cryptoKeys?cryptoKeyId=`.
    CreateKey(RingName),
    /// `GET .../cryptoKeys/{k}`.
    GetKey(KeyName),
    /// `PATCH .../cryptoKeys/{k}?updateMask=`.
    UpdateKey(KeyName),
    /// `:encrypt` on a key or one of its versions.
    Encrypt(KeyName, Option<String>),
    /// `:decrypt`.
    Decrypt(KeyName),
    /// `:updatePrimaryVersion`.
    UpdatePrimary(KeyName),
    /// `:getIamPolicy` on a key.
    KeyGetIam(KeyName),
    /// `:setIamPolicy` on a key.
    KeySetIam(KeyName),
    /// `:testIamPermissions` on a key.
    KeyTestIam(KeyName),
    /// `GET .../cryptoKeyVersions`.
    ListVersions(KeyName),
    /// `POST .../cryptoKeyVersions`.
    CreateVersion(KeyName),
    /// `GET .../cryptoKeyVersions/{v}`.
    GetVersion(VersionName),
    /// `PATCH .../cryptoKeyVersions/{v}?updateMask=state`.
    UpdateVersion(VersionName),
    /// `:destroy`.
    Destroy(VersionName),
    /// `:restore`.
    Restore(VersionName),
    /// `:asymmetricSign`.
    AsymmetricSign(VersionName),
    /// `:asymmetricDecrypt`.
    AsymmetricDecrypt(VersionName),
    /// `:macSign`.
    MacSign(VersionName),
    /// `:macVerify`.
    MacVerify(VersionName),
    /// `GET .../publicKey`.
    PublicKey(VersionName),
}

/// The Cloud KMS method a request calls.
///
/// # Errors
/// [`GcpError::no_method`] for a method Cloud KMS does not have; [`GcpError::invalid`] for
/// one keygate does not serve (import jobs, raw encryption, key encapsulation, deletion).
pub fn route(method: &Method, target: Target) -> GcpResult<Op> {
    use Resource as R;
    let unsupported = |what: &str| {
        Err(GcpError::invalid(format!(
            "{what} is not supported by keygate's Cloud KMS dialect."
        )))
    };
    let get = method == Method::GET || method == Method::HEAD;
    let post = method == Method::POST;
    let patch = method == Method::PATCH;
    let verb = target.verb.as_deref();
    Ok(match (target.resource, verb) {
        (R::Locations(p), None) if get => Op::ListLocations(p),
        (R::Location(l), None) if get => Op::GetLocation(l),
        (R::Location(l), Some("generateRandomBytes")) if post => Op::GenerateRandom(l),
        (R::KeyRings(l), None) if get => Op::ListRings(l),
        (R::KeyRings(l), None) if post => Op::CreateRing(l),
        (R::KeyRing(r), None) if get => Op::GetRing(r),
        (R::KeyRing(r), Some("getIamPolicy")) if get || post => Op::RingGetIam(r),
        (R::KeyRing(r), Some("setIamPolicy")) if post => Op::RingSetIam(r),
        (R::KeyRing(r), Some("testIamPermissions")) if post => Op::RingTestIam(r),
        (R::ImportJobs(_), _) => return unsupported("Import jobs"),
        (R::CryptoKeys(r), None) if get => Op::ListKeys(r),
        (R::CryptoKeys(r), None) if post => Op::CreateKey(r),
        (R::CryptoKey(k), None) if get => Op::GetKey(k),
        (R::CryptoKey(k), None) if patch => Op::UpdateKey(k),
        (R::CryptoKey(k), Some("encrypt")) if post => Op::Encrypt(k, None),
        (R::CryptoKey(k), Some("decrypt")) if post => Op::Decrypt(k),
        (R::CryptoKey(k), Some("updatePrimaryVersion")) if post => Op::UpdatePrimary(k),
        (R::CryptoKey(k), Some("getIamPolicy")) if get || post => Op::KeyGetIam(k),
        (R::CryptoKey(k), Some("setIamPolicy")) if post => Op::KeySetIam(k),
        (R::CryptoKey(k), Some("testIamPermissions")) if post => Op::KeyTestIam(k),
        (R::CryptoKey(_), None) if method == Method::DELETE => {
            return unsupported("Deleting a CryptoKey (destroy its versions instead)");
        }
        (R::Versions(k), None) if get => Op::ListVersions(k),
        (R::Versions(k), None) if post => Op::CreateVersion(k),
        (R::Versions(_), Some("import")) if post => return unsupported("Importing key material"),
        (R::Version(v), None) if get => Op::GetVersion(v),
        (R::Version(v), None) if patch => Op::UpdateVersion(v),
        (R::Version(v), Some("destroy")) if post => Op::Destroy(v),
        (R::Version(v), Some("restore")) if post => Op::Restore(v),
        (R::Version(v), Some("encrypt")) if post => Op::Encrypt(v.key.clone(), Some(v.version)),
        (R::Version(v), Some("asymmetricSign")) if post => Op::AsymmetricSign(v),
        (R::Version(v), Some("asymmetricDecrypt")) if post => Op::AsymmetricDecrypt(v),
        (R::Version(v), Some("macSign")) if post => Op::MacSign(v),
        (R::Version(v), Some("macVerify")) if post => Op::MacVerify(v),
        (R::Version(_), Some("rawEncrypt" | "rawDecrypt")) if post => {
            return unsupported("Raw encryption (RAW_ENCRYPT_DECRYPT)");
        }
        (R::Version(_), Some("decapsulate")) if post => {
            return unsupported("Key encapsulation (KEY_ENCAPSULATION)");
        }
        (R::Version(_), None) if method == Method::DELETE => {
            return unsupported("Deleting a CryptoKeyVersion (use :destroy)");
        }
        (R::PublicKey(v), None) if get => Op::PublicKey(v),
        _ => return Err(GcpError::no_method()),
    })
}

impl Op {
    /// The gateway action the method performs (for the audit row of a refused caller).
    pub fn action(&self) -> Option<Action> {
        Some(match self {
            Op::ListLocations(_) | Op::GetLocation(_) => return None,
            Op::GenerateRandom(_) => Action::RandomGenerate,
            Op::ListRings(_) | Op::GetRing(_) | Op::ListKeys(_) => Action::KeysList,
            Op::CreateRing(_) | Op::CreateKey(_) => Action::KeysCreate,
            Op::RingGetIam(_) | Op::KeyGetIam(_) => Action::KeysPolicyGet,
            Op::RingSetIam(_) | Op::KeySetIam(_) => Action::KeysPolicySet,
            Op::RingTestIam(_)
            | Op::KeyTestIam(_)
            | Op::GetKey(_)
            | Op::ListVersions(_)
            | Op::GetVersion(_) => Action::KeysDescribe,
            Op::UpdateKey(_) => Action::KeysUpdate,
            Op::Encrypt(..) => Action::CryptoEncrypt,
            Op::Decrypt(_) | Op::AsymmetricDecrypt(_) => Action::CryptoDecrypt,
            Op::CreateVersion(_) | Op::UpdatePrimary(_) => Action::KeysRotate,
            Op::UpdateVersion(_) => Action::KeysEnable,
            Op::Destroy(_) => Action::KeysDelete,
            Op::Restore(_) => Action::KeysUndelete,
            Op::AsymmetricSign(_) => Action::CryptoSign,
            Op::MacSign(_) | Op::MacVerify(_) => Action::CryptoMac,
            Op::PublicKey(_) => Action::KeysPublicKey,
        })
    }
}

/// One admitted request: the caller's session and what it sent.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The application state.
    pub state: &'a GcpState,
    /// The caller's session (every keygate call goes through it).
    pub session: Session,
    /// The query string.
    pub query: Query,
    /// The request body.
    pub body: axum::body::Bytes,
    /// The method's gateway action (what a key the dialect cannot find is audited as).
    pub action: Option<Action>,
}

/// A key as the dialect addresses it.
#[derive(Debug, Clone)]
pub struct KeyTarget {
    /// The location's provider.
    pub provider: String,
    /// The keygate key URI.
    pub uri: String,
    /// The dialect's record of it, if any.
    pub record: Option<KeyRecord>,
}

impl KeyTarget {
    /// The key as every Gateway call takes it: by its URI, resolved once more by nobody.
    pub fn locator(&self) -> KeyLocator {
        KeyLocator::Uri(self.uri.clone())
    }

    /// The record's destroyScheduledDuration, or Cloud KMS's default (30 days).
    pub fn destroy_seconds(&self) -> i64 {
        self.record
            .as_ref()
            .map_or(super::DEFAULT_DESTROY_SECONDS, |r| r.destroy_seconds)
    }
}

impl Ctx<'_> {
    /// The dialect's tables.
    pub fn store(&self) -> &dyn GcpRecords {
        self.state.edge.service.gcp_records()
    }

    /// The request body as a message of the `allowed` fields.
    pub fn body(&self, allowed: &[&str]) -> GcpResult<Body> {
        Body::parse(&self.body, allowed)
    }

    /// The provider a location names (`global`: the configured default).
    pub async fn provider(&self, location: &LocationName) -> GcpResult<ProviderSummary> {
        let providers = self.session.providers().await?;
        let wanted = if location.location == "global" {
            match &self.state.config.provider {
                Some(p) => p.clone(),
                None => providers
                    .first()
                    .map(|p| p.name.clone())
                    .unwrap_or_default(),
            }
        } else {
            location.location.clone()
        };
        providers
            .into_iter()
            .find(|p| p.name == wanted)
            .ok_or_else(|| GcpError::not_found(format!("Location {location} not found.")))
    }

    /// Checks that a ring exists (the implicit ring always does).
    pub async fn require_ring(&self, ring: &RingName, provider: &str) -> GcpResult<OffsetDateTime> {
        if ring.ring == IMPLICIT_RING {
            return Ok(OffsetDateTime::UNIX_EPOCH);
        }
        self.store()
            .ring(&ring.location.project, provider, &ring.ring)
            .await?
            .ok_or_else(|| GcpError::not_found(format!("KeyRing {ring} not found.")))
    }

    /// Resolves a crypto key name to the keygate key: the dialect's record of that id in that
    /// ring when it has one (ids are scoped to their ring: the same id in another ring is
    /// another record, another key), else the key of that name in the location's provider.
    /// Only a key the dialect has not met yet, named through a ring other than the implicit
    /// one, costs a keygate call: one `describe_key` to check its ring label (then it is
    /// recorded), so a key made elsewhere is not reachable through every ring.
    pub async fn key(&self, name: &KeyName) -> GcpResult<KeyTarget> {
        match self.find_key(name).await {
            // A key in no ring, or in a ring that does not exist, goes to the service all the
            // same: audited, and refused as a key the caller may not use when its rights
            // stop at some keys.
            Err(e) if e.status == "NOT_FOUND" => match self.action {
                Some(action) => match self.session.missing_key(action, e.message.clone()).await {
                    keygate_core::Error::NotFound(_) => Err(e),
                    other => Err(other.into()),
                },
                None => Err(e),
            },
            found => found,
        }
    }

    async fn find_key(&self, name: &KeyName) -> GcpResult<KeyTarget> {
        let provider = self.provider(&name.ring.location).await?;
        let record = self
            .store()
            .key(&provider.name, &name.ring.ring, &name.key)
            .await?;
        if record.is_none() {
            self.require_ring(&name.ring, &provider.name).await?;
        }
        let uri = record.as_ref().map_or_else(
            || format!("{}{}", provider.uri_prefix, name.key),
            |r| r.key_uri.clone(),
        );
        let mut target = KeyTarget {
            provider: provider.name,
            uri,
            record,
        };
        if target.record.is_none() && name.ring.ring != IMPLICIT_RING {
            let meta = self.session.describe_key(&target.locator()).await?;
            check_ring(name, &meta)?;
            target.record = Some(self.remember(name, &target, &meta).await?);
        }
        Ok(target)
    }

    /// The key's algorithm: recorded, or (the first time the dialect meets a key made
    /// elsewhere) read with one `describe_key` and recorded.
    pub async fn algorithm(&self, name: &KeyName, key: &mut KeyTarget) -> GcpResult<Algorithm> {
        if let Some(a) = key
            .record
            .as_ref()
            .and_then(|r| Algorithm::named(&r.algorithm))
        {
            return Ok(a);
        }
        let meta = self.session.describe_key(&key.locator()).await?;
        check_ring(name, &meta)?;
        let rec = self.remember(name, key, &meta).await?;
        let algo = Algorithm::named(&rec.algorithm).ok_or_else(|| {
            GcpError::precondition(format!("CryptoKey {name} has no Cloud KMS algorithm."))
        })?;
        key.record = Some(rec);
        Ok(algo)
    }

    /// Records a key the dialect has read (so later calls know its URI and algorithm).
    pub async fn remember(
        &self,
        name: &KeyName,
        key: &KeyTarget,
        meta: &KeyMetadata,
    ) -> GcpResult<KeyRecord> {
        if let Some(r) = &key.record
            && r.key_uri == meta.uri
        {
            return Ok(r.clone());
        }
        let algorithm = Algorithm::of(meta, None).map_or("", |a| a.name);
        let rec = KeyRecord {
            provider: key.provider.clone(),
            key_name: name.key.clone(),
            key_uri: meta.uri.clone(),
            key_ring: name.ring.ring.clone(),
            algorithm: algorithm.to_owned(),
            destroy_seconds: key.destroy_seconds(),
        };
        self.store()
            .put_key(&rec, OffsetDateTime::now_utc())
            .await?;
        Ok(rec)
    }
}

/// Checks that `meta` is in the ring `name` goes through (its ring label; none for the
/// implicit ring).
///
/// # Errors
/// [`GcpError::not_found`] when it is in another ring.
pub fn check_ring(name: &KeyName, meta: &KeyMetadata) -> GcpResult<()> {
    if in_ring(meta, &name.ring.ring) {
        Ok(())
    } else {
        Err(GcpError::not_found(format!("CryptoKey {name} not found.")))
    }
}

/// Whether `meta` belongs to ring `ring` (a key without a ring label is in the implicit
/// ring).
pub fn in_ring(meta: &KeyMetadata, ring: &str) -> bool {
    match meta.labels.get(RING_LABEL) {
        Some(r) => r == ring,
        None => ring == IMPLICIT_RING,
    }
}

/// The keygate name of crypto key `id` of ring `ring` when its plain name is taken by a key of
/// another ring: `{ring}.{id}` (ring and key ids have no `.`, so it cannot be another id).
pub fn scoped_name(ring: &str, id: &str) -> String {
    format!("{ring}.{id}")
}

/// The crypto key id of a keygate key named `name` in ring `ring`: the name without the
/// `{ring}.` of [`scoped_name`], or the name itself.
pub fn crypto_key_id<'n>(ring: &str, name: &'n str) -> &'n str {
    name.strip_prefix(ring)
        .and_then(|rest| rest.strip_prefix('.'))
        .filter(|id| !id.is_empty())
        .unwrap_or(name)
}

/// Runs a method.
pub async fn run(ctx: &Ctx<'_>, op: Op) -> GcpResult<Value> {
    match op {
        Op::ListLocations(p) => rings::list_locations(ctx, &p).await,
        Op::GetLocation(l) => rings::get_location(ctx, &l).await,
        Op::GenerateRandom(l) => rings::generate_random(ctx, &l).await,
        Op::ListRings(l) => rings::list(ctx, &l).await,
        Op::CreateRing(l) => rings::create(ctx, &l).await,
        Op::GetRing(r) => rings::get(ctx, &r).await,
        Op::RingGetIam(r) => iam::ring_get(ctx, &r).await,
        Op::RingSetIam(r) => iam::ring_set(ctx, &r).await,
        Op::RingTestIam(r) => iam::ring_test(ctx, &r).await,
        Op::ListKeys(r) => keys::list(ctx, &r).await,
        Op::CreateKey(r) => keys::create(ctx, &r).await,
        Op::GetKey(k) => keys::get(ctx, &k).await,
        Op::UpdateKey(k) => keys::update(ctx, &k).await,
        Op::Encrypt(k, v) => crypto::encrypt(ctx, &k, v.as_deref()).await,
        Op::Decrypt(k) => crypto::decrypt(ctx, &k).await,
        Op::UpdatePrimary(k) => versions::update_primary(ctx, &k).await,
        Op::KeyGetIam(k) => iam::key_get(ctx, &k).await,
        Op::KeySetIam(k) => iam::key_set(ctx, &k).await,
        Op::KeyTestIam(k) => iam::key_test(ctx, &k).await,
        Op::ListVersions(k) => versions::list(ctx, &k).await,
        Op::CreateVersion(k) => versions::create(ctx, &k).await,
        Op::GetVersion(v) => versions::get(ctx, &v).await,
        Op::UpdateVersion(v) => versions::update(ctx, &v).await,
        Op::Destroy(v) => versions::destroy(ctx, &v).await,
        Op::Restore(v) => versions::restore(ctx, &v).await,
        Op::AsymmetricSign(v) => crypto::asymmetric_sign(ctx, &v).await,
        Op::AsymmetricDecrypt(v) => crypto::asymmetric_decrypt(ctx, &v).await,
        Op::MacSign(v) => crypto::mac_sign(ctx, &v).await,
        Op::MacVerify(v) => crypto::mac_verify(ctx, &v).await,
        Op::PublicKey(v) => versions::public_key(ctx, &v).await,
    }
}

/// The largest page, as Cloud KMS.
pub const MAX_PAGE_SIZE: usize = 1000;

/// One page of a listing sorted by name: `pageSize` (0 or absent: the maximum),
/// `pageToken` (opaque), `filter` (only the empty filter) and `orderBy` (`name` or
/// `name desc`).
///
/// # Errors
/// [`GcpError::invalid`] for a negative size, a token this listing did not issue, or a
/// filter or order keygate does not evaluate.
pub fn page<T>(query: &Query, mut items: Vec<T>) -> GcpResult<(Vec<T>, Option<String>, usize)> {
    if let Some(f) = query.get("filter") {
        return Err(GcpError::invalid(format!(
            "Unsupported filter `{f}`: keygate's Cloud KMS dialect does not evaluate list filters."
        )));
    }
    match query.get("orderBy").map(|o| o.trim().to_ascii_lowercase()) {
        None => {}
        Some(o) if o == "name" || o == "name asc" => {}
        Some(o) if o == "name desc" => items.reverse(),
        Some(o) => {
            return Err(GcpError::invalid(format!(
                "Unsupported orderBy `{o}` (keygate orders by `name` or `name desc`)."
            )));
        }
    }
    let size = match query.int("pageSize")? {
        None | Some(0) => MAX_PAGE_SIZE,
        Some(n) if n < 0 => return Err(GcpError::invalid("pageSize must not be negative.")),
        Some(n) => usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE),
    };
    let start = match query.get("pageToken") {
        None => 0,
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("kg1:").and_then(|n| n.parse::<usize>().ok()))
            .filter(|n| *n <= items.len())
            .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
    };
    let total = items.len();
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| URL_SAFE_NO_PAD.encode(format!("kg1:{end}")));
    let page = items.drain(start..end).collect();
    Ok((page, next, total))
}

/// [`page`] for listings that change while they are paged (keys made and deleted by other
/// callers): the token names the last item returned (by `key`, the listing's sort key), so
/// the next page starts after it whatever was added or removed before it.
///
/// # Errors
/// As [`page`].
pub fn page_by<T>(
    query: &Query,
    mut items: Vec<T>,
    key: impl Fn(&T) -> String,
) -> GcpResult<(Vec<T>, Option<String>, usize)> {
    let token = match query.get("pageToken") {
        None => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("kg2:").map(str::to_owned))
                .ok_or_else(|| GcpError::invalid("Invalid page token."))?,
        ),
    };
    let descending = matches!(
        query
            .get("orderBy")
            .map(|o| o.trim().to_ascii_lowercase())
            .as_deref(),
        Some("name desc")
    );
    // `page` checks the query and orders; the token is applied here, by key.
    let rest = query.without("pageToken");
    if let Some(last) = token {
        let after = |k: &str| {
            if descending {
                k < last.as_str()
            } else {
                k > last.as_str()
            }
        };
        // `items` are in ascending order here; `page` reverses them for `name desc`.
        items.retain(|i| after(&key(i)));
    }
    let total = items.len();
    let (page_items, more, _) = page(&rest, items)?;
    let next = more
        .and(page_items.last())
        .map(|last| URL_SAFE_NO_PAD.encode(format!("kg2:{}", key(last))));
    Ok((page_items, next, total))
}

#[cfg(test)]
mod tests {
    use super::super::path::parse;
    use super::*;

    fn op(method: Method, path: &str) -> GcpResult<Op> {
        route(&method, parse(path)?)
    }

    #[test]
    fn methods_route_and_unknown_ones_are_4xx() {
        assert!(matches!(
            op(
                Method::POST,
                "p/locations/l/keyRings/r/cryptoKeys/k:encrypt"
            ),
            Ok(Op::Encrypt(_, None))
        ));
        assert!(matches!(
            op(Method::POST, "p/locations/l/keyRings/r/cryptoKeys/k/cryptoKeyVersions/3:encrypt"),
            Ok(Op::Encrypt(_, Some(ref v))) if v == "3"
        ));
        assert!(matches!(
            op(Method::GET, "p/locations/l/keyRings/r:getIamPolicy"),
            Ok(Op::RingGetIam(_))
        ));
        let e = op(
            Method::POST,
            "p/locations/l/keyRings/r/cryptoKeys/k:frobnicate",
        )
        .unwrap_err();
        assert_eq!((e.http.as_u16(), e.status), (404, "NOT_FOUND"));
        let e = op(Method::GET, "p/locations/l/keyRings/r/cryptoKeys/k:encrypt").unwrap_err();
        assert_eq!(e.http.as_u16(), 404);
        let e = op(Method::POST, "p/locations/l/keyRings/r/importJobs").unwrap_err();
        assert_eq!(e.http.as_u16(), 400);
        assert!(e.message.contains("Import jobs"));
    }

    fn q(s: &str) -> Query {
        Query::of(&format!("/x?{s}").parse().unwrap()).unwrap()
    }

    #[test]
    fn keyed_pages_survive_items_added_before_the_token() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        let (p, next, _) =
            page_by(&q("pageSize=2"), names(&["a", "b", "c", "d"]), Clone::clone).unwrap();
        assert_eq!(p, names(&["a", "b"]));
        let token = next.unwrap();
        // A key made meanwhile sorts before the token: the next page does not repeat `b`.
        let (p, last, _) = page_by(
            &q(&format!("pageSize=2&pageToken={token}")),
            names(&["a", "aa", "b", "c", "d"]),
            Clone::clone,
        )
        .unwrap();
        assert_eq!((p, last), (names(&["c", "d"]), None));
        let (p, _, _) = page_by(
            &q("pageSize=1&orderBy=name%20desc"),
            names(&["a", "b"]),
            Clone::clone,
        )
        .unwrap();
        assert_eq!(p, names(&["b"]));
        assert!(page_by(&q("pageToken=garbage"), names(&["a"]), Clone::clone).is_err());
    }

    #[test]
    fn pages_are_bounded_and_tokens_checked() {
        let items: Vec<u32> = (0..5).collect();
        let (p, next, total) = page(&q("pageSize=2"), items.clone()).unwrap();
        assert_eq!((p, total), (vec![0, 1], 5));
        let next = next.unwrap();
        let (p, next2, _) =
            page(&q(&format!("pageSize=2&pageToken={next}")), items.clone()).unwrap();
        assert_eq!(p, vec![2, 3]);
        let (p, last, _) = page(
            &q(&format!("pageSize=2&pageToken={}", next2.unwrap())),
            items.clone(),
        )
        .unwrap();
        assert_eq!((p, last), (vec![4], None));
        assert!(page(&q("pageToken=garbage"), items.clone()).is_err());
        assert!(page(&q("pageSize=-1"), items.clone()).is_err());
        assert!(page(&q("filter=name%3Dx"), items.clone()).is_err());
        assert!(page(&q("orderBy=createTime"), items.clone()).is_err());
        let (p, _, _) = page(&q("orderBy=name%20desc"), items).unwrap();
        assert_eq!(p[0], 4);
    }
}
