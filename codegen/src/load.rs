//! Reading a release's published inputs.
//!
//! The v2 spec (`schemas/v1.NN/swagger.json`) is kept twice: as the published document
//! (a `serde_json::Value` with the file's key order, which `/openapi/v2` serves unchanged)
//! and normalised to OpenAPI 3 (`openapiv3::OpenAPI`), the form every other part of the
//! generator reads, so v2 input, v3 documents and CRD schemas share one code path.
//!
//! Normalisation is [`kiln_runtime::openapi::full_document`], the same conversion the
//! server uses to derive its `/openapi/v3` documents: `definitions` become
//! `components.schemas`, `#/definitions/X` references become `#/components/schemas/X`, a
//! reference with a sibling `description` becomes `allOf: [$ref]` plus the description
//! (so field docs survive; `openapiv3` would drop the siblings of a bare `$ref`), shared
//! `#/parameters/` are inlined, body parameters become `requestBody`, and every
//! `x-kubernetes-*` extension stays where it was (schemas' and operations' `extensions`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::CodegenError;

/// A release's OpenAPI spec in both forms.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The published v2 document as read, key order preserved.
    pub v2: Value,
    /// The same document normalised to OpenAPI 3.
    pub spec: openapiv3::OpenAPI,
    /// Size of the input file in bytes (for the progress display).
    pub bytes: usize,
}

/// `schemas/v1.NN` for a release "1.NN".
pub fn release_dir(schemas_dir: &Path, release: &str) -> PathBuf {
    schemas_dir.join(format!("v{release}"))
}

/// Minor number of a release name ("1.36" → 36).
pub fn release_minor(release: &str) -> Option<u32> {
    let (major, minor) = release.split_once('.')?;
    if major != "1" {
        return None;
    }
    minor.parse().ok()
}

/// Releases with a `v1.NN` directory under `schemas_dir`, sorted by minor number.
pub fn available_releases(schemas_dir: &Path) -> Result<Vec<String>, CodegenError> {
    let entries = std::fs::read_dir(schemas_dir).map_err(|source| CodegenError::Io {
        path: schemas_dir.to_path_buf(),
        source,
    })?;
    let mut releases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| CodegenError::Io {
            path: schemas_dir.to_path_buf(),
            source,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(release) = name.strip_prefix('v')
            && release_minor(release).is_some()
            && entry.path().join("swagger.json").is_file()
        {
            releases.push(release.to_string());
        }
    }
    releases.sort_by_key(|r| release_minor(r));
    Ok(releases)
}

pub fn read_to_string(path: &Path) -> Result<String, CodegenError> {
    std::fs::read_to_string(path).map_err(|source| CodegenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Parse a JSON file, keeping its key order.
pub fn read_json(path: &Path) -> Result<Value, CodegenError> {
    let text = read_to_string(path)?;
    serde_json::from_str(&text).map_err(|source| CodegenError::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// Load `swagger.json` and normalise it.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, CodegenError> {
    let text = read_to_string(path)?;
    let v2: Value = serde_json::from_str(&text).map_err(|source| CodegenError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    if v2.get("swagger").and_then(Value::as_str) != Some("2.0") {
        return Err(CodegenError::Spec(format!(
            "{}: not an OpenAPI v2 document (no \"swagger\": \"2.0\")",
            path.display()
        )));
    }
    let spec = normalize_v2(&v2).map_err(|source| CodegenError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(LoadedSpec {
        v2,
        spec,
        bytes: text.len(),
    })
}

/// Normalise a v2 document to OpenAPI 3 (see the module documentation).
pub fn normalize_v2(v2: &Value) -> Result<openapiv3::OpenAPI, serde_json::Error> {
    serde_json::from_value(kiln_runtime::openapi::full_document(v2))
}

/// `v1.36.0`, or the spec's `info.version` when that is a release version.
pub fn git_version(v2: &Value, release: &str) -> String {
    match v2.pointer("/info/version").and_then(Value::as_str) {
        Some(v) if v.starts_with(&format!("v{release}.")) => v.to_string(),
        _ => format!("v{release}.0"),
    }
}

/// The `x-kubernetes-group-version-kind` entries of a schema (one object or a list).
pub fn gvks_of(value: Option<&Value>) -> Vec<crate::resources::Gvk> {
    let one = |v: &Value| {
        Some(crate::resources::Gvk {
            group: v.get("group")?.as_str()?.to_string(),
            version: v.get("version")?.as_str()?.to_string(),
            kind: v.get("kind")?.as_str()?.to_string(),
        })
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v @ Value::Object(_)) => one(v).into_iter().collect(),
        _ => Vec::new(),
    }
}
