//! Locations (keygate providers), key rings and random bytes.
//!
//! Key rings are the dialect's own names (no keygate state), so creating, reading and listing
//! them makes no keygate call and no audit row; they are authorized by a pure policy check
//! (`keys:create` to create, `keys:list` to read).

use keygate_core::access::Action;
use keygate_core::api::Gateway as _;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::super::IMPLICIT_RING;
use super::super::error::{GcpError, GcpResult};
use super::super::model::ring_json;
use super::super::path::{LocationName, RingName, check_id};
use super::super::wire::{b64, crc};
use super::{Ctx, page};

fn location_json(project: &str, name: &str, display: &str) -> Value {
    json!({
        "name": format!("projects/{project}/locations/{name}"),
        "locationId": name,
        "displayName": display,
    })
}

fn authorize(ctx: &Ctx<'_>, action: Action) -> GcpResult<()> {
    if ctx.session.allows(action, None) {
        Ok(())
    } else {
        Err(GcpError::from(keygate_core::Error::PermissionDenied(
            action.as_str().into(),
        )))
    }
}

/// `GET projects/{p}/locations`: `global` and every provider.
pub async fn list_locations(ctx: &Ctx<'_>, project: &str) -> GcpResult<Value> {
    let mut all = vec![location_json(project, "global", "keygate default provider")];
    for p in ctx.session.providers().await? {
        let display = format!("keygate provider {} ({})", p.name, p.kind);
        all.push(location_json(project, &p.name, &display));
    }
    let (locations, next, _) = page(&ctx.query, all)?;
    let mut out = json!({ "locations": locations });
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// `GET projects/{p}/locations/{l}`.
pub async fn get_location(ctx: &Ctx<'_>, location: &LocationName) -> GcpResult<Value> {
    let p = ctx.provider(location).await?;
    let display = format!("keygate provider {} ({})", p.name, p.kind);
    Ok(location_json(
        &location.project,
        &location.location,
        &display,
    ))
}

/// `POST .../locations/{l}:generateRandomBytes` (SOFTWARE: keygate's own CSPRNG).
pub async fn generate_random(ctx: &Ctx<'_>, location: &LocationName) -> GcpResult<Value> {
    let body = ctx.body(&["location", "lengthBytes", "protectionLevel"])?;
    ctx.provider(location).await?;
    let len = body.int64("lengthBytes")?.unwrap_or(0);
    if !(8..=1024).contains(&len) {
        return Err(GcpError::invalid(
            "length_bytes must be between 8 and 1024.",
        ));
    }
    let bytes = ctx.session.generate_random(len as usize).await?;
    Ok(json!({ "data": b64(&bytes), "dataCrc32c": crc(&bytes).to_string() }))
}

/// `GET .../keyRings`: the implicit ring and the stored ones, by id.
pub async fn list(ctx: &Ctx<'_>, location: &LocationName) -> GcpResult<Value> {
    authorize(ctx, Action::KeysList)?;
    let provider = ctx.provider(location).await?;
    let store = ctx.store();
    let mut rings = vec![(IMPLICIT_RING.to_owned(), OffsetDateTime::UNIX_EPOCH)];
    rings.extend(store.rings(&location.project, &provider.name).await?);
    rings.sort_by(|a, b| a.0.cmp(&b.0));
    let (rings, next, total) = page(&ctx.query, rings)?;
    let rings: Vec<Value> = rings
        .into_iter()
        .map(|(r, created)| {
            let name = RingName {
                location: location.clone(),
                ring: r,
            };
            ring_json(&name, created)
        })
        .collect();
    let mut out = json!({ "keyRings": rings, "totalSize": total });
    if let Some(t) = next {
        out["nextPageToken"] = json!(t);
    }
    Ok(out)
}

/// `POST .../keyRings?keyRingId=`.
pub async fn create(ctx: &Ctx<'_>, location: &LocationName) -> GcpResult<Value> {
    let _ = ctx.body(&["name", "createTime"])?;
    let id = ctx
        .query
        .get("keyRingId")
        .ok_or_else(|| GcpError::invalid("The field 'key_ring_id' is required."))?
        .to_owned();
    check_id("key_ring_id", &id)?;
    authorize(ctx, Action::KeysCreate)?;
    let provider = ctx.provider(location).await?;
    let name = RingName {
        location: location.clone(),
        ring: id,
    };
    if name.ring == IMPLICIT_RING {
        return Err(GcpError::already_exists(format!(
            "KeyRing {name} already exists (keygate's implicit ring)."
        )));
    }
    let now = OffsetDateTime::now_utc();
    ctx.store()
        .create_ring(&location.project, &provider.name, &name.ring, now)
        .await?;
    Ok(ring_json(&name, now))
}

/// `GET .../keyRings/{r}`.
pub async fn get(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    authorize(ctx, Action::KeysList)?;
    let provider = ctx.provider(&ring.location).await?;
    let created = ctx.require_ring(ring, &provider.name).await?;
    Ok(ring_json(ring, created))
}
