//! `keygate encrypt --format esdk` and `keygate decrypt` of AWS Encryption SDK messages.
//!
//! The message format is in `keygate_core::esdk`; this module wraps and unwraps its data
//! key through the gateway. Each encrypted data key is an `aws-kms` entry naming a keygate
//! key by its AWS-door ARN ([`Gateway::aws_key_arn`]), its ciphertext what KMS `Encrypt` through keygate's AWS door
//! returns for that key ([`Gateway::encrypt`]: authorized and audited per key), so the SDK,
//! calling `Decrypt` on keygate's AWS door, unwraps it. Opening tries the message's `aws-kms`
//! keys the caller may use, in order: one made through keygate's door (a keygate envelope)
//! with [`Gateway::decrypt`], one made by AWS KMS itself with [`Gateway::decrypt_native`] on
//! the AWS provider that holds the key the ARN names.

use std::io::Read;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use indicatif::ProgressBar;
use keygate_core::api::Gateway;
use keygate_core::envelope::{EnvelopeHeader, from_io_error, is_envelope};
use keygate_core::esdk::{
    AWS_KMS_PROVIDER_ID, AlgorithmSuite, DEFAULT_FRAME_LENGTH, EncryptedDataKey, EsdkOpener,
    EsdkSealer, MessageHeader, PUBLIC_KEY_CONTEXT_KEY, ParsedHeader, RESERVED_CONTEXT_PREFIX,
    SigningKey, new_data_key,
};
use keygate_core::{EncryptionContext, Error, KeyLocator, ProviderKind, SecretBytes};

use super::io::{CopyError, Input, Sink, copy};

/// The format `keygate encrypt` writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// keygate's own envelope (the default): names the key by its keygate URI, opens with
    /// any provider's key, and re-wraps without touching the body.
    #[default]
    Keygate,
    /// An AWS Encryption SDK message (format version 2), whose data keys are `aws-kms`
    /// entries naming keygate keys by their AWS-door ARNs.
    Esdk,
}

/// `keygate encrypt`'s format options.
#[derive(Debug, Clone, Args)]
pub struct FormatArgs {
    /// The output format: keygate (keygate's envelope, the default) or esdk (an AWS
    /// Encryption SDK message that `aws-encryption-cli` opens through keygate's AWS door).
    #[arg(long, value_enum, default_value_t = Format::Keygate)]
    pub format: Format,
    /// With --format esdk: the algorithm suite,
    /// AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (0x0578, the SDK's default) or
    /// AES_256_GCM_HKDF_SHA512_COMMIT_KEY (0x0478, unsigned).
    #[arg(long, value_name = "SUITE")]
    pub algorithm: Option<String>,
    /// With --format esdk: the frame length in bytes (default 4096, as the SDK's).
    #[arg(long, value_name = "BYTES")]
    pub frame_length: Option<u32>,
}

impl FormatArgs {
    /// Refuses ESDK options given for keygate's format.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the option.
    pub fn check(&self) -> Result<()> {
        if self.format == Format::Keygate
            && (self.algorithm.is_some() || self.frame_length.is_some())
        {
            bail!(Error::invalid(
                "--algorithm and --frame-length apply to --format esdk only"
            ));
        }
        Ok(())
    }
}

/// Seals `input` into `sink` as an AWS Encryption SDK message whose data key is wrapped
/// under each of `keys`.
///
/// # Errors
/// A context key the SDK reserves, an unknown suite or a frame length out of bounds; any
/// gateway refusal (each key's wrap is authorized and audited); I/O failures.
pub async fn encrypt(
    api: &dyn Gateway,
    keys: &[KeyLocator],
    mut context: EncryptionContext,
    format: &FormatArgs,
    input: Input,
    sink: Sink,
    bar: ProgressBar,
) -> Result<()> {
    if let Some(reserved) = context
        .0
        .keys()
        .find(|k| k.starts_with(RESERVED_CONTEXT_PREFIX))
    {
        bail!(Error::invalid(format!(
            "encryption context key `{reserved}` is reserved by the AWS Encryption SDK \
             (prefix {RESERVED_CONTEXT_PREFIX})"
        )));
    }
    let suite = match &format.algorithm {
        Some(name) => name.parse::<AlgorithmSuite>()?,
        None => AlgorithmSuite::default(),
    };
    let frame_length = format.frame_length.unwrap_or(DEFAULT_FRAME_LENGTH);
    let signer = if suite.is_signed() {
        let key = SigningKey::generate()?;
        context
            .0
            .insert(PUBLIC_KEY_CONTEXT_KEY.to_owned(), key.public_key_base64()?);
        Some(key)
    } else {
        None
    };
    // Every key's ARN first: a key that cannot be named costs no wrap.
    let mut named = Vec::with_capacity(keys.len());
    for key in keys {
        let arn = api.aws_key_arn(key).await?;
        named.push((KeyLocator::Uri(arn.uri), arn.value));
    }
    let data_key = new_data_key()?;
    let mut data_keys = Vec::with_capacity(named.len());
    for (key, arn) in named {
        // What KMS `Encrypt` through keygate's AWS door returns for this key.
        let blob = api.encrypt(&key, &data_key, &context).await?;
        data_keys.push(EncryptedDataKey {
            provider_id: AWS_KMS_PROVIDER_ID.to_owned(),
            provider_info: arn.into_bytes(),
            ciphertext: blob,
        });
    }
    tokio::task::spawn_blocking(move || -> Result<()> {
        let mut reader = bar.wrap_read(input.reader);
        let mut sealer = EsdkSealer::new(
            suite,
            frame_length,
            context,
            data_keys,
            &data_key,
            signer,
            sink,
        )?;
        copy(&mut reader, &mut sealer).map_err(|e| match e {
            CopyError::Read(e) => anyhow!(e).context("cannot read the input"),
            CopyError::Write(e) => anyhow!(from_io_error(e)).context("cannot write the message"),
        })?;
        sealer.finish()?.finish()?;
        bar.finish_and_clear();
        Ok(())
    })
    .await
    .context("the I/O task failed")?
}

/// Reads an ESDK message's header from `input` (positioned at the message's start).
///
/// # Errors
/// As [`MessageHeader::read_from`].
pub fn read_header(
    mut input: Box<dyn Read + Send>,
) -> Result<(ParsedHeader, Box<dyn Read + Send>)> {
    let parsed = MessageHeader::read_from(&mut input)?;
    Ok((parsed, input))
}

/// Checks `--context` against the message's: every pair given must be in it (the SDK's
/// rule; the message also carries pairs the SDK adds, such as its public key).
///
/// # Errors
/// [`Error::InvalidArgument`] naming the first pair that is missing or different.
pub fn check_context(given: &EncryptionContext, header: &MessageHeader) -> Result<()> {
    for (k, v) in &given.0 {
        if header.context.0.get(k) != Some(v) {
            bail!(Error::invalid(format!(
                "the message's encryption context does not have {k}={v}"
            )));
        }
    }
    Ok(())
}

/// The key URIs an `aws-kms` data key made by AWS KMS itself may live at: its key id under
/// each AWS provider, the one whose default prefix names the ARN's region first.
fn native_candidates(arn: &str, aws_prefixes: &[String]) -> Vec<String> {
    // arn:<partition>:kms:<region>:<account>:key/<id>
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (Some(region), Some(resource)) = (parts.get(3), parts.get(5)) else {
        return Vec::new();
    };
    let Some(id) = resource.strip_prefix("key/") else {
        return Vec::new();
    };
    let home = format!("aws-kms://{region}/");
    let mut prefixes: Vec<&String> = aws_prefixes.iter().filter(|p| **p == home).collect();
    prefixes.extend(aws_prefixes.iter().filter(|p| **p != home));
    prefixes.into_iter().map(|p| format!("{p}{id}")).collect()
}

/// Unwraps the message's data key with the first of its `aws-kms` data keys the caller may
/// use (only those under `only`, when given).
///
/// # Errors
/// The last refusal when none opens ([`Error::PermissionDenied`] when the caller may use
/// none of the keys); [`Error::InvalidArgument`] when the message has no `aws-kms` key (or
/// none under `only`).
pub async fn open_data_key(
    api: &dyn Gateway,
    header: &MessageHeader,
    only: Option<&KeyLocator>,
) -> Result<SecretBytes> {
    let wanted = match only {
        Some(KeyLocator::Uri(uri)) => Some(uri.clone()),
        Some(other) => Some(api.describe_key(other).await?.uri),
        None => None,
    };
    let mut aws_prefixes: Option<Vec<String>> = None;
    let mut last: Option<anyhow::Error> = None;
    for edk in &header.data_keys {
        if edk.provider_id != AWS_KMS_PROVIDER_ID {
            continue;
        }
        if is_envelope(&edk.ciphertext) {
            // Made through keygate's AWS door: a keygate envelope naming the key.
            let Ok((inner, _)) = EnvelopeHeader::decode(&edk.ciphertext) else {
                continue;
            };
            if wanted.as_ref().is_some_and(|w| *w != inner.key_uri) {
                continue;
            }
            match api.decrypt(&edk.ciphertext, &header.context).await {
                Ok(d) => return Ok(d.plaintext),
                Err(e) => last = Some(anyhow!(e).context(format!("key {}", inner.key_uri))),
            }
            continue;
        }
        // Made by AWS KMS itself: the key its ARN names, in an AWS provider.
        let Some(arn) = edk.info_text() else { continue };
        let prefixes = match &aws_prefixes {
            Some(p) => p,
            None => aws_prefixes.insert(
                api.providers()
                    .await?
                    .into_iter()
                    .filter(|p| p.kind == ProviderKind::Aws)
                    .map(|p| p.uri_prefix)
                    .collect(),
            ),
        };
        for uri in native_candidates(arn, prefixes) {
            if wanted.as_ref().is_some_and(|w| *w != uri) {
                continue;
            }
            let key = KeyLocator::Uri(uri.clone());
            match api
                .decrypt_native(&key, None, &edk.ciphertext, &header.context)
                .await
            {
                Ok(d) => return Ok(d.plaintext),
                Err(e) => last = Some(anyhow!(e).context(format!("key {uri} ({arn})"))),
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        anyhow!(Error::invalid(match only {
            Some(key) => format!("the message has no aws-kms data key under {key}"),
            None => "the message has no aws-kms data key keygate can unwrap".to_owned(),
        }))
    }))
}

/// Opens the body of a message whose data key is `data_key` into `sink`. The output only
/// takes its name once the whole message (its signature included) authenticated.
///
/// # Errors
/// [`Error::IntegrityFailure`] for anything that does not authenticate; I/O failures.
pub fn open_to(
    parsed: &ParsedHeader,
    data_key: &[u8],
    body: Box<dyn Read + Send>,
    sink: Sink,
    bar: &ProgressBar,
) -> Result<()> {
    let reader = EsdkOpener::new(parsed, data_key, body)?;
    super::envelope::drain_to(reader, sink, bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kms_arn_maps_to_its_region_provider_first() {
        let prefixes = vec![
            "aws-kms://prod/".to_owned(),
            "aws-kms://eu-west-1/".to_owned(),
        ];
        assert_eq!(
            native_candidates("arn:aws:kms:eu-west-1:111122223333:key/abc", &prefixes),
            vec!["aws-kms://eu-west-1/abc", "aws-kms://prod/abc"]
        );
        assert!(native_candidates("arn:aws:kms:eu-west-1:1:alias/x", &prefixes).is_empty());
        assert!(native_candidates("not-an-arn", &prefixes).is_empty());
    }

    #[test]
    fn esdk_options_need_the_esdk_format() {
        let args = FormatArgs {
            format: Format::Keygate,
            algorithm: None,
            frame_length: Some(4096),
        };
        assert!(args.check().is_err());
        let args = FormatArgs {
            format: Format::Esdk,
            ..args
        };
        assert!(args.check().is_ok());
    }
}
