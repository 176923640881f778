//! Rotation: `rotate_key`, what older versions still do, and automatic rotation schedules.

use futures::future::join_all;

use super::support::{
    Keys, Step, about_days_from_now, all_passed, context, ensure, expect_bool, expect_err,
    plain_usage, random_bytes, skip,
};
use super::{CheckResult, Failure, Outcome};
use keygate_core::SignInput;
use keygate_core::crypto::DataKeySpec;
use keygate_core::error::ErrorKind;
use keygate_core::key::{CreateKeyRequest, KeySpec, RotationSchedule};
use keygate_core::provider::KeyProvider;

/// Specs both creatable and rotatable, in `key_specs` order.
fn rotatable(p: &dyn KeyProvider) -> Vec<KeySpec> {
    let caps = p.capabilities();
    caps.key_specs
        .iter()
        .copied()
        .filter(|s| caps.rotatable_specs.contains(s))
        .collect()
}

/// For every rotatable spec: `rotate_key` returns a new enabled primary version, describe
/// shows it as primary, and `list_versions` gains exactly one version with exactly one primary.
pub async fn rotate_key_makes_new_primary(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "rotate-now");
    keys.finish(async {
        let specs = rotatable(p);
        if specs.is_empty() {
            return skip("capabilities.rotatable_specs has no spec from key_specs");
        }
        let list_versions = p.capabilities().list_versions;
        let cases = specs.into_iter().map(|spec| {
            let keys = &keys;
            async move {
                let key = keys.create(spec, plain_usage(spec)).await?;
                let before = if list_versions {
                    p.list_versions(&key.id).await.step("list_versions")?
                } else {
                    Vec::new()
                };
                let what = format!("rotate_key({spec} {})", key.id);
                let version = p.rotate_key(&key.id).await.step(&what)?;
                ensure!(
                    version.primary,
                    "{what} returned a version that is not primary"
                );
                ensure!(
                    Some(&version.id) != key.primary_version.as_ref(),
                    "{what} returned the old primary version {}",
                    version.id
                );
                ensure!(
                    version.state == keygate_core::VersionState::Enabled,
                    "{what} returned a version in state {}",
                    version.state.as_str()
                );
                let m = p.describe_key(&key.id).await.step("describe_key")?;
                ensure!(
                    m.primary_version.as_ref() == Some(&version.id),
                    "describe_key after {what}: primary_version {:?}, expected {}",
                    m.primary_version,
                    version.id
                );
                if list_versions {
                    let after = p.list_versions(&key.id).await.step("list_versions")?;
                    let primaries: Vec<&str> = after
                        .iter()
                        .filter(|v| v.primary)
                        .map(|v| v.id.as_str())
                        .collect();
                    ensure!(
                        after.len() == before.len() + 1,
                        "list_versions after {what}: {} versions, expected {}",
                        after.len(),
                        before.len() + 1
                    );
                    ensure!(
                        primaries == [version.id.as_str()],
                        "list_versions after {what}: primaries {primaries:?}, expected only {}",
                        version.id
                    );
                    ensure!(
                        before
                            .iter()
                            .all(|old| after.iter().any(|v| v.id == old.id)),
                        "list_versions after {what} lost an older version"
                    );
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// After `rotate_key` on an AES key, ciphertexts from the old version still decrypt and new
/// encryptions and data keys report the new version.
pub async fn rotated_key_decrypts_old_ciphertexts(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "rotate-decrypt");
    keys.finish(async {
        if !rotatable(p).contains(&KeySpec::Aes256) {
            return skip("AES_256 is not in both capabilities.key_specs and rotatable_specs");
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let ctx = context("rotation");
        let old_pt = random_bytes(48);
        let old_ct = p.encrypt(&key.id, &old_pt, &ctx).await.step("encrypt")?;
        ensure!(
            Some(&old_ct.key_version) == key.primary_version.as_ref(),
            "encrypt reported version {}, expected the primary {:?}",
            old_ct.key_version,
            key.primary_version
        );
        let new_version = p.rotate_key(&key.id).await.step("rotate_key")?;

        let new_pt = random_bytes(48);
        let new_ct = p
            .encrypt(&key.id, &new_pt, &ctx)
            .await
            .step("encrypt after rotate_key")?;
        ensure!(
            new_ct.key_version == new_version.id,
            "encrypt after rotate_key reported version {}, expected the new primary {}",
            new_ct.key_version,
            new_version.id
        );
        let dk = p
            .generate_data_key(&key.id, DataKeySpec::Aes256, &ctx)
            .await
            .step("generate_data_key after rotate_key")?;
        ensure!(
            dk.key_version == new_version.id,
            "generate_data_key after rotate_key reported version {}, expected {}",
            dk.key_version,
            new_version.id
        );
        for (label, ct, pt) in [
            ("a ciphertext from before rotate_key", &old_ct, &old_pt),
            ("a ciphertext from after rotate_key", &new_ct, &new_pt),
        ] {
            let got = p
                .decrypt(Some(&key.id), None, &ct.bytes, &ctx)
                .await
                .step(format!("decrypt of {label}"))?;
            ensure!(
                got.as_slice() == pt.as_slice(),
                "decrypt of {label} returned other bytes than were encrypted"
            );
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// After `rotate_key` on a signing key, signatures report the new version, the old version's
/// signatures verify against that version, and verification defaults to the new primary.
pub async fn rotated_key_verifies_old_signatures(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "rotate-verify");
    keys.finish(async {
        let specs = rotatable(p);
        let Some(spec) = [KeySpec::EcP256, KeySpec::EcP384, KeySpec::Rsa2048]
            .into_iter()
            .chain(specs.iter().copied())
            .find(|s| s.is_asymmetric() && specs.contains(s))
        else {
            return skip("capabilities.rotatable_specs has no RSA or EC spec from key_specs");
        };
        let Some(&alg) = spec.signing_algorithms().first() else {
            return Err(Failure::new(format!("{spec} lists no signing algorithm")));
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let Some(old_version) = key.primary_version.clone() else {
            return Err(Failure::new("create_key returned no primary_version"));
        };
        let msg = random_bytes(64);
        let old_sig = p
            .sign(&key.id, None, SignInput::Message(&msg), alg)
            .await
            .step("sign")?;
        let old_pk = p
            .get_public_key(&key.id, None)
            .await
            .step("get_public_key")?;
        let new_version = p.rotate_key(&key.id).await.step("rotate_key")?;

        let new_sig = p
            .sign(&key.id, None, SignInput::Message(&msg), alg)
            .await
            .step("sign after rotate_key")?;
        ensure!(
            new_sig.key_version == new_version.id,
            "sign after rotate_key reported version {}, expected {}",
            new_sig.key_version,
            new_version.id
        );
        let new_pk = p
            .get_public_key(&key.id, None)
            .await
            .step("get_public_key after rotate_key")?;
        ensure!(
            new_pk.key_version == new_version.id && new_pk.der != old_pk.der,
            "get_public_key after rotate_key: version {} (expected {}), {} key material",
            new_pk.key_version,
            new_version.id,
            if new_pk.der == old_pk.der {
                "same"
            } else {
                "new"
            }
        );
        let pinned = p
            .get_public_key(&key.id, Some(&old_version))
            .await
            .step(format!("get_public_key(version {old_version})"))?;
        ensure!(
            pinned.der == old_pk.der,
            "get_public_key(version {old_version}) after rotation returned other key material"
        );
        expect_bool(
            format!("verify(version {old_version}) of a signature from before rotate_key"),
            p.verify(
                &key.id,
                Some(&old_version),
                SignInput::Message(&msg),
                &old_sig.bytes,
                alg,
            )
            .await,
            true,
        )?;
        expect_bool(
            "verify(default version) of a signature from after rotate_key",
            p.verify(&key.id, None, SignInput::Message(&msg), &new_sig.bytes, alg)
                .await,
            true,
        )?;
        expect_bool(
            "verify(default version = new primary) of a signature by the old version",
            p.verify(&key.id, None, SignInput::Message(&msg), &old_sig.bytes, alg)
                .await,
            false,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}

/// Automatic rotation: a schedule given at creation or set later is reported with its period
/// and a next rotation one period ahead; `None` turns it off; periods outside
/// `rotation_period` fail with `InvalidArgument` and change nothing.
pub async fn rotation_schedule_roundtrip(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "rotation-schedule");
    keys.finish(async {
        let caps = p.capabilities();
        let Some(range) = caps.rotation_period else {
            return skip("capabilities.rotation_period is None");
        };
        let Some(&spec) = caps
            .key_specs
            .iter()
            .find(|s| caps.scheduled_rotation_specs.contains(s))
        else {
            return skip("capabilities.scheduled_rotation_specs has no spec from key_specs");
        };
        let first = 90_u32.clamp(range.min, range.max);
        let second = if first == range.min {
            range.max
        } else {
            range.min
        };

        let req = CreateKeyRequest {
            usage: plain_usage(spec),
            rotation: Some(RotationSchedule::every(first)),
            ..CreateKeyRequest::new(keys.name(), spec)
        };
        let key = keys.create_with(req).await?;
        let check = |what: &str, got: Option<RotationSchedule>, days: u32| {
            match got {
                Some(RotationSchedule {
                    period_days,
                    next_rotation: Some(next),
                }) if period_days == days && about_days_from_now(next, days, 1) => Ok(()),
                other => Err(Failure::new(format!(
                    "{what}: schedule {other:?}, expected every {days} days with the next rotation about {days} days from now"
                ))),
            }
        };
        check("create_key with a rotation schedule", key.rotation, first)?;
        let got = p
            .get_rotation(&key.id)
            .await
            .step("get_rotation")?;
        check("get_rotation after create_key", got, first)?;

        let what = format!("set_rotation(every {second} days)");
        let set = p
            .set_rotation(&key.id, Some(RotationSchedule::every(second)))
            .await
            .step(&what)?;
        check(&what, set, second)?;
        let got = p
            .get_rotation(&key.id)
            .await
            .step("get_rotation")?;
        check(&format!("get_rotation after {what}"), got, second)?;
        let described = p.describe_key(&key.id).await.step("describe_key")?;
        check(&format!("describe_key after {what}"), described.rotation, second)?;

        let off = p
            .set_rotation(&key.id, None)
            .await
            .step("set_rotation(None)")?;
        ensure!(
            off.is_none(),
            "set_rotation(None) returned {off:?}"
        );
        let got = p
            .get_rotation(&key.id)
            .await
            .step("get_rotation")?;
        ensure!(
            got.is_none(),
            "get_rotation after turning rotation off: {got:?}"
        );
        let described = p.describe_key(&key.id).await.step("describe_key")?;
        ensure!(
            described.rotation.is_none(),
            "describe_key after turning rotation off: rotation {:?}",
            described.rotation
        );

        let out_of_bounds = [range.min.checked_sub(1), range.max.checked_add(1)];
        for days in out_of_bounds.into_iter().flatten() {
            let what = format!("set_rotation(every {days} days) outside {range}");
            expect_err(
                &what,
                p.set_rotation(&key.id, Some(RotationSchedule::every(days)))
                    .await,
                ErrorKind::InvalidArgument,
            )?;
            let got = p
                .get_rotation(&key.id)
                .await
                .step("get_rotation")?;
            ensure!(got.is_none(), "after refused {what}: schedule {got:?}");
        }
        Ok(Outcome::Passed)
    })
    .await
}
