//! `cargo xtask regen [--release 1.NN] [--check]`: load a release, build its model, emit
//! `generated/src/v1_NN/**` and `generated/src/lib.rs`.
//!
//! Output is deterministic (sorted maps, no timestamps): regenerating twice is
//! byte-identical, which `--check` relies on to catch drift.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use quote::{format_ident, quote};

use crate::error::CodegenError;
use crate::facts::{self, Facts};
use crate::load::{self, LoadedSpec};
use crate::model::Model;

/// The release `cargo xtask regen` generates without `--release`.
pub const DEFAULT_RELEASE: &str = "1.36";

/// Paths of the workspace regen reads and writes.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub root: PathBuf,
}

impl Workspace {
    pub fn new(root: impl Into<PathBuf>) -> Workspace {
        Workspace { root: root.into() }
    }
    pub fn schemas(&self) -> PathBuf {
        self.root.join("schemas")
    }
    pub fn overlay(&self) -> PathBuf {
        self.schemas().join("overlay").join("resources.json")
    }
    pub fn generated_src(&self) -> PathBuf {
        self.root.join("generated").join("src")
    }
    pub fn generated_manifest(&self) -> PathBuf {
        self.root.join("generated").join("Cargo.toml")
    }
}

/// `1.36` → `v1_36` (module, directory and cargo feature name).
pub fn module_name(release: &str) -> String {
    format!("v{}", release.replace('.', "_"))
}

/// `v1_36` → `1.36`.
pub fn release_of_module(module: &str) -> Option<String> {
    let rest = module.strip_prefix("v1_")?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("1.{rest}"))
}

/// Phase lines on stderr: `  1.36 load    …   0.84 s`.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub enabled: bool,
}

impl Progress {
    pub fn line(&self, release: &str, phase: &str, message: &str, since: Instant) {
        self.took(release, phase, message, since.elapsed());
    }
    pub fn took(&self, release: &str, phase: &str, message: &str, took: std::time::Duration) {
        if self.enabled {
            let secs = took.as_secs_f64();
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "  {release:<5} {phase:<7} {message:<88} {secs:>6.2} s");
        }
    }
    pub fn say(&self, message: &str) {
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{message}");
        }
    }
}

/// Everything read for one release.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub release: String,
    pub spec: LoadedSpec,
    pub protos: crate::proto::ProtoSet,
    pub facts: Option<Facts>,
    pub overlay: facts::Overlay,
    /// `schemas/overlay/storage-versions.json`.
    pub storage_versions: crate::emit_conversions::StorageVersions,
}

/// Read a release's inputs (`schemas/v1.NN`, the nearest discovery documents, the overlay).
pub fn load_inputs(
    ws: &Workspace,
    release: &str,
    progress: Progress,
) -> Result<Inputs, CodegenError> {
    let t = Instant::now();
    let dir = load::release_dir(&ws.schemas(), release);
    if !dir.join("swagger.json").is_file() {
        return Err(CodegenError::Usage(format!(
            "no {}: unknown release {release}",
            dir.join("swagger.json").display()
        )));
    }
    let (spec, protos) = std::thread::scope(|s| {
        let protos = s.spawn(|| crate::proto::load_protos(&dir.join("proto")));
        let spec = load::load_spec(&dir.join("swagger.json"));
        let protos = protos
            .join()
            .unwrap_or_else(|_| Err(CodegenError::Spec("proto loader panicked".into())));
        (spec, protos)
    });
    let (spec, protos) = (spec?, protos?);
    let facts = match facts::discovery_release_for(&ws.schemas(), release)? {
        Some(from) => Some(facts::load_facts(
            &load::release_dir(&ws.schemas(), &from).join("discovery"),
            &from,
        )?),
        None => None,
    };
    let overlay = facts::load_overlay(&ws.overlay())?;
    let storage_versions = crate::emit_conversions::load_storage_versions(
        &ws.schemas().join("overlay").join("storage-versions.json"),
    )?;
    let paths = spec
        .v2
        .get("paths")
        .and_then(|p| p.as_object())
        .map_or(0, |p| p.len());
    let defs = spec
        .v2
        .get("definitions")
        .and_then(|p| p.as_object())
        .map_or(0, |p| p.len());
    let facts_from = match &facts {
        Some(f) if f.release == release => "own discovery".to_string(),
        Some(f) => format!("discovery of {}", f.release),
        None => "no discovery".to_string(),
    };
    progress.line(
        release,
        "load",
        &format!(
            "swagger.json {:.1} MB ({paths} paths, {defs} definitions), {} proto messages, {facts_from}",
            spec.bytes as f64 / 1e6,
            protos.messages.len()
        ),
        t,
    );
    Ok(Inputs {
        release: release.to_string(),
        spec,
        protos,
        facts,
        overlay,
        storage_versions,
    })
}

/// Build the model of a release from its inputs.
pub fn build_model(inputs: &Inputs, progress: Progress) -> Result<Model, CodegenError> {
    let t = Instant::now();
    let mut notes = Vec::new();
    let groups = crate::resources::build_groups(
        &inputs.spec.spec,
        &inputs.release,
        inputs.facts.as_ref(),
        &inputs.overlay,
        &mut notes,
    )?;
    let types = crate::types::build_types(&inputs.spec.spec, &inputs.protos)?;
    let model = Model {
        release: inputs.release.clone(),
        groups,
        types,
        notes,
    };
    let (gvs, resources, subs) = crate::resources::counts(&model.groups);
    progress.line(
        &inputs.release,
        "model",
        &format!(
            "{gvs} group-versions, {resources} resources, {subs} subresources, {} types",
            model.types.len()
        ),
        t,
    );
    Ok(model)
}

/// Load and model a release (what the tests use).
pub fn load_model(ws: &Workspace, release: &str) -> Result<(Model, Inputs), CodegenError> {
    let quiet = Progress { enabled: false };
    let inputs = load_inputs(ws, release, quiet)?;
    let model = build_model(&inputs, quiet)?;
    Ok((model, inputs))
}

/// The files of one release, relative to `generated/src` (`v1_36/registry.rs`).
#[derive(Debug, Clone)]
pub struct Generated {
    pub release: String,
    pub files: BTreeMap<String, String>,
    pub notes: Vec<String>,
}

/// Emit every file of a release's directory.
pub fn emit_release(
    model: &Model,
    inputs: &Inputs,
    progress: Progress,
) -> Result<Generated, CodegenError> {
    let release = &model.release;
    let module = module_name(release);
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let add = |files: &mut BTreeMap<String, String>,
               rel: String,
               contents: String|
     -> Result<(), CodegenError> {
        let path = format!("{module}/{rel}");
        if files.insert(path.clone(), contents).is_some() {
            return Err(CodegenError::Emit {
                file: path,
                message: "emitted twice".into(),
            });
        }
        Ok(())
    };

    // The type files (the bulk of the work) are emitted on a second thread while the
    // registry, the OpenAPI data and mod.rs are emitted here.
    let (type_files, own) = std::thread::scope(|scope| {
        let types = scope.spawn(|| {
            let t = Instant::now();
            let files = crate::emit_types::emit_types(model);
            (files, t.elapsed())
        });
        let t = Instant::now();
        let own = emit_release_files(model, inputs).map(|files| (files, t.elapsed()));
        let types = types.join().map_err(|_| CodegenError::Emit {
            file: String::new(),
            message: "type emitter panicked".into(),
        });
        (types, own)
    });
    let (type_files, types_took) = type_files?;
    let (own, own_took) = own?;
    progress.took(
        release,
        "emit",
        &format!(
            "{} type files (emit_types: tokens and formatting)",
            type_files.len()
        ),
        types_took,
    );
    progress.took(
        release,
        "format",
        &format!(
            "{} (quote + prettyplease; JSON)",
            own.iter()
                .map(|(r, _)| r.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        own_took,
    );
    for (rel, contents) in type_files {
        if own.iter().any(|(r, _)| *r == rel) {
            return Err(CodegenError::Emit {
                file: rel,
                message: "the type emitter must not write the release's own files".into(),
            });
        }
        add(&mut files, rel, contents)?;
    }
    for (rel, contents) in own {
        add(&mut files, rel, contents)?;
    }
    Ok(Generated {
        release: release.clone(),
        files,
        notes: model.notes.clone(),
    })
}

/// The release directory's own files: `registry.rs`, `mod.rs` and the OpenAPI data.
fn emit_release_files(
    model: &Model,
    inputs: &Inputs,
) -> Result<Vec<(String, String)>, CodegenError> {
    let git_version = load::git_version(&inputs.spec.v2, &model.release);
    let codec = |def: &str| crate::emit_types::codec_path(model, def);
    let mut out = vec![
        (
            "registry.rs".to_string(),
            crate::emit_registry::emit_registry(model, &git_version, &codec)?,
        ),
        ("mod.rs".to_string(), emit_release_mod(model)?),
        (
            "conversions.rs".to_string(),
            crate::emit_conversions::emit_conversions(model, &inputs.storage_versions)?,
        ),
    ];
    out.extend(crate::emit_openapi::emit_openapi(&inputs.spec.v2)?);
    Ok(out)
}

/// `<release>/mod.rs`: the type modules, the registry and the OpenAPI data.
pub fn emit_release_mod(model: &Model) -> Result<String, CodegenError> {
    let roots = crate::emit_types::root_modules(model);
    if roots.iter().any(|r| r == "registry" || r == "conversions") {
        return Err(CodegenError::Emit {
            file: "mod.rs".into(),
            message: "a type module is named `registry` or `conversions`".into(),
        });
    }
    let roots = roots.iter().map(|r| format_ident!("{}", r));
    let doc = format!(
        " Kubernetes {}: API types, the resource registry and the OpenAPI documents.",
        model.release
    );
    let openapi = crate::emit_openapi::openapi_items();
    let tokens = quote! {
        #![doc = #doc]
        #(pub mod #roots;)*
        pub mod registry;
        pub mod conversions;
        pub use registry::{GIT_VERSION, REGISTRY, RELEASE};
        pub use conversions::CONVERSIONS;
        #openapi
    };
    crate::emit_registry::format_file(&model.release, "mod.rs", tokens)
}

/// `generated/src/lib.rs` selecting one of `releases` by cargo feature.
pub fn emit_lib(releases: &[String]) -> Result<String, CodegenError> {
    let mut releases: Vec<String> = releases.to_vec();
    releases.sort_by_key(|r| load::release_minor(r));
    releases.dedup();
    let features: Vec<String> = releases.iter().map(|r| module_name(r)).collect();
    let list = features.join(", ");
    let none = format!("kiln-generated: enable one release feature ({list})");
    let many = format!(
        "kiln-generated: enable only one release feature ({list}); set `default-features = false` to pick one other than the default"
    );
    let mut pairs = Vec::new();
    for (i, a) in features.iter().enumerate() {
        for b in &features[i + 1..] {
            pairs.push(quote!(all(feature = #a, feature = #b)));
        }
    }
    let many_check = if pairs.is_empty() {
        quote!()
    } else if pairs.len() == 1 {
        let pair = &pairs[0];
        quote! {
            #[cfg(#pair)]
            compile_error!(#many);
        }
    } else {
        quote! {
            #[cfg(any(#(#pairs),*))]
            compile_error!(#many);
        }
    };
    let mods = features.iter().map(|f| {
        let ident = format_ident!("{}", f);
        quote! {
            #[cfg(feature = #f)]
            #[rustfmt::skip]
            pub mod #ident;
            #[cfg(feature = #f)]
            pub use #ident::*;
        }
    });
    let doc = [
        " Kubernetes API types, resource registry and OpenAPI documents of one release,",
        " selected by cargo feature; the chosen release's items are re-exported here.",
        " The release modules are prettyplease output: `cargo fmt` skips them.",
    ];
    let tokens = quote! {
        #(#![doc = #doc])*
        #[cfg(not(any(#(feature = #features),*)))]
        compile_error!(#none);
        #many_check
        #(#mods)*
    };
    let parsed: syn::File = syn::parse2(tokens).map_err(|e| CodegenError::Emit {
        file: "lib.rs".into(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "// Generated by `cargo xtask regen` from schemas/; do not edit.\n{}",
        prettyplease::unparse(&parsed)
    ))
}

/// Releases with a directory under `generated/src`.
pub fn generated_releases(ws: &Workspace) -> Result<Vec<String>, CodegenError> {
    let dir = ws.generated_src();
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir()
                && let Some(r) = release_of_module(&entry.file_name().to_string_lossy())
            {
                out.push(r);
            }
        }
    }
    out.sort_by_key(|r| load::release_minor(r));
    Ok(out)
}

/// Generate one release in memory (load, model, emit).
pub fn generate(
    ws: &Workspace,
    release: &str,
    progress: Progress,
) -> Result<Generated, CodegenError> {
    let inputs = load_inputs(ws, release, progress)?;
    let model = build_model(&inputs, progress)?;
    emit_release(&model, &inputs, progress)
}

/// What a regen did.
#[derive(Debug, Clone, Default)]
pub struct RegenSummary {
    pub written: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
    pub notes: Vec<String>,
}

/// Regenerate one release on disk, then `lib.rs` and the crate's features. Other
/// releases' directories are left alone.
pub fn regen(
    ws: &Workspace,
    release: &str,
    progress: Progress,
) -> Result<RegenSummary, CodegenError> {
    let generated = generate(ws, release, progress)?;
    let t = Instant::now();
    let mut summary = RegenSummary {
        notes: generated.notes.clone(),
        ..RegenSummary::default()
    };
    let src = ws.generated_src();
    let module = module_name(release);
    // Remove files of this release's directory that are no longer generated.
    let existing = list_files(&src.join(&module), &module)?;
    for rel in existing.keys() {
        if !generated.files.contains_key(rel) {
            let path = src.join(rel);
            std::fs::remove_file(&path).map_err(|source| CodegenError::Write {
                path: path.clone(),
                source,
            })?;
            summary.removed.push(rel.clone());
        }
    }
    remove_empty_dirs(&src.join(&module));
    for (rel, contents) in &generated.files {
        write_if_changed(&src.join(rel), contents, &mut summary, rel)?;
    }
    let mut releases = generated_releases(ws)?;
    releases.push(release.to_string());
    write_if_changed(
        &src.join("lib.rs"),
        &emit_lib(&releases)?,
        &mut summary,
        "lib.rs",
    )?;
    let manifest = ws.generated_manifest();
    let text = load::read_to_string(&manifest)?;
    if let Some(new) = add_features(&text, &releases) {
        write_if_changed(&manifest, &new, &mut summary, "../Cargo.toml")?;
    }
    progress.line(
        release,
        "write",
        &format!(
            "{} written, {} unchanged, {} removed",
            summary.written.len(),
            summary.unchanged,
            summary.removed.len()
        ),
        t,
    );
    Ok(summary)
}

fn write_if_changed(
    path: &Path,
    contents: &str,
    summary: &mut RegenSummary,
    rel: &str,
) -> Result<(), CodegenError> {
    if std::fs::read(path).ok().as_deref() == Some(contents.as_bytes()) {
        summary.unchanged += 1;
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| CodegenError::Write {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    std::fs::write(path, contents).map_err(|source| CodegenError::Write {
        path: path.to_path_buf(),
        source,
    })?;
    summary.written.push(rel.to_string());
    Ok(())
}

/// Every file below `dir`, keyed by path relative to `dir`'s parent (`prefix/...`).
fn list_files(dir: &Path, prefix: &str) -> Result<BTreeMap<String, PathBuf>, CodegenError> {
    let mut out = BTreeMap::new();
    let mut stack = vec![(dir.to_path_buf(), prefix.to_string())];
    while let Some((d, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let entry = entry.map_err(|source| CodegenError::Io {
                path: d.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let rel = format!("{rel}/{name}");
            if path.is_dir() {
                stack.push((path, rel));
            } else {
                out.insert(rel, path);
            }
        }
    }
    Ok(out)
}

fn remove_empty_dirs(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                remove_empty_dirs(&entry.path());
                let _ = std::fs::remove_dir(entry.path());
            }
        }
    }
}

/// `generated/Cargo.toml` with a `v1_NN = []` feature for every release that lacks one,
/// or `None` when nothing is missing.
pub fn add_features(manifest: &str, releases: &[String]) -> Option<String> {
    let missing: Vec<String> = releases
        .iter()
        .map(|r| module_name(r))
        .filter(|f| {
            !manifest.lines().any(|l| {
                l.trim_start().starts_with(&format!("{f} "))
                    || l.trim_start().starts_with(&format!("{f}="))
            })
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let features_at = lines.iter().position(|l| l.trim() == "[features]");
    let insert_at = match features_at {
        Some(i) => {
            let mut end = i + 1;
            while end < lines.len()
                && !lines[end].trim_start().starts_with('[')
                && !lines[end].trim().is_empty()
            {
                end += 1;
            }
            end
        }
        None => {
            lines.push(String::new());
            lines.push("[features]".into());
            lines.len()
        }
    };
    for (k, f) in missing.iter().enumerate() {
        lines.insert(insert_at + k, format!("{f} = []"));
    }
    let mut out = lines.join("\n");
    if manifest.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

/// One file that differs between disk and a fresh generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    Changed {
        file: String,
        line: usize,
        disk: String,
        generated: String,
    },
    Missing {
        file: String,
    },
    Extra {
        file: String,
    },
}

/// What `--check` found.
#[derive(Debug, Clone, Default)]
pub struct CheckReport {
    pub checked: Vec<String>,
    pub drift: Vec<Drift>,
    /// Releases whose files drifted.
    pub stale_releases: BTreeSet<String>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.drift.is_empty()
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_clean() {
            return write!(f, "generated/ is up to date ({})", self.checked.join(", "));
        }
        writeln!(f, "generated/ is out of date ({} files):", self.drift.len())?;
        for d in self.drift.iter().take(40) {
            match d {
                Drift::Changed {
                    file,
                    line,
                    disk,
                    generated,
                } => {
                    writeln!(
                        f,
                        "  changed  generated/src/{file} (first difference at line {line})"
                    )?;
                    writeln!(f, "           - {}", clip(disk))?;
                    writeln!(f, "           + {}", clip(generated))?;
                }
                Drift::Missing { file } => {
                    writeln!(f, "  added    generated/src/{file} (not on disk)")?
                }
                Drift::Extra { file } => {
                    writeln!(f, "  removed  generated/src/{file} (no longer generated)")?
                }
            }
        }
        if self.drift.len() > 40 {
            writeln!(f, "  … and {} more", self.drift.len() - 40)?;
        }
        let commands: Vec<String> = if self.stale_releases.is_empty() {
            vec!["cargo xtask regen".to_string()]
        } else {
            self.stale_releases
                .iter()
                .map(|r| format!("cargo xtask regen --release {r}"))
                .collect()
        };
        write!(f, "run: {}", commands.join(" && "))?;
        Ok(())
    }
}

fn clip(s: &str) -> String {
    let s = s.trim_end();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s.to_string()
    }
}

/// First differing line (1-based) and the two lines.
pub fn first_difference(disk: &str, generated: &str) -> (usize, String, String) {
    let mut a = disk.split('\n');
    let mut b = generated.split('\n');
    let mut n = 1;
    loop {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => {
                return (
                    n,
                    x.unwrap_or("<end of file>").to_string(),
                    y.unwrap_or("<end of file>").to_string(),
                );
            }
        }
    }
}

/// Regenerate every release present under `generated/src` (or only `only`) in memory and
/// compare with the files on disk.
pub fn check(
    ws: &Workspace,
    only: Option<&str>,
    progress: Progress,
) -> Result<CheckReport, CodegenError> {
    let mut releases = generated_releases(ws)?;
    if let Some(r) = only {
        releases.retain(|x| x == r);
        if releases.is_empty() {
            releases.push(r.to_string());
        }
    }
    if releases.is_empty() {
        releases.push(DEFAULT_RELEASE.to_string());
    }
    // Releases in parallel (two at a time is what this machine has).
    let results: Vec<Result<Generated, CodegenError>> = std::thread::scope(|s| {
        let handles: Vec<_> = releases
            .iter()
            .map(|r| s.spawn(move || generate(ws, r, progress)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(CodegenError::Emit {
                        file: String::new(),
                        message: "generator thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let src = ws.generated_src();
    let mut report = CheckReport {
        checked: releases.clone(),
        ..CheckReport::default()
    };
    for generated in results {
        let generated = generated?;
        let module = module_name(&generated.release);
        let on_disk = list_files(&src.join(&module), &module)?;
        for (rel, contents) in &generated.files {
            match std::fs::read(src.join(rel)) {
                Ok(bytes) if bytes == contents.as_bytes() => {}
                Ok(bytes) => {
                    let disk = String::from_utf8_lossy(&bytes);
                    let (line, d, g) = first_difference(&disk, contents);
                    report.drift.push(Drift::Changed {
                        file: rel.clone(),
                        line,
                        disk: d,
                        generated: g,
                    });
                    report.stale_releases.insert(generated.release.clone());
                }
                Err(_) => {
                    report.drift.push(Drift::Missing { file: rel.clone() });
                    report.stale_releases.insert(generated.release.clone());
                }
            }
        }
        for rel in on_disk.keys() {
            if !generated.files.contains_key(rel) {
                report.drift.push(Drift::Extra { file: rel.clone() });
                report.stale_releases.insert(generated.release.clone());
            }
        }
    }
    let lib = emit_lib(
        &generated_releases(ws)?
            .into_iter()
            .chain(releases.iter().cloned())
            .collect::<Vec<_>>(),
    )?;
    match std::fs::read_to_string(src.join("lib.rs")) {
        Ok(disk) if disk == lib => {}
        Ok(disk) => {
            let (line, d, g) = first_difference(&disk, &lib);
            report.drift.push(Drift::Changed {
                file: "lib.rs".into(),
                line,
                disk: d,
                generated: g,
            });
        }
        Err(_) => report.drift.push(Drift::Missing {
            file: "lib.rs".into(),
        }),
    }
    let manifest = load::read_to_string(&ws.generated_manifest())?;
    if add_features(&manifest, &releases).is_some() {
        report.drift.push(Drift::Missing {
            file: "../Cargo.toml (release features)".into(),
        });
    }
    Ok(report)
}

/// Lines for the notes summary.
pub fn notes_summary(release: &str, notes: &[String]) -> String {
    let mut out = String::new();
    if notes.is_empty() {
        let _ = write!(out, "  {release} notes: none");
        return out;
    }
    let _ = writeln!(out, "  {release} notes ({}):", notes.len());
    for (i, n) in notes.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = write!(out, "    - {n}");
    }
    out
}
