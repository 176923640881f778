//! The vault's certificate: the configured one, or one keygate generates.
//!
//! A generated certificate comes from keygate's own CA: `ca.pem` (what clients trust) and
//! `ca-key.pem`, `cert.pem` (the server certificate, then the CA) and `key.pem`, in the TLS
//! directory; private keys are written with mode 0600. On restart they are reused while the
//! CA has 30 days left and the server certificate has 30 days left and covers every name; a
//! new server certificate is signed by the same CA otherwise, so clients keep trusting it.

use std::path::{Path, PathBuf};

use keygate_core::{Error, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// Certificates this close to their end are replaced.
const RENEW_BEFORE: Duration = Duration::days(30);
const CA_LIFETIME: Duration = Duration::days(3650);
const SERVER_LIFETIME: Duration = Duration::days(397);

/// The PEM the listener serves, and the CA file clients should trust (generated case).
#[derive(Debug)]
pub struct TlsMaterial {
    /// Certificate chain (PEM).
    pub cert_chain: Vec<u8>,
    /// Private key (PEM).
    pub key: Vec<u8>,
    /// The CA to trust, when keygate generated the certificate.
    pub ca_file: Option<PathBuf>,
}

/// Generates (or reuses) a certificate for `names` in `dir`.
///
/// # Errors
/// [`Error::Unavailable`] when the directory cannot be written or read.
pub fn generated(dir: &Path, names: &[String], now: OffsetDateTime) -> Result<TlsMaterial> {
    let io = |what: &str, e: std::io::Error| {
        Error::unavailable(format!("azure TLS {what} in {}: {e}", dir.display()))
    };
    create_private_dir(dir).map_err(|e| io("directory", e))?;
    let (ca_file, ca_key_file) = (dir.join("ca.pem"), dir.join("ca-key.pem"));
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    let gen_err = |e: rcgen::Error| Error::unavailable_because("azure TLS certificate", e);

    let existing_ca = read(&ca_file)
        .zip(read(&ca_key_file))
        .filter(|(ca, _)| valid_until(ca).is_some_and(|end| end > now + RENEW_BEFORE));
    let (ca_pem, ca_key, new_ca) = match existing_ca {
        Some((ca, key)) => {
            let key = KeyPair::from_pem(&String::from_utf8_lossy(&key)).map_err(gen_err)?;
            (String::from_utf8_lossy(&ca).into_owned(), key, false)
        }
        None => {
            let key = KeyPair::generate().map_err(gen_err)?;
            let cert = ca_params(now).self_signed(&key).map_err(gen_err)?;
            write(&ca_key_file, key.serialize_pem().as_bytes(), 0o600)
                .map_err(|e| io("CA key", e))?;
            write(&ca_file, cert.pem().as_bytes(), 0o644).map_err(|e| io("CA", e))?;
            tracing::warn!(ca = %ca_file.display(), "azure dialect: generated a new CA; clients must trust this file");
            (cert.pem(), key, true)
        }
    };

    let reusable = (!new_ca)
        .then(|| read(&cert_file).zip(read(&key_file)))
        .flatten()
        .filter(|(cert, _)| {
            valid_until(cert).is_some_and(|end| end > now + RENEW_BEFORE)
                && first_der(cert).is_some_and(|der| names.iter().all(|n| covers(&der, n)))
        });
    let (cert_chain, key) = match reusable {
        Some(pair) => pair,
        None => {
            let key = KeyPair::generate().map_err(gen_err)?;
            let issuer = Issuer::new(ca_params(now), &ca_key);
            let mut params = CertificateParams::new(names.to_vec()).map_err(gen_err)?;
            params.not_before = now - Duration::hours(1);
            params.not_after = now + SERVER_LIFETIME;
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, "keygate azure dialect");
            params.distinguished_name = dn;
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params.use_authority_key_identifier_extension = true;
            let cert = params.signed_by(&key, &issuer).map_err(gen_err)?;
            let chain = format!("{}{ca_pem}", cert.pem()).into_bytes();
            let key_pem = key.serialize_pem().into_bytes();
            write(&key_file, &key_pem, 0o600).map_err(|e| io("key", e))?;
            write(&cert_file, &chain, 0o644).map_err(|e| io("certificate", e))?;
            (chain, key_pem)
        }
    };
    Ok(TlsMaterial {
        cert_chain,
        key,
        ca_file: Some(ca_file),
    })
}

/// The CA's parameters: the same every time, so a kept CA key re-signs as the same issuer.
fn ca_params(now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "keygate azure dialect CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + CA_LIFETIME;
    params
}

fn read(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Writes `bytes` to `path` through a temporary file (mode `mode`) and a rename, so a crash
/// never leaves half a key.
fn write(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(tmp, path)
}

/// The DER of the first certificate in `pem`.
fn first_der(pem: &[u8]) -> Option<Vec<u8>> {
    pem::parse_many(pem)
        .ok()?
        .into_iter()
        .find(|p| p.tag() == "CERTIFICATE")
        .map(|p| p.into_contents())
}

/// The first certificate's notAfter.
fn valid_until(pem: &[u8]) -> Option<OffsetDateTime> {
    not_after(&first_der(pem)?)
}

/// Whether the certificate `der` names `name` as a subject alternative name: its encoding
/// (`[2] dNSName` or `[7] iPAddress`, with its length) occurs in the DER.
fn covers(der: &[u8], name: &str) -> bool {
    let (tag, value) = match name.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => (0x87, ip.octets().to_vec()),
        Ok(std::net::IpAddr::V6(ip)) => (0x87, ip.octets().to_vec()),
        Err(_) => (0x82, name.as_bytes().to_vec()),
    };
    let Ok(len) = u8::try_from(value.len()) else {
        return false;
    };
    if len >= 0x80 {
        return false;
    }
    let mut needle = vec![tag, len];
    needle.extend_from_slice(&value);
    der.windows(needle.len()).any(|w| w == needle)
}

/// A DER element at the start of `input`: (tag, content, rest).
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// notAfter of a certificate: Certificate → tbsCertificate → [version], serial, signature,
/// issuer, validity { notBefore, notAfter }.
fn not_after(der: &[u8]) -> Option<OffsetDateTime> {
    let (_, cert, _) = element(der)?;
    let (_, tbs, _) = element(cert)?;
    let (tag, _, mut rest) = element(tbs)?;
    if tag == 0xa0 {
        rest = element(rest)?.2; // serial follows the explicit version
    }
    let rest = element(rest)?.2; // signature algorithm
    let rest = element(rest)?.2; // issuer
    let (_, validity, _) = element(rest)?;
    let after_not_before = element(validity)?.2;
    let (tag, time, _) = element(after_not_before)?;
    parse_time(tag, std::str::from_utf8(time).ok()?)
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u8, s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_suffix('Z')?;
    let (year, rest) = match tag {
        0x17 if s.len() == 12 => {
            let yy: i32 = s[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        0x18 if s.len() == 14 => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let num = |r: std::ops::Range<usize>| rest.get(r)?.parse::<u8>().ok();
    let month = time::Month::try_from(num(0..2)?).ok()?;
    let date = time::Date::from_calendar_date(year, month, num(2..4)?).ok()?;
    let t = time::Time::from_hms(num(4..6)?, num(6..8)?, num(8..10)?).ok()?;
    Some(date.with_time(t).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        vec!["localhost".into(), "127.0.0.1".into(), "::1".into()]
    }

    #[test]
    fn a_generated_certificate_is_reused_until_names_change() {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let first = generated(dir.path(), &names(), now).unwrap();
        let der = first_der(&first.cert_chain).unwrap();
        for n in names() {
            assert!(covers(&der, &n), "{n}");
        }
        assert!(!covers(&der, "example.com"));
        let end = not_after(&der).unwrap();
        assert!((end - (now + SERVER_LIFETIME)).abs() < Duration::seconds(2));

        let again = generated(dir.path(), &names(), now).unwrap();
        assert_eq!(again.cert_chain, first.cert_chain);
        let ca = std::fs::read(dir.path().join("ca.pem")).unwrap();

        let mut more = names();
        more.push("vault.example".into());
        let renewed = generated(dir.path(), &more, now).unwrap();
        assert_ne!(renewed.cert_chain, first.cert_chain);
        assert!(covers(
            &first_der(&renewed.cert_chain).unwrap(),
            "vault.example"
        ));
        // Same CA: clients keep trusting it.
        assert_eq!(std::fs::read(dir.path().join("ca.pem")).unwrap(), ca);

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            for f in ["key.pem", "ca-key.pem"] {
                let mode = std::fs::metadata(dir.path().join(f))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o777, 0o600, "{f}");
            }
        }
        // Near its end, the server certificate is replaced.
        let later = generated(dir.path(), &more, now + SERVER_LIFETIME).unwrap();
        assert_ne!(later.cert_chain, renewed.cert_chain);
    }

    #[test]
    fn der_times_parse() {
        assert_eq!(parse_time(0x17, "300101000000Z").unwrap().year(), 2030);
        assert_eq!(parse_time(0x18, "20500101000000Z").unwrap().year(), 2050);
        assert!(parse_time(0x17, "3001010000Z").is_none());
    }
}
