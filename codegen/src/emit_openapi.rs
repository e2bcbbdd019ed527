//! Emits the OpenAPI data the server publishes.
//!
//! - `<release>/openapi_v2.json`: the published v2 document (`schemas/v1.NN/swagger.json`)
//!   unchanged in content, minified, keys in the file's order (spec fixes change the
//!   model, never the published document). `/openapi/v2` serves it as it is.
//! - The `/openapi/v3` documents are not emitted: for 1.36 they would add ~9 MB of JSON
//!   per release (~1 MB gzipped) next to the 3 MB v2 document. The server derives each
//!   group-version's document on first request with
//!   [`kiln_runtime::openapi::document`] from `OPENAPI_V2` (a few milliseconds per
//!   document once the v2 document is parsed) and caches it.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use crate::error::CodegenError;

/// File name of the v2 document inside the release directory.
pub const OPENAPI_V2_FILE: &str = "openapi_v2.json";

/// `(path relative to the release directory, contents)` of the OpenAPI data files.
pub fn emit_openapi(v2: &Value) -> Result<Vec<(String, String)>, CodegenError> {
    let minified = serde_json::to_string(v2).map_err(|e| CodegenError::Emit {
        file: OPENAPI_V2_FILE.into(),
        message: e.to_string(),
    })?;
    Ok(vec![(OPENAPI_V2_FILE.to_string(), minified)])
}

/// Items for the release's `mod.rs` that expose the OpenAPI data.
pub fn openapi_items() -> TokenStream {
    let file = OPENAPI_V2_FILE;
    let doc = [
        " The published OpenAPI v2 document of the release (minified JSON, keys in the",
        " published order), as `/openapi/v2` serves it. The `/openapi/v3` documents derive",
        " from it: `kiln_runtime::openapi::{document_keys, document}`.",
    ];
    quote! {
        #(#[doc = #doc])*
        pub static OPENAPI_V2: &str = include_str!(#file);
    }
}
