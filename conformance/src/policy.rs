//! Access policies: set/get roundtrips of the unified bindings.

use super::support::{Keys, Step, cheap_spec, ensure, plain_usage, skip};
use super::{CheckResult, Outcome};
use keygate_core::policy::Policy;
use keygate_core::provider::KeyProvider;

/// With `key_policy` and a `policy_sample`: `set_key_policy` of every sample binding returns them
/// as stored, `get_key_policy` reads them back (compared as normalized bindings), a second
/// `set_key_policy` of only the last sample binding replaces rather than merges, and another
/// key's policy is unaffected. The sample comes from the provider because principals are
/// provider-specific (an IAM ARN on AWS, a `user:` member elsewhere).
pub async fn policy_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "policy");
    keys.finish(async {
        if !p.capabilities().key_policy {
            return skip("capabilities.key_policy is false");
        }
        let sample = p.capabilities().policy_sample.clone();
        let Some(last) = sample.last().cloned() else {
            return skip("capabilities.policy_sample is empty");
        };
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let other = keys.create(spec, plain_usage(spec)).await?;
        let other_before = p
            .get_key_policy(&other.id)
            .await
            .step("get_key_policy(other key)")?;

        for (round, bindings) in [("first", sample), ("replacing", vec![last])] {
            let current = p.get_key_policy(&key.id).await.step("get_key_policy")?;
            let want = Policy::from_bindings(bindings);
            let policy = Policy {
                etag: current.etag,
                ..want.clone()
            };
            let what = format!("{round} set_key_policy({})", key.id);
            let stored = p.set_key_policy(&key.id, policy).await.step(&what)?;
            ensure!(
                stored.normalized_bindings() == want.normalized_bindings(),
                "{what} returned bindings {:?}, expected {:?}",
                stored.normalized_bindings(),
                want.normalized_bindings()
            );
            let read = p.get_key_policy(&key.id).await.step("get_key_policy")?;
            ensure!(
                read.normalized_bindings() == want.normalized_bindings(),
                "get_key_policy after {what}: bindings {:?}, expected {:?}",
                read.normalized_bindings(),
                want.normalized_bindings()
            );
        }

        let other_after = p
            .get_key_policy(&other.id)
            .await
            .step("get_key_policy(other key)")?;
        ensure!(
            other_after.normalized_bindings() == other_before.normalized_bindings(),
            "setting key {}'s policy changed key {}'s bindings to {:?}",
            key.id,
            other.id,
            other_after.normalized_bindings()
        );
        Ok(Outcome::Passed)
    })
    .await
}
