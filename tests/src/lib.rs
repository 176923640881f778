//! Cross-crate scenarios live in `tests/`.
//!
//! This library holds no code. [`book`] includes every chapter of the keygate book
//! (`docs/src`) and the README as documentation, so `cargo test -p keygate-tests --doc`
//! compiles every Rust snippet in them, and runs those not marked `no_run`. The `book` module
//! of the `scenarios` test checks the other snippets (TOML, JSON) and that every chapter is
//! listed here.

/// The README and the keygate book (`docs/src`), chapter by chapter. Their Rust code blocks
/// are doctests; blocks in any other language name it (`toml`, `sh`, `text`, `json`) and are
/// skipped by rustdoc.
#[allow(
    rustdoc::broken_intra_doc_links,
    rustdoc::bare_urls,
    rustdoc::invalid_html_tags
)]
pub mod book {
    #[doc = include_str!("../../README.md")]
    pub mod readme {}
    #[doc = include_str!("../../docs/src/introduction.md")]
    pub mod introduction {}
    /// The guide: installing, the tour, configuration, the CLI, the console, Rust.
    pub mod guide {
        #[doc = include_str!("../../docs/src/guide/install.md")]
        pub mod install {}
        #[doc = include_str!("../../docs/src/guide/tour.md")]
        pub mod tour {}
        #[doc = include_str!("../../docs/src/guide/configuration.md")]
        pub mod configuration {}
        #[doc = include_str!("../../docs/src/guide/cli.md")]
        pub mod cli {}
        #[doc = include_str!("../../docs/src/guide/console.md")]
        pub mod console {}
        #[doc = include_str!("../../docs/src/guide/embedding.md")]
        pub mod embedding {}
    }
    /// Operating a gateway.
    pub mod operating {
        #[doc = include_str!("../../docs/src/operating/serving.md")]
        pub mod serving {}
        #[doc = include_str!("../../docs/src/operating/tls.md")]
        pub mod tls {}
        #[doc = include_str!("../../docs/src/operating/access.md")]
        pub mod access {}
        #[doc = include_str!("../../docs/src/operating/audit.md")]
        pub mod audit {}
        #[doc = include_str!("../../docs/src/operating/envelope.md")]
        pub mod envelope {}
        #[doc = include_str!("../../docs/src/operating/formats.md")]
        pub mod formats {}
        #[doc = include_str!("../../docs/src/operating/compliance.md")]
        pub mod compliance {}
        #[doc = include_str!("../../docs/src/operating/cost.md")]
        pub mod cost {}
        #[doc = include_str!("../../docs/src/operating/metrics.md")]
        pub mod metrics {}
        #[doc = include_str!("../../docs/src/operating/isolation.md")]
        pub mod isolation {}
        #[doc = include_str!("../../docs/src/operating/scheduler.md")]
        pub mod scheduler {}
        #[doc = include_str!("../../docs/src/operating/postgresql.md")]
        pub mod postgresql {}
        #[doc = include_str!("../../docs/src/operating/replicas.md")]
        pub mod replicas {}
        #[doc = include_str!("../../docs/src/operating/performance.md")]
        pub mod performance {}
        #[doc = include_str!("../../docs/src/operating/benchmarks.md")]
        pub mod benchmarks {}
    }
    /// One chapter per provider.
    pub mod providers {
        #[doc = include_str!("../../docs/src/providers/local.md")]
        pub mod local {}
        #[doc = include_str!("../../docs/src/providers/aws.md")]
        pub mod aws {}
        #[doc = include_str!("../../docs/src/providers/azure.md")]
        pub mod azure {}
        #[doc = include_str!("../../docs/src/providers/gcp.md")]
        pub mod gcp {}
    }
    /// One chapter per cloud dialect.
    pub mod dialects {
        #[doc = include_str!("../../docs/src/dialects/overview.md")]
        pub mod overview {}
        #[doc = include_str!("../../docs/src/dialects/aws.md")]
        pub mod aws {}
        #[doc = include_str!("../../docs/src/dialects/gcp.md")]
        pub mod gcp {}
        #[doc = include_str!("../../docs/src/dialects/azure.md")]
        pub mod azure {}
    }
    /// The reference: CLI, JSON output, exit codes, REST API, configuration.
    pub mod reference {
        #[doc = include_str!("../../docs/src/reference/cli.md")]
        pub mod cli {}
        #[doc = include_str!("../../docs/src/reference/json.md")]
        pub mod json {}
        #[doc = include_str!("../../docs/src/reference/exit-codes.md")]
        pub mod exit_codes {}
        #[doc = include_str!("../../docs/src/reference/rest-api.md")]
        pub mod rest_api {}
        #[doc = include_str!("../../docs/src/reference/envelope-format.md")]
        pub mod envelope_format {}
        #[doc = include_str!("../../docs/src/reference/key-policies.md")]
        pub mod key_policies {}
        #[doc = include_str!("../../docs/src/reference/configuration.md")]
        pub mod configuration {}
    }
    /// Developing keygate.
    pub mod development {
        #[doc = include_str!("../../docs/src/development/testing.md")]
        pub mod testing {}
    }
    /// The architecture decision records.
    pub mod adr {
        #[doc = include_str!("../../docs/src/adr/index.md")]
        pub mod index {}
        #[doc = include_str!("../../docs/src/adr/0001-one-service-layer.md")]
        pub mod adr_0001_one_service_layer {}
        #[doc = include_str!("../../docs/src/adr/0002-hash-chained-audit-log.md")]
        pub mod adr_0002_hash_chained_audit_log {}
        #[doc = include_str!("../../docs/src/adr/0003-envelope-format.md")]
        pub mod adr_0003_envelope_format {}
        #[doc = include_str!("../../docs/src/adr/0004-root-key-outside-databases.md")]
        pub mod adr_0004_root_key_outside_databases {}
        #[doc = include_str!("../../docs/src/adr/0005-sqlite-default-postgresql-to-scale.md")]
        pub mod adr_0005_sqlite_default_postgresql_to_scale {}
        #[doc = include_str!("../../docs/src/adr/0006-dialects-as-thin-translations.md")]
        pub mod adr_0006_dialects_as_thin_translations {}
        #[doc = include_str!("../../docs/src/adr/0007-conformance-suite-defines-a-provider.md")]
        pub mod adr_0007_conformance_suite_defines_a_provider {}
        #[doc = include_str!("../../docs/src/adr/0008-crate-split-along-seams.md")]
        pub mod adr_0008_crate_split_along_seams {}
        #[doc = include_str!("../../docs/src/adr/0009-one-key-reference.md")]
        pub mod adr_0009_one_key_reference {}
    }
}
