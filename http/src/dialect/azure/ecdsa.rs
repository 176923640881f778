//! ECDSA shapes for the curves the `p256`/`p384` crates do not cover (P-521 and secp256k1):
//! a DER signature to JWS's fixed-size `r||s` and back, and the public point of a
//! SubjectPublicKeyInfo. Plain DER handling, no curve arithmetic: the provider's signature
//! and public key are checked by whoever verifies them.

use keygate_core::KeySpec;

/// The size in bytes of one coordinate (and of `r` and `s`) on `spec`'s curve.
pub fn coordinate_len(spec: KeySpec) -> Option<usize> {
    match spec {
        KeySpec::EcP256 | KeySpec::EcSecp256k1 => Some(32),
        KeySpec::EcP384 => Some(48),
        KeySpec::EcP521 => Some(66),
        _ => None,
    }
}

/// One DER length at the start of `input`: the length and the bytes after it.
fn read_len(input: &[u8]) -> Option<(usize, &[u8])> {
    let (&first, rest) = input.split_first()?;
    match first {
        0..=0x7f => Some((usize::from(first), rest)),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (len >= 0x80).then_some((usize::from(len), rest))
        }
        _ => None,
    }
}

/// One element of `tag` at the start of `input`: its content and what follows.
fn read(tag: u8, input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (len, rest) = read_len(rest)?;
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// A DER `length` prefix.
fn write_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        out.push(0x81);
        out.push(len as u8);
    }
}

/// A positive DER INTEGER of big-endian `bytes`.
fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed: &[u8] = match bytes.iter().position(|&b| b != 0) {
        Some(i) => &bytes[i..],
        None => &[0],
    };
    let pad = trimmed[0] & 0x80 != 0;
    let mut out = vec![0x02];
    write_len(&mut out, trimmed.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
    out
}

/// A DER `ECDSA-Sig-Value` as JWS's `r||s`, each left-padded to `len` bytes; `None` when it
/// is not one or a number does not fit.
pub fn der_to_raw(len: usize, der: &[u8]) -> Option<Vec<u8>> {
    let (body, rest) = read(0x30, der)?;
    if !rest.is_empty() {
        return None;
    }
    let (r, body) = read(0x02, body)?;
    let (s, body) = read(0x02, body)?;
    if !body.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(2 * len);
    for n in [r, s] {
        // A positive integer: a leading zero only before a high bit.
        let n = match n {
            [0, rest @ ..] if rest.first().is_some_and(|b| b & 0x80 != 0) => rest,
            [b, ..] if b & 0x80 == 0 => n,
            _ => return None,
        };
        if n.len() > len {
            return None;
        }
        out.extend(std::iter::repeat_n(0u8, len - n.len()));
        out.extend_from_slice(n);
    }
    Some(out)
}

/// JWS's `r||s` as a DER `ECDSA-Sig-Value`; `None` unless it is `2 * len` bytes with neither
/// number zero.
pub fn raw_to_der(len: usize, raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() != 2 * len {
        return None;
    }
    let (r, s) = raw.split_at(len);
    if r.iter().all(|&b| b == 0) || s.iter().all(|&b| b == 0) {
        return None;
    }
    let mut body = integer(r);
    body.extend(integer(s));
    let mut out = vec![0x30];
    write_len(&mut out, body.len());
    out.extend(body);
    Some(out)
}

/// The `x` and `y` of the uncompressed point that ends an EC SubjectPublicKeyInfo (its BIT
/// STRING is the last element: `00 04 x y`), each `len` bytes.
pub fn spki_point(len: usize, der: &[u8]) -> Option<(&[u8], &[u8])> {
    let point_len = 1 + 2 * len;
    let start = der.len().checked_sub(point_len + 1)?;
    let (prefix, point) = der[start..].split_at(1);
    if prefix != [0] || point[0] != 0x04 {
        return None;
    }
    Some(point[1..].split_at(len))
}

#[cfg(test)]
mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair as _};

    use super::*;

    #[test]
    fn signatures_convert_both_ways_and_points_come_out_of_the_spki() {
        let rng = SystemRandom::new();
        for (spec, asn1, fixed) in [
            (
                KeySpec::EcP521,
                &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                &signature::ECDSA_P521_SHA512_FIXED_SIGNING,
            ),
            (
                KeySpec::EcSecp256k1,
                &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
                &signature::ECDSA_P256K1_SHA256_FIXED_SIGNING,
            ),
        ] {
            let len = coordinate_len(spec).unwrap();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(asn1, &rng).unwrap();
            let der_pair = EcdsaKeyPair::from_pkcs8(asn1, pkcs8.as_ref()).unwrap();
            let raw_pair = EcdsaKeyPair::from_pkcs8(fixed, pkcs8.as_ref()).unwrap();
            for _ in 0..8 {
                let der = der_pair.sign(&rng, b"m").unwrap();
                let raw = der_to_raw(len, der.as_ref()).unwrap();
                assert_eq!(raw.len(), 2 * len);
                assert_eq!(raw_to_der(len, &raw).unwrap(), der.as_ref(), "{spec}");
                let fixed_sig = raw_pair.sign(&rng, b"m").unwrap();
                let back = raw_to_der(len, fixed_sig.as_ref()).unwrap();
                assert_eq!(der_to_raw(len, &back).unwrap(), fixed_sig.as_ref());
            }
            let spki = aws_lc_rs::encoding::AsDer::as_der(der_pair.public_key()).unwrap();
            let (x, y) = spki_point(len, spki.as_ref()).unwrap();
            let point = der_pair.public_key().as_ref();
            assert_eq!([&[4u8][..], x, y].concat(), point, "{spec}");
            assert!(raw_to_der(len, &vec![0u8; 2 * len]).is_none());
            assert!(raw_to_der(len, &[1u8; 10]).is_none());
            assert!(der_to_raw(len, &[0x30, 0x00]).is_none());
        }
    }
}
