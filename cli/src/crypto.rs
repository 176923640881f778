//! `keygate sign | verify | mac` (encrypt and decrypt stream envelopes: see `envelope.rs`).

use std::io::Write;

use anyhow::{Result, bail};
use keygate_core::SigningAlgorithm;
use keygate_core::api::Gateway;

use super::Outcome;
use super::args::{MacArgs, SignArgs, VerifyArgs};
use super::io::{read_input, write_output};

/// The algorithm asked for, or the key spec's first (RSA-PSS for RSA, ECDSA for EC).
async fn algorithm(api: &dyn Gateway, key: &str, asked: Option<&str>) -> Result<SigningAlgorithm> {
    if let Some(name) = asked {
        return Ok(name.parse()?);
    }
    let meta = api.describe_key(key).await?;
    match meta.spec.signing_algorithms().first() {
        Some(a) => Ok(*a),
        None => bail!("{} is a {} key and cannot sign", meta.uri, meta.spec),
    }
}

pub async fn sign(api: &dyn Gateway, args: SignArgs) -> Result<Outcome> {
    let alg = algorithm(api, &args.key, args.algorithm.as_deref()).await?;
    let input = read_input(args.io.input.as_deref())?;
    let signature = if args.digest {
        api.sign_digest(&args.key, &input, alg).await?
    } else {
        api.sign(&args.key, &input, alg).await?
    };
    write_output(args.io.output.as_deref(), &signature.bytes, false)?;
    Ok(Outcome::Success)
}

pub async fn verify(api: &dyn Gateway, args: VerifyArgs, out: &mut dyn Write) -> Result<Outcome> {
    let alg = algorithm(api, &args.key, args.algorithm.as_deref()).await?;
    let input = read_input(args.input.as_deref())?;
    let signature = read_input(Some(&args.signature))?;
    let version = args.version.as_deref();
    let valid = if args.digest {
        api.verify_digest(&args.key, version, &input, &signature, alg)
            .await?
    } else {
        api.verify(&args.key, version, &input, &signature, alg)
            .await?
    };
    verdict(out, "signature", valid)
}

pub async fn mac(api: &dyn Gateway, args: MacArgs, out: &mut dyn Write) -> Result<Outcome> {
    let message = read_input(args.io.input.as_deref())?;
    match &args.verify {
        Some(tag_file) => {
            let tag = read_input(Some(tag_file))?;
            let valid = api.verify_mac(&args.key, &message, &tag).await?;
            verdict(out, "mac", valid)
        }
        None => {
            let tag = api.generate_mac(&args.key, &message).await?;
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
