//! Kiln's code generator: load a release's published inputs (`schemas/v1.NN`), build
//! one API model ([`model::Model`]) and emit the `kiln-generated` crate's sources.

pub mod emit_conversions;
pub mod emit_openapi;
pub mod emit_registry;
pub mod emit_types;
pub mod error;
pub mod facts;
pub mod load;
pub mod model;
pub mod proto;
pub mod regen;
pub mod resources;
pub mod types;
