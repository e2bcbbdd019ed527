//! Kiln: a Kubernetes API server whose API surface is generated from the published
//! Kubernetes specifications. See `docs/ARCHITECTURE.md` for how the pieces fit.

pub mod api;
pub mod app;
pub mod apply;
pub mod bootstrap;
pub mod convert;
pub mod discovery;
pub mod errors;
pub mod field_validation;
pub mod fields;
pub mod gojson;
pub mod handlers;
pub mod kinds;
pub mod labels;
pub mod negotiate;
pub mod objects;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod request;
pub mod scale;
pub mod schema;
pub mod storage;
pub mod store;
pub mod strategy;
pub mod table;
pub mod validation;
pub mod watch;

/// The allocator the `kiln` binary (and the benchmarks that measure its code) runs with:
/// mimalloc (v3), built without its transparent-huge-page advice, which is what kept its
/// idle footprint above glibc's (DECISIONS D27, D33). One alias keeps the binary, the
/// benchmarks and the bench baselines on the same allocator.
pub type Allocator = mimalloc::MiMalloc;
/// An [`Allocator`], for `#[global_allocator] static A: kiln::Allocator = kiln::ALLOCATOR;`.
pub const ALLOCATOR: Allocator = mimalloc::MiMalloc;
