//! Label selectors, parsed and matched as `k8s.io/apimachinery/pkg/labels` does.
//!
//! The syntax is kube's full list-selector grammar: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
//! `a notin (x)`, `a`, `!a`, and also `a>1` / `a<1` (integer comparisons: `labels.Parse`
//! accepts them, so `?labelSelector=replicas>2` works against a real kube-apiserver too).
//! Whitespace (space, tab, CR, LF) separates tokens anywhere. A parse failure carries the
//! exact text kube-apiserver returns as the 400 message, e.g.
//! `unable to parse requirement: found '', expected: ',' or ')'` for `app in (a`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::{Map, Value};

use crate::validation::{
    FieldError, aggregate_strings, go_quote, is_label_key, is_label_value, validate_labels,
};

/// A selector that failed to parse or convert; the message is kube's, verbatim.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SelectorError {
    /// The message kube-apiserver puts in the 400 Status.
    pub message: String,
}

impl SelectorError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        SelectorError {
            message: message.into(),
        }
    }
}

/// A requirement operator (`k8s.io/apimachinery/pkg/selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `key in (values)`
    In,
    /// `key notin (values)`
    NotIn,
    /// `key=value`
    Equals,
    /// `key==value`
    DoubleEquals,
    /// `key!=value`
    NotEquals,
    /// `key`
    Exists,
    /// `!key`
    DoesNotExist,
    /// `key>integer`
    GreaterThan,
    /// `key<integer`
    LessThan,
}

/// One requirement of a selector. Values are sorted and deduplicated for set operators.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values (empty for `Exists`/`DoesNotExist`).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// kube's `labels.NewRequirement`: validates key, values and arity. The error is the
    /// aggregate of field errors kube reports, e.g. `key: Invalid value: "a+b": ...`.
    pub fn new(
        key: impl Into<String>,
        operator: Operator,
        values: Vec<String>,
    ) -> Result<Requirement, SelectorError> {
        let key = key.into();
        let mut errs: Vec<String> = Vec::new();
        let key_errs = is_label_key(&key);
        if !key_errs.is_empty() {
            errs.push(FieldError::invalid("key", key.as_str(), key_errs.join("; ")).to_string());
        }
        let values_json = || Value::from(values.clone());
        match operator {
            Operator::In | Operator::NotIn => {
                if values.is_empty() {
                    errs.push(
                        FieldError::invalid(
                            "values",
                            Value::Null,
                            "for 'in', 'notin' operators, values set can't be empty",
                        )
                        .to_string(),
                    );
                }
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals => {
                if values.len() != 1 {
                    errs.push(
                        FieldError::invalid(
                            "values",
                            values_json(),
                            "exact-match compatibility requires one single value",
                        )
                        .to_string(),
                    );
                }
            }
            Operator::Exists | Operator::DoesNotExist => {
                if !values.is_empty() {
                    errs.push(
                        FieldError::invalid(
                            "values",
                            values_json(),
                            "values set must be empty for exists and does not exist",
                        )
                        .to_string(),
                    );
                }
            }
            Operator::GreaterThan | Operator::LessThan => {
                if values.len() != 1 {
                    errs.push(
                        FieldError::invalid(
                            "values",
                            values_json(),
                            "for 'Gt', 'Lt' operators, exactly one value is required",
                        )
                        .to_string(),
                    );
                }
                for (i, v) in values.iter().enumerate() {
                    if v.parse::<i64>().is_err() {
                        errs.push(
                            FieldError::invalid(
                                format!("values[{i}]"),
                                v.as_str(),
                                "for 'Gt', 'Lt' operators, the value must be an integer",
                            )
                            .to_string(),
                        );
                    }
                }
            }
        }
        for (i, v) in values.iter().enumerate() {
            let v_errs = is_label_value(v);
            if !v_errs.is_empty() {
                errs.push(
                    FieldError::invalid(
                        format!("values[{i}][{key}]"),
                        v.as_str(),
                        v_errs.join("; "),
                    )
                    .to_string(),
                );
            }
        }
        if errs.is_empty() {
            Ok(Requirement {
                key,
                operator,
                values,
            })
        } else {
            Err(SelectorError::new(aggregate_strings(errs)))
        }
    }

    fn has_value(&self, v: &str) -> bool {
        self.values.iter().any(|x| x == v)
    }

    /// Whether this requirement holds for the given labels.
    pub fn matches<L: LabelSource + ?Sized>(&self, labels: &L) -> bool {
        match self.operator {
            Operator::In | Operator::Equals | Operator::DoubleEquals => {
                labels.label(&self.key).is_some_and(|v| self.has_value(v))
            }
            Operator::NotIn | Operator::NotEquals => {
                labels.label(&self.key).is_none_or(|v| !self.has_value(v))
            }
            Operator::Exists => labels.label(&self.key).is_some(),
            Operator::DoesNotExist => labels.label(&self.key).is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let Some(have) = labels.label(&self.key).and_then(|v| v.parse::<i64>().ok()) else {
                    return false;
                };
                let [want] = self.values.as_slice() else {
                    return false;
                };
                let Ok(want) = want.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    /// kube's `Requirement.String()`: `!k`, `k`, `k=v`, `k==v`, `k!=v`, `k in (a,b)`,
    /// `k notin (a)`, `k>1`, `k<1`, values sorted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.operator == Operator::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let op = match self.operator {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => " in ",
            Operator::NotIn => " notin ",
            Operator::GreaterThan => ">",
            Operator::LessThan => "<",
            Operator::Exists | Operator::DoesNotExist => return Ok(()),
        };
        f.write_str(op)?;
        let set = matches!(self.operator, Operator::In | Operator::NotIn);
        if set {
            f.write_str("(")?;
        }
        let mut sorted = self.values.clone();
        sorted.sort();
        f.write_str(&sorted.join(","))?;
        if set {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Anything labels can be looked up in.
pub trait LabelSource {
    /// The value of label `key`, if present.
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelSource for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<S: std::hash::BuildHasher> LabelSource for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

/// A JSON `metadata.labels` object; non-string values count as absent.
impl LabelSource for Map<String, Value> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }
}

impl LabelSource for [(&str, &str)] {
    fn label(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

/// A parsed label selector: the AND of its requirements, sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    nothing: bool,
}

impl LabelSelector {
    /// The selector that matches everything (an empty selector).
    pub fn everything() -> Self {
        LabelSelector::default()
    }

    /// The selector that matches nothing (what a null `metav1.LabelSelector` converts to).
    pub fn nothing() -> Self {
        LabelSelector {
            requirements: Vec::new(),
            nothing: true,
        }
    }

    /// Parses a `labelSelector` query value exactly as `labels.Parse` does.
    pub fn parse(selector: &str) -> Result<LabelSelector, SelectorError> {
        let mut p = Parser::new(selector);
        let mut requirements = p.parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(LabelSelector {
            requirements,
            nothing: false,
        })
    }

    /// Builds a selector from requirements (sorted by key, as `Selector.Add`).
    pub fn from_requirements(mut requirements: Vec<Requirement>) -> Self {
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        LabelSelector {
            requirements,
            nothing: false,
        }
    }

    /// Converts a `metav1.LabelSelector` JSON object (`matchLabels`, `matchExpressions` with
    /// `In`/`NotIn`/`Exists`/`DoesNotExist`) as `metav1.LabelSelectorAsSelector` does: absent
    /// or `null` matches nothing, `{}` matches everything.
    pub fn from_label_selector_json(selector: Option<&Value>) -> Result<Self, SelectorError> {
        let obj = match selector {
            None | Some(Value::Null) => return Ok(LabelSelector::nothing()),
            Some(Value::Object(o)) => o,
            Some(other) => {
                return Err(SelectorError::new(format!(
                    "invalid label selector: expected an object, got {other}"
                )));
            }
        };
        let empty = Map::new();
        let match_labels = obj
            .get("matchLabels")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let no_exprs = Vec::new();
        let exprs = obj
            .get("matchExpressions")
            .and_then(Value::as_array)
            .unwrap_or(&no_exprs);
        if match_labels.is_empty() && exprs.is_empty() {
            return Ok(LabelSelector::everything());
        }
        let mut reqs = Vec::with_capacity(match_labels.len() + exprs.len());
        for (k, v) in match_labels {
            let v = v.as_str().unwrap_or("").to_string();
            reqs.push(Requirement::new(k.clone(), Operator::Equals, vec![v])?);
        }
        for expr in exprs {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
            let op_str = expr.get("operator").and_then(Value::as_str).unwrap_or("");
            let op = match op_str {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                _ => {
                    return Err(SelectorError::new(format!(
                        "{} is not a valid label selector operator",
                        go_quote(op_str)
                    )));
                }
            };
            let values: Vec<String> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| v.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            reqs.push(Requirement::new(key, op, values)?);
        }
        Ok(LabelSelector::from_requirements(reqs))
    }

    /// The requirements, sorted by key.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// True when the selector does not restrict anything (kube's `Empty()`); a
    /// match-nothing selector is not empty.
    pub fn is_empty(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }

    /// True for the match-nothing selector.
    pub fn matches_nothing(&self) -> bool {
        self.nothing
    }

    /// Whether all requirements hold for `labels`.
    pub fn matches<L: LabelSource + ?Sized>(&self, labels: &L) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// Whether the selector matches an object's `metadata.labels` (absent labels = none).
    pub fn matches_object(&self, object: &Value) -> bool {
        let empty = Map::new();
        let labels = object
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        self.matches(labels)
    }
}

impl fmt::Display for LabelSelector {
    /// kube's `Selector.String()`: requirements joined by `,` (the `status.selector` of a
    /// Scale). The match-nothing selector prints as "".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// `ValidateLabelSelector` for a `metav1.LabelSelector` JSON object at `path` (e.g.
/// `spec.selector`): matchLabels as labels, each matchExpression's operator, values and key.
pub fn validate_label_selector(selector: &Value, path: &str) -> Vec<FieldError> {
    let Some(obj) = selector.as_object() else {
        return Vec::new();
    };
    let mut errs = Vec::new();
    if let Some(Value::Object(ml)) = obj.get("matchLabels") {
        errs.extend(validate_labels(
            ml.iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or(""))),
            &format!("{path}.matchLabels"),
        ));
    }
    if let Some(Value::Array(exprs)) = obj.get("matchExpressions") {
        for (i, expr) in exprs.iter().enumerate() {
            let p = format!("{path}.matchExpressions[{i}]");
            let op = expr.get("operator").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = expr
                .get("values")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap_or("")).collect())
                .unwrap_or_default();
            match op {
                "In" | "NotIn" => {
                    if values.is_empty() {
                        errs.push(FieldError::required(
                            format!("{p}.values"),
                            "must be specified when `operator` is 'In' or 'NotIn'",
                        ));
                    }
                }
                "Exists" | "DoesNotExist" => {
                    if !values.is_empty() {
                        errs.push(FieldError::forbidden(
                            format!("{p}.values"),
                            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                        ));
                    }
                }
                _ => errs.push(FieldError::invalid(
                    format!("{p}.operator"),
                    op,
                    "not a valid selector operator",
                )),
            }
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
            for m in is_label_key(key) {
                errs.push(FieldError::invalid(format!("{p}.key"), key, m));
            }
            for (vi, v) in values.iter().enumerate() {
                for m in is_label_value(v) {
                    errs.push(FieldError::invalid(format!("{p}.values[{vi}]"), *v, m));
                }
            }
        }
    }
    errs
}

// ---------------------------------------------------------------------------------------
// Lexer and parser (a port of the state machine in labels/selector.go)
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

fn literal_token(s: &[u8]) -> Option<Token> {
    Some(match s {
        b")" => Token::ClosedPar,
        b"," => Token::Comma,
        b"!" => Token::DoesNotExist,
        b"==" => Token::DoubleEquals,
        b"=" => Token::Equals,
        b">" => Token::GreaterThan,
        b"in" => Token::In,
        b"<" => Token::LessThan,
        b"!=" => Token::NotEquals,
        b"notin" => Token::NotIn,
        b"(" => Token::OpenPar,
        _ => return None,
    })
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(c, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Lexer<'_> {
    /// Like Go's: 0 at the end (and for a NUL byte, which also ends tokens).
    fn read(&mut self) -> u8 {
        if self.pos < self.s.len() {
            let b = self.s[self.pos];
            self.pos += 1;
            b
        } else {
            0
        }
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn lex(&mut self) -> (Token, String) {
        let mut ch = self.read();
        while is_whitespace(ch) {
            ch = self.read();
        }
        if ch == 0 {
            return (Token::EndOfString, String::new());
        }
        self.unread();
        if is_special(ch) {
            self.scan_special()
        } else {
            self.scan_id_or_keyword()
        }
    }

    fn scan_id_or_keyword(&mut self) -> (Token, String) {
        let mut buf = Vec::new();
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special(ch) || is_whitespace(ch) {
                self.unread();
                break;
            }
            buf.push(ch);
        }
        let lit = String::from_utf8_lossy(&buf).into_owned();
        match literal_token(&buf) {
            Some(t) => (t, lit),
            None => (Token::Identifier, lit),
        }
    }

    fn scan_special(&mut self) -> (Token, String) {
        let mut buf = Vec::new();
        let mut last: Option<(Token, usize)> = None;
        loop {
            let ch = self.read();
            if ch == 0 {
                break;
            }
            if is_special(ch) {
                buf.push(ch);
                if let Some(t) = literal_token(&buf) {
                    last = Some((t, buf.len()));
                } else if last.is_some() {
                    self.unread();
                    break;
                }
            } else {
                self.unread();
                break;
            }
        }
        match last {
            Some((t, n)) => (t, String::from_utf8_lossy(&buf[..n]).into_owned()),
            // Unreachable with kube's token table (every special byte is a token), kept
            // for parity with upstream.
            None => (
                Token::Identifier,
                format!(
                    "error expected: keyword found '{}'",
                    String::from_utf8_lossy(&buf)
                ),
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

struct Parser {
    items: Vec<(Token, String)>,
    position: usize,
}

const BINARY_OPERATORS: &str = "in, notin, =, ==, !=, gt, lt";

impl Parser {
    fn new(s: &str) -> Parser {
        let mut lexer = Lexer {
            s: s.as_bytes(),
            pos: 0,
        };
        let mut items = Vec::new();
        loop {
            let (t, lit) = lexer.lex();
            items.push((t, lit));
            if t == Token::EndOfString {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    fn at(&self, i: usize, ctx: Context) -> (Token, String) {
        let (t, lit) = self
            .items
            .get(i)
            .cloned()
            .unwrap_or((Token::EndOfString, String::new()));
        let t = match (ctx, t) {
            (Context::Values, Token::In | Token::NotIn) => Token::Identifier,
            (_, t) => t,
        };
        (t, lit)
    }

    fn lookahead(&self, ctx: Context) -> (Token, String) {
        self.at(self.position, ctx)
    }

    fn consume(&mut self, ctx: Context) -> (Token, String) {
        let r = self.at(self.position, ctx);
        self.position += 1;
        r
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut reqs = Vec::new();
        loop {
            let (tok, lit) = self.lookahead(Context::Values);
            match tok {
                Token::Identifier | Token::DoesNotExist => {
                    let r = self.parse_requirement().map_err(|e| {
                        SelectorError::new(format!("unable to parse requirement: {}", e.message))
                    })?;
                    reqs.push(r);
                    let (t, l) = self.consume(Context::Values);
                    match t {
                        Token::EndOfString => return Ok(reqs),
                        Token::Comma => {
                            let (t2, l2) = self.lookahead(Context::Values);
                            if t2 != Token::Identifier && t2 != Token::DoesNotExist {
                                return Err(SelectorError::new(format!(
                                    "found '{l2}', expected: identifier after ','"
                                )));
                            }
                        }
                        _ => {
                            return Err(SelectorError::new(format!(
                                "found '{l}', expected: ',' or 'end of string'"
                            )));
                        }
                    }
                }
                Token::EndOfString => return Ok(reqs),
                _ => {
                    return Err(SelectorError::new(format!(
                        "found '{lit}', expected: !, identifier, or 'end of string'"
                    )));
                }
            }
        }
    }

    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, op) = self.parse_key_and_infer_operator()?;
        if let Some(op @ (Operator::Exists | Operator::DoesNotExist)) = op {
            return Requirement::new(key, op, Vec::new());
        }
        let op = self.parse_operator()?;
        let mut values = match op {
            Operator::In | Operator::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        values.sort();
        values.dedup();
        Requirement::new(key, op, values)
    }

    fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(String, Option<Operator>), SelectorError> {
        let mut op = None;
        let (mut tok, mut lit) = self.consume(Context::Values);
        if tok == Token::DoesNotExist {
            op = Some(Operator::DoesNotExist);
            (tok, lit) = self.consume(Context::Values);
        }
        if tok != Token::Identifier {
            return Err(SelectorError::new(format!(
                "found '{lit}', expected: identifier"
            )));
        }
        let key_errs = is_label_key(&lit);
        if !key_errs.is_empty() {
            return Err(SelectorError::new(
                FieldError::invalid("<nil>", lit.as_str(), key_errs.join("; ")).to_string(),
            ));
        }
        let (t, _) = self.lookahead(Context::Values);
        if (t == Token::EndOfString || t == Token::Comma) && op != Some(Operator::DoesNotExist) {
            op = Some(Operator::Exists);
        }
        Ok((lit, op))
    }

    fn parse_operator(&mut self) -> Result<Operator, SelectorError> {
        let (tok, lit) = self.consume(Context::KeyAndOperator);
        Ok(match tok {
            Token::In => Operator::In,
            Token::Equals => Operator::Equals,
            Token::DoubleEquals => Operator::DoubleEquals,
            Token::GreaterThan => Operator::GreaterThan,
            Token::LessThan => Operator::LessThan,
            Token::NotIn => Operator::NotIn,
            Token::NotEquals => Operator::NotEquals,
            _ => {
                return Err(SelectorError::new(format!(
                    "found '{lit}', expected: {BINARY_OPERATORS}"
                )));
            }
        })
    }

    fn parse_values(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, lit) = self.consume(Context::Values);
        if tok != Token::OpenPar {
            return Err(SelectorError::new(format!("found '{lit}' expected: '('")));
        }
        let (tok, lit) = self.lookahead(Context::Values);
        match tok {
            Token::Identifier | Token::Comma => {
                let s = self.parse_identifiers_list()?;
                let (t, _) = self.consume(Context::Values);
                if t != Token::ClosedPar {
                    return Err(SelectorError::new(format!("found '{lit}', expected: ')'")));
                }
                Ok(s)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(vec![String::new()])
            }
            _ => Err(SelectorError::new(format!(
                "found '{lit}', expected: ',', ')' or identifier"
            ))),
        }
    }

    fn parse_identifiers_list(&mut self) -> Result<Vec<String>, SelectorError> {
        let mut s: Vec<String> = Vec::new();
        loop {
            let (tok, lit) = self.consume(Context::Values);
            match tok {
                Token::Identifier => {
                    s.push(lit);
                    let (t2, l2) = self.lookahead(Context::Values);
                    match t2 {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(s),
                        _ => {
                            return Err(SelectorError::new(format!(
                                "found '{l2}', expected: ',' or ')'"
                            )));
                        }
                    }
                }
                Token::Comma => {
                    if s.is_empty() {
                        s.push(String::new());
                    }
                    let (t2, _) = self.lookahead(Context::Values);
                    if t2 == Token::ClosedPar {
                        s.push(String::new());
                        return Ok(s);
                    }
                    if t2 == Token::Comma {
                        s.push(String::new());
                    }
                }
                _ => {
                    return Err(SelectorError::new(format!(
                        "found '{lit}', expected: ',', or identifier"
                    )));
                }
            }
        }
    }

    fn parse_exact_value(&mut self) -> Result<Vec<String>, SelectorError> {
        let (tok, _) = self.lookahead(Context::Values);
        if tok == Token::EndOfString || tok == Token::Comma {
            return Ok(vec![String::new()]);
        }
        let (tok, lit) = self.consume(Context::Values);
        if tok == Token::Identifier {
            Ok(vec![lit])
        } else {
            Err(SelectorError::new(format!(
                "found '{lit}', expected: identifier"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const KEY_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    const VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parse_and_print() {
        let cases = [
            ("", ""),
            ("x=a", "x=a"),
            ("x==a", "x==a"),
            ("x!=a", "x!=a"),
            ("  x  =  a  ", "x=a"),
            ("x=a,y=b", "x=a,y=b"),
            ("y=b,x=a", "x=a,y=b"),
            ("x in (b,a,a)", "x in (a,b)"),
            ("x notin (a)", "x notin (a)"),
            ("x", "x"),
            ("!x", "!x"),
            ("x>1", "x>1"),
            (
                "x in (foo,,baz),y,z notin ()",
                "x in (,baz,foo),y,z notin ()",
            ),
            ("x in (,)", "x in ()"),
            ("x=", "x="),
            ("x=,y", "x=,y"),
            ("in in (in)", "in in (in)"),
            ("a.b/c-d in (notin)", "a.b/c-d in (notin)"),
            ("x\t=\na\r", "x=a"),
            ("x=a,x!=b", "x=a,x!=b"),
        ];
        for (input, want) in cases {
            let sel = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(sel.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn parse_errors() {
        let cases = [
            (
                "app in (a",
                "unable to parse requirement: found '', expected: ',' or ')'",
            ),
            (
                "app in a",
                "unable to parse requirement: found 'a' expected: '('",
            ),
            (
                "app in (",
                "unable to parse requirement: found '', expected: ',', ')' or identifier",
            ),
            (
                "app in (a b)",
                "unable to parse requirement: found 'b', expected: ',' or ')'",
            ),
            (
                "app in (=)",
                "unable to parse requirement: found '=', expected: ',', ')' or identifier",
            ),
            (
                "app in (a,=)",
                "unable to parse requirement: found '=', expected: ',', or identifier",
            ),
            ("x=a,", "found '', expected: identifier after ','"),
            ("x=a,,y", "found ',', expected: identifier after ','"),
            ("x=a y", "found 'y', expected: ',' or 'end of string'"),
            ("x=a)", "found ')', expected: ',' or 'end of string'"),
            (
                ",x",
                "found ',', expected: !, identifier, or 'end of string'",
            ),
            (
                "=x",
                "found '=', expected: !, identifier, or 'end of string'",
            ),
            (
                "x y",
                "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt",
            ),
            (
                "x=(",
                "unable to parse requirement: found '(', expected: identifier",
            ),
            (
                "!",
                "unable to parse requirement: found '', expected: identifier",
            ),
            (
                "!=x",
                "found '!=', expected: !, identifier, or 'end of string'",
            ),
            (
                "! =x",
                "unable to parse requirement: found '=', expected: identifier",
            ),
            ("!x=a", "found '=', expected: ',' or 'end of string'"),
            (
                "a+b=c",
                &format!(
                    "unable to parse requirement: <nil>: Invalid value: \"a+b\": {KEY_NAME_MSG}"
                ),
            ),
            (
                "app:monolith",
                &format!(
                    "unable to parse requirement: <nil>: Invalid value: \"app:monolith\": {KEY_NAME_MSG}"
                ),
            ),
            (
                "x=a+b",
                &format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"a+b\": {VALUE_MSG}"
                ),
            ),
            (
                "x>a",
                "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            (
                "x<",
                "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer",
            ),
            (
                "x<-1",
                &format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"-1\": {VALUE_MSG}"
                ),
            ),
            (
                "x>a-",
                &format!(
                    "unable to parse requirement: [values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"a-\": {VALUE_MSG}]"
                ),
            ),
            (
                "x in (a,b-)",
                &format!(
                    "unable to parse requirement: values[1][x]: Invalid value: \"b-\": {VALUE_MSG}"
                ),
            ),
        ];
        for (input, want) in cases {
            let err = LabelSelector::parse(input).expect_err(input);
            assert_eq!(err.to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn nul_byte_quirk() {
        // Go's lexer reads a NUL byte as "end of input" inside an identifier, then goes on.
        let sel = LabelSelector::parse("a=\u{0}b").expect("quirk");
        assert_eq!(sel.to_string(), "a=b");
        let sel = LabelSelector::parse("a,\u{0}b").expect("NUL swallowed after a symbol");
        assert_eq!(sel.to_string(), "a,b");
        // ...but at the start of a token it ends the input.
        let err = LabelSelector::parse("a, \u{0}b").expect_err("eos");
        assert_eq!(err.to_string(), "found '', expected: identifier after ','");
    }

    #[test]
    fn matching() {
        let l = labels(&[
            ("app", "web"),
            ("tier", "front"),
            ("replicas", "3"),
            ("empty", ""),
        ]);
        let cases = [
            ("", true),
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("missing!=x", true),
            ("app in (db,web)", true),
            ("app in (db)", false),
            ("missing in (x)", false),
            ("app notin (db)", true),
            ("missing notin (db)", true),
            ("app notin (web)", false),
            ("app", true),
            ("missing", false),
            ("!missing", true),
            ("!app", false),
            ("replicas>2", true),
            ("replicas>3", false),
            ("replicas<4", true),
            ("app>1", false),
            ("missing<1", false),
            ("empty=", true),
            ("empty in ()", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
        ];
        for (sel, want) in cases {
            let s = LabelSelector::parse(sel).expect(sel);
            assert_eq!(s.matches(&l), want, "{sel}");
        }
        let obj = json!({"metadata": {"labels": {"app": "web"}}});
        assert!(
            LabelSelector::parse("app=web")
                .expect("ok")
                .matches_object(&obj)
        );
        assert!(
            LabelSelector::parse("!app")
                .expect("ok")
                .matches_object(&json!({}))
        );
        assert!(LabelSelector::parse("").expect("ok").is_empty());
        assert!(!LabelSelector::parse("a").expect("ok").is_empty());
    }

    #[test]
    fn from_json() {
        let s = LabelSelector::from_label_selector_json(Some(&json!({
            "matchLabels": {"app": "web", "a": "b"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["b", "a"]},
                {"key": "x", "operator": "DoesNotExist"}
            ]
        })))
        .expect("ok");
        assert_eq!(s.to_string(), "a=b,app=web,tier in (a,b),!x");
        assert!(s.matches(&labels(&[("app", "web"), ("a", "b"), ("tier", "a")])));
        assert!(!s.matches(&labels(&[
            ("app", "web"),
            ("a", "b"),
            ("tier", "a"),
            ("x", "")
        ])));

        let nothing = LabelSelector::from_label_selector_json(None).expect("ok");
        assert!(nothing.matches_nothing() && !nothing.is_empty());
        assert!(!nothing.matches(&labels(&[])));
        assert_eq!(nothing.to_string(), "");
        let every = LabelSelector::from_label_selector_json(Some(&json!({}))).expect("ok");
        assert!(every.is_empty() && every.matches(&labels(&[])));

        let cases = [
            (json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}), "\"Foo\" is not a valid label selector operator".to_string()),
            (json!({"matchExpressions": [{"key": "a", "operator": "In"}]}), "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".to_string()),
            (json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}), "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist".to_string()),
            (json!({"matchLabels": {"a+b": "c"}}), format!("key: Invalid value: \"a+b\": {KEY_NAME_MSG}")),
        ];
        for (input, want) in cases {
            let err = LabelSelector::from_label_selector_json(Some(&input)).expect_err("err");
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn selector_validation() {
        let errs = validate_label_selector(
            &json!({"matchLabels": {"a": "-"}, "matchExpressions": [
                {"key": "k", "operator": "In"},
                {"key": "k", "operator": "Exists", "values": ["v"]},
                {"key": "k+", "operator": "Bad", "values": ["v-"]}
            ]}),
            "spec.selector",
        );
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(text, vec![
            format!("spec.selector.matchLabels: Invalid value: \"-\": {VALUE_MSG}"),
            "spec.selector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'".to_string(),
            "spec.selector.matchExpressions[1].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'".to_string(),
            "spec.selector.matchExpressions[2].operator: Invalid value: \"Bad\": not a valid selector operator".to_string(),
            format!("spec.selector.matchExpressions[2].key: Invalid value: \"k+\": {KEY_NAME_MSG}"),
            format!("spec.selector.matchExpressions[2].values[0]: Invalid value: \"v-\": {VALUE_MSG}"),
        ]);
    }

    fn arb_key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9]{0,5}",
            "[a-z]{1,4}\\.[a-z]{2,3}/[A-Za-z][A-Za-z0-9_.-]{0,4}[A-Za-z0-9]",
            Just("in".to_string()),
            Just("notin".to_string()),
        ]
    }

    fn arb_value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[A-Za-z0-9]",
            "[A-Za-z0-9][A-Za-z0-9_.-]{0,6}[A-Za-z0-9]",
            Just("in".to_string()),
        ]
    }

    fn arb_requirement() -> impl Strategy<Value = String> {
        (
            arb_key(),
            0..9usize,
            proptest::collection::vec(arb_value(), 1..4),
            -50i64..50,
        )
            .prop_map(|(k, op, vals, n)| match op {
                0 => format!("{k}={}", vals[0]),
                1 => format!("{k}=={}", vals[0]),
                2 => format!("{k}!={}", vals[0]),
                3 => format!("{k} in ({})", vals.join(",")),
                4 => format!("{k} notin ({})", vals.join(", ")),
                5 => k,
                6 => format!("!{k}"),
                7 => format!("{k}>{}", n.abs()),
                _ => format!("{k} < {}", n.abs()),
            })
    }

    proptest! {
        #[test]
        fn round_trip(reqs in proptest::collection::vec(arb_requirement(), 0..5)) {
            let input = reqs.join(",");
            let sel = LabelSelector::parse(&input).map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
            let printed = sel.to_string();
            let again = LabelSelector::parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
            prop_assert_eq!(&sel, &again);
            prop_assert_eq!(printed, again.to_string());
        }

        #[test]
        fn never_panics(s in ".{0,40}") {
            let _ = LabelSelector::parse(&s);
        }

        #[test]
        fn never_panics_on_selector_bytes(s in "[ a-z!=(),<>\t\u{0}.-]{0,30}") {
            if let Ok(sel) = LabelSelector::parse(&s) {
                let _ = LabelSelector::parse(&sel.to_string());
            }
        }
    }
}
