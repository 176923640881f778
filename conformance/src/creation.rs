//! Key creation and lookup: every spec, the errors creating can give, unknown keys and
//! versions.

use futures::future::join_all;

use super::support::{
    Keys, Step, all_passed, cheap_spec, ensure, expect_err, plain_usage, skip, unique_name,
};
use super::{CheckResult, Failure};
use keygate_core::SignInput;
use keygate_core::crypto::{DataKeySpec, EncryptionContext};
use keygate_core::error::ErrorKind;
use keygate_core::key::{
    CreateKeyRequest, KeyMetadata, KeySpec, KeyState, KeyUpdate, KeyUsage, Labels,
};
use keygate_core::provider::KeyProvider;

/// Checks the metadata a provider returned for a key created from `req`.
fn check_new_key(
    p: &dyn KeyProvider,
    what: &str,
    req: &CreateKeyRequest,
    meta: &KeyMetadata,
) -> Result<(), Failure> {
    let spec = req.spec;
    ensure!(
        meta.spec == spec,
        "{what}: spec is {}, expected {spec}",
        meta.spec
    );
    let usage = req.usage.unwrap_or_else(|| spec.default_usage());
    ensure!(
        meta.usage == usage,
        "{what} of {spec}: usage is {}, expected {usage}",
        meta.usage
    );
    ensure!(
        meta.state == KeyState::Enabled,
        "{what} of {spec}: state is {}, expected enabled",
        meta.state
    );
    ensure!(
        meta.name == req.name,
        "{what} of {spec}: name is `{}`, expected `{}`",
        meta.name,
        req.name
    );
    let uri = p.info().key_uri(&meta.id);
    ensure!(
        meta.uri == uri,
        "{what} of {spec}: uri is `{}`, expected info().key_uri(id) = `{uri}`",
        meta.uri
    );
    ensure!(
        meta.provider == p.info().name,
        "{what} of {spec}: provider is `{}`, expected `{}`",
        meta.provider,
        p.info().name
    );
    ensure!(
        meta.primary_version
            .as_deref()
            .is_some_and(|v| !v.is_empty()),
        "{what} of {spec}: primary_version is {:?}, expected a version id",
        meta.primary_version
    );
    ensure!(
        meta.description == req.description,
        "{what} of {spec}: description is {:?}, expected {:?}",
        meta.description,
        req.description
    );
    for (k, v) in &req.labels {
        ensure!(
            meta.labels.get(k) == Some(v),
            "{what} of {spec}: label `{k}` is {:?}, expected {v:?}",
            meta.labels.get(k)
        );
    }
    ensure!(
        meta.rotation.is_none(),
        "{what} of {spec}: rotation is {:?}, expected none (none was asked for)",
        meta.rotation
    );
    let age = time::OffsetDateTime::now_utc() - meta.created;
    ensure!(
        age.abs() <= time::Duration::days(1),
        "{what} of {spec}: created is {}, expected about now",
        meta.created
    );
    Ok(())
}

/// Creates one key of every spec in `key_specs` (default usage — signing for RSA when
/// `rsa_encryption` is off —, a description, labels when supported) and checks what `create_key`, `describe_key` and `list_versions` report.
pub async fn create_describe_every_spec(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "create-describe");
    keys.finish(async {
        let caps = p.capabilities();
        if caps.key_specs.is_empty() {
            return Err(Failure::new("capabilities.key_specs is empty"));
        }
        let cases = caps.key_specs.iter().map(|&spec| {
            let keys = &keys;
            async move {
                let mut labels = Labels::new();
                if caps.labels {
                    labels.insert("kgc-spec".into(), spec.as_str().to_ascii_lowercase());
                    labels.insert("kgc-suite".into(), "conformance".into());
                }
                // RSA keys take their default usage (encrypt) only where RSA encryption is
                // offered at all.
                let usage = (spec.is_rsa() && !caps.rsa_encryption).then_some(KeyUsage::Sign);
                let req = CreateKeyRequest {
                    usage,
                    description: format!("conformance key of spec {spec}"),
                    labels,
                    ..CreateKeyRequest::new(keys.name(), spec)
                };
                let created = keys.create_with(req.clone()).await?;
                check_new_key(p, "create_key", &req, &created)?;
                let described = p
                    .describe_key(&created.id)
                    .await
                    .step(format!("describe_key({})", created.id))?;
                check_new_key(p, "describe_key", &req, &described)?;
                ensure!(
                    described.id == created.id
                        && described.primary_version == created.primary_version,
                    "describe_key of {spec}: id/primary version {}/{:?} differ from create_key's {}/{:?}",
                    described.id,
                    described.primary_version,
                    created.id,
                    created.primary_version
                );
                if caps.list_versions {
                    let versions = p
                        .list_versions(&created.id)
                        .await
                        .step(format!("list_versions({})", created.id))?;
                    ensure!(
                        versions.len() == 1
                            && versions[0].primary
                            && Some(&versions[0].id) == created.primary_version.as_ref(),
                        "list_versions of a new {spec} key: expected one primary version {:?}, got {versions:?}",
                        created.primary_version
                    );
                }
                Ok(())
            }
        });
        all_passed(join_all(cases).await)
    })
    .await
}

/// Creating a key of a spec missing from `key_specs` fails with `Unsupported`.
pub async fn create_unsupported_spec_is_unsupported(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "unsupported-spec");
    keys.finish(async {
        let specs = &p.capabilities().key_specs;
        let missing: Vec<KeySpec> = KeySpec::ALL
            .into_iter()
            .filter(|s| !specs.contains(s))
            .collect();
        if missing.is_empty() {
            return skip("capabilities.key_specs lists every spec");
        }
        let mut results = Vec::new();
        for spec in missing {
            let req = CreateKeyRequest::new(keys.name(), spec);
            let what = format!(
                "create_key({}, {spec}) of a spec not in key_specs",
                req.name
            );
            results.push(expect_err(
                what,
                keys.try_create(req).await,
                ErrorKind::Unsupported,
            ));
        }
        all_passed(results)
    })
    .await
}

/// Creating a key under a name that exists fails with `AlreadyExists`, whatever the spec, and
/// leaves the first key alone.
pub async fn create_duplicate_name_is_already_exists(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "duplicate-name");
    keys.finish(async {
        let Some(spec) = cheap_spec(p) else {
            return skip("capabilities.key_specs is empty");
        };
        let first = keys.create(spec, None).await?;
        let mut results = Vec::new();
        for other in [spec, *p.capabilities().key_specs.last().unwrap_or(&spec)] {
            let req = CreateKeyRequest::new(first.name.clone(), other);
            results.push(expect_err(
                format!("create_key({}, {other}) with a taken name", first.name),
                keys.try_create(req).await,
                ErrorKind::AlreadyExists,
            ));
        }
        let still = p
            .describe_key(&first.id)
            .await
            .step(format!("describe_key({})", first.id))?;
        ensure!(
            still.spec == spec && still.primary_version == first.primary_version,
            "after a refused duplicate create, key {} is {} version {:?}, expected {spec} version {:?}",
            first.id,
            still.spec,
            still.primary_version,
            first.primary_version
        );
        all_passed(results)
    })
    .await
}

/// Creating a key with a usage its spec does not allow (EC for encryption, AES for signing,
/// ...) fails with `InvalidArgument`.
pub async fn create_invalid_usage_is_invalid_argument(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "invalid-usage");
    keys.finish(async {
        let mut results = Vec::new();
        for &spec in &p.capabilities().key_specs {
            for usage in [KeyUsage::Encrypt, KeyUsage::Sign, KeyUsage::Mac] {
                if spec.usages().contains(&usage) {
                    continue;
                }
                let req = CreateKeyRequest {
                    usage: Some(usage),
                    ..CreateKeyRequest::new(keys.name(), spec)
                };
                results.push(expect_err(
                    format!("create_key({spec}, usage {usage})"),
                    keys.try_create(req).await,
                    ErrorKind::InvalidArgument,
                ));
            }
        }
        if results.is_empty() {
            return skip("capabilities.key_specs is empty");
        }
        all_passed(results)
    })
    .await
}

/// Every operation on a key id the provider does not know fails with `NotFound`.
pub async fn unknown_key_is_not_found(p: &dyn KeyProvider) -> CheckResult {
    let caps = p.capabilities();
    let id = unique_name("missing");
    let ctx = EncryptionContext::new();
    let msg = b"keygate conformance";
    let nf = ErrorKind::NotFound;
    let mut results = vec![
        expect_err("describe_key(unknown)", p.describe_key(&id).await, nf),
        expect_err(
            "encrypt(unknown)",
            p.encrypt(&id, msg, &ctx).await.map(drop),
            nf,
        ),
        expect_err(
            "generate_data_key(unknown)",
            p.generate_data_key(&id, DataKeySpec::Aes256, &ctx)
                .await
                .map(drop),
            nf,
        ),
        expect_err(
            "sign(unknown)",
            p.sign(
                &id,
                None,
                SignInput::Message(msg),
                keygate_core::SigningAlgorithm::EcdsaSha256,
            )
            .await,
            nf,
        ),
        expect_err(
            "generate_mac(unknown)",
            p.generate_mac(&id, None, msg).await,
            nf,
        ),
        expect_err(
            "get_public_key(unknown)",
            p.get_public_key(&id, None).await,
            nf,
        ),
        expect_err("enable_key(unknown)", p.enable_key(&id).await, nf),
        expect_err("disable_key(unknown)", p.disable_key(&id).await, nf),
        expect_err(
            "update_key(unknown)",
            p.update_key(
                &id,
                KeyUpdate {
                    description: Some("x".into()),
                    ..KeyUpdate::default()
                },
            )
            .await,
            nf,
        ),
        expect_err(
            "schedule_deletion(unknown)",
            p.schedule_deletion(&id, caps.deletion_window.max).await,
            nf,
        ),
        expect_err("cancel_deletion(unknown)", p.cancel_deletion(&id).await, nf),
    ];
    if !caps.rotatable_specs.is_empty() {
        results.push(expect_err(
            "rotate_key(unknown)",
            p.rotate_key(&id).await,
            nf,
        ));
    }
    if caps.list_versions {
        results.push(expect_err(
            "list_versions(unknown)",
            p.list_versions(&id).await,
            nf,
        ));
    }
    if caps.rotation_period.is_some() {
        results.push(expect_err(
            "get_rotation(unknown)",
            p.get_rotation(&id).await,
            nf,
        ));
    }
    if caps.key_policy {
        results.push(expect_err(
            "get_key_policy(unknown)",
            p.get_key_policy(&id).await,
            nf,
        ));
    }
    all_passed(results)
}

/// A version id the key does not have gives `NotFound` (public key export and verify).
pub async fn unknown_version_is_not_found(p: &dyn KeyProvider) -> CheckResult {
    let keys = Keys::new(p, "unknown-version");
    keys.finish(async {
        let specs = &p.capabilities().key_specs;
        let Some(spec) = [KeySpec::EcP256, KeySpec::EcP384, KeySpec::Rsa2048]
            .into_iter()
            .chain(specs.iter().copied())
            .find(|s| s.is_asymmetric() && specs.contains(s))
        else {
            return skip("capabilities.key_specs has no RSA or EC spec");
        };
        let key = keys.create(spec, plain_usage(spec)).await?;
        let Some(&algorithm) = spec.signing_algorithms().first() else {
            return Err(Failure::new(format!("{spec} lists no signing algorithm")));
        };
        let missing = "999999";
        all_passed(vec![
            expect_err(
                format!("get_public_key({spec} {}, version {missing})", key.id),
                p.get_public_key(&key.id, Some(missing)).await,
                ErrorKind::NotFound,
            ),
            expect_err(
                format!("verify({spec} {}, version {missing})", key.id),
                p.verify(
                    &key.id,
                    Some(missing),
                    SignInput::Message(b"m"),
                    &[0; 64],
                    algorithm,
                )
                .await,
                ErrorKind::NotFound,
            ),
        ])
    })
    .await
}
