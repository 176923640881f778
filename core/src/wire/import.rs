//! REST bodies of imported key material: `POST /v1/keys/{key}/import-parameters`,
//! `POST /v1/keys/{key}/import` and `POST /v1/keys/{key}/delete-material`.

use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::import::{WrappingAlgorithm, WrappingKeySpec};

/// `POST /v1/keys/{key}/import-parameters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParametersRequestBody {
    /// How the material will be wrapped (`RSAES_OAEP_SHA_256`, `RSA_AES_KEY_WRAP_SHA_256`, ...).
    pub wrapping_algorithm: WrappingAlgorithm,
    /// The RSA wrapping key's size (`RSA_2048`, `RSA_3072`, `RSA_4096`).
    pub wrapping_key_spec: WrappingKeySpec,
}

/// `POST /v1/keys/{key}/import-parameters` response.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportParametersBody {
    /// Base64 DER SubjectPublicKeyInfo of the wrapping key.
    pub public_key: String,
    /// Base64 import token, to send back with the material.
    pub import_token: String,
    /// The wrapping algorithm asked for.
    pub algorithm: WrappingAlgorithm,
    /// When the token and the wrapping key stop being accepted.
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
}

impl fmt::Debug for ImportParametersBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportParametersBody")
            .field("algorithm", &self.algorithm)
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}

/// `POST /v1/keys/{key}/import`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMaterialBody {
    /// Base64 import token from the import parameters.
    pub import_token: String,
    /// Base64 material, wrapped under the parameters' public key.
    pub encrypted_material: String,
    /// When the material expires (RFC 3339); absent when it does not.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_to: Option<OffsetDateTime>,
}

impl fmt::Debug for ImportMaterialBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportMaterialBody")
            .field("valid_to", &self.valid_to)
            .finish_non_exhaustive()
    }
}
