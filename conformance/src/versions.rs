//! Key versions as objects of their own: per-version state, naming a version in an
//! operation, destroying and restoring one version, choosing the primary.
//!
//! Each check runs on the providers that declare the capability it needs
//! ([`Capabilities::version_state`](keygate_core::Capabilities::version_state),
//! `version_destruction`, `primary_selection`) and is skipped, naming it, elsewhere; one
//! check holds the providers that do not declare them to a typed `Unsupported`.

use time::OffsetDateTime;

use super::support::{
    Keys, Step, cheap_spec, context, ensure, expect_bool, expect_err, plain_usage, random_bytes,
    skip,
};
use super::{CheckResult, Failure, Outcome};
use keygate_core::SignInput;
use keygate_core::error::{Error, ErrorKind};
use keygate_core::key::{KeyMetadata, KeySpec, KeyVersion, VersionState};
use keygate_core::provider::KeyProvider;

/// The version a key was created with.
fn first_version(key: &KeyMetadata) -> Result<String, Failure> {
    key.primary_version
        .clone()
        .ok_or_else(|| Failure::new(format!("describe of {} names no primary version", key.id)))
}

/// Asserts `result` is an `InvalidState` whose message names `version` and `state`: what an
/// operation on a version that is not enabled answers (never an integrity failure).
fn expect_version_state<T>(
    what: &str,
    result: keygate_core::Result<T>,
    version: &str,
    state: VersionState,
) -> Result<(), Failure> {
    match result {
        Err(Error::InvalidState(msg)) => {
            ensure!(
                msg.contains(version) && msg.contains(state.as_str()),
                "{what}: the InvalidState message does not name version {version} and its state {}: {msg}",
                state.as_str()
            );
            Ok(())
        }
        other => expect_err(what, other, ErrorKind::InvalidState),
    }
}

/// Asserts the version answered by a version operation.
fn expect_version(
    what: &str,
    v: &KeyVersion,
    id: &str,
    state: VersionState,
) -> Result<(), Failure> {
    ensure!(
        v.id == id && v.state == state,
        "{what}: answered version {} in state {}, expected {id} in state {}",
        v.id,
        v.state.as_str(),
        state.as_str()
    );
    Ok(())
}

/// A provider that does not declare a version capability answers its operations with
/// `Unsupported` (after `NotFound` for an unknown key), never with a silent success.
pub async fn undeclared_version_operations_are_unsupported(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "version-undeclared");
    keys.finish(async {
        let caps = p.capabilities().clone();
        if caps.version_state && caps.version_destruction && caps.primary_selection {
            return skip("every version capability is declared");
        }
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let v = first_version(&key)?;
        let id = key.id.as_str();
        if !caps.version_state {
            expect_err(
                "enable_version",
                p.enable_version(id, &v).await,
                ErrorKind::Unsupported,
            )?;
            expect_err(
                "disable_version",
                p.disable_version(id, &v).await,
                ErrorKind::Unsupported,
            )?;
        }
        if !caps.version_destruction {
            expect_err(
                "destroy_version",
                p.destroy_version(id, &v).await,
                ErrorKind::Unsupported,
            )?;
            expect_err(
                "restore_version",
                p.restore_version(id, &v).await,
                ErrorKind::Unsupported,
            )?;
        }
        if !caps.primary_selection {
            expect_err(
                "set_primary_version",
                p.set_primary_version(id, &v).await,
                ErrorKind::Unsupported,
            )?;
        }
        // Nothing changed: the key still works with its only version.
        let after = p.describe_key(id).await.step("describe_key")?;
        ensure!(
            after.state == keygate_core::KeyState::Enabled
                && after.primary_version == key.primary_version,
            "refused version operations changed the key: {} primary {:?}",
            after.state,
            after.primary_version
        );
        Ok(Outcome::Passed)
    })
    .await
}

/// A disabled version refuses every use with `InvalidState` naming it; the others keep
/// working (an older version still decrypts after the primary is disabled); enabling it
/// again restores it; the key's own state wins over an enabled version; a version named for
/// a ciphertext another version sealed is `InvalidArgument`.
pub async fn disabled_version_refuses_use(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "version-disable");
    keys.finish(async {
        let caps = p.capabilities();
        if !caps.version_state {
            return skip("capabilities.version_state is false");
        }
        if !(caps.key_specs.contains(&KeySpec::Aes256)
            && caps.rotatable_specs.contains(&KeySpec::Aes256))
        {
            return skip("AES_256 is not in both capabilities.key_specs and rotatable_specs");
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let id = key.id.as_str();
        let v1 = first_version(&key)?;
        let ctx = context("versions");
        let pt = random_bytes(32);
        let old = p.encrypt(id, &pt, &ctx).await.step("encrypt")?;
        let v2 = p.rotate_key(id).await.step("rotate_key")?.id;

        let off = p
            .disable_version(id, &v1)
            .await
            .step("disable_version(1)")?;
        expect_version("disable_version", &off, &v1, VersionState::Disabled)?;
        let again = p
            .disable_version(id, &v1)
            .await
            .step("disable_version again")?;
        expect_version("disable_version again", &again, &v1, VersionState::Disabled)?;
        expect_version_state(
            "decrypt of a disabled version's ciphertext",
            p.decrypt(Some(id), None, &old.bytes, &ctx).await,
            &v1,
            VersionState::Disabled,
        )?;
        let new = p
            .encrypt(id, &pt, &ctx)
            .await
            .step("encrypt with version 1 disabled")?;
        ensure!(
            new.key_version == v2,
            "encrypt used version {}, expected {v2}",
            new.key_version
        );
        let listed = p.list_versions(id).await.step("list_versions")?;
        ensure!(
            listed
                .iter()
                .any(|v| v.id == v1 && v.state == VersionState::Disabled),
            "list_versions does not show version {v1} disabled"
        );

        let on = p.enable_version(id, &v1).await.step("enable_version")?;
        expect_version("enable_version", &on, &v1, VersionState::Enabled)?;
        let back = p
            .decrypt(Some(id), None, &old.bytes, &ctx)
            .await
            .step("decrypt after enable_version")?;
        ensure!(
            back.as_slice() == pt.as_slice(),
            "decrypt after enable_version returned other bytes"
        );

        // Disabling the primary strands nothing sealed by the others.
        p.disable_version(id, &v2)
            .await
            .step("disable_version(primary)")?;
        expect_version_state(
            "encrypt with the primary disabled",
            p.encrypt(id, &pt, &ctx).await,
            &v2,
            VersionState::Disabled,
        )?;
        let back = p
            .decrypt(Some(id), None, &old.bytes, &ctx)
            .await
            .step("decrypt of version 1 with the primary disabled")?;
        ensure!(
            back.as_slice() == pt.as_slice(),
            "decrypt with the primary disabled returned other bytes"
        );
        expect_err(
            "decrypt naming another version than the ciphertext's",
            p.decrypt(Some(id), Some(&v2), &old.bytes, &ctx).await,
            ErrorKind::InvalidArgument,
        )?;
        p.decrypt(Some(id), Some(&v1), &old.bytes, &ctx)
            .await
            .step("decrypt naming the ciphertext's version")?;

        // The key's state wins over an enabled version.
        p.disable_key(id).await.step("disable_key")?;
        expect_err(
            "decrypt of an enabled version of a disabled key",
            p.decrypt(Some(id), Some(&v1), &old.bytes, &ctx).await,
            ErrorKind::InvalidState,
        )?;
        expect_err(
            "enable_version of an unknown version",
            p.enable_version(id, "987654").await,
            ErrorKind::NotFound,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}

/// An asymmetric key signs with any enabled version it is told (the signature names it and
/// verifies with that version only); an HMAC key MACs the same way; a disabled version
/// refuses to sign; an unknown version is `NotFound`.
pub async fn operations_take_any_enabled_version(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "version-named");
    keys.finish(async {
        let caps = p.capabilities();
        if !caps.version_state {
            return skip("capabilities.version_state is false");
        }
        let usable = |s: &KeySpec| caps.key_specs.contains(s) && caps.rotatable_specs.contains(s);
        let signer = [KeySpec::EcP256, KeySpec::EcP384]
            .into_iter()
            .find(|s| usable(s));
        let mac = [KeySpec::HmacSha256].into_iter().find(|s| usable(s));
        if signer.is_none() && mac.is_none() {
            return skip(
                "no EC or HMAC spec is in both capabilities.key_specs and rotatable_specs",
            );
        }
        let msg = random_bytes(64);
        if let Some(spec) = signer {
            let key = keys.create(spec, None).await?;
            let id = key.id.as_str();
            let v1 = first_version(&key)?;
            let v2 = p.rotate_key(id).await.step("rotate_key")?.id;
            let alg = caps.signing_algorithms(spec)[0];
            let input = SignInput::Message(&msg);
            let sig = p
                .sign(id, Some(&v1), input, alg)
                .await
                .step("sign with version 1")?;
            ensure!(
                sig.key_version == v1,
                "sign with version {v1} reported version {}",
                sig.key_version
            );
            expect_bool(
                "verify with the signing version",
                p.verify(id, Some(&v1), input, &sig.bytes, alg).await,
                true,
            )?;
            expect_bool(
                "verify with the other version",
                p.verify(id, Some(&v2), input, &sig.bytes, alg).await,
                false,
            )?;
            let pk = p
                .get_public_key(id, Some(&v1))
                .await
                .step("get_public_key(1)")?;
            ensure!(
                pk.key_version == v1,
                "get_public_key(1) reported version {}",
                pk.key_version
            );
            p.disable_version(id, &v1).await.step("disable_version")?;
            expect_version_state(
                "sign with a disabled version",
                p.sign(id, Some(&v1), input, alg).await,
                &v1,
                VersionState::Disabled,
            )?;
            p.sign(id, None, input, alg)
                .await
                .step("sign with the primary")?;
            expect_err(
                "sign with an unknown version",
                p.sign(id, Some("987654"), input, alg).await,
                ErrorKind::NotFound,
            )?;
        }
        if let Some(spec) = mac {
            let key = keys.create(spec, None).await?;
            let id = key.id.as_str();
            let v1 = first_version(&key)?;
            let v2 = p.rotate_key(id).await.step("rotate_key")?.id;
            let tag = p
                .generate_mac(id, Some(&v1), &msg)
                .await
                .step("generate_mac with version 1")?;
            ensure!(
                tag.key_version == v1,
                "generate_mac with version {v1} reported {}",
                tag.key_version
            );
            expect_bool(
                "verify_mac with version 1",
                p.verify_mac(id, Some(&v1), &msg, &tag.bytes).await,
                true,
            )?;
            expect_bool(
                "verify_mac with version 2",
                p.verify_mac(id, Some(&v2), &msg, &tag.bytes).await,
                false,
            )?;
            p.disable_version(id, &v1).await.step("disable_version")?;
            expect_version_state(
                "verify_mac with a disabled version",
                p.verify_mac(id, Some(&v1), &msg, &tag.bytes).await,
                &v1,
                VersionState::Disabled,
            )?;
        }
        Ok(Outcome::Passed)
    })
    .await
}

/// Destroying one version stops it at once (`destroy_scheduled` with a future
/// `destroy_time`); it cannot be enabled until restored; restore leaves it `disabled`.
pub async fn destroyed_version_stops_at_once_and_restores_disabled(
    p: &dyn KeyProvider,
) -> CheckResult {
    let keys = Keys::new(p, "version-destroy");
    keys.finish(async {
        let caps = p.capabilities();
        if !caps.version_destruction {
            return skip("capabilities.version_destruction is false");
        }
        if !(caps.key_specs.contains(&KeySpec::Aes256)
            && caps.rotatable_specs.contains(&KeySpec::Aes256))
        {
            return skip("AES_256 is not in both capabilities.key_specs and rotatable_specs");
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let id = key.id.as_str();
        let v1 = first_version(&key)?;
        let ctx = context("destroy");
        let pt = random_bytes(32);
        let old = p.encrypt(id, &pt, &ctx).await.step("encrypt")?;
        p.rotate_key(id).await.step("rotate_key")?;

        let doomed = p.destroy_version(id, &v1).await.step("destroy_version")?;
        expect_version(
            "destroy_version",
            &doomed,
            &v1,
            VersionState::DestroyScheduled,
        )?;
        ensure!(
            doomed
                .destroy_time
                .is_some_and(|t| t > OffsetDateTime::now_utc()),
            "destroy_version answered destroy_time {:?}, expected a time to come",
            doomed.destroy_time
        );
        expect_version_state(
            "decrypt of a destroy-scheduled version's ciphertext",
            p.decrypt(Some(id), None, &old.bytes, &ctx).await,
            &v1,
            VersionState::DestroyScheduled,
        )?;
        expect_err(
            "enable_version of a destroy-scheduled version",
            p.enable_version(id, &v1).await,
            ErrorKind::InvalidState,
        )?;
        expect_err(
            "set_primary_version to a destroy-scheduled version",
            p.set_primary_version(id, &v1).await,
            ErrorKind::InvalidState,
        )
        .or_else(|e| {
            if caps.primary_selection {
                Err(e)
            } else {
                Ok(())
            }
        })?;

        let restored = p.restore_version(id, &v1).await.step("restore_version")?;
        expect_version("restore_version", &restored, &v1, VersionState::Disabled)?;
        ensure!(
            restored.destroy_time.is_none(),
            "a restored version still has a destroy_time"
        );
        expect_version_state(
            "decrypt after restore_version (still disabled)",
            p.decrypt(Some(id), None, &old.bytes, &ctx).await,
            &v1,
            VersionState::Disabled,
        )?;
        expect_err(
            "restore_version of a version not scheduled",
            p.restore_version(id, &v1).await,
            ErrorKind::InvalidState,
        )?;
        p.enable_version(id, &v1)
            .await
            .step("enable_version after restore")?;
        let back = p
            .decrypt(Some(id), None, &old.bytes, &ctx)
            .await
            .step("decrypt after restore and enable")?;
        ensure!(
            back.as_slice() == pt.as_slice(),
            "decrypt after restore returned other bytes"
        );
        Ok(Outcome::Passed)
    })
    .await
}

/// The primary version can move to any enabled version, back to an older one too (the
/// rollback of a bad rotation); new operations then use it; a version that is not enabled
/// cannot become primary.
pub async fn primary_moves_to_any_enabled_version(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "version-primary");
    keys.finish(async {
        let caps = p.capabilities();
        if !caps.primary_selection {
            return skip("capabilities.primary_selection is false");
        }
        if !(caps.key_specs.contains(&KeySpec::Aes256)
            && caps.rotatable_specs.contains(&KeySpec::Aes256))
        {
            return skip("AES_256 is not in both capabilities.key_specs and rotatable_specs");
        }
        let key = keys.create(KeySpec::Aes256, None).await?;
        let id = key.id.as_str();
        let v1 = first_version(&key)?;
        let v2 = p.rotate_key(id).await.step("rotate_key")?.id;
        let meta = p
            .set_primary_version(id, &v1)
            .await
            .step("set_primary_version(1)")?;
        ensure!(
            meta.primary_version.as_deref() == Some(v1.as_str()),
            "set_primary_version answered primary {:?}, expected {v1}",
            meta.primary_version
        );
        let ct = p
            .encrypt(id, b"rollback", &context("primary"))
            .await
            .step("encrypt")?;
        ensure!(
            ct.key_version == v1,
            "encrypt after set_primary_version used version {}",
            ct.key_version
        );
        let listed = p.list_versions(id).await.step("list_versions")?;
        let primaries: Vec<&str> = listed
            .iter()
            .filter(|v| v.primary)
            .map(|v| v.id.as_str())
            .collect();
        ensure!(
            primaries == [v1.as_str()],
            "list_versions shows primaries {primaries:?}, expected only {v1}"
        );
        if caps.version_state {
            p.disable_version(id, &v2)
                .await
                .step("disable_version(2)")?;
            expect_version_state(
                "set_primary_version to a disabled version",
                p.set_primary_version(id, &v2).await,
                &v2,
                VersionState::Disabled,
            )?;
        }
        expect_err(
            "set_primary_version to an unknown version",
            p.set_primary_version(id, "987654").await,
            ErrorKind::NotFound,
        )?;
        Ok(Outcome::Passed)
    })
    .await
}
