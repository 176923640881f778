//! `keygate keys import` and `keygate keys delete-material`: bring your own key material
//! into a key created with `--origin external`.
//!
//! `keys import` does the three steps of an import in one: it asks the gateway for import
//! parameters (a wrapping public key and a token), wraps the material locally with the
//! wrapping key, and imports it with the token. The material file is read into a zeroizing
//! buffer, never printed or logged; only the wrapped material leaves the process.

use std::io::{Read as _, Write};
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::Args;
use keygate_core::api::Gateway;
use keygate_core::import::wrap_material;
use keygate_core::{ImportedMaterial, KeyLocator, WrappingAlgorithm, WrappingKeySpec};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::args::{KeyArg, OutputArg};
use super::keys::confirm;

/// The largest material file taken: an RSA 4096 private key in PKCS#8 DER is about 2.4 KiB.
const MAX_MATERIAL_BYTES: u64 = 16 * 1024;

/// `keygate keys import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// The key material: 32 raw bytes for AES_256, 32–128 raw bytes for HMAC keys, a PKCS#8
    /// DER private key for RSA and EC keys.
    #[arg(long, value_name = "FILE")]
    pub material: PathBuf,
    /// When the material expires (RFC 3339, at most 365 days ahead); without it, it does
    /// not expire.
    #[arg(long = "valid-to", value_name = "TIME")]
    pub valid_to: Option<String>,
    /// How the material is wrapped on its way to the gateway.
    #[arg(
        long = "wrapping-algorithm",
        value_name = "ALGORITHM",
        default_value = "RSA_AES_KEY_WRAP_SHA_256"
    )]
    pub wrapping_algorithm: String,
    /// The size of the RSA wrapping key the gateway makes.
    #[arg(
        long = "wrapping-key-spec",
        value_name = "SPEC",
        default_value = "RSA_4096"
    )]
    pub wrapping_key_spec: String,
    #[command(flatten)]
    pub output: OutputArg,
}

/// Reads the material file: at most [`MAX_MATERIAL_BYTES`], not empty.
fn read_material(path: &PathBuf) -> Result<Zeroizing<Vec<u8>>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open the material file {}", path.display()))?;
    let mut material = Zeroizing::new(Vec::new());
    file.take(MAX_MATERIAL_BYTES + 1)
        .read_to_end(&mut material)
        .with_context(|| format!("cannot read the material file {}", path.display()))?;
    if material.is_empty() {
        bail!("the material file {} is empty", path.display());
    }
    if material.len() as u64 > MAX_MATERIAL_BYTES {
        bail!(
            "the material file {} is larger than {MAX_MATERIAL_BYTES} bytes: key material is \
             raw bytes (AES, HMAC) or a PKCS#8 DER private key (RSA, EC)",
            path.display()
        );
    }
    Ok(material)
}

/// Gets import parameters, wraps the material locally and imports it.
pub async fn import(api: &dyn Gateway, args: ImportArgs, out: &mut dyn Write) -> Result<()> {
    let algorithm: WrappingAlgorithm = args.wrapping_algorithm.parse()?;
    let wrapping_key: WrappingKeySpec = args.wrapping_key_spec.parse()?;
    let valid_to = args
        .valid_to
        .as_deref()
        .map(|t| {
            OffsetDateTime::parse(t, &Rfc3339)
                .with_context(|| format!("--valid-to `{t}` is not an RFC 3339 time"))
        })
        .transpose()?;
    let material = read_material(&args.material)?;
    let params = api
        .import_parameters(&args.key.key, algorithm, wrapping_key)
        .await?;
    let encrypted_material = wrap_material(&params.value.public_key, algorithm, &material)?;
    drop(material);
    // The key is known now: the import names it by URI, not by the caller's reference.
    let meta = api
        .import_key_material(
            &KeyLocator::Uri(params.uri.clone()),
            ImportedMaterial {
                import_token: params.value.import_token,
                encrypted_material,
                valid_to,
            },
        )
        .await?;
    confirm(
        api,
        "imported key material into",
        meta,
        args.output.output,
        out,
    )
    .await
}

/// Deletes a key's imported material.
pub async fn delete_material(
    api: &dyn Gateway,
    key: &KeyLocator,
    output: &OutputArg,
    out: &mut dyn Write,
) -> Result<()> {
    let meta = api.delete_imported_material(key).await?;
    confirm(
        api,
        "deleted the imported key material of",
        meta,
        output.output,
        out,
    )
    .await
}
