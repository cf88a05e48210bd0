//! ACL policies: Vault's policy language (HCL, or JSON) and its evaluation.
//!
//! The behaviour follows Vault/OpenBao (`vault/policy.go`, `vault/acl.go`) rather than the
//! HCL2 or JSON specifications, because clients write policies for Vault and expect the
//! same text to load and to grant the same access here:
//!
//! * A policy is a list of `path "PATTERN" { ... }` rules. Patterns are exact, end in `*`
//!   (a prefix glob; `*` anywhere else is an ordinary character), and may use `+` as a
//!   whole-segment wildcard. `+*` is rejected.
//! * [`Acl::new`] merges the rules of several policies. Rules whose pattern strings are
//!   identical are unioned, and a `deny` among them leaves deny only.
//! * A request path uses the single rule with the highest priority (see [`Acl`]); a path no
//!   rule matches allows nothing.
//!
//! Parameter constraints (`allowed_parameters`, `denied_parameters`, `required_parameters`)
//! and the wrapping TTL bounds are parsed and kept on [`PathRule`], so that policies using
//! them load, but they are **not enforced yet**. Identity-templated paths
//! (`{{identity.entity.id}}`) are kept on the policy but left out of the ACL, as Vault does
//! for a token that has no entity.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Body, Structure};
use hcl::edit::template::Element;
use hcl::edit::Span;
use serde_json::Value;

/// Vault's built-in `default` policy, attached to every token unless it opts out.
///
/// The text is byte-for-byte Vault's, because `GET sys/policies/acl/default` returns it and
/// tools compare it. The two identity-templated paths never match here, as there is no
/// templating yet.
pub const DEFAULT_POLICY: &str = r#"
# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own entity by id or name
path "identity/entity/id/{{identity.entity.id}}" {
  capabilities = ["read"]
}
path "identity/entity/name/{{identity.entity.name}}" {
  capabilities = ["read"]
}


# Allow a token to look up its resultant ACL from all policies. This is useful
# for UIs. It is an internal path because the format may change at any time
# based on how the internal ACL features and capabilities change.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Allow a token to renew a lease via lease_id in the request body; old path for
# old clients, new path for newer
path "sys/renew" {
    capabilities = ["update"]
}
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Allow a token to manage its own cubbyhole
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Allow a token to wrap arbitrary values in a response-wrapping token
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

# Allow a token to look up the creation time and TTL of a given
# response-wrapping token
path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

# Allow a token to unwrap a response-wrapping token. This is a convenience to
# avoid client token swapping since this is also part of the response wrapping
# policy.
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# Allow general purpose tools
path "sys/tools/hash" {
    capabilities = ["update"]
}
path "sys/tools/hash/*" {
    capabilities = ["update"]
}

# Allow a token to make requests to the Authorization Endpoint for OIDC providers.
path "identity/oidc/provider/+/authorize" {
    capabilities = ["read", "update"]
}
"#;

/// Vault's fixed `response-wrapping` policy, given to wrapping tokens so that unwrapping
/// works whatever the creator's policies were.
pub const RESPONSE_WRAPPING_POLICY: &str = r#"
path "cubbyhole/response" {
    capabilities = ["create", "read"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}
"#;

/// Parses [`DEFAULT_POLICY`] under the name `default`.
pub fn default_policy() -> Policy {
    // The text is a constant covered by the tests, so failure here is a build defect.
    parse("default", DEFAULT_POLICY).expect("the built-in default policy parses")
}

// ---------------------------------------------------------------------------------------
// Capabilities
// ---------------------------------------------------------------------------------------

/// One capability a path rule can grant.
///
/// `Scan` is OpenBao's (for its recursive `SCAN` list); it is accepted so that policies
/// written for OpenBao load.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Capability {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Sudo,
    Deny,
    Scan,
}

impl Capability {
    /// Every capability, in the alphabetical order in which Vault prints them.
    pub const ALL: [Capability; 9] = [
        Capability::Create,
        Capability::Delete,
        Capability::Deny,
        Capability::List,
        Capability::Patch,
        Capability::Read,
        Capability::Scan,
        Capability::Sudo,
        Capability::Update,
    ];

    /// The name used in policies and in `sys/capabilities-self` answers.
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
            Capability::Scan => "scan",
        }
    }

    const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`Capability`] from a name Vault does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid capability {}", go_quote(.0))]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Case-sensitive, as in Vault: "Read" is rejected.
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCapability(s.to_owned()))
    }
}

/// Kept apart from the capability bits so that a root set can never be mistaken for any
/// combination of ordinary grants.
const ROOT_BIT: u16 = 1 << 15;

/// A set of capabilities, with Vault's merge rules built in: a deny wipes every grant and
/// nothing can be added to it afterwards, and the root set contains everything but deny.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct CapabilitySet(u16);

impl CapabilitySet {
    /// The empty set, which allows nothing.
    pub const fn new() -> Self {
        CapabilitySet(0)
    }

    /// What a root token has on every path.
    pub const fn root() -> Self {
        CapabilitySet(ROOT_BIT)
    }

    /// An explicit deny.
    pub const fn deny() -> Self {
        CapabilitySet(Capability::Deny.bit())
    }

    /// Whether `cap` is granted. The root set grants everything except `Deny`.
    pub const fn contains(self, cap: Capability) -> bool {
        if self.is_root() {
            return !matches!(cap, Capability::Deny);
        }
        self.0 & cap.bit() != 0
    }

    /// Adds `cap`. Adding `Deny` leaves deny only; adding to a deny or root set does nothing.
    pub fn insert(&mut self, cap: Capability) {
        if self.is_root() || self.is_deny() {
            return;
        }
        if cap == Capability::Deny {
            *self = CapabilitySet::deny();
        } else {
            self.0 |= cap.bit();
        }
    }

    /// Both sets merged as Vault merges rules with the same pattern.
    pub const fn union(self, other: CapabilitySet) -> CapabilitySet {
        if self.is_root() || other.is_root() {
            CapabilitySet::root()
        } else if self.is_deny() || other.is_deny() {
            CapabilitySet::deny()
        } else {
            CapabilitySet(self.0 | other.0)
        }
    }

    /// Whether the set is an explicit deny (an empty set is not).
    pub const fn is_deny(self) -> bool {
        self.0 & Capability::Deny.bit() != 0
    }

    pub const fn is_root(self) -> bool {
        self.0 & ROOT_BIT != 0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names as `sys/capabilities-self` prints them: sorted alphabetically, `["root"]`
    /// for root, and `["deny"]` both for a deny and for a set that grants nothing, since
    /// Vault answers "deny" for paths no rule matches.
    pub fn names(self) -> Vec<&'static str> {
        if self.is_root() {
            return vec!["root"];
        }
        if self.is_deny() || self.is_empty() {
            return vec![Capability::Deny.as_str()];
        }
        Capability::ALL
            .into_iter()
            .filter(|c| self.contains(*c))
            .map(Capability::as_str)
            .collect()
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = CapabilitySet::new();
        for cap in iter {
            set.insert(cap);
        }
        set
    }
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a policy text was refused. `Display` gives the message Vault returns in the 400
/// response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("'policy' parameter not supplied or empty")]
    Empty,
    /// Vault's HCL parser reports `At LINE:COLUMN: message`; the message here is the
    /// Rust parser's, kept on one line.
    #[error("failed to parse policy: At {line}:{column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Keys Vault does not know, each already worded as `invalid key "x" on line N`
    /// (prefixed with the path inside a rule). Printed as Go's multierror list, as Vault
    /// does.
    #[error("failed to parse policy: {}", multierror(.0))]
    InvalidKeys(Vec<String>),
    #[error("failed to parse policy: {} invalid capability {}", rule_prefix(.path), go_quote(.capability))]
    InvalidCapability { path: String, capability: String },
    #[error("failed to parse policy: {} invalid policy {}", rule_prefix(.path), go_quote(.policy))]
    InvalidLegacyPolicy { path: String, policy: String },
    #[error("failed to parse policy: {} invalid use of wildcards ('+*' is forbidden)", rule_prefix(.path))]
    InvalidWildcard { path: String },
    #[error("failed to parse policy: path {}: no capabilities or policy given", go_quote(.path))]
    MissingCapabilities { path: String },
    /// A known key holding a value of the wrong type.
    #[error("failed to parse policy: path {}: {key}: expected {expected}", go_quote(.path))]
    InvalidValue {
        path: String,
        key: &'static str,
        expected: &'static str,
    },
    /// The document's shape is wrong, e.g. `path` holding a string.
    #[error("failed to parse policy: {0}")]
    InvalidStructure(String),
    #[error("failed to parse policy: error parsing {key}: {detail}")]
    InvalidWrappingTtl { key: &'static str, detail: String },
    #[error("failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl")]
    WrappingTtlOrder,
}

/// The prefix of per-rule errors. OpenBao 2.7.2 was observed to print the path twice
/// (`path "x": path "x": invalid capability "bogus"`, see the HTTP API reference, section
/// 9.1); HashiCorp Vault prints it once. The observed server is the one clients were
/// tested against, so its text wins; this is the one place to change if that is revisited.
fn rule_prefix(path: &str) -> String {
    let quoted = go_quote(path);
    format!("path {quoted}: path {quoted}:")
}

/// Go's `multierror` list format, which Vault uses for key errors.
fn multierror(errors: &[String]) -> String {
    match errors {
        [one] => format!("1 error occurred:\n\t* {one}\n\n"),
        many => {
            let points: Vec<String> = many.iter().map(|e| format!("* {e}")).collect();
            format!(
                "{} errors occurred:\n\t{}\n\n",
                many.len(),
                points.join("\n\t")
            )
        }
    }
}

/// Go's `%q`, so that messages quote paths exactly as Vault does.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Vault's check on the `policy` parameter of `sys/policies/acl/:name`, which happens before
/// any parsing (so text of only whitespace passes and parses to a policy with no rules).
pub fn check_not_empty(raw: &str) -> Result<(), PolicyError> {
    if raw.is_empty() {
        Err(PolicyError::Empty)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Parsed policies
// ---------------------------------------------------------------------------------------

/// A named, parsed policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub name: String,
    /// The text as submitted, returned verbatim by reads.
    pub raw: String,
    /// The rules in the order written; one pattern may appear more than once.
    pub rules: Vec<PathRule>,
}

impl Policy {
    /// Whether any rule uses identity templating (Vault reports this on the policy).
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(PathRule::is_templated)
    }
}

/// One `path "..." { ... }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct PathRule {
    /// The pattern as matched: a leading `/` removed, a trailing `*` kept.
    pub path: String,
    /// What the rule grants, legacy `policy = "..."` already folded in.
    pub capabilities: CapabilitySet,
    /// Parameter names are lower-cased, as in Vault. Not enforced yet.
    pub allowed_parameters: Option<BTreeMap<String, Vec<Value>>>,
    /// Parameter names are lower-cased, as in Vault. Not enforced yet.
    pub denied_parameters: Option<BTreeMap<String, Vec<Value>>>,
    /// Not enforced yet.
    pub required_parameters: Vec<String>,
    /// Not enforced yet.
    pub min_wrapping_ttl: Option<Duration>,
    /// Not enforced yet.
    pub max_wrapping_ttl: Option<Duration>,
}

impl PathRule {
    fn new(path: String, capabilities: CapabilitySet) -> Self {
        PathRule {
            path,
            capabilities,
            allowed_parameters: None,
            denied_parameters: None,
            required_parameters: Vec::new(),
            min_wrapping_ttl: None,
            max_wrapping_ttl: None,
        }
    }

    /// Whether the pattern holds an identity template such as `{{identity.entity.id}}`.
    pub fn is_templated(&self) -> bool {
        self.path
            .find("{{")
            .is_some_and(|start| self.path[start..].contains("}}"))
    }
}

/// Parses policy text: JSON when the trimmed text starts with `{` (as Vault's HCL parser
/// decides), HCL otherwise.
pub fn parse(name: &str, raw: &str) -> Result<Policy, PolicyError> {
    check_not_empty(raw)?;
    let top = if raw.trim_start().starts_with('{') {
        read_json(raw)?
    } else {
        read_hcl(raw)?
    };
    Ok(Policy {
        name: name.to_owned(),
        raw: raw.to_owned(),
        rules: rules_from(top)?,
    })
}

/// The document reduced to what both syntaxes share, so that one validator serves both.
/// Entries keep duplicates and order, since one policy may repeat a path block.
enum Node {
    Scalar(Value),
    List(Vec<Node>),
    Object(Vec<Entry>),
    /// An HCL construct (variable, function call, template...) that HCL1, and so Vault,
    /// would not have accepted as a value.
    Unsupported,
}

struct Entry {
    key: String,
    /// For error messages only; 0 when unknown.
    line: usize,
    value: Node,
}

fn read_hcl(raw: &str) -> Result<Vec<Entry>, PolicyError> {
    let body = hcl::edit::parser::parse_body(raw).map_err(|e| PolicyError::Syntax {
        line: e.location().line(),
        column: e.location().column(),
        message: e.message().replace('\n', " "),
    })?;
    Ok(hcl_body(&body, raw))
}

fn line_at(src: &str, span: Option<std::ops::Range<usize>>) -> usize {
    span.map_or(0, |span| {
        let end = span.start.min(src.len());
        src.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1
    })
}

fn hcl_body(body: &Body, src: &str) -> Vec<Entry> {
    body.iter()
        .map(|structure| match structure {
            Structure::Attribute(attr) => Entry {
                key: attr.key.as_str().to_owned(),
                line: line_at(src, attr.key.span()),
                value: hcl_expr(&attr.value, src),
            },
            Structure::Block(block) => {
                // HCL1, which Vault uses, reads `path "x" { .. }` as `path = { "x" = { .. } }`;
                // nesting labels the same way gives the shape JSON policies have.
                let value = block.labels.iter().rev().fold(
                    Node::Object(hcl_body(&block.body, src)),
                    |inner, label| {
                        Node::Object(vec![Entry {
                            key: label.as_str().to_owned(),
                            line: line_at(src, label.span()),
                            value: inner,
                        }])
                    },
                );
                Entry {
                    key: block.ident.as_str().to_owned(),
                    line: line_at(src, block.ident.span()),
                    value,
                }
            }
        })
        .collect()
}

fn hcl_expr(expr: &Expression, src: &str) -> Node {
    match expr {
        Expression::Null(_) => Node::Scalar(Value::Null),
        Expression::Bool(b) => Node::Scalar(Value::Bool(*b.value())),
        Expression::Number(n) => {
            let n = n.value();
            let value = if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            };
            Node::Scalar(value)
        }
        Expression::String(s) => Node::Scalar(Value::String(s.value().clone())),
        Expression::Array(array) => Node::List(array.iter().map(|e| hcl_expr(e, src)).collect()),
        Expression::Object(object) => {
            let mut entries = Vec::with_capacity(object.len());
            for (key, value) in object.iter() {
                let name = match key {
                    ObjectKey::Ident(ident) => ident.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(s)) => s.value().clone(),
                    ObjectKey::Expression(_) => return Node::Unsupported,
                };
                entries.push(Entry {
                    key: name,
                    line: line_at(src, key.span()),
                    value: hcl_expr(value.expr(), src),
                });
            }
            Node::Object(entries)
        }
        Expression::HeredocTemplate(heredoc) => {
            let mut text = String::new();
            for element in heredoc.template.iter() {
                match element {
                    Element::Literal(literal) => text.push_str(literal.value()),
                    _ => return Node::Unsupported,
                }
            }
            Node::Scalar(Value::String(text))
        }
        Expression::Parenthesis(inner) => hcl_expr(inner.inner(), src),
        _ => Node::Unsupported,
    }
}

fn read_json(raw: &str) -> Result<Vec<Entry>, PolicyError> {
    let value: Value = serde_json::from_str(raw).map_err(|e| {
        let text = e.to_string();
        // serde_json appends " at line L column C"; the location goes in front instead,
        // where Vault puts it.
        let message = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(message, _)| message)
            .to_owned();
        PolicyError::Syntax {
            line: e.line(),
            column: e.column(),
            message,
        }
    })?;
    match json_node(value, raw) {
        Node::Object(entries) => Ok(entries),
        _ => Err(PolicyError::InvalidStructure(
            "does not contain a root object".to_owned(),
        )),
    }
}

fn json_node(value: Value, src: &str) -> Node {
    match value {
        Value::Array(items) => Node::List(items.into_iter().map(|v| json_node(v, src)).collect()),
        Value::Object(map) => Node::Object(
            map.into_iter()
                .map(|(key, value)| Entry {
                    line: json_key_line(src, &key),
                    key,
                    value: json_node(value, src),
                })
                .collect(),
        ),
        scalar => Node::Scalar(scalar),
    }
}

/// serde_json keeps no positions, so the line of a key, needed only to word an error, is
/// that of the key's first appearance in the text. Good enough to point a person at it.
fn json_key_line(src: &str, key: &str) -> usize {
    let needle = Value::String(key.to_owned()).to_string();
    src.find(&needle).map_or(0, |at| line_at(src, Some(at..at)))
}

/// Vault accepts a lone string where a list of strings is expected (HCL1 decoding does).
fn string_list(node: Node) -> Option<Vec<String>> {
    match node {
        Node::Scalar(Value::String(s)) => Some(vec![s]),
        Node::List(items) => items
            .into_iter()
            .map(|item| match item {
                Node::Scalar(Value::String(s)) => Some(s),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn json_value(node: Node) -> Option<Value> {
    match node {
        Node::Scalar(value) => Some(value),
        Node::List(items) => items
            .into_iter()
            .map(json_value)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        Node::Object(entries) => entries
            .into_iter()
            .map(|e| json_value(e.value).map(|v| (e.key, v)))
            .collect::<Option<serde_json::Map<_, _>>>()
            .map(Value::Object),
        Node::Unsupported => None,
    }
}

/// `allowed_parameters` / `denied_parameters`: parameter name to the list of values.
fn parameter_map(node: Node) -> Option<BTreeMap<String, Vec<Value>>> {
    let Node::Object(entries) = node else {
        return None;
    };
    let mut map = BTreeMap::new();
    for entry in entries {
        let values = match entry.value {
            Node::List(items) => items
                .into_iter()
                .map(json_value)
                .collect::<Option<Vec<_>>>()?,
            other => vec![json_value(other)?],
        };
        // Vault matches request parameters case-insensitively, so it stores them lowered.
        map.insert(entry.key.to_lowercase(), values);
    }
    Some(map)
}

/// Entries of a `path` value: an object keyed by pattern, or (JSON) a list of such objects.
fn path_entries(node: Node) -> Result<Vec<Entry>, PolicyError> {
    let shape = || {
        PolicyError::InvalidStructure("path: expected an object keyed by path pattern".to_owned())
    };
    match node {
        Node::Object(entries) => Ok(entries),
        Node::List(items) => {
            let mut all = Vec::new();
            for item in items {
                match item {
                    Node::Object(entries) => all.extend(entries),
                    _ => return Err(shape()),
                }
            }
            Ok(all)
        }
        _ => Err(shape()),
    }
}

fn rules_from(top: Vec<Entry>) -> Result<Vec<PathRule>, PolicyError> {
    // Vault reports every unknown key of a level at once, before looking at any value.
    let invalid: Vec<String> = top
        .iter()
        .filter(|e| e.key != "name" && e.key != "path")
        .map(|e| format!("invalid key {} on line {}", go_quote(&e.key), e.line))
        .collect();
    if !invalid.is_empty() {
        return Err(PolicyError::InvalidKeys(invalid));
    }
    let mut rules = Vec::new();
    // `name` is accepted for Vault's sake and ignored: the name in the API path wins.
    for entry in top.into_iter().filter(|e| e.key == "path") {
        for rule in path_entries(entry.value)? {
            rules.push(parse_rule(&rule.key, rule.value)?);
        }
    }
    Ok(rules)
}

/// Keys Vault accepts in a path block. OpenBao's restricting keys (`expiration`,
/// `control_group`, `mfa_methods`, pagination) are left out on purpose: accepting and
/// ignoring them would grant more than the author meant, so such a policy is refused.
const RULE_KEYS: [&str; 8] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
];

fn parse_rule(key: &str, node: Node) -> Result<PathRule, PolicyError> {
    let entries = match node {
        Node::Object(entries) => entries,
        Node::List(items) => {
            let mut all = Vec::new();
            for item in items {
                match item {
                    Node::Object(entries) => all.extend(entries),
                    _ => return Err(rule_shape(key)),
                }
            }
            all
        }
        _ => return Err(rule_shape(key)),
    };
    let invalid: Vec<String> = entries
        .iter()
        .filter(|e| !RULE_KEYS.contains(&e.key.as_str()))
        .map(|e| {
            format!(
                "path {}: invalid key {} on line {}",
                go_quote(key),
                go_quote(&e.key),
                e.line
            )
        })
        .collect();
    if !invalid.is_empty() {
        return Err(PolicyError::InvalidKeys(invalid));
    }

    // Types are checked for every key before any meaning, as Vault decodes first.
    let wrong = |field: &'static str, expected: &'static str| PolicyError::InvalidValue {
        path: key.to_owned(),
        key: field,
        expected,
    };
    let mut capabilities = None;
    let mut legacy = None;
    let mut allowed = None;
    let mut denied = None;
    let mut required = Vec::new();
    let mut min_ttl = None;
    let mut max_ttl = None;
    for entry in entries {
        match entry.key.as_str() {
            "capabilities" => {
                capabilities = Some(
                    string_list(entry.value)
                        .ok_or_else(|| wrong("capabilities", "a list of strings"))?,
                );
            }
            "policy" => match entry.value {
                Node::Scalar(Value::String(s)) => legacy = Some(s),
                _ => return Err(wrong("policy", "a string")),
            },
            "allowed_parameters" => {
                allowed = Some(
                    parameter_map(entry.value)
                        .ok_or_else(|| wrong("allowed_parameters", "an object of value lists"))?,
                );
            }
            "denied_parameters" => {
                denied = Some(
                    parameter_map(entry.value)
                        .ok_or_else(|| wrong("denied_parameters", "an object of value lists"))?,
                );
            }
            "required_parameters" => {
                required = string_list(entry.value)
                    .ok_or_else(|| wrong("required_parameters", "a list of strings"))?;
            }
            "min_wrapping_ttl" => min_ttl = Some(entry.value),
            "max_wrapping_ttl" => max_ttl = Some(entry.value),
            // `comment` is documentation only; Vault keeps it nowhere either.
            _ => {}
        }
    }

    // Request paths never start with '/', so without this such a pattern could never match.
    let path = key.strip_prefix('/').unwrap_or(key).to_owned();
    if path.contains("+*") {
        return Err(PolicyError::InvalidWildcard { path });
    }
    // Vault would store a rule that grants nothing here; refusing it catches the typo of
    // a block whose capabilities were forgotten. `capabilities = []` is still allowed.
    if capabilities.is_none() && legacy.is_none() {
        return Err(PolicyError::MissingCapabilities {
            path: key.to_owned(),
        });
    }

    let mut names = capabilities.unwrap_or_default();
    if let Some(legacy) = legacy {
        let implied: &[&str] = match legacy.as_str() {
            "deny" => {
                names.clear();
                &["deny"]
            }
            "read" => &["read", "list"],
            "write" => &["create", "read", "update", "delete", "list"],
            "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
            _ => {
                return Err(PolicyError::InvalidLegacyPolicy {
                    path: key.to_owned(),
                    policy: legacy,
                })
            }
        };
        names.extend(implied.iter().map(|s| (*s).to_owned()));
    }

    let mut caps = CapabilitySet::new();
    for name in names {
        let cap: Capability = name.parse().map_err(|_| PolicyError::InvalidCapability {
            path: key.to_owned(),
            capability: name.clone(),
        })?;
        if cap == Capability::Deny {
            // Vault stops at a deny: later names, even invalid ones, and the parameter and
            // TTL settings are not looked at, since nothing on the path is allowed anyway.
            return Ok(PathRule::new(path, CapabilitySet::deny()));
        }
        caps.insert(cap);
    }

    let min_wrapping_ttl = wrapping_ttl("min_wrapping_ttl", min_ttl)?;
    let max_wrapping_ttl = wrapping_ttl("max_wrapping_ttl", max_ttl)?;
    if let (Some(min), Some(max)) = (min_wrapping_ttl, max_wrapping_ttl) {
        if !min.is_zero() && !max.is_zero() && max < min {
            return Err(PolicyError::WrappingTtlOrder);
        }
    }
    Ok(PathRule {
        allowed_parameters: allowed,
        denied_parameters: denied,
        required_parameters: required,
        min_wrapping_ttl,
        max_wrapping_ttl,
        ..PathRule::new(path, caps)
    })
}

fn rule_shape(key: &str) -> PolicyError {
    PolicyError::InvalidStructure(format!("path {}: expected an object", go_quote(key)))
}

fn wrapping_ttl(key: &'static str, node: Option<Node>) -> Result<Option<Duration>, PolicyError> {
    let Some(node) = node else {
        return Ok(None);
    };
    let err = |detail: String| PolicyError::InvalidWrappingTtl { key, detail };
    let duration = match node {
        Node::Scalar(Value::Number(n)) => n
            .as_u64()
            .map(Duration::from_secs)
            .or_else(|| n.as_f64().and_then(|f| Duration::try_from_secs_f64(f).ok()))
            .ok_or_else(|| err(format!("invalid duration {n}")))?,
        Node::Scalar(Value::String(s)) => parse_duration_second(&s).map_err(err)?,
        _ => return Err(err("could not parse duration from input".to_owned())),
    };
    Ok(Some(duration))
}

/// Vault's `parseutil.ParseDurationSecond` for strings: bare integers are seconds, `Nd` is
/// days, anything else is a Go duration such as `1h30m` (the config file's syntax, so
/// [`crate::config::parse_duration`] reads it); empty is zero.
fn parse_duration_second(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if s.is_empty() {
        return Ok(Duration::ZERO);
    }
    crate::config::parse_duration(s)
        .map_err(|_| format!("time: invalid duration {}", go_quote(input)))
}

// ---------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------

/// The merged rules of a token's policies.
///
/// A request path is checked against, in order: the exact rule for the path; then (list
/// requests only) the exact rule for the path without its trailing `/`, and the wildcard
/// rules for that trimmed path; then the wildcard rules for the path. Among matching
/// wildcard rules the one of highest priority decides alone, by Vault's rules in order:
/// the first `+` or `*` later in the pattern; not ending in `*`; fewer `+` segments; the
/// longer pattern; the lexicographically greater pattern. Among prefix-only patterns just
/// the longest matching one takes part, which those rules would pick anyway.
#[derive(Clone, Debug, Default)]
pub struct Acl {
    root: bool,
    exact: HashMap<String, CapabilitySet>,
    /// Keyed by the pattern without its trailing `*`.
    prefix: HashMap<String, CapabilitySet>,
    /// Patterns with `+` segments, keyed by the full pattern (a trailing `*` kept).
    segment: HashMap<String, CapabilitySet>,
}

impl Acl {
    /// Merges `policies`. A policy named `root` makes the ACL a root ACL.
    ///
    /// Vault refuses `root` together with other policies; a root token carries only
    /// `root`, so here root simply wins.
    pub fn new(policies: &[&Policy]) -> Acl {
        let mut acl = Acl::default();
        for policy in policies {
            if policy.name == "root" {
                acl.root = true;
            }
            for rule in &policy.rules {
                // Vault drops templated rules it cannot fill in; with no identity store,
                // none can be.
                if rule.is_templated() {
                    continue;
                }
                let pattern = rule.path.as_str();
                let (table, key) = if has_segment_wildcards(pattern) {
                    (&mut acl.segment, pattern)
                } else if let Some(prefix) = pattern.strip_suffix('*') {
                    (&mut acl.prefix, prefix)
                } else {
                    (&mut acl.exact, pattern)
                };
                let merged = table.entry(key.to_owned()).or_default();
                *merged = merged.union(rule.capabilities);
            }
        }
        acl
    }

    /// An ACL that allows everything.
    pub fn root() -> Acl {
        Acl {
            root: true,
            ..Acl::default()
        }
    }

    pub fn is_root(&self) -> bool {
        self.root
    }

    /// The capabilities on `path`, as `sys/capabilities-self` reports them. Like Vault,
    /// this looks the path up as a list request would, so `secret/foo/` also sees a
    /// `secret/foo` rule.
    pub fn capabilities(&self, path: &str) -> CapabilitySet {
        if self.root {
            return CapabilitySet::root();
        }
        self.lookup(path, Capability::List).unwrap_or_default()
    }

    /// Whether a request needing `needed` on `path` may go ahead; `sudo_required` is set
    /// for Vault's root-protected paths, which also need `sudo`.
    pub fn allows(&self, path: &str, needed: Capability, sudo_required: bool) -> bool {
        if self.root {
            return true;
        }
        let Some(caps) = self.lookup(path, needed) else {
            return false;
        };
        !caps.is_deny()
            && needed != Capability::Deny
            && caps.contains(needed)
            && (!sudo_required || caps.contains(Capability::Sudo))
    }

    /// Whether anything at or under the mount `mount_path` (given with its trailing `/`)
    /// is granted: Vault's `hasMountAccess`, which decides whether
    /// `sys/internal/ui/mounts/:path` may describe the mount. Explicit denies grant
    /// nothing but do not hide grants elsewhere under the mount.
    pub fn has_any_under(&self, mount_path: &str) -> bool {
        if self.root {
            return true;
        }
        let direct = self.capabilities(mount_path);
        if !direct.is_empty() && !direct.is_deny() {
            return true;
        }
        // Vault's list of what counts as access here leaves `scan` out.
        let grants = |caps: &CapabilitySet| {
            !caps.is_deny()
                && [
                    Capability::Create,
                    Capability::Delete,
                    Capability::List,
                    Capability::Read,
                    Capability::Sudo,
                    Capability::Update,
                    Capability::Patch,
                ]
                .into_iter()
                .any(|cap| caps.contains(cap))
        };
        let under =
            |(key, caps): (&String, &CapabilitySet)| key.starts_with(mount_path) && grants(caps);
        if self.exact.iter().any(under) || self.prefix.iter().any(under) {
            return true;
        }
        self.segment_rule_under(mount_path)
    }

    /// The `+` patterns' part of [`Acl::has_any_under`]: whether a pattern's segments at
    /// the mount's depth can match the mount, whatever comes after.
    fn segment_rule_under(&self, mount_path: &str) -> bool {
        let parts: Vec<&str> = mount_path.split('/').collect();
        // Without the trailing '/' Vault's walk is undefined; it is never called so.
        let Some(stop) = parts.len().checked_sub(2) else {
            return false;
        };
        for (pattern, caps) in &self.segment {
            let (is_prefix, body) = match pattern.strip_suffix('*') {
                Some(body) => (true, body),
                None => (false, pattern.as_str()),
            };
            let acl_parts: Vec<&str> = body.split('/').collect();
            let last = acl_parts.len() - 1;
            let mut segments: Vec<&str> = Vec::new();
            for (i, (acl_part, part)) in acl_parts.iter().zip(&parts).enumerate() {
                if *acl_part == "+" || acl_part == part {
                    segments.push(part);
                } else if is_prefix && i == last && part.starts_with(acl_part) {
                    segments.extend(&parts[i..]);
                }
                if i == stop {
                    let joined = format!("{}/", segments.join("/"));
                    if joined.starts_with(mount_path) && !caps.is_deny() && !caps.is_empty() {
                        return true;
                    }
                    break;
                }
            }
        }
        false
    }

    fn lookup(&self, path: &str, op: Capability) -> Option<CapabilitySet> {
        // Defence in depth, as in Vault: callers already strip the leading slash.
        let path = path.trim_start_matches('/');
        if let Some(caps) = self.exact.get(path) {
            return Some(*caps);
        }
        // List requests come with or without the trailing slash, and a rule written for
        // the folder name must apply to both (OpenBao does this for SCAN too).
        let trimmed = path.strip_suffix('/');
        if matches!(op, Capability::List | Capability::Scan) {
            if let Some(caps) = self.exact.get(trimmed.unwrap_or(path)) {
                return Some(*caps);
            }
        }
        if op == Capability::List {
            if let Some(caps) = trimmed.and_then(|t| self.non_exact(t)) {
                return Some(caps);
            }
        }
        self.non_exact(path)
    }

    fn non_exact(&self, path: &str) -> Option<CapabilitySet> {
        let longest_prefix = self
            .prefix
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len());
        let mut best = longest_prefix.map(|(prefix, caps)| {
            (
                Priority {
                    first_wildcard: prefix.len(),
                    not_prefix: false,
                    wildcards: Reverse(0),
                    len: prefix.len(),
                    text: prefix.as_str(),
                },
                *caps,
            )
        });
        if self.segment.is_empty() {
            return best.map(|(_, caps)| caps);
        }
        let parts: Vec<&str> = path.split('/').collect();
        for (pattern, caps) in &self.segment {
            if let Some(priority) = segment_match(pattern, &parts) {
                if best.as_ref().is_none_or(|(top, _)| priority > *top) {
                    best = Some((priority, *caps));
                }
            }
        }
        best.map(|(_, caps)| caps)
    }
}

/// Vault's test for a pattern with `+` segments. It is looser than "some segment is
/// exactly `+`" (`a/+b` counts, its `+b` then matching only literally); kept as is so the
/// same policies classify the same way.
fn has_segment_wildcards(pattern: &str) -> bool {
    pattern == "+" || pattern.contains("/+") || pattern.starts_with("+/")
}

/// A matching wildcard rule's rank; greater wins. Field order is the order of Vault's
/// tie-breaks.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Priority<'a> {
    /// Byte offset of the first `+` or `*`: the later, the more specific.
    first_wildcard: usize,
    /// A pattern not ending in `*` beats one that does.
    not_prefix: bool,
    /// Fewer `+` segments win.
    wildcards: Reverse<usize>,
    /// Length without the trailing `*`; longer wins.
    len: usize,
    /// The pattern without the trailing `*`; last resort, greater wins.
    text: &'a str,
}

fn segment_match<'a>(pattern: &'a str, parts: &[&str]) -> Option<Priority<'a>> {
    let first_wildcard = pattern.find('+')?;
    let (is_prefix, body) = match pattern.strip_suffix('*') {
        Some(body) => (true, body),
        None => (false, pattern),
    };
    let acl_parts: Vec<&str> = body.split('/').collect();
    if parts.len() < acl_parts.len() || (!is_prefix && parts.len() != acl_parts.len()) {
        return None;
    }
    let last = acl_parts.len() - 1;
    let mut wildcards = 0;
    for (i, (acl_part, part)) in acl_parts.iter().zip(parts).enumerate() {
        if *acl_part == "+" {
            wildcards += 1;
        } else if acl_part != part && !(is_prefix && i == last && part.starts_with(acl_part)) {
            return None;
        }
    }
    Some(Priority {
        first_wildcard,
        not_prefix: !is_prefix,
        wildcards: Reverse(wildcards),
        len: body.len(),
        text: body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, raw: &str) -> Policy {
        parse(name, raw).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn acl_of(raws: &[&str]) -> Acl {
        let policies: Vec<Policy> = raws
            .iter()
            .enumerate()
            .map(|(i, raw)| policy(&format!("p{i}"), raw))
            .collect();
        let refs: Vec<&Policy> = policies.iter().collect();
        Acl::new(&refs)
    }

    fn caps(acl: &Acl, path: &str) -> Vec<&'static str> {
        acl.capabilities(path).names()
    }

    fn err(raw: &str) -> String {
        match parse("t", raw) {
            Ok(p) => panic!("expected an error, parsed {p:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// One rule per pattern, each granting a capability that names it, so tests can read
    /// off which pattern won.
    fn winner(patterns: &[(&str, &str)], path: &str) -> Vec<&'static str> {
        let text: String = patterns
            .iter()
            .map(|(p, c)| format!("path \"{p}\" {{\n  capabilities = [\"{c}\"]\n}}\n"))
            .collect();
        caps(&acl_of(&[&text]), path)
    }

    // ----- parsing -----

    #[test]
    fn parses_hcl_rules() {
        let p = policy(
            "readsecret",
            "# comment\npath \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n\n\
             path \"sys/seal\" { capabilities = [\"update\", \"sudo\"] }\n",
        );
        assert_eq!(p.name, "readsecret");
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[0].path, "secret/*");
        assert_eq!(p.rules[0].capabilities.names(), ["list", "read"]);
        assert_eq!(p.rules[1].capabilities.names(), ["sudo", "update"]);
        assert!(p.raw.starts_with("# comment"));
    }

    #[test]
    fn parses_json_rules() {
        let p = policy(
            "j",
            r#" {"path": {"secret/*": {"capabilities": ["read"]}, "sys/seal": {"policy": "sudo"}}}"#,
        );
        let mut rules: Vec<(String, Vec<&str>)> = p
            .rules
            .iter()
            .map(|r| (r.path.clone(), r.capabilities.names()))
            .collect();
        rules.sort();
        assert_eq!(
            rules,
            [
                ("secret/*".to_owned(), vec!["read"]),
                (
                    "sys/seal".to_owned(),
                    vec!["create", "delete", "list", "read", "sudo", "update"]
                ),
            ]
        );
        let listed = policy(
            "j",
            r#"{"path": [{"a": {"capabilities": "read"}}, {"b": {"capabilities": []}}]}"#,
        );
        assert_eq!(listed.rules.len(), 2);
        assert_eq!(listed.rules[0].capabilities.names(), ["read"]);
        assert!(listed.rules[1].capabilities.is_empty());
    }

    #[test]
    fn same_pattern_twice_in_one_policy_merges() {
        let acl = acl_of(&["path \"secret/x\" {\n capabilities = [\"read\"]\n}\npath \"secret/x\" {\n capabilities = [\"list\"]\n}\n"]);
        assert_eq!(caps(&acl, "secret/x"), ["list", "read"]);
    }

    #[test]
    fn legacy_policy_maps_to_capabilities() {
        let names = |legacy: &str| {
            policy("l", &format!("path \"a\" {{\n policy = \"{legacy}\"\n}}")).rules[0]
                .capabilities
                .names()
        };
        assert_eq!(names("read"), ["list", "read"]);
        assert_eq!(
            names("write"),
            ["create", "delete", "list", "read", "update"]
        );
        assert_eq!(
            names("sudo"),
            ["create", "delete", "list", "read", "sudo", "update"]
        );
        assert_eq!(names("deny"), ["deny"]);
        let both = policy(
            "l",
            "path \"a\" {\n capabilities = [\"patch\"]\n policy = \"read\"\n}",
        );
        assert_eq!(
            both.rules[0].capabilities.names(),
            ["list", "patch", "read"]
        );
    }

    #[test]
    fn parameter_and_ttl_keys_are_kept() {
        let p = policy(
            "params",
            r#"
path "secret/foo" {
  capabilities = ["create", "update"]
  allowed_parameters = {
    "Bar" = ["zip", 1, true]
    "*"   = []
  }
  denied_parameters = { baz = [] }
  required_parameters = ["bar"]
  min_wrapping_ttl = "1s"
  max_wrapping_ttl = 90
  comment = "documentation only"
}
"#,
        );
        let rule = &p.rules[0];
        let allowed = rule.allowed_parameters.as_ref().expect("allowed kept");
        assert_eq!(
            allowed["bar"],
            vec![Value::from("zip"), Value::from(1), Value::from(true)]
        );
        assert!(allowed["*"].is_empty());
        assert!(rule.denied_parameters.as_ref().expect("denied kept")["baz"].is_empty());
        assert_eq!(rule.required_parameters, ["bar"]);
        assert_eq!(rule.min_wrapping_ttl, Some(Duration::from_secs(1)));
        assert_eq!(rule.max_wrapping_ttl, Some(Duration::from_secs(90)));
    }

    #[test]
    fn wrapping_ttl_formats() {
        assert_eq!(parse_duration_second("300"), Ok(Duration::from_secs(300)));
        assert_eq!(
            parse_duration_second("1h30m"),
            Ok(Duration::from_secs(5400))
        );
        assert_eq!(
            parse_duration_second("1.5s"),
            Ok(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_duration_second("2d"),
            Ok(Duration::from_secs(172_800))
        );
        assert_eq!(parse_duration_second(""), Ok(Duration::ZERO));
        assert_eq!(
            parse_duration_second("soon"),
            Err("time: invalid duration \"soon\"".to_owned())
        );
        assert_eq!(
            err("path \"a\" {\n capabilities = [\"read\"]\n min_wrapping_ttl = \"x\"\n}"),
            "failed to parse policy: error parsing min_wrapping_ttl: time: invalid duration \"x\""
        );
        assert_eq!(
            err("path \"a\" {\n capabilities = [\"read\"]\n min_wrapping_ttl = 60\n max_wrapping_ttl = 30\n}"),
            "failed to parse policy: max_wrapping_ttl cannot be less than min_wrapping_ttl"
        );
    }

    #[test]
    fn deny_discards_everything_else_in_the_rule() {
        let p = policy(
            "d",
            "path \"a\" {\n capabilities = [\"read\", \"deny\", \"bogus\"]\n min_wrapping_ttl = \"x\"\n}",
        );
        assert_eq!(p.rules[0].capabilities, CapabilitySet::deny());
        assert_eq!(p.rules[0].min_wrapping_ttl, None);
    }

    #[test]
    fn leading_slash_in_pattern_is_dropped() {
        let acl = acl_of(&["path \"/secret/foo\" {\n capabilities = [\"read\"]\n}"]);
        assert!(acl.allows("secret/foo", Capability::Read, false));
    }

    #[test]
    fn whitespace_only_policy_has_no_rules() {
        assert!(policy("w", "  \n").rules.is_empty());
        assert!(policy("w", "name = \"w\"\n").rules.is_empty());
    }

    // ----- errors -----

    #[test]
    fn error_invalid_capability() {
        assert_eq!(
            err("path \"x\" {\n  capabilities = [\"read\", \"bogus\"]\n}"),
            "failed to parse policy: path \"x\": path \"x\": invalid capability \"bogus\""
        );
        assert_eq!(
            err(r#"{"path": {"x": {"capabilities": ["Read"]}}}"#),
            "failed to parse policy: path \"x\": path \"x\": invalid capability \"Read\""
        );
    }

    #[test]
    fn error_hcl_syntax_is_one_line_with_position() {
        let message = err("path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n");
        assert!(
            message.starts_with("failed to parse policy: At 2:"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
        assert_eq!(
            err("garbage"),
            "failed to parse policy: At 1:1: unexpected token"
        );
    }

    #[test]
    fn error_json_syntax() {
        assert_eq!(
            err("{\"path\": "),
            "failed to parse policy: At 1:9: EOF while parsing a value"
        );
    }

    #[test]
    fn error_unknown_keys() {
        assert_eq!(
            err("path \"x\" {\n  capabilities = [\"read\"]\n  bogus = 1\n}"),
            "failed to parse policy: 1 error occurred:\n\t* path \"x\": invalid key \"bogus\" on line 3\n\n"
        );
        assert_eq!(
            err("foo = 1\npath \"x\" {\n  capabilities = [\"read\"]\n}\nbar \"y\" {}\n"),
            "failed to parse policy: 2 errors occurred:\n\t* invalid key \"foo\" on line 1\n\t* invalid key \"bar\" on line 5\n\n"
        );
        assert_eq!(
            err("{\n  \"path\": {\n    \"x\": {\n      \"expiration\": \"2030-01-01T00:00:00Z\",\n      \"capabilities\": [\"read\"]\n    }\n  }\n}"),
            "failed to parse policy: 1 error occurred:\n\t* path \"x\": invalid key \"expiration\" on line 4\n\n"
        );
    }

    #[test]
    fn error_rule_without_capabilities() {
        assert_eq!(
            err("path \"x\" {\n}"),
            "failed to parse policy: path \"x\": no capabilities or policy given"
        );
        assert!(policy("ok", "path \"x\" {\n capabilities = []\n}").rules[0]
            .capabilities
            .is_empty());
    }

    #[test]
    fn error_non_string_capability() {
        assert_eq!(
            err("path \"x\" {\n capabilities = [\"read\", 1]\n}"),
            "failed to parse policy: path \"x\": capabilities: expected a list of strings"
        );
        assert_eq!(
            err(r#"{"path": {"x": {"capabilities": [true]}}}"#),
            "failed to parse policy: path \"x\": capabilities: expected a list of strings"
        );
        assert_eq!(
            err("path \"x\" {\n capabilities = [var.read]\n}"),
            "failed to parse policy: path \"x\": capabilities: expected a list of strings"
        );
    }

    #[test]
    fn error_empty_policy() {
        assert_eq!(err(""), "'policy' parameter not supplied or empty");
        assert_eq!(check_not_empty(""), Err(PolicyError::Empty));
        assert_eq!(check_not_empty(" "), Ok(()));
    }

    #[test]
    fn error_invalid_legacy_policy_and_wildcards() {
        assert_eq!(
            err("path \"x\" {\n policy = \"admin\"\n}"),
            "failed to parse policy: path \"x\": path \"x\": invalid policy \"admin\""
        );
        assert_eq!(
            err("path \"/a/+*\" {\n capabilities = [\"read\"]\n}"),
            "failed to parse policy: path \"a/+*\": path \"a/+*\": invalid use of wildcards ('+*' is forbidden)"
        );
        assert_eq!(
            err(r#"{"path": "secret/*"}"#),
            "failed to parse policy: path: expected an object keyed by path pattern"
        );
    }

    #[test]
    fn go_quoting() {
        assert_eq!(go_quote("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\x01é\"");
    }

    // ----- capability names -----

    #[test]
    fn capability_names_round_trip_and_sort() {
        for cap in Capability::ALL {
            assert_eq!(cap.to_string().parse::<Capability>(), Ok(cap));
        }
        assert_eq!(
            "bogus".parse::<Capability>().map_err(|e| e.to_string()),
            Err("invalid capability \"bogus\"".to_owned())
        );
        let set: CapabilitySet = [Capability::Read, Capability::List].into_iter().collect();
        assert_eq!(set.names(), ["list", "read"]);
        let all: CapabilitySet = Capability::ALL
            .into_iter()
            .filter(|c| *c != Capability::Deny)
            .collect();
        assert_eq!(
            all.names(),
            ["create", "delete", "list", "patch", "read", "scan", "sudo", "update"]
        );
        assert_eq!(CapabilitySet::new().names(), ["deny"]);
        assert_eq!(CapabilitySet::root().names(), ["root"]);
    }

    #[test]
    fn capability_set_deny_absorbs() {
        let mut set = CapabilitySet::new();
        set.insert(Capability::Read);
        set.insert(Capability::Deny);
        set.insert(Capability::Update);
        assert!(set.is_deny());
        assert!(!set.contains(Capability::Read));
        assert!(!set.contains(Capability::Update));
        assert_eq!(set.names(), ["deny"]);
        let read: CapabilitySet = [Capability::Read].into_iter().collect();
        assert_eq!(read.union(CapabilitySet::deny()), CapabilitySet::deny());
        assert!(CapabilitySet::root().contains(Capability::Sudo));
        assert!(!CapabilitySet::root().contains(Capability::Deny));
    }

    // ----- matching and priority -----

    #[test]
    fn exact_beats_glob() {
        let acl = acl_of(&[
            "path \"secret/*\" {\n capabilities = [\"read\"]\n}\npath \"secret/foo\" {\n capabilities = [\"update\"]\n}",
        ]);
        assert_eq!(caps(&acl, "secret/foo"), ["update"]);
        assert_eq!(caps(&acl, "secret/bar"), ["read"]);
        assert_eq!(caps(&acl, "secret/foo/bar"), ["read"]);
    }

    #[test]
    fn plus_beats_star_at_the_same_position() {
        let rules = [("secret/*", "read"), ("secret/+/config", "update")];
        assert_eq!(winner(&rules, "secret/app/config"), ["update"]);
        assert_eq!(winner(&rules, "secret/app/other"), ["read"]);
    }

    #[test]
    fn longer_prefix_glob_wins() {
        let rules = [("secret/fo*", "read"), ("secret/foo*", "update")];
        assert_eq!(winner(&rules, "secret/foo"), ["update"]);
        assert_eq!(winner(&rules, "secret/foobar/x"), ["update"]);
        assert_eq!(winner(&rules, "secret/fox"), ["read"]);
    }

    #[test]
    fn later_first_wildcard_wins() {
        let rules = [("secret/+/foo", "read"), ("secret/bar/+", "update")];
        assert_eq!(winner(&rules, "secret/bar/foo"), ["update"]);
        let rules = [("foo/+/bar/baz", "read"), ("foo/bar/+/baz", "update")];
        assert_eq!(winner(&rules, "foo/bar/bar/baz"), ["update"]);
    }

    #[test]
    fn glob_after_plus_position_beats_plus() {
        let rules = [("foo/+", "read"), ("foo/a*", "update")];
        assert_eq!(winner(&rules, "foo/ab"), ["update"]);
        assert_eq!(winner(&rules, "foo/b"), ["read"]);
    }

    #[test]
    fn non_glob_beats_glob_at_the_same_position() {
        assert_eq!(
            winner(&[("foo/*", "read"), ("foo/+", "update")], "foo/x"),
            ["update"]
        );
        let rules = [("foo/+/ba*", "read"), ("foo/+/bar", "update")];
        assert_eq!(winner(&rules, "foo/x/bar"), ["update"]);
        assert_eq!(winner(&rules, "foo/x/baz"), ["read"]);
    }

    #[test]
    fn fewer_plus_segments_win() {
        let rules = [("foo/+/+/baz", "read"), ("foo/+/bar/baz", "update")];
        assert_eq!(winner(&rules, "foo/x/bar/baz"), ["update"]);
        assert_eq!(winner(&rules, "foo/x/qux/baz"), ["read"]);
    }

    #[test]
    fn longer_pattern_wins() {
        let rules = [("foo/+/bar/b*", "read"), ("foo/+/bar/ba*", "update")];
        assert_eq!(winner(&rules, "foo/x/bar/baz"), ["update"]);
        assert_eq!(winner(&rules, "foo/x/bar/bz"), ["read"]);
    }

    #[test]
    fn priority_order_of_tie_breaks() {
        let p = |first, prefix: bool, wildcards, text: &'static str| Priority {
            first_wildcard: first,
            not_prefix: !prefix,
            wildcards: Reverse(wildcards),
            len: text.len(),
            text,
        };
        assert!(p(5, true, 2, "a") > p(4, false, 0, "bbbb"));
        assert!(p(4, false, 2, "a") > p(4, true, 0, "bbbb"));
        assert!(p(4, true, 1, "a") > p(4, true, 2, "bbbb"));
        assert!(p(4, true, 1, "aaaa") > p(4, true, 1, "bbb"));
        assert!(p(4, true, 1, "bbbb") > p(4, true, 1, "aaaa"));
    }

    #[test]
    fn plus_matches_exactly_one_segment() {
        let acl = acl_of(&["path \"secret/+\" {\n capabilities = [\"read\"]\n}"]);
        assert_eq!(caps(&acl, "secret/a"), ["read"]);
        assert_eq!(caps(&acl, "secret/a/b"), ["deny"]);
        assert_eq!(caps(&acl, "secret"), ["deny"]);
        let acl = acl_of(&["path \"+/foo/*\" {\n capabilities = [\"read\"]\n}"]);
        assert_eq!(caps(&acl, "kv/foo/bar"), ["read"]);
        assert_eq!(caps(&acl, "kv/foo/"), ["read"]);
        assert_eq!(caps(&acl, "kv/foo"), ["deny"]);
        assert_eq!(caps(&acl, "kv/fob/bar"), ["deny"]);
    }

    #[test]
    fn plus_with_trailing_glob_matches_a_prefix_of_the_last_segment() {
        let acl = acl_of(&["path \"secret/+/conf*\" {\n capabilities = [\"read\"]\n}"]);
        assert_eq!(caps(&acl, "secret/app/config"), ["read"]);
        assert_eq!(caps(&acl, "secret/app/conf/deep"), ["read"]);
        assert_eq!(caps(&acl, "secret/app/other"), ["deny"]);
    }

    #[test]
    fn star_is_a_glob_only_at_the_end() {
        let acl = acl_of(&["path \"secret/*/x\" {\n capabilities = [\"read\"]\n}"]);
        assert_eq!(caps(&acl, "secret/*/x"), ["read"]);
        assert_eq!(caps(&acl, "secret/a/x"), ["deny"]);
        let acl = acl_of(&["path \"*\" {\n capabilities = [\"list\"]\n}"]);
        assert_eq!(caps(&acl, "anything/at/all"), ["list"]);
        assert_eq!(caps(&acl, ""), ["list"]);
    }

    #[test]
    fn glob_does_not_match_the_folder_without_its_slash() {
        let acl = acl_of(&["path \"secret/*\" {\n capabilities = [\"list\"]\n}"]);
        assert!(acl.allows("secret/", Capability::List, false));
        assert!(!acl.allows("secret", Capability::List, false));
        assert!(!acl.allows("secretive", Capability::List, false));
    }

    #[test]
    fn list_falls_back_to_the_path_without_trailing_slash() {
        let acl = acl_of(&["path \"secret/foo\" {\n capabilities = [\"list\", \"read\"]\n}"]);
        assert!(acl.allows("secret/foo/", Capability::List, false));
        assert!(!acl.allows("secret/foo/", Capability::Read, false));
        assert_eq!(caps(&acl, "secret/foo/"), ["list", "read"]);
        let acl = acl_of(&["path \"kv/+\" {\n capabilities = [\"list\"]\n}"]);
        assert!(acl.allows("kv/dir/", Capability::List, false));
    }

    #[test]
    fn templated_rules_are_left_out_of_the_acl() {
        let p = policy(
            "t",
            "path \"identity/entity/id/{{identity.entity.id}}\" {\n capabilities = [\"read\"]\n}",
        );
        assert!(p.is_templated());
        let acl = Acl::new(&[&p]);
        assert_eq!(
            caps(&acl, "identity/entity/id/{{identity.entity.id}}"),
            ["deny"]
        );
    }

    // ----- merging -----

    #[test]
    fn deny_wins_across_policies() {
        let acl = acl_of(&[
            "path \"secret/*\" {\n capabilities = [\"read\", \"list\"]\n}",
            "path \"secret/*\" {\n capabilities = [\"deny\"]\n}",
            "path \"secret/*\" {\n capabilities = [\"update\"]\n}",
        ]);
        assert_eq!(caps(&acl, "secret/a"), ["deny"]);
        assert!(!acl.allows("secret/a", Capability::Read, false));
    }

    #[test]
    fn deny_on_the_chosen_pattern_is_not_rescued_by_another() {
        let acl = acl_of(&[
            "path \"secret/*\" {\n capabilities = [\"read\"]\n}",
            "path \"secret/private/*\" {\n capabilities = [\"deny\"]\n}",
            "path \"secret/private/shared\" {\n capabilities = [\"read\"]\n}",
        ]);
        assert!(!acl.allows("secret/private/x", Capability::Read, false));
        assert!(acl.allows("secret/public", Capability::Read, false));
        // The exact rule is more specific than the denied glob, so it decides.
        assert!(acl.allows("secret/private/shared", Capability::Read, false));
    }

    #[test]
    fn capabilities_of_one_pattern_merge_across_policies() {
        let acl = acl_of(&[
            "path \"secret/*\" {\n capabilities = [\"read\"]\n}",
            "path \"secret/*\" {\n capabilities = [\"list\", \"update\"]\n}",
        ]);
        assert_eq!(caps(&acl, "secret/a"), ["list", "read", "update"]);
    }

    #[test]
    fn unmatched_paths_are_denied() {
        let acl = acl_of(&["path \"secret/*\" {\n capabilities = [\"read\"]\n}"]);
        assert!(!acl.allows("sys/mounts", Capability::Read, false));
        assert_eq!(caps(&acl, "sys/seal"), ["deny"]);
        assert!(acl.capabilities("sys/seal").is_empty());
        let empty = Acl::new(&[]);
        assert!(!empty.is_root());
        assert!(!empty.allows("secret/a", Capability::Read, false));
    }

    #[test]
    fn root_allows_everything() {
        let root = Acl::root();
        assert!(root.is_root());
        assert!(root.allows("sys/seal", Capability::Update, true));
        assert_eq!(caps(&root, "anything"), ["root"]);
        let named = Policy {
            name: "root".to_owned(),
            raw: String::new(),
            rules: Vec::new(),
        };
        let acl = Acl::new(&[&named]);
        assert!(acl.is_root());
        assert_eq!(caps(&acl, "secret/x"), ["root"]);
    }

    #[test]
    fn mount_access_looks_under_the_mount() {
        let acl = acl_of(&["path \"secret/data/app\" {\n capabilities = [\"read\"]\n}"]);
        assert!(acl.has_any_under("secret/"));
        assert!(!acl.has_any_under("sys/"));
        assert!(!acl.has_any_under("secre/"));
        let acl = acl_of(&["path \"secret/*\" {\n capabilities = [\"deny\"]\n}"]);
        assert!(!acl.has_any_under("secret/"));
        let acl = acl_of(&[
            "path \"secret/*\" {\n capabilities = [\"deny\"]\n}\npath \"secret/x\" {\n capabilities = [\"read\"]\n}",
        ]);
        assert!(acl.has_any_under("secret/"));
        let acl = acl_of(&["path \"+/config\" {\n capabilities = [\"read\"]\n}"]);
        assert!(acl.has_any_under("kv/"));
        let acl = acl_of(&["path \"secret/+/x\" {\n capabilities = [\"read\"]\n}"]);
        assert!(acl.has_any_under("secret/"));
        assert!(!acl.has_any_under("other/"));
        assert!(!acl.has_any_under("secret"));
        let acl = acl_of(&["path \"a/b/+\" {\n capabilities = [\"read\"]\n}"]);
        assert!(acl.has_any_under("a/b/"));
        assert!(!acl.has_any_under("a/c/"));
        let acl = acl_of(&["path \"kv*\" {\n capabilities = [\"list\"]\n}"]);
        assert!(acl.has_any_under("kv/"));
        assert!(Acl::root().has_any_under("anything/"));
        assert!(!Acl::new(&[]).has_any_under("secret/"));
    }

    #[test]
    fn sudo_required_needs_sudo_too() {
        let acl = acl_of(&[
            "path \"sys/seal\" {\n capabilities = [\"update\"]\n}\npath \"sys/rotate\" {\n capabilities = [\"update\", \"sudo\"]\n}",
        ]);
        assert!(acl.allows("sys/seal", Capability::Update, false));
        assert!(!acl.allows("sys/seal", Capability::Update, true));
        assert!(acl.allows("sys/rotate", Capability::Update, true));
        assert!(!acl.allows("sys/rotate", Capability::Read, true));
        assert!(!acl.allows("sys/rotate", Capability::Deny, false));
    }

    #[test]
    fn default_policy_grants_the_self_service_paths() {
        let default = default_policy();
        assert_eq!(default.raw, DEFAULT_POLICY);
        let acl = Acl::new(&[&default]);
        assert!(acl.allows("auth/token/lookup-self", Capability::Read, false));
        assert!(acl.allows("auth/token/renew-self", Capability::Update, false));
        assert!(acl.allows("sys/capabilities-self", Capability::Update, false));
        assert!(acl.allows("cubbyhole/x", Capability::Create, false));
        assert!(acl.allows("cubbyhole/", Capability::List, false));
        assert!(acl.allows("sys/tools/hash/sha2-256", Capability::Update, false));
        assert!(acl.allows(
            "identity/oidc/provider/p/authorize",
            Capability::Read,
            false
        ));
        assert!(!acl.allows("secret/x", Capability::Read, false));
        assert!(!acl.allows("cubbyhole/x", Capability::Sudo, false));
        assert_eq!(
            caps(&acl, "cubbyhole/x"),
            ["create", "delete", "list", "read", "update"]
        );
        assert_eq!(caps(&acl, "sys/seal"), ["deny"]);
        let wrapping = policy("response-wrapping", RESPONSE_WRAPPING_POLICY);
        assert_eq!(wrapping.rules.len(), 2);
    }

    #[test]
    fn observed_readsecret_policy() {
        // Section 9 of the HTTP API reference: what the `readsecret` token could do.
        let acl = acl_of(&["path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}"]);
        assert!(acl.allows("secret/foo", Capability::Read, false));
        assert!(acl.allows("secret/", Capability::List, false));
        assert!(!acl.allows("secret/foo", Capability::Update, false));
        assert!(!acl.allows("secret/foo", Capability::Delete, false));
        assert!(!acl.allows("sys/mounts", Capability::Read, false));
        assert!(!acl.allows("nosuchmount/x", Capability::Read, false));
        assert_eq!(caps(&acl, "secret/foo"), ["list", "read"]);
        assert_eq!(caps(&acl, "sys/seal"), ["deny"]);
    }
}
