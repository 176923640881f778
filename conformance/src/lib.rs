//! The provider conformance suite: the executable definition of a [`KeyProvider`].
//!
//! Every provider (local, AWS, Azure, GCP) and every wrapper (audited, cached, remote over
//! HTTP) runs all of it. Each check is a `pub async fn` over `&dyn KeyProvider` that creates
//! its own uniquely named keys, never assumes the provider is empty, and branches on
//! [`Capabilities`](keygate_core::Capabilities) — never on the provider's name. A capability that
//! rules a check out makes it [`Outcome::Skipped`] with the capability named.
//!
//! Dates a provider reports (creation, deletion, next rotation) are compared with the system
//! clock, with a day's slack for backends that round: run the provider on the real clock.
//!
//! The checks are listed once, in [`for_each_check!`](crate::__conformance_for_each_check);
//! [`checks`] and [`conformance_tests!`](crate::conformance_tests) are both generated from that
//! list, so the runner and the per-check tests cannot drift apart.
//!
//! # Running it
//!
//! From a provider's integration test (one `#[test]` per check, so each check shows up on its
//! own in `cargo test` and nextest output):
//!
//! ```text
//! keygate_conformance::conformance_tests!(async { make_provider().await });
//! ```
//!
//! or, in one test, [`run_all`] and [`Report::assert_passed`]:
//!
//! ```text
//! keygate_conformance::run_all(&provider).await.assert_passed();
//! ```

#![warn(missing_docs)]

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use std::time::{Duration, Instant};

use futures::StreamExt;

use keygate_core::provider::KeyProvider;

mod support;

pub mod creation;
pub mod crypto;
pub mod lifecycle;
pub mod listing;
pub mod policy;
pub mod raw;
pub mod rotation;
pub mod signing;
pub mod versions;

/// How many checks [`run_all`] runs at once: enough to hide a slow backend's latency, few
/// enough not to trip its rate limits.
const CONCURRENCY: usize = 4;

/// What a check that did not fail concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything the check asserts held.
    Passed,
    /// The provider's capabilities rule the check out; the reason names the capability.
    Skipped(String),
}

/// Why a check failed: which operation, what was expected and what came back. Never contains
/// plaintext or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    message: String,
}

impl Failure {
    /// A failure described by `message`: the operation, what was expected and what came back.
    /// The caller keeps plaintext and key material out of it.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The description, as [`Display`](fmt::Display) prints it.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// What every check returns: an [`Outcome`] when nothing it asserts failed, else the
/// [`Failure`].
pub type CheckResult = Result<Outcome, Failure>;

/// The future a check returns, boxed so checks fit in one list.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

/// One conformance check: a name (the name of its `pub async fn` and of its generated test)
/// and the function that runs it.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The check's name, e.g. `symmetric_roundtrip`.
    pub name: &'static str,
    /// Runs the check against a provider.
    pub run: for<'a> fn(&'a dyn KeyProvider) -> CheckFuture<'a>,
    /// The check asserts something about the provider as a whole (listing), so [`run_all`]
    /// runs it alone, after the others, where no other check creates keys under it.
    pub exclusive: bool,
}

/// The single list of checks, handed to a callback macro.
///
/// `__conformance_for_each_check!(path::to::callback! { extra tokens })` expands to
/// `path::to::callback! { { extra tokens } concurrent [ module::check, ... ]
/// exclusive [ module::check, ... ] }`. Both [`checks`] and
/// [`conformance_tests!`](crate::conformance_tests) are built from it, so adding a check here
/// is the only step needed to run it everywhere.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_for_each_check {
    ($($callback:ident)::+ ! { $($extra:tt)* }) => {
        $($callback)::+! {
            { $($extra)* }
            concurrent [
                creation::create_describe_every_spec,
                creation::create_unsupported_spec_is_unsupported,
                creation::create_duplicate_name_is_already_exists,
                creation::create_invalid_usage_is_invalid_argument,
                creation::unknown_key_is_not_found,
                creation::unknown_version_is_not_found,
                lifecycle::disabled_key_refuses_use,
                lifecycle::pending_deletion_refuses_use_until_cancelled,
                lifecycle::deletion_window_out_of_bounds_is_invalid_argument,
                lifecycle::update_description_and_labels,
                rotation::rotate_key_makes_new_primary,
                rotation::rotated_key_decrypts_old_ciphertexts,
                rotation::rotated_key_verifies_old_signatures,
                rotation::rotation_schedule_roundtrip,
                crypto::symmetric_roundtrip,
                crypto::rsa_oaep_roundtrip,
                crypto::wrong_context_is_integrity_failure,
                crypto::tampered_ciphertext_is_integrity_failure,
                crypto::other_keys_ciphertext_is_integrity_failure,
                crypto::decrypt_without_key_id,
                crypto::oversized_plaintext_is_invalid_argument,
                crypto::data_key_roundtrip,
                crypto::concurrent_encrypts,
                crypto::secrets_stay_out_of_debug_and_errors,
                raw::raw_rsa_roundtrip,
                signing::sign_verify_every_algorithm,
                signing::signatures_verify_independently,
                signing::sign_digest_matches_sign,
                signing::public_key_encodings,
                signing::wrong_usage_is_invalid_state,
                signing::wrong_signing_algorithm_is_invalid_argument,
                signing::mac_roundtrip,
                policy::policy_roundtrip,
                versions::undeclared_version_operations_are_unsupported,
                versions::disabled_version_refuses_use,
                versions::operations_take_any_enabled_version,
                versions::destroyed_version_stops_at_once_and_restores_disabled,
                versions::primary_moves_to_any_enabled_version,
            ]
            exclusive [
                listing::list_pages_cover_every_key_once,
                listing::list_shows_current_state,
            ]
        }
    };
}

macro_rules! build_checks {
    (
        {}
        concurrent [ $($cm:ident :: $cn:ident),* $(,)? ]
        exclusive [ $($em:ident :: $en:ident),* $(,)? ]
    ) => {
        vec![
            $(build_checks!(@one $cm :: $cn, false),)*
            $(build_checks!(@one $em :: $en, true),)*
        ]
    };
    (@one $module:ident :: $name:ident, $exclusive:expr) => {
        Check {
            name: stringify!($name),
            run: {
                fn run(p: &dyn KeyProvider) -> CheckFuture<'_> {
                    Box::pin($module::$name(p))
                }
                run
            },
            exclusive: $exclusive,
        }
    };
}

/// Every check, in a stable order: the concurrent ones, then the exclusive ones.
pub fn checks() -> Vec<Check> {
    crate::__conformance_for_each_check!(build_checks! {})
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The check's name.
    pub name: &'static str,
    /// Passed, skipped (with the capability that rules it out) or failed (with why).
    pub result: CheckResult,
    /// Wall-clock time the check took, shown in the printed report.
    pub elapsed: Duration,
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.elapsed.as_millis();
        match &self.result {
            Ok(Outcome::Passed) => write!(f, "passed   {} ({ms} ms)", self.name),
            Ok(Outcome::Skipped(why)) => write!(f, "skipped  {} ({ms} ms): {why}", self.name),
            Err(failure) => write!(f, "FAILED   {} ({ms} ms): {failure}", self.name),
        }
    }
}

/// The results of a run, in check order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The provider's registered name, for the printed report.
    pub provider: String,
    /// One entry per check run.
    pub checks: Vec<CheckReport>,
}

impl Report {
    /// The checks that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks.iter().filter(|c| c.result.is_err())
    }

    /// The checks that were skipped.
    pub fn skipped(&self) -> impl Iterator<Item = &CheckReport> {
        self.checks
            .iter()
            .filter(|c| matches!(c.result, Ok(Outcome::Skipped(_))))
    }

    /// Prints one line per check to stderr (captured by the test harness unless the test
    /// fails) and panics, listing every failure, if any check failed.
    ///
    /// # Panics
    /// When at least one check failed.
    pub fn assert_passed(&self) {
        eprintln!("{self}");
        let failures: Vec<String> = self.failures().map(ToString::to_string).collect();
        if !failures.is_empty() {
            panic!(
                "{} conformance check(s) FAILED against provider `{}`:\n{}",
                failures.len(),
                self.provider,
                failures.join("\n")
            );
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "conformance of provider `{}`:", self.provider)?;
        for check in &self.checks {
            writeln!(f, "  {check}")?;
        }
        let failed = self.failures().count();
        let skipped = self.skipped().count();
        write!(
            f,
            "  {} passed, {skipped} skipped, {failed} failed",
            self.checks.len() - failed - skipped
        )
    }
}

async fn run_timed(check: Check, provider: &dyn KeyProvider) -> CheckReport {
    let start = Instant::now();
    let result = (check.run)(provider).await;
    CheckReport {
        name: check.name,
        result,
        elapsed: start.elapsed(),
    }
}

/// Runs every check: the concurrent ones four at a time, then the exclusive ones
/// one by one.
pub async fn run_all(provider: &dyn KeyProvider) -> Report {
    let (exclusive, concurrent): (Vec<Check>, Vec<Check>) =
        checks().into_iter().partition(|c| c.exclusive);
    let mut reports: Vec<CheckReport> = futures::stream::iter(concurrent)
        .map(|check| run_timed(check, provider))
        .buffered(CONCURRENCY)
        .collect()
        .await;
    for check in exclusive {
        reports.push(run_timed(check, provider).await);
    }
    Report {
        provider: provider.info().name.clone(),
        checks: reports,
    }
}

/// Runs the check called `name`. An unknown name gives a report with one failure, so a typo
/// cannot pass silently.
pub async fn run_one(provider: &dyn KeyProvider, name: &str) -> Report {
    let report = match checks().into_iter().find(|c| c.name == name) {
        Some(check) => run_timed(check, provider).await,
        None => CheckReport {
            name: "run_one",
            result: Err(Failure::new(format!(
                "there is no conformance check `{name}`"
            ))),
            elapsed: Duration::ZERO,
        },
    };
    Report {
        provider: provider.info().name.clone(),
        checks: vec![report],
    }
}

/// Anything a provider test may build: a provider itself, or a value that holds one (a
/// provider with the temporary directory it lives in). A
/// [`DynProvider`](keygate_core::DynProvider) is checked with [`run_all`] and `&**provider`.
pub trait ProviderHandle: Send + Sync {
    /// The provider to check.
    fn provider(&self) -> &dyn KeyProvider;
}

impl<P: KeyProvider> ProviderHandle for P {
    fn provider(&self) -> &dyn KeyProvider {
        self
    }
}

/// What a provider test's setup gives [`conformance_tests!`](crate::conformance_tests): a
/// provider to check, or why there is none. A provider whose backend is an external service
/// (LocalStack) skips when the service is not configured, and says so.
#[derive(Debug)]
pub enum Setup<H> {
    /// Check this provider.
    Ready(H),
    /// Do not run the check: the reason is printed to stderr (uncaptured, so it shows in
    /// `cargo test` output) and the test passes.
    Skip(String),
}

/// Anything a provider test's setup may produce: a [`ProviderHandle`] (always ready) or a
/// [`Setup`].
pub trait IntoSetup {
    /// The provider handle a [`Setup::Ready`] holds.
    type Handle: ProviderHandle;

    /// This value as a [`Setup`]; a bare handle is [`Setup::Ready`].
    fn into_setup(self) -> Setup<Self::Handle>;
}

impl<H: ProviderHandle> IntoSetup for H {
    type Handle = H;

    fn into_setup(self) -> Setup<H> {
        Setup::Ready(self)
    }
}

impl<H: ProviderHandle> IntoSetup for Setup<H> {
    type Handle = H;

    fn into_setup(self) -> Setup<H> {
        self
    }
}

/// Support for [`conformance_tests!`](crate::conformance_tests); not a stable API.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;
    use std::io::Write as _;

    use super::{IntoSetup, ProviderHandle, Setup, run_one};

    /// Builds the provider and runs one check on a multi-threaded runtime with two workers,
    /// as `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` would, without making
    /// the calling crate depend on tokio's macros. A [`Setup::Skip`] prints its reason to
    /// stderr (written directly, so the test harness does not capture it) and returns.
    ///
    /// # Panics
    /// When the runtime cannot be built or the check fails.
    pub fn run_check_test<S, F>(name: &str, make: F)
    where
        S: IntoSetup,
        F: Future<Output = S>,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
        let runtime = match runtime {
            Ok(rt) => rt,
            Err(e) => panic!("cannot start a tokio runtime for conformance check `{name}`: {e}"),
        };
        runtime.block_on(async {
            match make.await.into_setup() {
                Setup::Ready(handle) => run_one(handle.provider(), name).await.assert_passed(),
                Setup::Skip(why) => {
                    let _ = writeln!(
                        std::io::stderr(),
                        "SKIPPED conformance check `{name}`: {why}"
                    );
                }
            }
        });
    }
}

/// Generates one `#[test]` per conformance check, each building a fresh provider.
///
/// The argument is an expression whose value is a future of a provider (anything that is a
/// [`ProviderHandle`]: the provider or an `Arc` of it, such as a `DynProvider`) or of a
/// [`Setup`] (to skip, saying why, when an external service is not configured); it is
/// evaluated once per test. Attributes written before it and a `=>` are put on every generated test.
/// Written as `|check| expr`, the expression sees the name of the check its test runs (a
/// `&'static str`), for a setup that differs from one check to another.
/// Each test runs on a multi-threaded tokio runtime with two workers, as
/// `#[tokio::test(flavor = "multi_thread", worker_threads = 2)]` would; the calling crate needs
/// no tokio dependency for it.
///
/// ```text
/// mod local {
///     keygate_conformance::conformance_tests!(async {
///         keygate_providers::local::LocalProvider::builder().build().await.expect("provider")
///     });
/// }
///
/// mod aws {
///     // `Setup::Skip(reason)` when LocalStack is not configured, else `Setup::Ready(provider)`.
///     keygate_conformance::conformance_tests!(async { aws_provider_or_skip().await });
/// }
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($(#[$attr:meta])+ => |$check:ident| $make:expr $(,)?) => {
        $crate::__conformance_for_each_check!(
            $crate::__conformance_test_fns! { [$(#[$attr])+] ($check) ($make) }
        );
    };
    ($(#[$attr:meta])+ => $make:expr $(,)?) => {
        $crate::__conformance_for_each_check!(
            $crate::__conformance_test_fns! { [$(#[$attr])+] () ($make) }
        );
    };
    (|$check:ident| $make:expr $(,)?) => {
        $crate::__conformance_for_each_check!(
            $crate::__conformance_test_fns! { [] ($check) ($make) }
        );
    };
    ($make:expr $(,)?) => {
        $crate::__conformance_for_each_check!($crate::__conformance_test_fns! { [] () ($make) });
    };
}

/// The callback of [`conformance_tests!`]: one test function per listed check.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fns {
    (
        { $attrs:tt $check:tt ($make:expr) }
        concurrent [ $($cm:ident :: $cn:ident),* $(,)? ]
        exclusive [ $($em:ident :: $en:ident),* $(,)? ]
    ) => {
        $($crate::__conformance_test_fn! { $attrs $check ($make) $cn })*
        $($crate::__conformance_test_fn! { $attrs $check ($make) $en })*
    };
}

/// One generated conformance test.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test_fn {
    ([$(#[$attr:meta])*] () ($make:expr) $name:ident) => {
        #[test]
        $(#[$attr])*
        fn $name() {
            $crate::__private::run_check_test(stringify!($name), $make);
        }
    };
    ([$(#[$attr:meta])*] ($check:ident) ($make:expr) $name:ident) => {
        #[test]
        $(#[$attr])*
        fn $name() {
            let $check: &'static str = stringify!($name);
            $crate::__private::run_check_test($check, $make);
        }
    };
}

#[cfg(test)]
mod tests;
