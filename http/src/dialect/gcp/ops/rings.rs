//! Locations (keygate providers), key rings and random bytes.
//!
//! Key rings are the dialect's own records. Creating, reading and listing them goes through
//! the caller's session all the same ([`Session::record_op`], [`Session::write_record`]):
//! authorized (`keys:create` to create, `keys:list` to read) and audited, naming the ring (or
//! location); a created ring is committed with its outcome row, after its intent row.
//!
//! [`Session::record_op`]: keygate_server::service::Session::record_op
//! [`Session::write_record`]: keygate_server::service::Session::write_record

use keygate_core::access::Action;
use keygate_core::api::Gateway as _;
use keygate_server::store::ObjectWrite;
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
    let provider = ctx.provider(location).await?;
    let store = ctx.store();
    let stored = ctx
        .session
        .record_op(
            Action::KeysList,
            &provider.name,
            location.to_string(),
            || store.rings(&location.project, &provider.name),
        )
        .await?;
    let mut rings = vec![(IMPLICIT_RING.to_owned(), OffsetDateTime::UNIX_EPOCH)];
    rings.extend(stored);
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
    let provider = ctx.provider(location).await?;
    let name = RingName {
        location: location.clone(),
        ring: id,
    };
    let now = OffsetDateTime::now_utc();
    if name.ring == IMPLICIT_RING {
        ctx.session
            .record_op(
                Action::KeysCreate,
                &provider.name,
                name.to_string(),
                || async {
                    Err::<(), _>(keygate_core::Error::AlreadyExists(format!(
                        "KeyRing {name} already exists (keygate's implicit ring)."
                    )))
                },
            )
            .await?;
    }
    // The ring's record commits with its outcome audit row, in one store transaction.
    ctx.session
        .write_record(
            Action::KeysCreate,
            &provider.name,
            name.to_string(),
            ObjectWrite::CreateRing {
                project: location.project.clone(),
                location: provider.name.clone(),
                ring: name.ring.clone(),
                at: now,
            },
        )
        .await?;
    Ok(ring_json(&name, now))
}

/// `GET .../keyRings/{r}`.
pub async fn get(ctx: &Ctx<'_>, ring: &RingName) -> GcpResult<Value> {
    let provider = ctx.provider(&ring.location).await?;
    let created = ctx
        .session
        .record_op(
            Action::KeysList,
            &provider.name,
            ring.to_string(),
            || async {
                if ring.ring == IMPLICIT_RING {
                    return Ok(OffsetDateTime::UNIX_EPOCH);
                }
                ctx.store()
                    .ring(&ring.location.project, &provider.name, &ring.ring)
                    .await?
                    .ok_or_else(|| {
                        keygate_core::Error::not_found(format!("KeyRing {ring} not found."))
                    })
            },
        )
        .await?;
    Ok(ring_json(ring, created))
}
