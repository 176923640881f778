//! Rotation: rotate now, and the rotation policy as keygate's automatic rotation schedule
//! and expiry policy.
//!
//! A policy has at most one `Rotate` action, triggered `timeAfterCreate` or
//! `timeBeforeExpiry`, at most one `Notify` action, triggered `timeBeforeExpiry`, and
//! `attributes.expiryTime`, the life of each new version (at least 28 days). Durations are
//! ISO-8601 in years, months, weeks and days (a year is 365 days, a month 30). A trigger
//! before expiry needs an `expiryTime`. The `Rotate` action is the key's rotation schedule;
//! `expiryTime`, `Notify` and a rotation before expiry are its expiry policy: keygate records
//! a `keys:notify` audit event when the primary version's notification comes due.

use axum::response::Response;
use keygate_core::api::Gateway as _;
use keygate_core::native::azure::iso_days;
use keygate_core::{ExpiryPolicy, RotationSchedule};
use keygate_server::service::RotationPolicy;
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

/// GET /keys/{n}/rotationpolicy: the rotation schedule and expiry policy.
pub(super) async fn get_policy(ctx: &Ctx<'_>, name: &str) -> Result<Response, AzureError> {
    let got = ctx
        .session
        .get_rotation_policy(&by_name(name))
        .await
        .map_err(ctx.err("getrotationpolicy", Some(name)))?
        .value;
    Ok(ok(&policy(ctx, name, got.rotation, got.expiry)))
}

/// PUT /keys/{n}/rotationpolicy: the expiry policy, then the rotation schedule.
pub(super) async fn set_policy(
    ctx: &Ctx<'_>,
    name: &str,
    body: &[u8],
) -> Result<Response, AzureError> {
    let p: PolicyIn = parse(body)?;
    let parsed = parse_policy(&p)?;
    let asked = RotationPolicy {
        rotation: parsed.period_days.map(RotationSchedule::every),
        expiry: parsed.expiry,
    };
    let stored = ctx
        .session
        .set_rotation_policy(&by_name(name), asked)
        .await
        .map_err(ctx.err("setrotationpolicy", Some(name)))?
        .value;
    Ok(ok(&policy(ctx, name, stored.rotation, stored.expiry)))
}

fn days(d: u32) -> String {
    format!("P{d}D")
}

fn policy(
    ctx: &Ctx<'_>,
    name: &str,
    schedule: Option<RotationSchedule>,
    expiry: Option<ExpiryPolicy>,
) -> PolicyOut {
    let mut actions = Vec::new();
    if let Some(s) = schedule {
        let trigger = match expiry.and_then(|e| e.rotate_days_before) {
            Some(before) => json!({ "timeBeforeExpiry": days(before) }),
            None => json!({ "timeAfterCreate": days(s.period_days) }),
        };
        actions.push(json!({ "trigger": trigger, "action": { "type": "Rotate" } }));
    }
    if let Some(before) = expiry.and_then(|e| e.notify_days_before) {
        actions.push(json!({
            "trigger": { "timeBeforeExpiry": days(before) },
            "action": { "type": "Notify" },
        }));
    }
    PolicyOut {
        id: format!("{}/keys/{name}/rotationpolicy", ctx.base),
        lifetime_actions: actions,
        attributes: match expiry {
            Some(e) => json!({ "expiryTime": days(e.expiry_days) }),
            None => json!({}),
        },
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

/// What a policy asks for: a rotation period and an expiry policy, each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::dialect::azure) struct ParsedPolicy {
    /// Days between rotations (`None`: no automatic rotation).
    pub period_days: Option<u32>,
    /// `expiryTime`, `Notify` and a rotation before expiry.
    pub expiry: Option<ExpiryPolicy>,
}

fn duration_days(field: &str, value: &str) -> Result<u32, AzureError> {
    iso_days(value).ok_or_else(|| {
        AzureError::bad_parameter(format!(
            "{field} {} is not an ISO-8601 duration in years, months, weeks or days.",
            value.chars().take(32).collect::<String>()
        ))
    })
}

/// The rotation period and expiry policy a policy asks for, or Key Vault's BadParameter.
pub(in crate::dialect::azure) fn parse_policy(p: &PolicyIn) -> Result<ParsedPolicy, AzureError> {
    let expiry_days = match p.attributes.as_ref().and_then(|a| a.expiry_time.as_deref()) {
        Some(t) => Some(duration_days("expiryTime", t)?),
        None => None,
    };
    let before_expiry = |t: &str| -> Result<u32, AzureError> {
        let d = duration_days("timeBeforeExpiry", t)?;
        match expiry_days {
            None => Err(AzureError::bad_parameter(
                "A timeBeforeExpiry trigger needs the policy's expiryTime.",
            )),
            Some(e) if d >= e => Err(AzureError::bad_parameter(format!(
                "timeBeforeExpiry must be shorter than the expiryTime (P{e}D)."
            ))),
            Some(_) => Ok(d),
        }
    };
    let (mut period, mut rotate_before, mut notify_before) = (None, None, None);
    for action in &p.lifetime_actions {
        let t = &action.trigger;
        if action.kind_is("Rotate") {
            if period.is_some() {
                return Err(AzureError::bad_parameter(
                    "A rotation policy has at most one Rotate action.",
                ));
            }
            let d = match (&t.time_after_create, &t.time_before_expiry) {
                (Some(after), None) => duration_days("timeAfterCreate", after)?,
                (None, Some(before)) => {
                    let b = before_expiry(before)?;
                    rotate_before = Some(b);
                    expiry_days.unwrap_or_default() - b
                }
                _ => {
                    return Err(AzureError::bad_parameter(
                        "A Rotate action needs exactly one trigger: timeAfterCreate or \
                         timeBeforeExpiry.",
                    ));
                }
            };
            if d < MIN_ROTATION_DAYS {
                return Err(AzureError::bad_parameter(format!(
                    "A rotation must come at least {MIN_ROTATION_DAYS} days (P{MIN_ROTATION_DAYS}D) \
                     after a version is made."
                )));
            }
            period = Some(d);
        } else if action.kind_is("Notify") {
            if notify_before.is_some() {
                return Err(AzureError::bad_parameter(
                    "A rotation policy has at most one Notify action.",
                ));
            }
            let (None, Some(before)) = (&t.time_after_create, &t.time_before_expiry) else {
                return Err(AzureError::bad_parameter(
                    "A Notify action is triggered by timeBeforeExpiry only.",
                ));
            };
            notify_before = Some(before_expiry(before)?);
        } else {
            return Err(AzureError::bad_parameter(
                "A lifetime action's type must be Rotate or Notify.",
            ));
        }
    }
    let expiry = match expiry_days {
        Some(expiry_days) => {
            let e = ExpiryPolicy {
                expiry_days,
                notify_days_before: notify_before,
                rotate_days_before: rotate_before,
            };
            e.validate()
                .map_err(|err| AzureError::bad_parameter(format!("Invalid policy: {err}.")))?;
            Some(e)
        }
        None => None,
    };
    Ok(ParsedPolicy {
        period_days: period,
        expiry,
    })
}

impl LifetimeAction {
    fn kind_is(&self, kind: &str) -> bool {
        self.action.kind.eq_ignore_ascii_case(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy_json(v: serde_json::Value) -> Result<ParsedPolicy, u16> {
        let p: PolicyIn = serde_json::from_value(v).unwrap();
        parse_policy(&p).map_err(|e| e.status.as_u16())
    }

    #[test]
    fn policies_map_to_a_period_and_an_expiry_or_are_refused() {
        let rotate = |t: &str| json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": t}, "action": {"type": "Rotate"}}]});
        assert_eq!(policy_json(rotate("P90D")).unwrap().period_days, Some(90));
        assert_eq!(policy_json(rotate("P90D")).unwrap().expiry, None);
        let none = policy_json(json!({"lifetimeActions": []})).unwrap();
        assert_eq!((none.period_days, none.expiry), (None, None));
        assert_eq!(policy_json(rotate("P6D")), Err(400));
        // Notify and a rotation before expiry, with an expiry.
        let full = policy_json(json!({
            "lifetimeActions": [
                {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}},
                {"trigger": {"timeBeforeExpiry": "P1W"}, "action": {"type": "notify"}}
            ],
            "attributes": {"expiryTime": "P3M"}
        }))
        .unwrap();
        assert_eq!(full.period_days, Some(60));
        assert_eq!(
            full.expiry,
            Some(ExpiryPolicy {
                expiry_days: 90,
                notify_days_before: Some(7),
                rotate_days_before: Some(30),
            })
        );
        // An expiry alone.
        let only = policy_json(json!({"lifetimeActions": [], "attributes": {"expiryTime": "P1Y"}}));
        assert_eq!(only.unwrap().expiry.map(|e| e.expiry_days), Some(365));
        for bad in [
            // before expiry without an expiry
            json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]}),
            json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Rotate"}}]}),
            // Notify after create
            json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Notify"}}], "attributes": {"expiryTime": "P90D"}}),
            // lead not shorter than the expiry, expiry under 28 days, a time of day
            json!({"lifetimeActions": [{"trigger": {"timeBeforeExpiry": "P90D"}, "action": {"type": "Notify"}}], "attributes": {"expiryTime": "P90D"}}),
            json!({"lifetimeActions": [], "attributes": {"expiryTime": "P27D"}}),
            json!({"lifetimeActions": [], "attributes": {"expiryTime": "PT48H"}}),
            // two Notify actions, an unknown action
            json!({"lifetimeActions": [
                {"trigger": {"timeBeforeExpiry": "P10D"}, "action": {"type": "Notify"}},
                {"trigger": {"timeBeforeExpiry": "P20D"}, "action": {"type": "Notify"}}
            ], "attributes": {"expiryTime": "P90D"}}),
            json!({"lifetimeActions": [{"trigger": {"timeAfterCreate": "P30D"}, "action": {"type": "Delete"}}]}),
        ] {
            assert_eq!(policy_json(bad.clone()), Err(400), "{bad}");
        }
    }
}
