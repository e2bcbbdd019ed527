//! Emits `<release>/registry.rs`: the static resource table the server routes, lists in
//! discovery and decodes from (`kiln_runtime::registry` shapes), plus the release's name
//! and version.

use proc_macro2::TokenStream;
use quote::quote;

use crate::error::CodegenError;
use crate::model::{Group, Model, Resource, Stability, Subresource, Version};

/// Path of a definition's `KindCodec` static relative to the release module
/// (`api::core::v1::POD_CODEC`), or `None` when it has none.
pub type CodecPaths<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The contents of `registry.rs` for `model`.
pub fn emit_registry(
    model: &Model,
    git_version: &str,
    codec: CodecPaths<'_>,
) -> Result<String, CodegenError> {
    let groups = model
        .groups
        .iter()
        .map(|g| group_tokens(g, codec))
        .collect::<Result<Vec<_>, _>>()?;
    let release = &model.release;
    let doc_release =
        format!(" The Kubernetes release this registry was generated from (`{release}`).");
    let doc_git = " `gitVersion` that `/version` reports.";
    let doc_registry = [
        " Every group the release defines: core first, then in the order `/apis` lists them;",
        " versions in priority order (GA, beta, alpha; higher numbers first), resources by plural.",
    ];
    let tokens = quote! {
        use kiln_runtime::registry::{GroupInfo, GroupVersionInfo, ResourceInfo, Stability, SubresourceInfo};

        #[doc = #doc_release]
        pub const RELEASE: &str = #release;
        #[doc = #doc_git]
        pub const GIT_VERSION: &str = #git_version;
        #(#[doc = #doc_registry])*
        pub static REGISTRY: &[GroupInfo] = &[#(#groups),*];
    };
    format_file(&model.release, "registry.rs", tokens)
}

/// Parse and pretty-print a token stream with the generated-file header.
pub fn format_file(release: &str, file: &str, tokens: TokenStream) -> Result<String, CodegenError> {
    let parsed: syn::File = syn::parse2(tokens).map_err(|e| CodegenError::Emit {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    Ok(format!(
        "{}{}",
        crate::emit_types::header(release),
        prettyplease::unparse(&parsed)
    ))
}

fn group_tokens(g: &Group, codec: CodecPaths<'_>) -> Result<TokenStream, CodegenError> {
    let name = &g.name;
    let versions = g
        .versions
        .iter()
        .map(|v| version_tokens(&g.name, v, codec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quote! {
        GroupInfo { name: #name, versions: &[#(#versions),*] }
    })
}

fn version_tokens(
    group: &str,
    v: &Version,
    codec: CodecPaths<'_>,
) -> Result<TokenStream, CodegenError> {
    let version = &v.name;
    let stability = match v.stability {
        Stability::Ga => quote!(Stability::Ga),
        Stability::Beta => quote!(Stability::Beta),
        Stability::Alpha => quote!(Stability::Alpha),
    };
    let resources = v
        .resources
        .iter()
        .map(|r| resource_tokens(group, version, r, codec))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(quote! {
        GroupVersionInfo { group: #group, version: #version, stability: #stability, resources: &[#(#resources),*] }
    })
}

fn codec_tokens(
    definition: Option<&str>,
    codec: CodecPaths<'_>,
) -> Result<TokenStream, CodegenError> {
    match definition.and_then(codec) {
        Some(path) => {
            let path: syn::Path =
                syn::parse_str(&format!("super::{path}")).map_err(|e| CodegenError::Emit {
                    file: "registry.rs".into(),
                    message: format!("codec path {path:?}: {e}"),
                })?;
            Ok(quote!(Some(&#path)))
        }
        None => Ok(quote!(None)),
    }
}

fn resource_tokens(
    group: &str,
    version: &str,
    r: &Resource,
    codec: CodecPaths<'_>,
) -> Result<TokenStream, CodegenError> {
    let Resource {
        plural,
        singular,
        kind,
        list_kind,
        namespaced,
        verbs,
        short_names,
        categories,
        subresources,
        storage_version_hash,
        definition,
    } = r;
    let subs = subresources
        .iter()
        .map(|s| subresource_tokens(s, codec))
        .collect::<Result<Vec<_>, _>>()?;
    let definition_str = definition.as_deref().unwrap_or_default();
    let codec = codec_tokens(definition.as_deref(), codec)?;
    Ok(quote! {
        ResourceInfo {
            group: #group,
            version: #version,
            plural: #plural,
            singular: #singular,
            kind: #kind,
            list_kind: #list_kind,
            namespaced: #namespaced,
            verbs: &[#(#verbs),*],
            short_names: &[#(#short_names),*],
            categories: &[#(#categories),*],
            subresources: &[#(#subs),*],
            storage_version_hash: #storage_version_hash,
            definition: #definition_str,
            codec: #codec,
        }
    })
}

fn subresource_tokens(s: &Subresource, codec: CodecPaths<'_>) -> Result<TokenStream, CodegenError> {
    let Subresource {
        name,
        group,
        version,
        kind,
        verbs,
        definition,
    } = s;
    let definition_str = definition.as_deref().unwrap_or_default();
    let codec = codec_tokens(definition.as_deref(), codec)?;
    Ok(quote! {
        SubresourceInfo {
            name: #name,
            group: #group,
            version: #version,
            kind: #kind,
            verbs: &[#(#verbs),*],
            definition: #definition_str,
            codec: #codec,
        }
    })
}
