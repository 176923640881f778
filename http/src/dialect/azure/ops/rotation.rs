//! Rotation: rotate now, and the rotation policy as keygate's automatic rotation schedule.
//!
//! A policy is at most one `Rotate` action triggered `timeAfterCreate` (an ISO-8601 duration
//! in years, months, weeks and days: a year is 365 days, a month 30). keygate keys have no
//! expiry, so `timeBeforeExpiry`, `expiryTime` and `Notify` actions are refused.

use axum::response::Response;
use keygate_core::RotationSchedule;
use keygate_core::api::Gateway as _;
use keygate_core::native::azure::iso_days;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::Ctx;
use super::super::error::AzureError;
use super::by_name;
use super::keys::{bundle, describe};
use super::{ok, parse};

/// Azure's shortest rotation period.
const MIN_ROTATION_DAYS: u32 = 7;

/// POST /keys/{n}/rotate: `rotate`, then `describe` (+ the new version's public key).
pub(super) async fn rotate(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let version = ctx
        .session
        .rotate_key(&by_name(name))
        .await
        .map_err(ctx.err("rotate", Some(name)))?
        .value;
    let meta = describe(ctx, name, "rotate").await?;
    Ok(ok(&bundle(ctx, name, &meta, Some(&version.id)).await?))
}

/// GET /keys/{n}/rotationpolicy: `get_rotation`.
pub(super) async fn get_policy(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let schedule = ctx
        .session
        .get_rotation(&by_name(name))
        .await
        .map_err(ctx.err("getrotationpolicy", Some(name)))?
        .value;
    Ok(ok(&policy(ctx, name, schedule)))
}

/// PUT /keys/{n}/rotationpolicy: `set_rotation`.
pub(super) async fn set_policy(
    ctx: &Ctx<'_>,
    name: &str,
    body: &[u8],
) -> Result<Response, AzureError> {
    let p: PolicyIn = parse(body)?;
    let days = period_days(&p)?;
    let schedule = ctx
        .session
        .set_rotation(&by_name(name), days.map(RotationSchedule::every))
        .await
        .map_err(ctx.err("setrotationpolicy", Some(name)))?
        .rotation;
    Ok(ok(&policy(ctx, name, schedule)))
}

fn policy(ctx: &Ctx<'_>, name: &str, schedule: Option<RotationSchedule>) -> PolicyOut {
    PolicyOut {
        id: format!("{}/keys/{name}/rotationpolicy", ctx.base),
        lifetime_actions: schedule
            .map(|s| {
                vec![json!({
                    "trigger": { "timeAfterCreate": format!("P{}D", s.period_days) },
                    "action": { "type": "Rotate" },
                })]
            })
            .unwrap_or_default(),
        attributes: json!({}),
    }
}

/// A rotation policy as returned.
#[derive(Debug, Serialize)]
struct PolicyOut {
    id: String,
    #[serde(rename = "lifetimeActions")]
    lifetime_actions: Vec<serde_json::Value>,
    attributes: serde_json::Value,
}

/// A rotation policy as sent.
#[derive(Debug, Deserialize)]
pub(in crate::dialect::azure) struct PolicyIn {
    #[serde(rename = "lifetimeActions", default)]
    lifetime_actions: Vec<LifetimeAction>,
    #[serde(default)]
    attributes: Option<PolicyAttributes>,
}

#[derive(Debug, Deserialize)]
struct LifetimeAction {
    trigger: Trigger,
    action: ActionType,
}

#[derive(Debug, Deserialize)]
struct Trigger {
    #[serde(rename = "timeAfterCreate")]
    time_after_create: Option<String>,
    #[serde(rename = "timeBeforeExpiry")]
    time_before_expiry: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ActionType {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Deserialize)]
struct PolicyAttributes {
    #[serde(rename = "expiryTime")]
    expiry_time: Option<String>,
}

/// The rotation period a policy asks for (`None`: no automatic rotation).
pub(in crate::dialect::azure) fn period_days(p: &PolicyIn) -> Result<Option<u32>, AzureError> {
    if p.attributes
        .as_ref()
        .is_some_and(|a| a.expiry_time.is_some())
    {
        return Err(AzureError::bad_parameter(
            "keygate keys do not expire: expiryTime is not supported.",
        ));
    }
    let mut days = None;
    for action in &p.lifetime_actions {
        if !action.kind_is("Rotate") {
            return Err(AzureError::bad_parameter(if action.kind_is("Notify") {
                "keygate sends no expiry notifications: Notify actions are not supported."
            } else {
                "A lifetime action's type must be Rotate."
            }));
        }
        let t = &action.trigger;
        let after = match (&t.time_after_create, &t.time_before_expiry) {
            (Some(after), None) => after,
            (None, Some(_)) => {
                return Err(AzureError::bad_parameter(
                    "keygate keys do not expire: use timeAfterCreate, not timeBeforeExpiry.",
                ));
            }
            _ => {
                return Err(AzureError::bad_parameter(
                    "A Rotate action needs exactly one trigger: timeAfterCreate.",
                ));
            }
        };
        if days.is_some() {
            return Err(AzureError::bad_parameter(
                "A rotation policy has at most one Rotate action.",
            ));
        }
        let d = iso_days(after).ok_or_else(|| {
            AzureError::bad_parameter(format!(
                "timeAfterCreate {} is not an ISO-8601 duration in years, months, weeks or days.",
                after.chars().take(32).collect::<String>()
            ))
        })?;
        if d < MIN_ROTATION_DAYS {
            return Err(AzureError::bad_parameter(format!(
                "timeAfterCreate must be at least {MIN_ROTATION_DAYS} days (P{MIN_ROTATION_DAYS}D)."
            )));
        }
        days = Some(d);
    }
    Ok(days)
}

impl LifetimeAction {
    fn kind_is(&self, kind: &str) -> bool {
        self.action.kind.eq_ignore_ascii_case(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_json(v: serde_json::Value) -> Result<Option<u32>, u16> {
        let p: PolicyIn = serde_json::from_value(v).unwrap();
        period_days(&p).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn policies_map_to_a_period_or_are_refused() {
        let rotate = |t: &str| json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": t}, "action": {"type": "Rotate"}}]});
        assert_eq!(policy_json(rotate("P90D")), Ok(Some(90)));
        assert_eq!(policy_json(json!({"lifetimeActions": []})), Ok(None));
        assert_eq!(policy_json(rotate("P6D")), Err(400));
        assert_eq!(
            policy_json(
                json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]})
            ),
            Err(400)
        );
        assert_eq!(
            policy_json(
                json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}]})
            ),
            Err(400)
        );
        assert_eq!(
            policy_json(json!({"lifetimeActions": [], "attributes": {"expiryTime": "P2Y"}})),
            Err(400)
        );
    }
}
