//! A small parser for the `generated.proto` files that go-to-protobuf writes for
//! Kubernetes' API packages (proto2: `package`, `import`, `option`, `message` with
//! `optional` / `repeated` / `required` fields and `map<K, V>` fields).
//!
//! It reads exactly what the type loader needs: every message with its fields in
//! declaration order (which is Go struct order), their labels, types, names and tags,
//! and the comment block above each message and field. Type names are resolved to fully
//! qualified names (`k8s.io.api.core.v1.Pod`) once every file is loaded.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::CodegenError;

/// Every message of a release's `.proto` files, keyed by fully qualified name without
/// the leading dot (`k8s.io.api.core.v1.Pod`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProtoSet {
    pub messages: BTreeMap<String, Message>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// `k8s.io.api.core.v1`
    pub package: String,
    /// `Pod`
    pub name: String,
    /// The comment block above the message, marker lines (`+k8s:...`) removed.
    pub doc: Option<String>,
    /// Fields in declaration order.
    pub fields: Vec<Field>,
    /// The file the message was read from (for error messages).
    pub file: PathBuf,
}

impl Message {
    /// `k8s.io.api.core.v1.Pod`
    pub fn full_name(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub label: Label,
    pub ty: FieldType,
    pub tag: u32,
    pub doc: Option<String>,
    /// Go marker comments without the `+` (`listType=map`, `listMapKey=version`, `optional`).
    pub markers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Optional,
    Required,
    Repeated,
    /// A `map<K, V>` field (label-less in the source).
    Map,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Scalar(Scalar),
    /// A message, fully qualified without the leading dot once resolved.
    Message(String),
    Map {
        key: Scalar,
        value: Box<FieldType>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scalar {
    Double,
    Float,
    Int32,
    Int64,
    Uint32,
    Uint64,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
}

impl Scalar {
    pub fn parse(s: &str) -> Option<Scalar> {
        Some(match s {
            "double" => Scalar::Double,
            "float" => Scalar::Float,
            "int32" => Scalar::Int32,
            "int64" => Scalar::Int64,
            "uint32" => Scalar::Uint32,
            "uint64" => Scalar::Uint64,
            "sint32" => Scalar::Sint32,
            "sint64" => Scalar::Sint64,
            "fixed32" => Scalar::Fixed32,
            "fixed64" => Scalar::Fixed64,
            "sfixed32" => Scalar::Sfixed32,
            "sfixed64" => Scalar::Sfixed64,
            "bool" => Scalar::Bool,
            "string" => Scalar::String,
            "bytes" => Scalar::Bytes,
            _ => return None,
        })
    }

    /// The name of the type in `.proto` source, which is also the name of its module in
    /// `prost::encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scalar::Double => "double",
            Scalar::Float => "float",
            Scalar::Int32 => "int32",
            Scalar::Int64 => "int64",
            Scalar::Uint32 => "uint32",
            Scalar::Uint64 => "uint64",
            Scalar::Sint32 => "sint32",
            Scalar::Sint64 => "sint64",
            Scalar::Fixed32 => "fixed32",
            Scalar::Fixed64 => "fixed64",
            Scalar::Sfixed32 => "sfixed32",
            Scalar::Sfixed64 => "sfixed64",
            Scalar::Bool => "bool",
            Scalar::String => "string",
            Scalar::Bytes => "bytes",
        }
    }
}

impl ProtoSet {
    pub fn message(&self, full_name: &str) -> Option<&Message> {
        self.messages.get(full_name.trim_start_matches('.'))
    }

    /// Adds one file's messages (names unresolved until [`ProtoSet::resolve`]).
    pub fn add_file(&mut self, path: &Path, source: &str) -> Result<(), CodegenError> {
        let file = parse_file(path, source)?;
        for m in file {
            self.messages.insert(m.full_name(), m);
        }
        Ok(())
    }

    /// Resolves every message type name to its fully qualified name, following protobuf
    /// scoping (innermost package scope first).
    pub fn resolve(&mut self) -> Result<(), CodegenError> {
        let names: std::collections::BTreeSet<String> = self.messages.keys().cloned().collect();
        for m in self.messages.values_mut() {
            let package = m.package.clone();
            let file = m.file.clone();
            for f in &mut m.fields {
                resolve_type(&mut f.ty, &package, &names).map_err(|name| {
                    CodegenError::ProtoParse {
                        path: file.clone(),
                        line: 0,
                        message: format!(
                            "field {}.{}: unknown message type {name}",
                            m.name, f.name
                        ),
                    }
                })?;
            }
        }
        Ok(())
    }
}

fn resolve_type(
    ty: &mut FieldType,
    package: &str,
    names: &std::collections::BTreeSet<String>,
) -> Result<(), String> {
    match ty {
        FieldType::Scalar(_) => Ok(()),
        FieldType::Map { value, .. } => resolve_type(value, package, names),
        FieldType::Message(name) => {
            if let Some(abs) = name.strip_prefix('.') {
                if names.contains(abs) {
                    *name = abs.to_string();
                    return Ok(());
                }
                return Err(name.clone());
            }
            let mut scope: Vec<&str> = package.split('.').collect();
            loop {
                let candidate = if scope.is_empty() {
                    name.clone()
                } else {
                    format!("{}.{}", scope.join("."), name)
                };
                if names.contains(&candidate) {
                    *name = candidate;
                    return Ok(());
                }
                if scope.pop().is_none() {
                    return Err(name.clone());
                }
            }
        }
    }
}

/// Loads every `*.proto` file under `dir` (recursively, in sorted path order) and
/// resolves type names.
pub fn load_protos(dir: &Path) -> Result<ProtoSet, CodegenError> {
    let mut files = Vec::new();
    collect_proto_files(dir, &mut files)?;
    files.sort();
    let mut set = ProtoSet::default();
    for path in files {
        let source = std::fs::read_to_string(&path).map_err(|source| CodegenError::Io {
            path: path.clone(),
            source,
        })?;
        set.add_file(&path, &source)?;
    }
    set.resolve()?;
    Ok(set)
}

fn collect_proto_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CodegenError> {
    let io = |source| CodegenError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let ft = entry.file_type().map_err(io)?;
        if ft.is_dir() {
            collect_proto_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Int(u64),
    Str(String),
    Sym(char),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
    /// Comment lines directly above this token.
    doc: Vec<String>,
}

fn tokenize(path: &Path, src: &str) -> Result<Vec<Token>, CodegenError> {
    let err = |line: usize, message: String| CodegenError::ProtoParse {
        path: path.to_path_buf(),
        line,
        message,
    };
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut line = 1;
    let mut tokens = Vec::new();
    let mut doc: Vec<String> = Vec::new();
    // Line of the last comment line collected into `doc`; a blank line in between
    // detaches a comment block from the next token.
    let mut doc_end_line = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            let start = i + 2;
            let mut end = start;
            while end < chars.len() && chars[end] != '\n' {
                end += 1;
            }
            let text: String = chars[start..end].iter().collect();
            if doc_end_line + 1 != line {
                doc.clear();
            }
            doc.push(text.strip_prefix(' ').unwrap_or(&text).to_string());
            doc_end_line = line;
            i = end;
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            let mut j = i + 2;
            loop {
                if j + 1 >= chars.len() {
                    return Err(err(line, "unterminated block comment".into()));
                }
                if chars[j] == '\n' {
                    line += 1;
                }
                if chars[j] == '*' && chars[j + 1] == '/' {
                    break;
                }
                j += 1;
            }
            i = j + 2;
            doc.clear();
            continue;
        }
        let token_doc = if doc_end_line + 1 == line {
            std::mem::take(&mut doc)
        } else {
            doc.clear();
            Vec::new()
        };
        if c.is_ascii_alphabetic() || c == '_' || c == '.' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                line,
                doc: token_doc,
            });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let value = if let Some(hex) = text.strip_prefix("0x") {
                u64::from_str_radix(hex, 16)
            } else {
                text.parse()
            }
            .map_err(|_| err(line, format!("bad number {text}")))?;
            tokens.push(Token {
                tok: Tok::Int(value),
                line,
                doc: token_doc,
            });
        } else if c == '"' || c == '\'' {
            let quote = c;
            let mut j = i + 1;
            let mut s = String::new();
            while j < chars.len() && chars[j] != quote {
                if chars[j] == '\\' && j + 1 < chars.len() {
                    j += 1;
                }
                if chars[j] == '\n' {
                    return Err(err(line, "newline in string".into()));
                }
                s.push(chars[j]);
                j += 1;
            }
            if j >= chars.len() {
                return Err(err(line, "unterminated string".into()));
            }
            tokens.push(Token {
                tok: Tok::Str(s),
                line,
                doc: token_doc,
            });
            i = j + 1;
        } else if "{}[]()<>;=,-".contains(c) {
            tokens.push(Token {
                tok: Tok::Sym(c),
                line,
                doc: token_doc,
            });
            i += 1;
        } else {
            return Err(err(line, format!("unexpected character {c:?}")));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    path: &'a Path,
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, message: impl Into<String>) -> CodegenError {
        let line = self
            .tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map_or(0, |t| t.line);
        CodegenError::ProtoParse {
            path: self.path.to_path_buf(),
            line,
            message: message.into(),
        }
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn next(&mut self) -> Result<Token, CodegenError> {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| self.err("unexpected end of file"))?;
        self.pos += 1;
        Ok(t)
    }

    fn ident(&mut self) -> Result<String, CodegenError> {
        match self.next()?.tok {
            Tok::Ident(s) => Ok(s),
            other => {
                self.pos -= 1;
                Err(self.err(format!("expected identifier, found {other:?}")))
            }
        }
    }

    fn sym(&mut self, c: char) -> Result<(), CodegenError> {
        match self.next()?.tok {
            Tok::Sym(s) if s == c => Ok(()),
            other => {
                self.pos -= 1;
                Err(self.err(format!("expected {c:?}, found {other:?}")))
            }
        }
    }

    fn int(&mut self) -> Result<u64, CodegenError> {
        match self.next()?.tok {
            Tok::Int(v) => Ok(v),
            other => {
                self.pos -= 1;
                Err(self.err(format!("expected number, found {other:?}")))
            }
        }
    }

    /// Skips to the end of the current statement (after the next `;` at nesting depth 0).
    fn skip_statement(&mut self) -> Result<(), CodegenError> {
        let mut depth = 0usize;
        loop {
            match self.next()?.tok {
                Tok::Sym('{') | Tok::Sym('[') | Tok::Sym('(') => depth += 1,
                Tok::Sym('}') | Tok::Sym(']') | Tok::Sym(')') => depth = depth.saturating_sub(1),
                Tok::Sym(';') if depth == 0 => return Ok(()),
                _ => {}
            }
        }
    }

    /// Skips `[...]` field options if present.
    fn skip_field_options(&mut self) -> Result<(), CodegenError> {
        if self.peek() == Some(&Tok::Sym('[')) {
            let mut depth = 0usize;
            loop {
                match self.next()?.tok {
                    Tok::Sym('[') => depth += 1,
                    Tok::Sym(']') => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(());
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn tag(&mut self) -> Result<u32, CodegenError> {
        let v = self.int()?;
        u32::try_from(v).map_err(|_| self.err(format!("field number {v} out of range")))
    }

    fn message(&mut self, package: &str, doc: Vec<String>) -> Result<Message, CodegenError> {
        let name = self.ident()?;
        self.sym('{')?;
        let mut fields = Vec::new();
        loop {
            let tok = self.next()?;
            let doc = clean_doc(&tok.doc);
            let markers = markers_of(&tok.doc);
            match tok.tok {
                Tok::Sym('}') => break,
                Tok::Sym(';') => {}
                Tok::Ident(word) => match word.as_str() {
                    "optional" | "required" | "repeated" => {
                        let label = match word.as_str() {
                            "optional" => Label::Optional,
                            "required" => Label::Required,
                            _ => Label::Repeated,
                        };
                        let ty = self.ident()?;
                        let fname = self.ident()?;
                        self.sym('=')?;
                        let tag = self.tag()?;
                        self.skip_field_options()?;
                        self.sym(';')?;
                        fields.push(Field {
                            name: fname,
                            label,
                            ty: type_of(&ty),
                            tag,
                            doc,
                            markers,
                        });
                    }
                    "map" => {
                        self.sym('<')?;
                        let key = self.ident()?;
                        self.sym(',')?;
                        let value = self.ident()?;
                        self.sym('>')?;
                        let fname = self.ident()?;
                        self.sym('=')?;
                        let tag = self.tag()?;
                        self.skip_field_options()?;
                        self.sym(';')?;
                        let key = Scalar::parse(&key)
                            .ok_or_else(|| self.err(format!("map key type {key} is not scalar")))?;
                        fields.push(Field {
                            name: fname,
                            label: Label::Map,
                            ty: FieldType::Map {
                                key,
                                value: Box::new(type_of(&value)),
                            },
                            tag,
                            doc,
                            markers,
                        });
                    }
                    "option" | "reserved" | "extensions" => self.skip_statement()?,
                    other => {
                        return Err(
                            self.err(format!("unsupported construct {other:?} in message {name}"))
                        );
                    }
                },
                other => return Err(self.err(format!("unexpected {other:?} in message {name}"))),
            }
        }
        Ok(Message {
            package: package.to_string(),
            name,
            doc: clean_doc(&doc),
            fields,
            file: self.path.to_path_buf(),
        })
    }
}

fn type_of(name: &str) -> FieldType {
    match Scalar::parse(name) {
        Some(s) => FieldType::Scalar(s),
        None => FieldType::Message(name.to_string()),
    }
}

/// The Go marker lines of a comment block (`+listType=map` → `listType=map`).
fn markers_of(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix('+'))
        .map(|l| l.trim().to_string())
        .collect()
}

/// Joins a comment block, dropping Go marker lines (`+optional`, `+listType=atomic`, ...).
fn clean_doc(lines: &[String]) -> Option<String> {
    let kept: Vec<&str> = lines
        .iter()
        .map(|l| l.trim_end())
        .filter(|l| !l.trim_start().starts_with('+'))
        .collect();
    let text = kept.join("\n").trim().to_string();
    if text.is_empty() { None } else { Some(text) }
}

/// Parses one `.proto` file's messages (type names unresolved).
pub fn parse_file(path: &Path, source: &str) -> Result<Vec<Message>, CodegenError> {
    let tokens = tokenize(path, source)?;
    let mut p = Parser {
        path,
        tokens,
        pos: 0,
    };
    let mut package = String::new();
    let mut messages = Vec::new();
    while p.pos < p.tokens.len() {
        let tok = p.next()?;
        match &tok.tok {
            Tok::Ident(w) if w == "syntax" => {
                p.sym('=')?;
                match p.next()?.tok {
                    Tok::Str(s) if s == "proto2" => {}
                    other => return Err(p.err(format!("unsupported syntax {other:?}"))),
                }
                p.sym(';')?;
            }
            Tok::Ident(w) if w == "package" => {
                package = p.ident()?;
                p.sym(';')?;
            }
            Tok::Ident(w) if w == "import" || w == "option" => p.skip_statement()?,
            Tok::Ident(w) if w == "message" => {
                if package.is_empty() {
                    return Err(p.err("message before package declaration"));
                }
                let m = p.message(&package, tok.doc.clone())?;
                messages.push(m);
            }
            Tok::Sym(';') => {}
            other => return Err(p.err(format!("unsupported top-level {other:?}"))),
        }
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
/*
License.
*/
syntax = "proto2";

package k8s.io.api.example.v1;

import "k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto";

option go_package = "k8s.io/api/example/v1";

// Widget is a thing.
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
message Widget {
  // Standard object's metadata.
  // +optional
  optional .k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta metadata = 1;

  optional WidgetSpec spec = 2;

  map<string, bytes> data = 3;

  repeated string items = 4 [packed = false];
}

message WidgetSpec {
  optional int64 size = 1;
}
"#;

    #[test]
    fn parses_messages_fields_and_docs() {
        let msgs = parse_file(Path::new("x.proto"), SAMPLE).unwrap();
        assert_eq!(msgs.len(), 2);
        let w = &msgs[0];
        assert_eq!(w.full_name(), "k8s.io.api.example.v1.Widget");
        assert_eq!(w.doc.as_deref(), Some("Widget is a thing."));
        let names: Vec<_> = w.fields.iter().map(|f| (f.name.as_str(), f.tag)).collect();
        assert_eq!(
            names,
            [("metadata", 1), ("spec", 2), ("data", 3), ("items", 4)]
        );
        assert_eq!(
            w.fields[0].doc.as_deref(),
            Some("Standard object's metadata.")
        );
        assert_eq!(w.fields[1].doc, None);
        assert_eq!(
            w.fields[2].ty,
            FieldType::Map {
                key: Scalar::String,
                value: Box::new(FieldType::Scalar(Scalar::Bytes))
            }
        );
        assert_eq!(w.fields[3].label, Label::Repeated);
    }

    #[test]
    fn resolves_relative_and_absolute_names() {
        let mut set = ProtoSet::default();
        set.add_file(Path::new("x.proto"), SAMPLE).unwrap();
        set.add_file(
            Path::new("meta.proto"),
            "syntax = \"proto2\";\npackage k8s.io.apimachinery.pkg.apis.meta.v1;\nmessage ObjectMeta { optional string name = 1; }\n",
        )
        .unwrap();
        set.resolve().unwrap();
        let w = set.message("k8s.io.api.example.v1.Widget").unwrap();
        assert_eq!(
            w.fields[0].ty,
            FieldType::Message("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta".into())
        );
        assert_eq!(
            w.fields[1].ty,
            FieldType::Message("k8s.io.api.example.v1.WidgetSpec".into())
        );
    }

    #[test]
    fn unknown_type_is_an_error() {
        let mut set = ProtoSet::default();
        set.add_file(
            Path::new("y.proto"),
            "syntax = \"proto2\";\npackage a.b;\nmessage M { optional Nope x = 1; }\n",
        )
        .unwrap();
        assert!(set.resolve().is_err());
    }
}
