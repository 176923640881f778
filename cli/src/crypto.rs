//! `keygate sign | verify | mac` (encrypt and decrypt stream envelopes: see `envelope.rs`).

use std::io::Write;

use anyhow::Result;
use keygate_core::api::Gateway;
use keygate_core::{SignInput, SigningAlgorithm};

use super::Outcome;
use super::args::{MacArgs, SignArgs, VerifyArgs};
use super::io::{read_input, write_output};

/// The algorithm asked for; without one the service picks the key's default (the first its
/// spec lists that its provider accepts), in the same call.
fn algorithm(asked: Option<&str>) -> Result<Option<SigningAlgorithm>> {
    Ok(asked.map(str::parse).transpose()?)
}

/// The bytes to sign or verify: the message, or its digest with `--digest`.
fn input(digest: bool, bytes: &[u8]) -> SignInput<'_> {
    if digest {
        SignInput::Digest(bytes)
    } else {
        SignInput::Message(bytes)
    }
}

pub async fn sign(api: &dyn Gateway, args: SignArgs) -> Result<Outcome> {
    let alg = algorithm(args.algorithm.as_deref())?;
    let bytes = read_input(args.io.input.as_deref())?;
    let signature = api
        .sign(
            &args.key,
            args.version.as_deref(),
            input(args.digest, &bytes),
            alg,
        )
        .await?
        .value;
    write_output(args.io.output.as_deref(), &signature.bytes, false)?;
    Ok(Outcome::Success)
}

pub async fn verify(api: &dyn Gateway, args: VerifyArgs, out: &mut dyn Write) -> Result<Outcome> {
    let alg = algorithm(args.algorithm.as_deref())?;
    let bytes = read_input(args.input.as_deref())?;
    let signature = read_input(Some(&args.signature))?;
    let version = args.version.as_deref();
    let valid = api
        .verify(
            &args.key,
            version,
            input(args.digest, &bytes),
            &signature,
            alg,
        )
        .await?
        .value;
    verdict(out, "signature", valid)
}

pub async fn mac(api: &dyn Gateway, args: MacArgs, out: &mut dyn Write) -> Result<Outcome> {
    let message = read_input(args.io.input.as_deref())?;
    let version = args.version.as_deref();
    match &args.verify {
        Some(tag_file) => {
            let tag = read_input(Some(tag_file))?;
            let valid = api
                .verify_mac(&args.key, version, &message, &tag)
                .await?
                .value;
            verdict(out, "mac", valid)
        }
        None => {
            let tag = api.generate_mac(&args.key, version, &message).await?.value;
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
