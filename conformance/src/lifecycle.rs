//! Key lifecycle after creation: enable/disable, scheduled deletion and its bounds, metadata
//! updates.

use super::support::{
    Keys, Step, cheap_spec, ensure, exercise, exercise_name, expect_err, plain_usage, skip,
};
use super::{CheckResult, Failure, Outcome};
use keygate_core::crypto::{DataKeySpec, EncryptionContext};
use keygate_core::error::ErrorKind;
use keygate_core::key::{CreateKeyRequest, KeyMetadata, KeySpec, KeyState, KeyUpdate, Labels};
use keygate_core::provider::KeyProvider;

/// Checks both `returned` and a fresh `describe_key` show `want`.
async fn expect_state(
    p: &dyn KeyProvider,
    what: &str,
    returned: &KeyMetadata,
    want: &str,
) -> Result<KeyMetadata, Failure> {
    ensure!(
        returned.state.as_str() == want,
        "{what} returned state {}, expected {want}",
        returned.state
    );
    let described = p
        .describe_key(&returned.id)
        .await
        .step(format!("describe_key({}) after {what}", returned.id))?;
    ensure!(
        described.state.as_str() == want,
        "describe_key after {what}: state {}, expected {want}",
        described.state
    );
    Ok(described)
}

/// A disabled key refuses encrypt, decrypt and data keys (or its own operation, for other
/// usages) with `InvalidState`; enabling restores it; both calls are idempotent.
pub async fn disabled_key_refuses_use(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "disabled-key");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let ctx = EncryptionContext::new();
        let symmetric = spec == KeySpec::Aes256;
        let sealed = if symmetric {
            Some(p.encrypt(&key.id, b"before", &ctx).await.step("encrypt")?)
        } else {
            None
        };

        for round in ["disable_key", "disable_key again"] {
            let m = p.disable_key(&key.id).await.step(round)?;
            let m = expect_state(p, round, &m, "disabled").await?;
            expect_err(
                format!("{} while disabled", exercise_name(&m)),
                exercise(p, &m).await,
                ErrorKind::InvalidState,
            )?;
        }
        if let Some(ct) = &sealed {
            expect_err(
                "decrypt while disabled",
                p.decrypt(Some(&key.id), None, &ct.bytes, &ctx).await,
                ErrorKind::InvalidState,
            )?;
            expect_err(
                "generate_data_key while disabled",
                p.generate_data_key(&key.id, DataKeySpec::Aes256, &ctx)
                    .await
                    .map(drop),
                ErrorKind::InvalidState,
            )?;
        }

        for round in ["enable_key", "enable_key again"] {
            let m = p.enable_key(&key.id).await.step(round)?;
            let m = expect_state(p, round, &m, "enabled").await?;
            exercise(p, &m)
                .await
                .step(format!("{} after {round}", exercise_name(&m)))?;
        }
        if let Some(ct) = &sealed {
            let pt = p
                .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
                .await
                .step("decrypt after enable_key")?;
            ensure!(
                pt.as_slice() == b"before",
                "decrypt after enable_key returned other bytes than were encrypted"
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// `schedule_deletion` puts the key in `PendingDeletion` with a date `days` ahead; the key
/// refuses use; `cancel_deletion` brings it back disabled; `enable_key` makes it usable again.
pub async fn pending_deletion_refuses_use_until_cancelled(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "pending-deletion");
    keys.finish(async {
        let window = p.capabilities().deletion_window;
        let days = window.min.max(1);
        if !window.contains(days) {
            return skip(format!(
                "capabilities.deletion_window ({window}) allows only immediate deletion"
            ));
        }
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let ctx = EncryptionContext::new();
        let sealed = if spec == KeySpec::Aes256 {
            Some(p.encrypt(&key.id, b"before", &ctx).await.step("encrypt")?)
        } else {
            None
        };

        let what = format!("schedule_deletion({}, {days})", key.id);
        let pending = p.schedule_deletion(&key.id, days).await.step(&what)?;
        let described = expect_state(p, &what, &pending, "pending_deletion").await?;
        for m in [&pending, &described] {
            if let KeyState::PendingDeletion { deletion_date } = m.state {
                ensure!(
                    super::support::about_days_from_now(deletion_date, days, 1),
                    "{what}: deletion_date {deletion_date} is not about {days} days from now"
                );
            }
        }
        expect_err(
            format!("{} while pending deletion", exercise_name(&described)),
            exercise(p, &described).await,
            ErrorKind::InvalidState,
        )?;
        if let Some(ct) = &sealed {
            expect_err(
                "decrypt while pending deletion",
                p.decrypt(Some(&key.id), None, &ct.bytes, &ctx).await,
                ErrorKind::InvalidState,
            )?;
        }

        let what = format!("cancel_deletion({})", key.id);
        let cancelled = p.cancel_deletion(&key.id).await.step(&what)?;
        let cancelled = expect_state(p, &what, &cancelled, "disabled").await?;
        expect_err(
            format!("{} after cancel_deletion", exercise_name(&cancelled)),
            exercise(p, &cancelled).await,
            ErrorKind::InvalidState,
        )?;

        let enabled = p.enable_key(&key.id).await.step("enable_key")?;
        let enabled = expect_state(p, "enable_key after cancel", &enabled, "enabled").await?;
        exercise(p, &enabled)
            .await
            .step(format!("{} after enable_key", exercise_name(&enabled)))?;
        if let Some(ct) = &sealed {
            let pt = p
                .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
                .await
                .step("decrypt after cancel and enable")?;
            ensure!(
                pt.as_slice() == b"before",
                "decrypt after cancel and enable returned other bytes than were encrypted"
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// Deletion windows outside `deletion_window` fail with `InvalidArgument` and leave the key
/// enabled.
pub async fn deletion_window_out_of_bounds_is_invalid_argument(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "deletion-bounds");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let window = p.capabilities().deletion_window;
        let key = keys.create(spec, plain_usage(spec)).await?;
        let mut out_of_bounds = Vec::new();
        if let Some(below) = window.min.checked_sub(1) {
            out_of_bounds.push(below);
        }
        if let Some(above) = window.max.checked_add(1) {
            out_of_bounds.push(above);
        }
        for days in out_of_bounds {
            let what = format!("schedule_deletion({}, {days}) outside {window}", key.id);
            expect_err(
                &what,
                p.schedule_deletion(&key.id, days).await,
                ErrorKind::InvalidArgument,
            )?;
            let m = p.describe_key(&key.id).await.step("describe_key")?;
            ensure!(
                m.state == KeyState::Enabled,
                "after refused {what}: state {}, expected enabled",
                m.state
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// `update_key` changes the description and, when `labels` is supported, sets and removes
/// labels; `describe_key` shows the result and untouched fields stay as they were.
pub async fn update_description_and_labels(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "update-key");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let labels_supported = p.capabilities().labels;
        let mut labels = Labels::new();
        if labels_supported {
            labels.insert("keep".into(), "one".into());
            labels.insert("drop".into(), "two".into());
        }
        let req = CreateKeyRequest {
            usage: plain_usage(spec),
            description: "before".into(),
            labels: labels.clone(),
            ..CreateKeyRequest::new(keys.name(), spec)
        };
        let key = keys.create_with(req).await?;

        let update = KeyUpdate {
            description: Some("after update".into()),
            ..KeyUpdate::default()
        };
        let returned = p
            .update_key(&key.id, update)
            .await
            .step("update_key(description)")?;
        for (what, m) in [
            ("update_key", returned),
            (
                "describe_key",
                p.describe_key(&key.id).await.step("describe_key")?,
            ),
        ] {
            ensure!(
                m.description == "after update",
                "{what} after a description update: description {:?}, expected \"after update\"",
                m.description
            );
            ensure!(
                m.labels == key.labels,
                "{what} after a description-only update: labels {:?}, expected unchanged {:?}",
                m.labels,
                key.labels
            );
        }

        if !labels_supported {
            return skip("description updated; labels not checked: capabilities.labels is false");
        }
        let mut set_labels = Labels::new();
        set_labels.insert("keep".into(), "changed".into());
        set_labels.insert("added".into(), "three".into());
        let update = KeyUpdate {
            description: None,
            set_labels,
            remove_labels: vec!["drop".into()],
        };
        p.update_key(&key.id, update)
            .await
            .step("update_key(labels)")?;
        let m = p.describe_key(&key.id).await.step("describe_key")?;
        ensure!(
            m.labels.get("keep").map(String::as_str) == Some("changed")
                && m.labels.get("added").map(String::as_str) == Some("three")
                && !m.labels.contains_key("drop"),
            "describe_key after setting keep=changed, added=three and removing drop: labels {:?}",
            m.labels
        );
        ensure!(
            m.description == "after update",
            "a labels-only update changed the description to {:?}",
            m.description
        );
        Ok(Outcome::Passed)
    })
    .await
}
