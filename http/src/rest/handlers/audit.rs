//! The audit log over HTTP: filtered pages, a live Server-Sent Events stream, verification.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt as _};
use keygate_core::api::Gateway as _;
use keygate_core::audit::{
    AuditCheckpoint, AuditEvent, AuditQuery, AuditVerification, ConsistencyProof, InclusionProof,
};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ApiResult;
use crate::rest::RestState;
use crate::rest::error::{ApiError, ErrorBody, ErrorDetail};
use crate::rest::extract::{Caller, Json, Query};
use keygate_core::wire::AuditPage;

/// How often an idle stream sends a comment, so proxies keep it open and a dead client is
/// noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The query string of `/v1/audit` and `/v1/audit/stream`, parsed by hand into an
/// [`AuditQuery`] for precise errors.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AuditParams {
    since: Option<String>,
    until: Option<String>,
    key: Option<String>,
    principal: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    after: Option<String>,
    limit: Option<u32>,
}

fn time_param(name: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, ApiError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map_err(|_| ApiError::bad_request(format!("`{name}` is not an RFC 3339 time")))
        })
        .transpose()
}

fn cursor(value: &str) -> Result<u64, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request("the audit cursor must be a sequence number"))
}

impl AuditParams {
    fn into_query(self) -> Result<AuditQuery, ApiError> {
        Ok(AuditQuery {
            since: time_param("since", self.since.as_deref())?,
            until: time_param("until", self.until.as_deref())?,
            key: self.key,
            principal: self.principal,
            action: self.action,
            outcome: self.outcome.as_deref().map(str::parse).transpose()?,
            after: self.after.as_deref().map(cursor).transpose()?,
            limit: self.limit,
        })
    }
}

pub(super) async fn query(
    Caller(s): Caller,
    Query(params): Query<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    let page = s.query_audit(&params.into_query()?).await?;
    Ok(Json(AuditPage {
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

/// `GET /v1/cost?since=30d`.
#[derive(Debug, Deserialize)]
pub(super) struct CostParams {
    since: Option<String>,
}

pub(super) async fn cost(
    Caller(s): Caller,
    Query(params): Query<CostParams>,
) -> ApiResult<Json<keygate_core::cost::CostReport>> {
    let since = params.since.as_deref().unwrap_or("30d");
    let since = keygate_core::cost::parse_since(since, OffsetDateTime::now_utc())?;
    Ok(Json(s.cost(since).await?))
}

/// `GET /v1/audit/verify?from_checkpoint=true`.
#[derive(Debug, Deserialize)]
pub(super) struct VerifyParams {
    /// Start from the newest kept checkpoint instead of the first row.
    #[serde(default)]
    from_checkpoint: bool,
}

pub(super) async fn verify(
    Caller(s): Caller,
    Query(params): Query<VerifyParams>,
) -> ApiResult<Json<AuditVerification>> {
    Ok(Json(if params.from_checkpoint {
        s.verify_audit_from_checkpoint().await?
    } else {
        s.verify_audit().await?
    }))
}

pub(super) async fn checkpoint(Caller(s): Caller) -> ApiResult<Json<AuditCheckpoint>> {
    Ok(Json(s.audit_checkpoint().await?))
}

/// The query string of `/v1/audit/proof`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ProofParams {
    seq: Option<u64>,
    size: Option<u64>,
}

pub(super) async fn proof(
    Caller(s): Caller,
    Query(params): Query<ProofParams>,
) -> ApiResult<Json<InclusionProof>> {
    let seq = params
        .seq
        .ok_or_else(|| ApiError::bad_request("`seq` (the row to prove) is required"))?;
    Ok(Json(s.audit_inclusion_proof(seq, params.size).await?))
}

/// The query string of `/v1/audit/consistency`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct ConsistencyParams {
    old_size: Option<u64>,
    size: Option<u64>,
}

pub(super) async fn consistency(
    Caller(s): Caller,
    Query(params): Query<ConsistencyParams>,
) -> ApiResult<Json<ConsistencyProof>> {
    let old = params.old_size.ok_or_else(|| {
        ApiError::bad_request("`old_size` (the older checkpoint's tree size) is required")
    })?;
    Ok(Json(s.audit_consistency_proof(old, params.size).await?))
}

fn audit_event(event: &AuditEvent) -> Event {
    let data = serde_json::to_string(event).unwrap_or_default();
    Event::default()
        .event("audit")
        .id(event.seq.to_string())
        .data(data)
}

fn error_event(err: keygate_core::Error) -> Event {
    let api = ApiError::from(err);
    let body = ErrorBody {
        error: ErrorDetail {
            kind: api.kind.to_owned(),
            message: api.message,
            request_id: None,
        },
    };
    Event::default()
        .event("error")
        .data(serde_json::to_string(&body).unwrap_or_default())
}

/// `text/event-stream`: the backlog after the cursor (`Last-Event-ID` wins over `after`),
/// then live rows, one `event: audit` each with `id: <seq>`. A read error is sent as one
/// `event: error` and ends the stream; so does server shutdown.
pub(super) async fn stream(
    State(state): State<RestState>,
    Caller(s): Caller,
    headers: HeaderMap,
    Query(params): Query<AuditParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let mut query = params.into_query()?;
    if let Some(last) = headers.get("last-event-id") {
        let last = last
            .to_str()
            .map_err(|_| ApiError::bad_request("Last-Event-ID is not text"))?;
        query.after = Some(cursor(last.trim())?);
    }
    let events = s.follow_audit(&query).await?;
    let mut ended = false;
    let events = events
        .take_while(move |item| {
            // Forward the first error, then stop.
            let keep = !ended;
            ended = ended || item.is_err();
            std::future::ready(keep)
        })
        .map(|item| {
            Ok(match item {
                Ok(event) => audit_event(&event),
                Err(err) => error_event(err),
            })
        });
    let mut shutdown = state.edge.shutdown.clone();
    let events = events.take_until(async move {
        // An error means the state (and its sender) is gone: stop as well.
        let _ = shutdown.wait_for(|stop| *stop).await;
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn params_parse_into_a_query_with_typed_errors() {
        let q = AuditParams {
            since: Some("2026-01-01T00:00:00Z".into()),
            outcome: Some("denied".into()),
            after: Some("42".into()),
            limit: Some(5),
            ..AuditParams::default()
        }
        .into_query()
        .unwrap();
        assert_eq!(q.after, Some(42));
        assert_eq!(q.limit, Some(5));
        assert!(q.since.is_some());
        for bad in [
            AuditParams {
                since: Some("yesterday".into()),
                ..AuditParams::default()
            },
            AuditParams {
                after: Some("x".into()),
                ..AuditParams::default()
            },
            AuditParams {
                outcome: Some("maybe".into()),
                ..AuditParams::default()
            },
        ] {
            assert_eq!(bad.into_query().unwrap_err().status.as_u16(), 400);
        }
    }
}
