//! HTTP content negotiation as kube-apiserver does it
//! (`k8s.io/apiserver/pkg/endpoints/handlers/negotiation` with `github.com/munnerz/goautoneg`),
//! plus the small query-value parsers the handlers share (booleans, integers, Go durations).
//!
//! Accept clauses are ordered as goautoneg orders them (q, then specificity, stable
//! otherwise); for each clause in order the server's media types are tried in the order
//! JSON, YAML, protobuf, and the first one whose parameters the endpoint allows wins. A
//! clause with `q=0` rejects its media types. Missing or empty Accept means JSON.
//!
//! Failures carry kube's exact 406/415 messages:
//! `only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf`
//! and `the body of the request was in an unknown format - accepted media types include: ...`.

use std::collections::BTreeMap;

use crate::validation::go_quote;

/// A serialization the server can produce or read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Media {
    /// `application/json`
    Json,
    /// `application/yaml`
    Yaml,
    /// `application/vnd.kubernetes.protobuf`
    Protobuf,
}

impl Media {
    /// The media type string.
    pub fn mime(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Yaml => "application/yaml",
            Media::Protobuf => "application/vnd.kubernetes.protobuf",
        }
    }

    fn subtype(self) -> &'static str {
        match self {
            Media::Json => "json",
            Media::Yaml => "yaml",
            Media::Protobuf => "vnd.kubernetes.protobuf",
        }
    }

    /// Whether watch streams can be encoded in it (YAML cannot).
    pub fn can_stream(self) -> bool {
        self != Media::Yaml
    }
}

/// The server's media types, in kube's order.
const SERVED: [Media; 3] = [Media::Json, Media::Yaml, Media::Protobuf];
const ACCEPTED_LIST: &str =
    "application/json, application/yaml, application/vnd.kubernetes.protobuf";
const STREAM_LIST: &str =
    "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch";

/// `meta.k8s.io` version of a Table / PartialObjectMetadata target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetaVersion {
    /// `meta.k8s.io/v1`
    V1,
    /// `meta.k8s.io/v1beta1`
    V1beta1,
}

impl MetaVersion {
    /// `v1` or `v1beta1`.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaVersion::V1 => "v1",
            MetaVersion::V1beta1 => "v1beta1",
        }
    }

    /// `meta.k8s.io/v1` or `meta.k8s.io/v1beta1`.
    pub fn api_version(self) -> &'static str {
        match self {
            MetaVersion::V1 => "meta.k8s.io/v1",
            MetaVersion::V1beta1 => "meta.k8s.io/v1beta1",
        }
    }
}

/// Reads as its version string (`v1`, `v1beta1`).
impl std::ops::Deref for MetaVersion {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// `apidiscovery.k8s.io` version of an aggregated discovery document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscoveryVersion {
    /// `apidiscovery.k8s.io/v2`
    V2,
    /// `apidiscovery.k8s.io/v2beta1`
    V2beta1,
}

impl DiscoveryVersion {
    /// `v2` or `v2beta1`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscoveryVersion::V2 => "v2",
            DiscoveryVersion::V2beta1 => "v2beta1",
        }
    }
}

/// Reads as its version string (`v2`, `v2beta1`).
impl std::ops::Deref for DiscoveryVersion {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// What the response body should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// The resource itself (or its list / watch events).
    Object,
    /// `as=Table`.
    Table {
        /// meta.k8s.io version.
        version: MetaVersion,
    },
    /// `as=PartialObjectMetadata`.
    PartialObjectMetadata {
        /// meta.k8s.io version.
        version: MetaVersion,
    },
    /// `as=PartialObjectMetadataList`.
    PartialObjectMetadataList {
        /// meta.k8s.io version.
        version: MetaVersion,
    },
    /// `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io` (aggregated discovery).
    GroupDiscovery {
        /// apidiscovery.k8s.io version.
        version: DiscoveryVersion,
    },
}

/// The outcome of output negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// The serialization.
    pub media: Media,
    /// The body to produce.
    pub target: Target,
    /// Indented JSON (`pretty=1` in Accept, `?pretty=true`, or a curl/Wget/browser user agent).
    pub pretty: bool,
    /// A watch stream.
    pub stream: bool,
}

impl Negotiated {
    /// The response `Content-Type`: the plain media type (also for Table and
    /// PartialObjectMetadata), `application/vnd.kubernetes.protobuf;stream=watch` for protobuf
    /// watches, and `<type>;g=apidiscovery.k8s.io;v=<v>;as=APIGroupDiscoveryList` for
    /// aggregated discovery.
    pub fn content_type(&self) -> String {
        match self.target {
            Target::GroupDiscovery { version } => format!(
                "{};g=apidiscovery.k8s.io;v={};as=APIGroupDiscoveryList",
                self.media.mime(),
                version.as_str()
            ),
            _ if self.stream && self.media == Media::Protobuf => {
                format!("{};stream=watch", self.media.mime())
            }
            _ => self.media.mime().to_string(),
        }
    }
}

/// 406 Not Acceptable; `message` is the Status message (reason `NotAcceptable`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotAcceptable {
    /// kube's message.
    pub message: String,
}

/// 415 Unsupported Media Type; `message` is the Status message (reason
/// `UnsupportedMediaType`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct UnsupportedMediaType {
    /// kube's message.
    pub message: String,
}

impl From<NotAcceptable> for String {
    fn from(e: NotAcceptable) -> String {
        e.message
    }
}

impl From<UnsupportedMediaType> for String {
    fn from(e: UnsupportedMediaType) -> String {
        e.message
    }
}

/// The request facts negotiation looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct Request<'a> {
    /// The `Accept` header, if any.
    pub accept: Option<&'a str>,
    /// The first `pretty` query value, if the query has one.
    pub pretty: Option<&'a str>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<&'a str>,
}

/// What a resource endpoint is about to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// One object (get, and the bodies of create/update/patch/delete).
    Object,
    /// A list.
    List,
    /// A watch stream.
    Watch,
}

/// A resource endpoint (`/api/v1/...`, `/apis/G/V/...`).
#[derive(Debug, Clone, Copy)]
pub struct Resource<'a> {
    /// The API group ("" for core).
    pub group: &'a str,
    /// The kind, e.g. `Pod` (used in kube's messages).
    pub kind: &'a str,
    /// Custom resources: plain objects only in JSON/YAML (Table too), PartialObjectMetadata
    /// also in protobuf.
    pub custom_resource: bool,
    /// What is being returned.
    pub response: Response,
}

// ---------------------------------------------------------------------------------------
// Accept parsing (goautoneg.ParseAccept)
// ---------------------------------------------------------------------------------------

/// One parsed Accept clause.
#[derive(Debug, Clone, PartialEq)]
pub struct AcceptClause {
    /// The type, e.g. `application` or `*`.
    pub media_type: String,
    /// The subtype, e.g. `json` or `*`.
    pub sub_type: String,
    /// The quality (1 unless given; unparsable values read as 0).
    pub q: f64,
    /// The other parameters (later duplicates win).
    pub params: BTreeMap<String, String>,
}

fn next_split(s: &str, sep: char) -> (&str, &str) {
    match s.find(sep) {
        Some(i) => (&s[..i], &s[i + sep.len_utf8()..]),
        None => (s, ""),
    }
}

fn trim_spaces(s: &str) -> &str {
    s.trim_matches(' ')
}

/// Go's `strconv.ParseFloat(s, 32)` as goautoneg uses it: the value, 0 on a syntax error,
/// ±Inf on overflow.
fn parse_q(s: &str) -> f64 {
    match s.parse::<f32>() {
        Ok(v) => f64::from(v),
        Err(_) => 0.0,
    }
}

/// Parses an Accept header and sorts it as goautoneg does (insertion sort with its
/// comparator: higher q first, then concrete type before `*`, then concrete subtype).
pub fn parse_accept(header: &str) -> Vec<AcceptClause> {
    let mut out = Vec::new();
    let mut remaining = header;
    while !remaining.is_empty() {
        let (part, rest) = next_split(remaining, ',');
        remaining = rest;
        let part = trim_spaces(part);
        let (range, mut params_str) = next_split(part, ';');
        let (t, sp_rest) = next_split(range, '/');
        let media_type = trim_spaces(t).to_string();
        let sub_type = if sp_rest.is_empty() {
            if media_type == "*" {
                "*".to_string()
            } else {
                continue;
            }
        } else {
            let (st, more) = next_split(sp_rest, '/');
            if !more.is_empty() {
                continue;
            }
            trim_spaces(st).to_string()
        };
        let mut clause = AcceptClause {
            media_type,
            sub_type,
            q: 1.0,
            params: BTreeMap::new(),
        };
        while !params_str.is_empty() {
            let (p, rest) = next_split(params_str, ';');
            params_str = rest;
            let (k, v_rest) = next_split(p, '=');
            if v_rest.is_empty() {
                continue;
            }
            let (v, extra) = next_split(v_rest, '=');
            if !extra.is_empty() {
                continue;
            }
            let key = trim_spaces(k);
            if key == "q" {
                clause.q = parse_q(v);
            } else {
                clause
                    .params
                    .insert(key.to_string(), trim_spaces(v).to_string());
            }
        }
        out.push(clause);
    }
    let less = |a: &AcceptClause, b: &AcceptClause| {
        a.q > b.q
            || (a.media_type != "*" && b.media_type == "*")
            || (a.sub_type != "*" && b.sub_type == "*")
    };
    for i in 1..out.len() {
        let mut j = i;
        while j > 0 && less(&out[j], &out[j - 1]) {
            out.swap(j, j - 1);
            j -= 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Output negotiation
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum Restrictions {
    /// A resource endpoint's `RequestScope`.
    Resource { custom: bool },
    /// `DiscoveryEndpointRestrictions`: only aggregated discovery targets.
    Discovery,
    /// `DefaultEndpointRestrictions`: no targets at all.
    Default,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Convert<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
}

fn allows_transform(r: Restrictions, media: Media, convert: Option<Convert<'_>>) -> Option<Target> {
    match r {
        Restrictions::Default => convert.is_none().then_some(Target::Object),
        Restrictions::Discovery => {
            let c = convert?;
            if c.group != "apidiscovery.k8s.io" || c.kind != "APIGroupDiscoveryList" {
                return None;
            }
            let version = match c.version {
                "v2" => DiscoveryVersion::V2,
                "v2beta1" => DiscoveryVersion::V2beta1,
                _ => return None,
            };
            Some(Target::GroupDiscovery { version })
        }
        Restrictions::Resource { custom } => {
            let Some(c) = convert else {
                return (!custom || media != Media::Protobuf).then_some(Target::Object);
            };
            if c.group != "meta.k8s.io" {
                return None;
            }
            let version = match c.version {
                "v1" => MetaVersion::V1,
                "v1beta1" => MetaVersion::V1beta1,
                _ => return None,
            };
            match c.kind {
                "Table" => (media != Media::Protobuf).then_some(Target::Table { version }),
                "PartialObjectMetadata" => Some(Target::PartialObjectMetadata { version }),
                "PartialObjectMetadataList" => Some(Target::PartialObjectMetadataList { version }),
                _ => None,
            }
        }
    }
}

fn clause_matches(clause: &AcceptClause, media: Media) -> Option<u8> {
    if clause.media_type == "application" && clause.sub_type == media.subtype() {
        Some(2)
    } else if clause.media_type == "application" && clause.sub_type == "*" {
        Some(1)
    } else if clause.media_type == "*" && clause.sub_type == "*" {
        Some(0)
    } else {
        None
    }
}

/// Per served media type: rejected when its most specific matching clause has q <= 0.
fn rejected(clauses: &[AcceptClause]) -> [bool; 3] {
    let mut out = [false; 3];
    for (j, media) in SERVED.iter().enumerate() {
        let mut best: i16 = -1;
        for c in clauses {
            if let Some(spec) = clause_matches(c, *media)
                && i16::from(spec) > best
            {
                best = i16::from(spec);
                out[j] = c.q <= 0.0;
            }
        }
    }
    out
}

struct Chosen {
    media: Media,
    target: Target,
    pretty_param: bool,
}

/// `NegotiateMediaTypeOptions`: the first (clause, media type) pair the endpoint accepts.
fn negotiate_options(accept: Option<&str>, r: Restrictions) -> Option<Chosen> {
    let header = accept.unwrap_or("");
    if header.is_empty() {
        return Some(Chosen {
            media: Media::Json,
            target: Target::Object,
            pretty_param: false,
        });
    }
    let clauses = parse_accept(header);
    let rejected = rejected(&clauses);
    for clause in &clauses {
        for (j, media) in SERVED.iter().enumerate() {
            if rejected[j] || clause.q <= 0.0 || clause_matches(clause, *media).is_none() {
                continue;
            }
            if let Some(c) = accept_options(clause, *media, r) {
                return Some(c);
            }
        }
    }
    None
}

/// `acceptMediaTypeOptions`.
fn accept_options(clause: &AcceptClause, media: Media, r: Restrictions) -> Option<Chosen> {
    let mut convert: Option<Convert<'_>> = None;
    let mut pretty = false;
    for (k, v) in &clause.params {
        match k.as_str() {
            "as" | "g" | "v" => {
                let c = convert.get_or_insert(Convert {
                    group: "",
                    version: "",
                    kind: "",
                });
                match k.as_str() {
                    "as" => c.kind = v,
                    "g" => c.group = v,
                    _ => c.version = v,
                }
            }
            // Only watch streams exist, and only in JSON and protobuf.
            "stream" if !v.is_empty() && (!media.can_stream() || v != "watch") => return None,
            // Resource scopes allow the meta group version; other endpoints none.
            "sv" if !v.is_empty() && (!matches!(r, Restrictions::Resource { .. }) || v != "v1") => {
                return None;
            }
            "pretty" => pretty = v == "1",
            _ => {}
        }
    }
    let target = allows_transform(r, media, convert)?;
    Some(Chosen {
        media,
        target,
        pretty_param: pretty,
    })
}

fn not_acceptable(list: &str) -> NotAcceptable {
    NotAcceptable {
        message: format!("only the following media types are accepted: {list}"),
    }
}

/// Go's `strconv.ParseBool`.
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// kube's `isPrettyPrint`: a non-empty `pretty` query value decides (unparsable = false);
/// otherwise curl, Wget and browsers get pretty output.
fn is_pretty_print(req: &Request<'_>) -> bool {
    if let Some(p) = req.pretty
        && !p.is_empty()
    {
        return parse_go_bool(p).unwrap_or(false);
    }
    let ua = req.user_agent.unwrap_or("");
    ua.starts_with("curl") || ua.starts_with("Wget") || ua.starts_with("Mozilla/5.0")
}

fn finish(req: &Request<'_>, chosen: Chosen, stream: bool) -> Negotiated {
    let pretty =
        chosen.media == Media::Json && !stream && (chosen.pretty_param || is_pretty_print(req));
    Negotiated {
        media: chosen.media,
        target: chosen.target,
        pretty,
        stream,
    }
}

/// Negotiates the response of a resource endpoint (get, list, watch, and the object bodies
/// of writes), as `NegotiateOutputMediaType` with the endpoint's `RequestScope` and then the
/// response transform do:
/// * no acceptable clause → 406 listing JSON, YAML and protobuf;
/// * a watch whose chosen media type cannot stream (YAML) → 406 listing the stream types;
/// * `as=PartialObjectMetadata` for a list, or `as=PartialObjectMetadataList` for one
///   object → 406 `you requested PartialObjectMetadata, but the requested object is a list
///   (*core.PodList)` and the like (no fallback to later clauses, as in kube).
///
/// For a watch with `as=PartialObjectMetadataList`, kube accepts the request and then fails
/// transforming the first event (the stream ends after the headers); this returns the
/// negotiated target and leaves that to the caller.
pub fn negotiate_resource(
    req: &Request<'_>,
    resource: &Resource<'_>,
) -> Result<Negotiated, NotAcceptable> {
    let r = Restrictions::Resource {
        custom: resource.custom_resource,
    };
    let chosen = negotiate_options(req.accept, r).ok_or_else(|| not_acceptable(ACCEPTED_LIST))?;
    match resource.response {
        Response::Watch => {
            if !chosen.media.can_stream() {
                return Err(not_acceptable(STREAM_LIST));
            }
            Ok(finish(req, chosen, true))
        }
        Response::List => {
            if let Target::PartialObjectMetadata { .. } = chosen.target {
                return Err(NotAcceptable {
                    message: format!(
                        "you requested PartialObjectMetadata, but the requested object is a list ({})",
                        go_type_name(
                            resource.group,
                            resource.kind,
                            true,
                            resource.custom_resource
                        )
                    ),
                });
            }
            Ok(finish(req, chosen, false))
        }
        Response::Object => {
            if let Target::PartialObjectMetadataList { .. } = chosen.target {
                return Err(NotAcceptable {
                    message: format!(
                        "you requested PartialObjectMetadataList, but the requested object is not a list ({})",
                        go_type_name(
                            resource.group,
                            resource.kind,
                            false,
                            resource.custom_resource
                        )
                    ),
                });
            }
            Ok(finish(req, chosen, false))
        }
    }
}

/// Negotiates `GET /api` and `GET /apis`: aggregated discovery (`Target::GroupDiscovery`)
/// when a clause asks for `as=APIGroupDiscoveryList;g=apidiscovery.k8s.io;v=v2|v2beta1`,
/// otherwise the legacy documents (`Target::Object`, negotiated as [`negotiate_plain`]).
pub fn negotiate_discovery(req: &Request<'_>) -> Result<Negotiated, NotAcceptable> {
    if let Some(chosen) = negotiate_options(req.accept, Restrictions::Discovery) {
        return Ok(finish(req, chosen, false));
    }
    negotiate_plain(req)
}

/// Negotiates endpoints that only serve their own type (legacy discovery such as
/// `/api/v1` and `/apis/G/V`, `/apis/G`): any `as`/`g`/`v` clause is skipped.
pub fn negotiate_plain(req: &Request<'_>) -> Result<Negotiated, NotAcceptable> {
    let chosen = negotiate_options(req.accept, Restrictions::Default)
        .ok_or_else(|| not_acceptable(ACCEPTED_LIST))?;
    Ok(finish(req, chosen, false))
}

/// The Go type name kube prints with `%T` for a resource's internal object or list, e.g.
/// `*core.Pod`, `*apps.DeploymentList`, `*unstructured.UnstructuredList`.
pub fn go_type_name(group: &str, kind: &str, list: bool, custom_resource: bool) -> String {
    if custom_resource {
        return if list {
            "*unstructured.UnstructuredList".to_string()
        } else {
            "*unstructured.Unstructured".to_string()
        };
    }
    let package = match group {
        "" | "events.k8s.io" => "core",
        "internal.apiserver.k8s.io" => "apiserverinternal",
        g => g.split('.').next().unwrap_or(g),
    };
    let suffix = if list { "List" } else { "" };
    format!("*{package}.{kind}{suffix}")
}

/// Shorthand for callers that only know the Accept header: `discovery` negotiates `/api`
/// and `/apis` ([`negotiate_discovery`]); otherwise a built-in resource endpoint returning
/// a list, a watch, or one object ([`negotiate_resource`] with no kind, so the type in
/// PartialObjectMetadata mismatch messages is incomplete: prefer [`negotiate_resource`]).
pub fn negotiate(
    accept: Option<&str>,
    list: bool,
    watch: bool,
    discovery: bool,
) -> Result<Negotiated, NotAcceptable> {
    let req = Request {
        accept,
        ..Request::default()
    };
    if discovery {
        return negotiate_discovery(&req);
    }
    let response = if watch {
        Response::Watch
    } else if list {
        Response::List
    } else {
        Response::Object
    };
    negotiate_resource(
        &req,
        &Resource {
            group: "",
            kind: "",
            custom_resource: false,
            response,
        },
    )
}

/// The encoding of an error `Status` (kube's `ErrorNegotiated` uses the default endpoint
/// restrictions; when that fails kube writes the Status as JSON).
pub fn negotiate_status(accept: Option<&str>) -> Result<Media, NotAcceptable> {
    negotiate_plain(&Request {
        accept,
        ..Request::default()
    })
    .map(|n| n.media)
}

// ---------------------------------------------------------------------------------------
// Request bodies
// ---------------------------------------------------------------------------------------

/// How a create/update body is encoded.
pub type BodyFormat = Media;

/// A PATCH body's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902)
    Json,
    /// `application/merge-patch+json` (RFC 7386)
    Merge,
    /// `application/strategic-merge-patch+json` (built-in kinds only)
    StrategicMerge,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchType {
    /// The media type string.
    pub fn mime(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

fn is_token_char(c: char) -> bool {
    c.is_ascii() && c > ' ' && c != '\u{7f}' && !"()<>@,;:\\\"/[]?=".contains(c)
}

fn consume_token(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !is_token_char(c)).unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn consume_value(s: &str) -> (Option<&str>, &str) {
    if let Some(rest) = s.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in rest.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                return (Some(&rest[..i]), &rest[i + 1..]);
            } else if c == '\r' || c == '\n' {
                return (None, s);
            }
        }
        return (None, s);
    }
    let (tok, rest) = consume_token(s);
    if tok.is_empty() {
        (None, s)
    } else {
        (Some(tok), rest)
    }
}

/// Go's `mime.ParseMediaType`, reduced to what kube uses: the lower-cased media type, or
/// `None` when the header is malformed.
fn parse_media_type(v: &str) -> Option<String> {
    let (base, _) = v.split_once(';').unwrap_or((v, ""));
    let media = base.to_lowercase().trim().to_string();
    let (typ, rest) = consume_token(&media);
    if typ.is_empty() {
        return None;
    }
    if !rest.is_empty() {
        let sub = rest.strip_prefix('/')?;
        let (subtype, rest) = consume_token(sub);
        if subtype.is_empty() || !rest.is_empty() {
            return None;
        }
    }
    let mut params = &v[base.len()..];
    let mut seen: Vec<String> = Vec::new();
    loop {
        params = params.trim_start();
        if params.is_empty() {
            break;
        }
        let after_semi = params.strip_prefix(';')?;
        let after_semi = after_semi.trim_start();
        let (key, rest) = consume_token(after_semi);
        if key.is_empty() {
            if params.trim() == ";" {
                break;
            }
            return None;
        }
        let rest = rest.trim_start();
        let rest = rest.strip_prefix('=')?.trim_start();
        let (value, rest) = consume_value(rest);
        value?;
        let key = key.to_lowercase();
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        params = rest;
    }
    Some(media)
}

/// The encoding of a create/update body from its `Content-Type` (empty = JSON), as
/// `NegotiateInputSerializer`: the media type is lower-cased and its parameters ignored;
/// anything else is a 415.
pub fn negotiate_body(content_type: Option<&str>) -> Result<BodyFormat, UnsupportedMediaType> {
    let ct = content_type.unwrap_or("");
    if ct.is_empty() {
        return Ok(Media::Json);
    }
    if let Some(media) = parse_media_type(ct)
        && let Some(m) = SERVED.iter().find(|m| m.mime() == media)
    {
        return Ok(*m);
    }
    Err(UnsupportedMediaType {
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: {ACCEPTED_LIST}"
        ),
    })
}

/// [`negotiate_body`] under the name the handlers use.
pub fn body_media(content_type: Option<&str>) -> Result<Media, UnsupportedMediaType> {
    negotiate_body(content_type)
}

/// [`negotiate_patch`] for a built-in resource.
pub fn patch_type(content_type: Option<&str>) -> Result<PatchType, UnsupportedMediaType> {
    negotiate_patch(content_type, false)
}

/// The patch type from a PATCH's `Content-Type`, as the patch handler reads it: cut at the
/// first `;` (when not at the start), then compared exactly (no case folding, no trimming).
/// Custom resources do not take strategic merge patches. Anything else is a 415 listing the
/// endpoint's patch types.
pub fn negotiate_patch(
    content_type: Option<&str>,
    custom_resource: bool,
) -> Result<PatchType, UnsupportedMediaType> {
    let mut ct = content_type.unwrap_or("");
    if let Some(i) = ct.find(';')
        && i > 0
    {
        ct = &ct[..i];
    }
    let supported: &[PatchType] = if custom_resource {
        &[PatchType::Json, PatchType::Merge, PatchType::Apply]
    } else {
        &[
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ]
    };
    if let Some(p) = supported.iter().find(|p| p.mime() == ct) {
        return Ok(*p);
    }
    let list: Vec<&str> = supported.iter().map(|p| p.mime()).collect();
    Err(UnsupportedMediaType {
        message: format!(
            "the body of the request was in an unknown format - accepted media types include: {}",
            list.join(", ")
        ),
    })
}

// ---------------------------------------------------------------------------------------
// Query values
// ---------------------------------------------------------------------------------------

/// A boolean query parameter as kube decodes it: absent is false; "0" or "false" (any case)
/// is false; anything else, including "", is true.
pub fn parse_query_bool(value: Option<&str>) -> bool {
    match value {
        None => false,
        Some(v) => !(v == "0" || go_equal_fold(v, "false")),
    }
}

/// Go's `strings.EqualFold` against an ASCII word: ASCII case-insensitive, plus the simple
/// case-folding partners Go also honours (`ſ` for `s`, `K` (Kelvin) for `k`).
fn go_equal_fold(s: &str, ascii_word: &str) -> bool {
    let mut a = s.chars();
    for w in ascii_word.chars() {
        let Some(c) = a.next() else { return false };
        let folded = match c {
            '\u{17f}' => 's',
            '\u{212a}' => 'k',
            c => c.to_ascii_lowercase(),
        };
        if folded != w.to_ascii_lowercase() {
            return false;
        }
    }
    a.next().is_none()
}

/// A present boolean query value: "0" or "false" (any case) is false, anything else
/// (including "") true.
pub fn parse_bool(value: &str) -> bool {
    parse_query_bool(Some(value))
}

/// An integer query parameter (`limit`, `timeoutSeconds`, `gracePeriodSeconds`) as Go's
/// `strconv.ParseInt(s, 10, 64)`; the error is kube's 400 message, e.g.
/// `strconv.ParseInt: parsing "abc": invalid syntax`.
pub fn parse_query_int(value: &str) -> Result<i64, String> {
    value.parse::<i64>().map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {}: {why}", go_quote(value))
    })
}

/// The `timeout` query parameter of a non-long-running request: `Ok(None)` when empty,
/// the duration in nanoseconds, or kube's 400 message
/// `invalid timeout specified in the request URL - time: invalid duration "x"`.
pub fn parse_timeout_query(value: &str) -> Result<Option<i64>, String> {
    if value.is_empty() {
        return Ok(None);
    }
    parse_go_duration(value)
        .map(Some)
        .map_err(|e| format!("invalid timeout specified in the request URL - {e}"))
}

/// Quote as Go's `time` package does in its errors (non-ASCII and control bytes as `\xNN`).
fn time_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if !c.is_ascii() || c < ' ' {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            if c == '"' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out.push('"');
    out
}

const ONE_63: u64 = 1 << 63;

/// Go's `time.ParseDuration`, in nanoseconds, with Go's error text (`time: invalid duration
/// "x"`, `time: missing unit in duration "1"`, `time: unknown unit "x" in duration "1x"`).
pub fn parse_go_duration(orig: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", time_quote(orig));
    let mut s = orig;
    let mut neg = false;
    if let Some(c) = s.chars().next()
        && (c == '-' || c == '+')
    {
        neg = c == '-';
        s = &s[1..];
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut d: u64 = 0;
    while !s.is_empty() {
        let first = s.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        // leading integer
        let mut v: u64 = 0;
        let mut i = 0;
        let bytes = s.as_bytes();
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            if v > ONE_63 / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(bytes[i] - b'0');
            if v > ONE_63 {
                return Err(invalid());
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        // fraction
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if let Some(rest) = s.strip_prefix('.') {
            s = rest;
            let bytes = s.as_bytes();
            let mut i = 0;
            let mut overflow = false;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                if !overflow {
                    if f > (ONE_63 - 1) / 10 {
                        overflow = true;
                    } else {
                        let y = f * 10 + u64::from(bytes[i] - b'0');
                        if y > ONE_63 {
                            overflow = true;
                        } else {
                            f = y;
                            scale *= 10.0;
                        }
                    }
                }
                i += 1;
            }
            post = i > 0;
            s = &s[i..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        // unit
        let unit_end = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_end == 0 {
            return Err(format!(
                "time: missing unit in duration {}",
                time_quote(orig)
            ));
        }
        let u = &s[..unit_end];
        s = &s[unit_end..];
        let unit: u64 = match u {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    time_quote(u),
                    time_quote(orig)
                ));
            }
        };
        if v > ONE_63 / unit {
            return Err(invalid());
        }
        v *= unit;
        if f > 0 {
            // float64 is accurate enough here, as in Go.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let frac = (f as f64 * (unit as f64 / scale)) as u64;
            v = v.saturating_add(frac);
            if v > ONE_63 {
                return Err(invalid());
            }
        }
        d = d.saturating_add(v);
        if d > ONE_63 {
            return Err(invalid());
        }
    }
    if neg {
        // d <= 2^63 here, so the negation fits.
        return Ok((d as i128).wrapping_neg() as i64);
    }
    if d > ONE_63 - 1 {
        return Err(invalid());
    }
    Ok(d as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NA: &str = "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf";
    const NA_STREAM: &str = "only the following media types are accepted: application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch";
    const KUBECTL_TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
    const KUBECTL_DISCOVERY: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    fn req(accept: &str) -> Request<'_> {
        Request {
            accept: Some(accept),
            ..Request::default()
        }
    }

    fn res(custom: bool, response: Response) -> Resource<'static> {
        Resource {
            group: "",
            kind: "Pod",
            custom_resource: custom,
            response,
        }
    }

    fn ok(accept: &str, custom: bool, response: Response) -> (Media, Target) {
        let n = negotiate_resource(&req(accept), &res(custom, response))
            .unwrap_or_else(|e| panic!("{accept:?}: {e}"));
        (n.media, n.target)
    }

    fn err(accept: &str, custom: bool, response: Response) -> String {
        negotiate_resource(&req(accept), &res(custom, response))
            .expect_err(accept)
            .to_string()
    }

    #[test]
    fn resource_negotiation() {
        use Media::*;
        use Response::*;
        let v1 = MetaVersion::V1;
        let cases: Vec<(&str, bool, Response, (Media, Target))> = vec![
            ("", false, Object, (Json, Target::Object)),
            ("application/json", false, Object, (Json, Target::Object)),
            ("application/yaml", false, Object, (Yaml, Target::Object)),
            (
                "application/vnd.kubernetes.protobuf",
                false,
                Object,
                (Protobuf, Target::Object),
            ),
            (
                "application/vnd.kubernetes.protobuf, application/json",
                true,
                Object,
                (Json, Target::Object),
            ),
            ("*/*", false, List, (Json, Target::Object)),
            ("application/*", false, List, (Json, Target::Object)),
            ("text/html, */*;q=0.8", false, List, (Json, Target::Object)),
            (
                "application/yaml;q=0.5, application/json;q=0.9",
                false,
                List,
                (Json, Target::Object),
            ),
            ("*/*, application/yaml", false, List, (Yaml, Target::Object)),
            (
                KUBECTL_TABLE,
                false,
                List,
                (Json, Target::Table { version: v1 }),
            ),
            (
                KUBECTL_TABLE,
                true,
                List,
                (Json, Target::Table { version: v1 }),
            ),
            (
                "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
                false,
                Object,
                (
                    Json,
                    Target::Table {
                        version: MetaVersion::V1beta1,
                    },
                ),
            ),
            (
                "application/yaml;as=Table;v=v1;g=meta.k8s.io",
                false,
                List,
                (Yaml, Target::Table { version: v1 }),
            ),
            (
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json",
                false,
                List,
                (Json, Target::Object),
            ),
            (
                "application/json;as=Table, application/yaml",
                false,
                List,
                (Yaml, Target::Object),
            ),
            (
                "application/json;as=Table;g=other.io;v=v1, application/yaml",
                false,
                List,
                (Yaml, Target::Object),
            ),
            (
                "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json",
                true,
                List,
                (Protobuf, Target::PartialObjectMetadataList { version: v1 }),
            ),
            (
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                false,
                Object,
                (Json, Target::PartialObjectMetadata { version: v1 }),
            ),
            (
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                false,
                Watch,
                (Json, Target::PartialObjectMetadata { version: v1 }),
            ),
            (
                "application/json;stream=watch",
                false,
                Watch,
                (Json, Target::Object),
            ),
            (
                "application/vnd.kubernetes.protobuf;stream=watch",
                false,
                Watch,
                (Protobuf, Target::Object),
            ),
            (
                "application/yaml;stream=watch, application/json",
                false,
                Watch,
                (Json, Target::Object),
            ),
            (
                "application/json;stream=other, application/yaml",
                false,
                Object,
                (Yaml, Target::Object),
            ),
            (
                "application/json;sv=v1",
                false,
                Object,
                (Json, Target::Object),
            ),
            (
                "application/json;sv=v2, application/yaml",
                false,
                Object,
                (Yaml, Target::Object),
            ),
            (
                "application/json;unknown=x;q=0.5",
                false,
                Object,
                (Json, Target::Object),
            ),
            (
                "application/json;q=0, */*",
                false,
                Object,
                (Yaml, Target::Object),
            ),
        ];
        for (accept, custom, response, want) in cases {
            assert_eq!(
                ok(accept, custom, response),
                want,
                "{accept:?} custom={custom}"
            );
        }
    }

    #[test]
    fn resource_not_acceptable() {
        use Response::*;
        assert_eq!(err("text/html", false, Object), NA);
        assert_eq!(err("application/vnd.kubernetes.protobuf", true, Object), NA);
        assert_eq!(err(" ", false, Object), NA);
        assert_eq!(err("application/json;q=0", false, Object), NA);
        assert_eq!(
            err(
                "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io",
                false,
                List
            ),
            NA
        );
        assert_eq!(err("application/yaml", false, Watch), NA_STREAM);
        assert_eq!(
            err("application/yaml, application/json", false, Watch),
            NA_STREAM
        );
        assert_eq!(err("text/plain", false, Watch), NA);
        assert_eq!(
            err(
                "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json",
                false,
                List
            ),
            "you requested PartialObjectMetadata, but the requested object is a list (*core.PodList)"
        );
        assert_eq!(
            err(
                "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
                true,
                Object
            ),
            "you requested PartialObjectMetadataList, but the requested object is not a list (*unstructured.Unstructured)"
        );
    }

    /// Custom resources are JSON/YAML only (kube's CR handler drops protobuf from its
    /// standard serializers); a protobuf-first Accept with a JSON fallback gets JSON, protobuf
    /// alone 406, and only the metadata forms are served in protobuf.
    #[test]
    fn custom_resources_and_protobuf() {
        use Media::*;
        use Response::*;
        let pb = "application/vnd.kubernetes.protobuf";
        for response in [Object, List, Watch] {
            assert_eq!(
                ok(&format!("{pb}, application/json"), true, response),
                (Json, Target::Object)
            );
            assert_eq!(
                ok(&format!("{pb};q=1, */*;q=0.5"), true, response),
                (Json, Target::Object)
            );
            assert_eq!(err(pb, true, response), NA);
            // Built-in kinds take protobuf as asked.
            assert_eq!(ok(pb, false, response), (Protobuf, Target::Object));
        }
        assert_eq!(
            ok(&format!("{pb};stream=watch, application/json"), true, Watch),
            (Json, Target::Object)
        );
        let v1 = MetaVersion::V1;
        assert_eq!(
            ok(
                &format!("{pb};as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
                true,
                Object
            ),
            (Protobuf, Target::PartialObjectMetadata { version: v1 })
        );
        assert_eq!(
            ok(
                &format!("{pb};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
                true,
                List
            ),
            (Protobuf, Target::PartialObjectMetadataList { version: v1 })
        );
        // Tables are never protobuf, for any resource.
        for custom in [false, true] {
            assert_eq!(
                err(&format!("{pb};as=Table;g=meta.k8s.io;v=v1"), custom, List),
                NA
            );
        }
        // Error Status bodies follow the endpoint-independent negotiation.
        assert_eq!(negotiate_status(Some(pb)), Ok(Protobuf));
        assert_eq!(
            negotiate_status(Some(&format!("{pb};as=Table;g=meta.k8s.io;v=v1")))
                .map_err(String::from),
            Err(NA.to_string())
        );
    }

    #[test]
    fn discovery_negotiation() {
        let n = negotiate_discovery(&req(KUBECTL_DISCOVERY)).expect("ok");
        assert_eq!(
            n.target,
            Target::GroupDiscovery {
                version: DiscoveryVersion::V2
            }
        );
        assert_eq!(
            n.content_type(),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
        let n = negotiate_discovery(&req("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList")).expect("ok");
        assert_eq!(
            (n.media, n.target),
            (
                Media::Protobuf,
                Target::GroupDiscovery {
                    version: DiscoveryVersion::V2beta1
                }
            )
        );
        for plain in [
            "",
            "application/json",
            "application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList,application/json",
        ] {
            let n = negotiate_discovery(&req(plain)).expect(plain);
            assert_eq!(
                (n.media, n.target),
                (Media::Json, Target::Object),
                "{plain:?}"
            );
        }
        assert_eq!(
            negotiate_discovery(&req("text/html"))
                .expect_err("406")
                .to_string(),
            NA
        );
        assert_eq!(
            negotiate_plain(&req("application/json;as=Table;v=v1;g=meta.k8s.io"))
                .expect_err("406")
                .to_string(),
            NA
        );
        assert_eq!(
            negotiate_plain(&Request::default()).expect("json").media,
            Media::Json
        );
    }

    #[test]
    fn pretty_and_content_type() {
        let r = res(false, Response::Object);
        let p = |accept: &'static str, pretty: Option<&'static str>, ua: Option<&'static str>| {
            negotiate_resource(
                &Request {
                    accept: Some(accept),
                    pretty,
                    user_agent: ua,
                },
                &r,
            )
            .expect("ok")
            .pretty
        };
        assert!(!p("application/json", None, None));
        assert!(p("application/json;pretty=1", None, None));
        assert!(p("application/json", Some("true"), None));
        assert!(p("application/json", None, Some("curl/8.0")));
        assert!(!p("application/json", Some("nope"), Some("curl/8.0")));
        assert!(p("application/json", Some(""), Some("Mozilla/5.0 (X11)")));
        assert!(!p("application/yaml", Some("1"), None));
        let n = negotiate_resource(
            &req("application/vnd.kubernetes.protobuf"),
            &res(false, Response::Watch),
        )
        .expect("ok");
        assert_eq!(
            n.content_type(),
            "application/vnd.kubernetes.protobuf;stream=watch"
        );
        assert!(n.stream);
        let n = negotiate_resource(&req(""), &res(false, Response::Watch)).expect("ok");
        assert_eq!(n.content_type(), "application/json");
        let n = negotiate_resource(&req(KUBECTL_TABLE), &res(false, Response::List)).expect("ok");
        assert_eq!(n.content_type(), "application/json");
    }

    #[test]
    fn accept_parsing() {
        let c = parse_accept("text/html;level=1, application/json;q=0.5, */*;q=0.1, application/*");
        let order: Vec<String> = c
            .iter()
            .map(|a| format!("{}/{} {}", a.media_type, a.sub_type, a.q))
            .collect();
        assert_eq!(
            order,
            vec![
                "text/html 1",
                "application/* 1",
                "application/json 0.5",
                "*/* 0.10000000149011612"
            ]
        );
        assert_eq!(c[0].params.get("level").map(String::as_str), Some("1"));
        assert!(parse_accept("application, foo/bar/baz").is_empty());
        assert_eq!(
            parse_accept("*").first().map(|a| a.sub_type.as_str()),
            Some("*")
        );
        assert_eq!(parse_accept("a/b;q=x")[0].q, 0.0);
        assert!(parse_accept("a/b;q=1e50")[0].q.is_infinite());
        assert!(parse_accept("a/b;x=1=2")[0].params.is_empty());
    }

    #[test]
    fn body_content_types() {
        let cases = [
            (None, Ok(Media::Json)),
            (Some(""), Ok(Media::Json)),
            (Some("application/json"), Ok(Media::Json)),
            (Some("application/json; charset=utf-8"), Ok(Media::Json)),
            (Some("Application/JSON"), Ok(Media::Json)),
            (Some("application/yaml"), Ok(Media::Yaml)),
            (
                Some("application/vnd.kubernetes.protobuf"),
                Ok(Media::Protobuf),
            ),
            (Some("application/json;"), Ok(Media::Json)),
            (Some("text/plain"), Err(())),
            (Some("application/json; charset"), Err(())),
            (Some("application/json; a=1; a=2"), Err(())),
            (Some("application/x-yaml"), Err(())),
            (Some("application/merge-patch+json"), Err(())),
        ];
        for (ct, want) in cases {
            match (negotiate_body(ct), want) {
                (Ok(m), Ok(w)) => assert_eq!(m, w, "{ct:?}"),
                (Err(e), Err(())) => assert_eq!(
                    e.to_string(),
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf"
                ),
                (got, _) => panic!("{ct:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn patch_content_types() {
        assert_eq!(
            negotiate_patch(Some("application/merge-patch+json"), false),
            Ok(PatchType::Merge)
        );
        assert_eq!(
            negotiate_patch(Some("application/json-patch+json; charset=utf-8"), false),
            Ok(PatchType::Json)
        );
        assert_eq!(
            negotiate_patch(Some("application/strategic-merge-patch+json"), false),
            Ok(PatchType::StrategicMerge)
        );
        assert_eq!(
            negotiate_patch(Some("application/apply-patch+yaml"), true),
            Ok(PatchType::Apply)
        );
        let all = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml";
        let cr = "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
        assert_eq!(
            negotiate_patch(Some("application/strategic-merge-patch+json"), true)
                .expect_err("415")
                .to_string(),
            cr
        );
        assert_eq!(
            negotiate_patch(None, false).expect_err("415").to_string(),
            all
        );
        assert_eq!(
            negotiate_patch(Some("Application/Merge-Patch+Json"), false)
                .expect_err("415")
                .to_string(),
            all
        );
        assert_eq!(
            negotiate_patch(Some("application/merge-patch+json ;x"), false)
                .expect_err("415")
                .to_string(),
            all
        );
        assert_eq!(
            negotiate_patch(Some("application/json"), false)
                .expect_err("415")
                .to_string(),
            all
        );
    }

    #[test]
    fn query_values() {
        for (v, want) in [
            (None, false),
            (Some(""), true),
            (Some("0"), false),
            (Some("false"), false),
            (Some("FALSE"), false),
            (Some("False"), false),
            (Some("fal\u{17f}e"), false),
            (Some("1"), true),
            (Some("true"), true),
            (Some("True"), true),
            (Some("no"), true),
            (Some("f"), true),
        ] {
            assert_eq!(parse_query_bool(v), want, "{v:?}");
        }
        assert_eq!(parse_query_int("500"), Ok(500));
        assert_eq!(parse_query_int("-1"), Ok(-1));
        assert_eq!(parse_query_int("+7"), Ok(7));
        assert_eq!(
            parse_query_int("abc"),
            Err("strconv.ParseInt: parsing \"abc\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_query_int(""),
            Err("strconv.ParseInt: parsing \"\": invalid syntax".to_string())
        );
        assert_eq!(
            parse_query_int("99999999999999999999"),
            Err(
                "strconv.ParseInt: parsing \"99999999999999999999\": value out of range"
                    .to_string()
            )
        );
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("yes"), None);
    }

    #[test]
    fn durations() {
        let ok = [
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("32s", 32_000_000_000),
            ("1h2m3s", 3_723_000_000_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("100ms", 100_000_000),
            ("3us", 3_000),
            ("3\u{b5}s", 3_000),
            ("3\u{3bc}s", 3_000),
            ("7ns", 7),
            ("-2m", -120_000_000_000),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            ("0.000000001s", 1),
        ];
        for (s, want) in ok {
            assert_eq!(parse_go_duration(s), Ok(want), "{s:?}");
        }
        let bad = [
            ("", "time: invalid duration \"\""),
            ("abc", "time: invalid duration \"abc\""),
            ("-", "time: invalid duration \"-\""),
            (".s", "time: invalid duration \".s\""),
            ("1", "time: missing unit in duration \"1\""),
            ("1x", "time: unknown unit \"x\" in duration \"1x\""),
            ("1sec", "time: unknown unit \"sec\" in duration \"1sec\""),
            (
                "9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns\"",
            ),
            ("3000000h", "time: invalid duration \"3000000h\""),
            (
                "1é",
                "time: unknown unit \"\\xc3\\xa9\" in duration \"1\\xc3\\xa9\"",
            ),
        ];
        for (s, want) in bad {
            assert_eq!(parse_go_duration(s), Err(want.to_string()), "{s:?}");
        }
        assert_eq!(parse_timeout_query(""), Ok(None));
        assert_eq!(parse_timeout_query("32s"), Ok(Some(32_000_000_000)));
        assert_eq!(
            parse_timeout_query("5"),
            Err("invalid timeout specified in the request URL - time: missing unit in duration \"5\"".to_string())
        );
    }

    #[test]
    fn shorthands() {
        let n = negotiate(Some(KUBECTL_TABLE), true, false, false).expect("ok");
        assert_eq!(
            n.target,
            Target::Table {
                version: MetaVersion::V1
            }
        );
        let n = negotiate(Some(KUBECTL_DISCOVERY), false, false, true).expect("ok");
        assert!(matches!(n.target, Target::GroupDiscovery { .. }));
        assert_eq!(
            String::from(negotiate(Some("application/yaml"), false, true, false).expect_err("406")),
            NA_STREAM
        );
        assert_eq!(negotiate_status(Some("application/yaml")), Ok(Media::Yaml));
        assert_eq!(
            negotiate_status(Some("application/json;as=Table;v=v1;g=meta.k8s.io"))
                .map_err(String::from),
            Err(NA.to_string())
        );
        assert!(parse_bool(""));
        assert!(!parse_bool("False"));
        assert_eq!(body_media(Some("application/yaml")), Ok(Media::Yaml));
        assert_eq!(
            patch_type(Some("application/apply-patch+yaml")),
            Ok(PatchType::Apply)
        );
    }

    #[test]
    fn versions_read_as_str() {
        fn takes(s: &str) -> String {
            s.to_string()
        }
        let t = Target::PartialObjectMetadata {
            version: MetaVersion::V1beta1,
        };
        if let Target::PartialObjectMetadata { version } = &t {
            assert_eq!(takes(version), "v1beta1");
        }
        assert_eq!(&*DiscoveryVersion::V2, "v2");
        assert_eq!(MetaVersion::V1.api_version(), "meta.k8s.io/v1");
    }

    #[test]
    fn type_names() {
        assert_eq!(
            go_type_name("apps", "Deployment", true, false),
            "*apps.DeploymentList"
        );
        assert_eq!(
            go_type_name("rbac.authorization.k8s.io", "Role", false, false),
            "*rbac.Role"
        );
        assert_eq!(
            go_type_name("events.k8s.io", "Event", false, false),
            "*core.Event"
        );
        assert_eq!(
            go_type_name("example.com", "Widget", true, true),
            "*unstructured.UnstructuredList"
        );
    }

    proptest! {
        #[test]
        fn accept_never_panics(s in ".{0,60}") {
            let _ = parse_accept(&s);
            let _ = negotiate_resource(&req(&s), &res(false, Response::List));
            let _ = negotiate_discovery(&req(&s));
        }

        #[test]
        fn content_types_never_panic(s in ".{0,40}") {
            let _ = negotiate_body(Some(&s));
            let _ = negotiate_patch(Some(&s), false);
        }

        #[test]
        fn durations_never_panic(s in "[-+0-9.a-zµμ]{0,24}") {
            let _ = parse_go_duration(&s);
        }

        #[test]
        fn whole_seconds(n in 0i64..100_000) {
            prop_assert_eq!(parse_go_duration(&format!("{n}s")), Ok(n * 1_000_000_000));
        }
    }
}
