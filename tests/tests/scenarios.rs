//! Cross-crate scenarios over real sockets: the registry over real providers, and each cloud
//! dialect driven by that cloud's official Rust SDK against a gateway on 127.0.0.1:0, and the
//! Azure and GCP providers' conformance runs against keygate's own dialects; the crate map's
//! arrows, checked on the resolved dependency graph; and the book's snippets.
#![allow(clippy::unwrap_used)]

#[path = "scenarios/architecture.rs"]
mod architecture;
#[path = "scenarios/aws.rs"]
mod aws;
#[path = "scenarios/azure.rs"]
mod azure;
#[path = "scenarios/azure_provider.rs"]
mod azure_provider;
#[path = "scenarios/backing.rs"]
mod backing;
#[path = "scenarios/book.rs"]
mod book;
#[path = "scenarios/cross.rs"]
mod cross;
#[path = "scenarios/gcp.rs"]
mod gcp;
#[path = "scenarios/gcp_provider.rs"]
mod gcp_provider;
#[path = "scenarios/hotpath.rs"]
mod hotpath;
#[path = "scenarios/isolation.rs"]
mod isolation;
#[path = "scenarios/malformed.rs"]
mod malformed;
#[path = "scenarios/multikey.rs"]
mod multikey;
#[path = "scenarios/probes.rs"]
mod probes;
#[path = "scenarios/registry.rs"]
mod registry;
#[path = "scenarios/support.rs"]
mod support;
#[path = "scenarios/versions.rs"]
mod versions;
