//! Hand-written runtime support for Kiln's generated Kubernetes API model.
//!
//! Generated code (the `kiln-generated` crate) refers to the special apimachinery
//! types defined here (`Time`, `MicroTime`, `Quantity`, `IntOrString`, raw JSON,
//! base64 byte strings), and fills in the registry shapes that the server reads.

pub mod codec;
pub mod conversions;
pub mod openapi;
pub mod registry;

pub mod byte_string;
pub mod duration;
pub mod go;
pub mod int_or_string;
pub mod proto;
pub mod quantity;
pub mod raw;
pub mod schema;
pub mod time;

pub use byte_string::ByteString;
/// The generated model's string: text of up to 24 bytes is kept inline, longer text on the
/// heap (D35).
pub use compact_str::CompactString as Str;
/// `format!` producing a [`Str`].
pub use compact_str::format_compact as format_str;
pub use duration::{Duration, DurationError};
pub use int_or_string::{IntOrString, IntOrStringError};
pub use quantity::{Quantity, QuantityError, QuantityFormat};
pub use raw::{FieldsV1, Json, RawExtension};
pub use schema::{SchemaOrArray, SchemaOrBool, SchemaOrStringArray};
pub use time::{MicroTime, Time, TimeError};
