//! keygate core: the domain model, the [`KeyProvider`] trait and its contract, the error type,
//! and the unified policy model. The suite that defines what a provider is lives in the
//! `keygate-conformance` crate, a dev-dependency of every provider's tests.
//!
//! This crate has no SDK, HTTP, database or terminal dependency; providers, the gateway and
//! the console build on it.

#![warn(missing_docs)]

pub mod access;
pub mod api;
pub mod audit;
pub mod compliance;
pub mod cost;
pub mod crypto;
pub mod envelope;
pub mod error;
pub mod esdk;
pub mod expiry;
#[doc(hidden)]
pub mod fuzzing;
pub mod import;
pub mod key;
pub mod keypolicy;
pub mod native;
pub mod policy;
pub mod private_fs;
pub mod provider;
pub mod root_key;
pub mod version;
pub mod wire;

pub use crypto::{
    Ciphertext, DataKey, DataKeySpec, EncryptionAlgorithm, EncryptionContext, MacTag, PublicKey,
    SecretBytes, SignInput, Signature, parse_pairs,
};
pub use envelope::{EnvelopeAlgorithm, EnvelopeHeader, OpeningReader, SealingWriter};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use expiry::ExpiryPolicy;
pub use import::{
    ExpirationModel, ImportFault, ImportInfo, ImportParameters, ImportedMaterial, KeyOrigin,
    WrappingAlgorithm, WrappingKeySpec,
};
pub use key::{
    CreateKeyRequest, KeyLocator, KeyMetadata, KeyRef, KeySpec, KeyState, KeyUpdate, KeyUsage,
    KeyVersion, Labels, MacAlgorithm, ProviderKind, RotationKind, RotationSchedule,
    SigningAlgorithm, VersionState, validate_alias_name, validate_name,
};
pub use policy::{Binding, NativePolicy, Policy};
pub use provider::{
    Capabilities, CapabilitiesBuilder, Clock, DayRange, DueMaintenance, DynProvider, KeyProvider,
    KeyProviderExt, ListKeysRequest, Maintenance, ManualClock, Page, ProviderInfo, SystemClock,
    VerifyMode, raw_unsupported,
};
