//! Errors of the code generator.

use std::path::PathBuf;

/// Anything that stops a release from being loaded or emitted.
#[derive(Debug, thiserror::Error)]
pub enum CodegenError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: proto parse error: {message}")]
    ProtoParse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("definition {definition}: {message}")]
    Definition { definition: String, message: String },
    #[error("overlay {path}: {message}")]
    Overlay { path: PathBuf, message: String },
    #[error("parsing {path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("spec: {0}")]
    Spec(String),
    #[error("spec fix {fix} no longer applies: {message} (remove or update the fix)")]
    SpecFixStale { fix: &'static str, message: String },
    #[error("discovery facts {path}: {message}")]
    Facts { path: PathBuf, message: String },
    #[error("emitting {file}: {message}")]
    Emit { file: String, message: String },
    #[error("{0}")]
    Usage(String),
}
