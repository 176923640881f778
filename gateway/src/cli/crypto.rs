//! `keygate encrypt | decrypt | sign | verify | mac`.

use std::io::Write;

use anyhow::{Result, bail};
use keygate_core::{DynProvider, EncryptionContext, KeyProvider, SigningAlgorithm};
use keygate_gateway::Registry;

use super::args::{DecryptArgs, EncryptArgs, MacArgs, SignArgs, VerifyArgs};
use super::{Outcome, read_input, write_output};

pub async fn encrypt(registry: &Registry, args: EncryptArgs) -> Result<Outcome> {
    let context = EncryptionContext::from_pairs(&args.context)?;
    let k = registry.resolve(&args.key).await?;
    let plaintext = zeroize::Zeroizing::new(read_input(args.io.input.as_deref())?);
    let ciphertext = k.provider.encrypt(&k.id, &plaintext, &context).await?;
    write_output(args.io.output.as_deref(), &ciphertext.bytes, false)?;
    Ok(Outcome::Success)
}

pub async fn decrypt(registry: &Registry, args: DecryptArgs) -> Result<Outcome> {
    let context = EncryptionContext::from_pairs(&args.context)?;
    let ciphertext = read_input(args.io.input.as_deref())?;
    let plaintext = match &args.key {
        Some(key) => {
            let k = registry.resolve(key).await?;
            k.provider
                .decrypt(Some(&k.id), &ciphertext, &context)
                .await?
        }
        None => {
            let provider = self_describing_provider(registry)?;
            provider.decrypt(None, &ciphertext, &context).await?
        }
    };
    write_output(args.io.output.as_deref(), &plaintext, true)?;
    Ok(Outcome::Success)
}

/// The one provider whose ciphertexts name their key, for `decrypt` without `--key`.
fn self_describing_provider(registry: &Registry) -> Result<&DynProvider> {
    let mut candidates = registry
        .providers()
        .iter()
        .filter(|p| p.capabilities().self_describing_ciphertext);
    match (candidates.next(), candidates.next()) {
        (Some(p), None) => Ok(p),
        (None, _) => bail!("no provider can decrypt without a key; pass --key KEY"),
        (Some(_), Some(_)) => bail!("several providers are registered; pass --key KEY"),
    }
}

/// The algorithm asked for, or the key spec's first (RSA-PSS for RSA, ECDSA for EC).
async fn algorithm(
    provider: &dyn KeyProvider,
    id: &str,
    asked: Option<&str>,
) -> Result<SigningAlgorithm> {
    if let Some(name) = asked {
        return Ok(name.parse()?);
    }
    let meta = provider.describe_key(id).await?;
    match meta.spec.signing_algorithms().first() {
        Some(a) => Ok(*a),
        None => bail!("{} is a {} key and cannot sign", meta.uri, meta.spec),
    }
}

pub async fn sign(registry: &Registry, args: SignArgs) -> Result<Outcome> {
    let k = registry.resolve(&args.key).await?;
    let alg = algorithm(k.provider.as_ref(), &k.id, args.algorithm.as_deref()).await?;
    let message = read_input(args.io.input.as_deref())?;
    let signature = k.provider.sign(&k.id, &message, alg).await?;
    write_output(args.io.output.as_deref(), &signature.bytes, false)?;
    Ok(Outcome::Success)
}

pub async fn verify(registry: &Registry, args: VerifyArgs, out: &mut dyn Write) -> Result<Outcome> {
    let k = registry.resolve(&args.key).await?;
    let alg = algorithm(k.provider.as_ref(), &k.id, args.algorithm.as_deref()).await?;
    let message = read_input(args.input.as_deref())?;
    let signature = read_input(Some(&args.signature))?;
    let valid = k
        .provider
        .verify(&k.id, args.version.as_deref(), &message, &signature, alg)
        .await?;
    verdict(out, "signature", valid)
}

pub async fn mac(registry: &Registry, args: MacArgs, out: &mut dyn Write) -> Result<Outcome> {
    let k = registry.resolve(&args.key).await?;
    let message = read_input(args.io.input.as_deref())?;
    match &args.verify {
        Some(tag_file) => {
            let tag = read_input(Some(tag_file))?;
            let valid = k.provider.verify_mac(&k.id, &message, &tag).await?;
            verdict(out, "mac", valid)
        }
        None => {
            let tag = k.provider.generate_mac(&k.id, &message).await?;
            write_output(args.io.output.as_deref(), &tag.bytes, false)?;
            Ok(Outcome::Success)
        }
    }
}

fn verdict(out: &mut dyn Write, what: &str, valid: bool) -> Result<Outcome> {
    if valid {
        writeln!(out, "{what}: valid")?;
        Ok(Outcome::Success)
    } else {
        writeln!(out, "{what}: INVALID")?;
        Ok(Outcome::NotVerified)
    }
}
