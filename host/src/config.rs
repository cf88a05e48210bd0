//! Server configuration in Vault's format: HCL, or JSON when the file name ends in `.json`.
//!
//! Loading happens in two layers. Each source is first parsed into a raw tree that is the same
//! for HCL and JSON and remembers where every key was written; then that tree is validated into
//! a partial config, and the partials of all sources are merged in order into a
//! [`ServerConfig`]. Keeping positions in the raw layer is what lets every error point at
//! `file:line:col`, including errors that storage and listener plugins raise much later about
//! their own keys (see [`Stanza::locate_key`]).

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hcl::edit::expr::{Expression, ObjectKey};
use hcl::edit::structure::{Body, Structure};
use hcl::edit::template::{Element, Template};
use hcl::edit::Span as _;

/// The validated configuration of the server, merged from all its sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub storage: Stanza,
    /// In the order they were written, sources taken in the order given.
    pub listeners: Vec<Stanza>,
    pub plugin_dir: Option<PathBuf>,
    pub disable_mlock: bool,
    pub ui: bool,
    /// Validated, and normalised to one of `trace`, `debug`, `info`, `warn`, `error`.
    pub log_level: Option<String>,
    /// Validated, and normalised to `standard` or `json`.
    pub log_format: Option<String>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub cluster_name: Option<String>,
    pub default_lease_ttl: Option<Duration>,
    pub max_lease_ttl: Option<Duration>,
    /// Vault's `disable_cache`: no read cache in front of the storage.
    pub disable_cache: bool,
    /// Vault's `cache_size`: how many entries the read cache keeps (`None`: the default).
    pub cache_size: Option<usize>,
}

/// A base for configs built by hand with `..ServerConfig::default()`, as `-dev` mode does: it
/// has an empty synthetic storage stanza and no listener, so the builder must supply both.
impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            storage: Stanza::synthetic(String::new(), Vec::new()),
            listeners: Vec::new(),
            plugin_dir: None,
            disable_mlock: false,
            ui: false,
            log_level: None,
            log_format: None,
            api_addr: None,
            cluster_addr: None,
            cluster_name: None,
            default_lease_ttl: None,
            max_lease_ttl: None,
            disable_cache: false,
            cache_size: None,
        }
    }
}

/// A `storage "TYPE" { ... }` or `listener "TYPE" { ... }` block, flattened to the string pairs
/// that its plugin receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    /// The block's type label: `"file"`, `"tcp"`...
    pub kind: String,
    /// The block's attributes in source order. Numbers keep their source spelling and bools
    /// become `true`/`false`, as Vault passes them to its backends.
    pub pairs: Vec<(String, String)>,
    location: SourceLocation,
    // Kept apart from `pairs` (rather than zipped with it) so that callers may edit `pairs`, e.g.
    // to add defaults, without breaking `locate_key`.
    key_locations: Vec<(String, SourceLocation)>,
}

impl Stanza {
    /// A stanza that no file defines, as `-dev` mode builds; its origin reads `-dev`.
    pub fn synthetic(kind: impl Into<String>, pairs: Vec<(String, String)>) -> Stanza {
        Stanza {
            kind: kind.into(),
            pairs,
            location: SourceLocation::file_only("-dev"),
            key_locations: Vec::new(),
        }
    }

    /// Where the block starts, as `file:line:col`.
    pub fn origin(&self) -> String {
        self.location.to_string()
    }

    /// Where the block starts.
    pub fn location(&self) -> &SourceLocation {
        &self.location
    }

    /// Where `key` was written, as `file:line:col`; the block's origin when the key was not
    /// written in the file (a synthetic stanza, or a key the caller added).
    pub fn locate_key(&self, key: &str) -> String {
        self.key_locations
            .iter()
            .find(|(k, _)| k == key)
            .map_or(&self.location, |(_, location)| location)
            .to_string()
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A place in a config source. Without a line and column it names just the file, as for errors
/// about something missing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    file: String,
    line_col: Option<(usize, usize)>,
}

impl SourceLocation {
    fn file_only(file: &str) -> SourceLocation {
        SourceLocation {
            file: file.to_owned(),
            line_col: None,
        }
    }

    fn at(file: &str, pos: Option<Pos>) -> SourceLocation {
        SourceLocation {
            file: file.to_owned(),
            line_col: pos.map(|p| (p.line, p.col)),
        }
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// One-based.
    pub fn line(&self) -> Option<usize> {
        self.line_col.map(|(line, _)| line)
    }

    /// One-based, counted in characters.
    pub fn column(&self) -> Option<usize> {
        self.line_col.map(|(_, col)| col)
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((line, col)) => write!(f, "{}:{line}:{col}", self.file),
            None => f.write_str(&self.file),
        }
    }
}

fn canonical_log_level(s: &str) -> Result<String, String> {
    let canonical = match s.to_ascii_lowercase().as_str() {
        "trace" => "trace",
        "debug" => "debug",
        "info" => "info",
        // Vault accepts both spellings.
        "warn" | "warning" => "warn",
        "error" => "error",
        _ => {
            return Err(format!(
                "invalid log level {s:?}: expected one of trace, debug, info, warn, error"
            ))
        }
    };
    Ok(canonical.to_owned())
}

fn canonical_log_format(s: &str) -> Result<String, String> {
    match s.to_ascii_lowercase().as_str() {
        "standard" => Ok("standard".to_owned()),
        "json" => Ok("json".to_owned()),
        _ => Err(format!(
            "invalid log format {s:?}: expected standard or json"
        )),
    }
}

/// Why the configuration could not be loaded. `Display` is the one line an operator sees.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file given")]
    NoSources,
    #[error("cannot read config file {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot read config directory {}: {source}", path.display())]
    ReadDir { path: PathBuf, source: io::Error },
    /// The source is not well-formed HCL or JSON (`format` says which).
    #[error("{at}: {format} parse error: {message}")]
    Syntax {
        at: SourceLocation,
        format: &'static str,
        message: String,
    },
    /// The source is well-formed but something in it is wrong.
    #[error("{at}: {message}")]
    Invalid { at: SourceLocation, message: String },
    /// Something required is missing from all sources together; `sources` names them.
    #[error("{sources}: {message}")]
    Missing { sources: String, message: String },
}

impl ConfigError {
    /// Where the error is, when it is at one place in one source.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            ConfigError::Syntax { at, .. } | ConfigError::Invalid { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Loads and merges the config sources in order. Each path is a file, or a directory whose
/// `*.hcl` and `*.json` files are read in name order. Later sources add listeners and override
/// scalar settings; storage may be defined only once in all of them.
pub fn load(paths: &[PathBuf]) -> Result<ServerConfig, ConfigError> {
    if paths.is_empty() {
        return Err(ConfigError::NoSources);
    }
    let mut merged = Partial::default();
    for path in paths {
        for file in config_files(path)? {
            let source = fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            let raw = parse_raw(&source, &file.display().to_string())?;
            merged.merge(validate(&raw)?)?;
        }
    }
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    merged.finish(&names.join(", "))
}

/// Parses one source as if it were the only one; `file_name` picks the format (`.json` or HCL)
/// and names the source in errors.
pub fn parse_str(source: &str, file_name: &str) -> Result<ServerConfig, ConfigError> {
    let raw = parse_raw(source, file_name)?;
    validate(&raw)?.finish(file_name)
}

/// The longest duration Vault can represent (Go's `time.Duration` is an int64 of nanoseconds);
/// anything longer in a config is a mistake, not a wish for eternity.
const MAX_DURATION_NANOS: u128 = i64::MAX as u128;

const DURATION_HINT: &str = "expected a number of seconds, or numbers with units \
                             (ns, us, ms, s, m, h, d) as in \"768h\" or \"1h30m\"";

/// Parses a duration the way Vault does: a bare integer is seconds, anything else is Go's
/// `time.ParseDuration` syntax (`"768h"`, `"1h30m"`, `"1.5s"`, `"500ms"`), plus `d` for days.
/// Negative durations are rejected.
pub fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let invalid = |why: &str| format!("invalid duration {input:?}: {why}");
    if s.is_empty() {
        return Err(invalid(DURATION_HINT));
    }
    if s.starts_with('-') {
        return Err(invalid("negative durations are not allowed"));
    }
    let s = s.strip_prefix('+').unwrap_or(s);
    if s.is_empty() {
        return Err(invalid(DURATION_HINT));
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        let secs = s
            .parse::<u64>()
            .ok()
            .filter(|&secs| u128::from(secs) * 1_000_000_000 <= MAX_DURATION_NANOS)
            .ok_or_else(|| invalid("out of range"))?;
        return Ok(Duration::from_secs(secs));
    }

    let mut rest = s;
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_digits, after_int) = rest.split_at(int_len);
        let (frac_digits, after_number) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_digits.is_empty() && frac_digits.is_empty() {
            return Err(invalid(DURATION_HINT));
        }
        let unit_len = after_number
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after_number.len(), |(i, _)| i);
        let (unit, after_unit) = after_number.split_at(unit_len);
        let unit_nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "d" => 86_400_000_000_000,
            "" => return Err(invalid(&format!("missing unit; {DURATION_HINT}"))),
            other => return Err(invalid(&format!("unknown unit {other:?}; {DURATION_HINT}"))),
        };
        let whole = if int_digits.is_empty() {
            0
        } else {
            // Too many digits for u128 is out of range just like a too-large value.
            int_digits
                .parse::<u128>()
                .map_err(|_| invalid("out of range"))?
        };
        let mut part = whole
            .checked_mul(unit_nanos)
            .ok_or_else(|| invalid("out of range"))?;
        // Digits past nanosecond precision contribute nothing, as in Go.
        let mut scale = unit_nanos;
        for digit in frac_digits.bytes() {
            scale /= 10;
            part = part.saturating_add(u128::from(digit - b'0') * scale);
        }
        total = total
            .checked_add(part)
            .filter(|&t| t <= MAX_DURATION_NANOS)
            .ok_or_else(|| invalid("out of range"))?;
        rest = after_unit;
    }
    // Bounded by MAX_DURATION_NANOS above, so the conversion cannot fail.
    Ok(Duration::from_nanos(
        u64::try_from(total).unwrap_or(u64::MAX),
    ))
}

// ---------------------------------------------------------------------------------------------
// Raw layer: a source parsed into a tree of keys and values with positions, HCL and JSON alike.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    col: usize,
}

#[derive(Debug)]
struct RawFile {
    name: String,
    members: Vec<RawMember>,
}

impl RawFile {
    fn at(&self, pos: Option<Pos>) -> SourceLocation {
        SourceLocation::at(&self.name, pos)
    }

    fn invalid(&self, pos: Option<Pos>, message: String) -> ConfigError {
        ConfigError::Invalid {
            at: self.at(pos),
            message,
        }
    }
}

/// An HCL attribute or block, or a JSON object member. `pos` is where its key starts.
#[derive(Debug)]
struct RawMember {
    key: String,
    pos: Option<Pos>,
    value: RawNode,
}

#[derive(Debug)]
struct RawNode {
    pos: Option<Pos>,
    value: RawValue,
}

#[derive(Debug)]
enum RawValue {
    Null,
    Bool(bool),
    /// As written, so that `1.50` reaches plugins as `1.50` and big integers stay exact.
    Number(String),
    String(String),
    Array(Vec<RawNode>),
    Object(Vec<RawMember>),
    Block {
        labels: Vec<String>,
        body: Vec<RawMember>,
    },
    /// Valid HCL that a config cannot use (variables, function calls, interpolation...); the
    /// text says what it is, for error messages.
    Unsupported(&'static str),
}

impl RawValue {
    fn describe(&self) -> &'static str {
        match self {
            RawValue::Null => "null",
            RawValue::Bool(_) => "a bool",
            RawValue::Number(_) => "a number",
            RawValue::String(_) => "a string",
            RawValue::Array(_) => "an array",
            RawValue::Object(_) => "an object",
            RawValue::Block { .. } => "a block",
            RawValue::Unsupported(what) => what,
        }
    }
}

/// Turns byte offsets into one-based line and character column.
struct LineIndex<'a> {
    source: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(source: &'a str) -> LineIndex<'a> {
        let line_starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex {
            source,
            line_starts,
        }
    }

    fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.source.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0);
        let col = self
            .source
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Pos {
            line: line + 1,
            col: col + 1,
        }
    }
}

fn parse_raw(source: &str, file_name: &str) -> Result<RawFile, ConfigError> {
    if file_name.ends_with(".json") {
        parse_json(source, file_name)
    } else {
        parse_hcl(source, file_name)
    }
}

fn parse_hcl(source: &str, file_name: &str) -> Result<RawFile, ConfigError> {
    let body = hcl::edit::parser::parse_body(source).map_err(|e| {
        let location = e.location();
        ConfigError::Syntax {
            at: SourceLocation::at(
                file_name,
                Some(Pos {
                    line: location.line(),
                    col: location.column(),
                }),
            ),
            format: "HCL",
            message: hcl_error_message(&e),
        }
    })?;
    let hcl = HclConverter {
        index: LineIndex::new(source),
    };
    Ok(RawFile {
        name: file_name.to_owned(),
        members: hcl.body(&body),
    })
}

fn hcl_error_message(e: &hcl::edit::parser::Error) -> String {
    let mut message = e.message().lines().next().unwrap_or_default().to_owned();
    // The parser rejects a repeated attribute without saying which; the error points at the
    // second one, so its name can be read off the offending line.
    if message.ends_with("redefined attribute") {
        let key: String = e
            .line()
            .chars()
            .skip(e.location().column().saturating_sub(1))
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !key.is_empty() {
            message.push_str(&format!(" {key:?}"));
        }
    }
    message
}

struct HclConverter<'a> {
    index: LineIndex<'a>,
}

impl HclConverter<'_> {
    fn pos(&self, span: Option<std::ops::Range<usize>>) -> Option<Pos> {
        span.map(|span| self.index.pos(span.start))
    }

    fn body(&self, body: &Body) -> Vec<RawMember> {
        body.iter()
            .map(|structure| match structure {
                Structure::Attribute(attr) => RawMember {
                    key: attr.key.as_str().to_owned(),
                    pos: self.pos(attr.span()),
                    value: self.expr(&attr.value),
                },
                Structure::Block(block) => {
                    let pos = self.pos(block.span());
                    RawMember {
                        key: block.ident.as_str().to_owned(),
                        pos,
                        value: RawNode {
                            pos,
                            value: RawValue::Block {
                                labels: block
                                    .labels
                                    .iter()
                                    .map(|l| l.as_str().to_owned())
                                    .collect(),
                                body: self.body(&block.body),
                            },
                        },
                    }
                }
            })
            .collect()
    }

    fn expr(&self, expr: &Expression) -> RawNode {
        let span = expr.span();
        let value = match expr {
            Expression::Null(_) => RawValue::Null,
            Expression::Bool(b) => RawValue::Bool(*b.value()),
            Expression::Number(n) => RawValue::Number(
                span.clone()
                    .and_then(|span| self.index.source.get(span))
                    .map_or_else(|| n.value().to_string(), str::to_owned),
            ),
            Expression::String(s) => RawValue::String(s.value().clone()),
            Expression::StringTemplate(t) => literal_template(t),
            Expression::HeredocTemplate(h) => literal_template(&h.template),
            Expression::Array(items) => {
                RawValue::Array(items.iter().map(|item| self.expr(item)).collect())
            }
            Expression::Object(object) => {
                let mut members = Vec::with_capacity(object.len());
                for (key, value) in object.iter() {
                    let name = match key {
                        ObjectKey::Ident(ident) => ident.as_str(),
                        ObjectKey::Expression(Expression::String(s)) => s.value().as_str(),
                        ObjectKey::Expression(_) => {
                            return self.unsupported(span, "an object with computed keys")
                        }
                    };
                    members.push(RawMember {
                        key: name.to_owned(),
                        pos: self.pos(key.span()),
                        value: self.expr(value.expr()),
                    });
                }
                RawValue::Object(members)
            }
            Expression::Parenthesis(p) => return self.expr(p.inner()),
            Expression::Variable(_) => RawValue::Unsupported("a variable reference"),
            Expression::FuncCall(_) => RawValue::Unsupported("a function call"),
            _ => RawValue::Unsupported("an expression"),
        };
        RawNode {
            pos: self.pos(span),
            value,
        }
    }

    fn unsupported(&self, span: Option<std::ops::Range<usize>>, what: &'static str) -> RawNode {
        RawNode {
            pos: self.pos(span),
            value: RawValue::Unsupported(what),
        }
    }
}

/// A template made only of literal text (a string with escapes, or a heredoc) is a plain string;
/// one with `${...}` or `%{...}` is not, because this server does not evaluate them.
fn literal_template(template: &Template) -> RawValue {
    let mut text = String::new();
    for element in template.iter() {
        match element {
            Element::Literal(literal) => text.push_str(literal.value()),
            _ => return RawValue::Unsupported("a string with ${...} or %{...} in it"),
        }
    }
    RawValue::String(text)
}

fn parse_json(source: &str, file_name: &str) -> Result<RawFile, ConfigError> {
    // serde_json checks the syntax and words the errors; its `Value` loses key order and
    // duplicates and has no positions, so a small scanner then rebuilds the tree from the text
    // that is now known to be well-formed.
    if let Err(e) = serde_json::from_str::<serde_json::Value>(source) {
        let pos = (e.line() > 0).then(|| Pos {
            line: e.line(),
            col: e.column().max(1),
        });
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        return Err(ConfigError::Syntax {
            at: SourceLocation::at(file_name, pos),
            format: "JSON",
            message,
        });
    }
    let mut scanner = JsonScanner {
        source,
        at: 0,
        index: LineIndex::new(source),
        file_name,
    };
    let root = scanner.node()?;
    match root.value {
        RawValue::Object(members) => Ok(RawFile {
            name: file_name.to_owned(),
            members,
        }),
        other => Err(ConfigError::Invalid {
            at: SourceLocation::at(file_name, root.pos),
            message: format!(
                "expected a JSON object at the top level, found {}",
                other.describe()
            ),
        }),
    }
}

struct JsonScanner<'a> {
    source: &'a str,
    at: usize,
    index: LineIndex<'a>,
    file_name: &'a str,
}

impl JsonScanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.source.as_bytes().get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn pos(&self) -> Option<Pos> {
        Some(self.index.pos(self.at))
    }

    // Only reachable if serde_json accepted something this scanner does not understand.
    fn malformed(&self) -> ConfigError {
        ConfigError::Syntax {
            at: SourceLocation::at(self.file_name, self.pos()),
            format: "JSON",
            message: "malformed JSON".to_owned(),
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), ConfigError> {
        self.skip_whitespace();
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.malformed())
        }
    }

    fn keyword(&mut self, word: &str, value: RawValue) -> Result<RawValue, ConfigError> {
        if self
            .source
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(word))
        {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.malformed())
        }
    }

    fn node(&mut self) -> Result<RawNode, ConfigError> {
        self.skip_whitespace();
        let pos = self.pos();
        let value = match self.peek() {
            Some(b'{') => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                } else {
                    loop {
                        self.skip_whitespace();
                        let key_pos = self.pos();
                        let key = self.string()?;
                        self.expect(b':')?;
                        let value = self.node()?;
                        members.push(RawMember {
                            key,
                            pos: key_pos,
                            value,
                        });
                        if self.list_continues(b'}')? {
                            continue;
                        }
                        break;
                    }
                }
                RawValue::Object(members)
            }
            Some(b'[') => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.at += 1;
                } else {
                    loop {
                        items.push(self.node()?);
                        if self.list_continues(b']')? {
                            continue;
                        }
                        break;
                    }
                }
                RawValue::Array(items)
            }
            Some(b'"') => RawValue::String(self.string()?),
            Some(b't') => self.keyword("true", RawValue::Bool(true))?,
            Some(b'f') => self.keyword("false", RawValue::Bool(false))?,
            Some(b'n') => self.keyword("null", RawValue::Null)?,
            Some(b'-' | b'0'..=b'9') => {
                let start = self.at;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                ) {
                    self.at += 1;
                }
                match self.source.get(start..self.at) {
                    Some(number) => RawValue::Number(number.to_owned()),
                    None => return Err(self.malformed()),
                }
            }
            _ => return Err(self.malformed()),
        };
        Ok(RawNode { pos, value })
    }

    /// After an item of an object or array: true if another item follows the comma.
    fn list_continues(&mut self, close: u8) -> Result<bool, ConfigError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(self.malformed()),
        }
    }

    fn string(&mut self) -> Result<String, ConfigError> {
        let start = self.at;
        if self.peek() != Some(b'"') {
            return Err(self.malformed());
        }
        self.at += 1;
        loop {
            match self.peek() {
                Some(b'\\') => self.at += 2,
                Some(b'"') => {
                    self.at += 1;
                    break;
                }
                Some(_) => self.at += 1,
                None => return Err(self.malformed()),
            }
        }
        // Let serde_json decode the escapes of the one literal.
        self.source
            .get(start..self.at)
            .and_then(|literal| serde_json::from_str::<String>(literal).ok())
            .ok_or_else(|| self.malformed())
    }
}

// ---------------------------------------------------------------------------------------------
// Validated layer: one source's settings, then all sources merged.
// ---------------------------------------------------------------------------------------------

/// Keys of Vault's server config that this server does not implement. Naming them lets the
/// error say "not supported" instead of suggesting a typo.
const UNSUPPORTED_KEYS: &[&str] = &[
    "ha_storage",
    "ha_backend",
    "seal",
    "hsm",
    "kms_library",
    "entropy",
    "telemetry",
    "service_registration",
    "cluster_listener",
    "disable_clustering",
    "disable_performance_standby",
    "disable_sealwrap",
    "disable_printable_check",
    "disable_sentinel_trace",
    "raw_storage_endpoint",
    "introspection_endpoint",
    "pid_file",
    "plugin_file_uid",
    "plugin_file_permissions",
    "plugin_tmpdir",
    "default_max_request_duration",
    "detect_deadlocks",
    "enable_response_header_hostname",
    "enable_response_header_raft_node_id",
    "log_file",
    "log_rotate_duration",
    "log_rotate_bytes",
    "log_rotate_max_files",
    "log_requests_level",
    "experiments",
    "license_path",
    "user_lockout",
    "replication",
    "sentinel",
    "cluster_cipher_suites",
    "imprecise_lease_role_tracking",
    "administrative_namespace_path",
    "enable_post_unseal_trace",
    "post_unseal_trace_directory",
    "api_addr_header",
];

const KNOWN_KEYS: &[&str] = &[
    "storage",
    "backend",
    "listener",
    "plugin_dir",
    "plugin_directory",
    "disable_mlock",
    "ui",
    "log_level",
    "log_format",
    "api_addr",
    "cluster_addr",
    "cluster_name",
    "default_lease_ttl",
    "max_lease_ttl",
    "disable_cache",
    "cache_size",
];

/// What one source sets; `None` means "not set here", so that merging can tell an explicit
/// `ui = false` in a later file from silence.
#[derive(Debug, Default)]
struct Partial {
    storage: Option<Stanza>,
    listeners: Vec<Stanza>,
    plugin_dir: Option<PathBuf>,
    disable_mlock: Option<bool>,
    ui: Option<bool>,
    log_level: Option<String>,
    log_format: Option<String>,
    api_addr: Option<String>,
    cluster_addr: Option<String>,
    cluster_name: Option<String>,
    default_lease_ttl: Option<Duration>,
    max_lease_ttl: Option<Duration>,
    disable_cache: Option<bool>,
    cache_size: Option<usize>,
}

impl Partial {
    fn set_storage(&mut self, stanza: Stanza) -> Result<(), ConfigError> {
        if let Some(first) = &self.storage {
            return Err(ConfigError::Invalid {
                at: stanza.location.clone(),
                message: format!(
                    "storage {:?} defined, but storage {:?} is already defined at {}; \
                     only one storage (or backend) block is allowed",
                    stanza.kind, first.kind, first.location
                ),
            });
        }
        self.storage = Some(stanza);
        Ok(())
    }

    fn merge(&mut self, later: Partial) -> Result<(), ConfigError> {
        if let Some(storage) = later.storage {
            self.set_storage(storage)?;
        }
        self.listeners.extend(later.listeners);
        fn later_wins<T>(slot: &mut Option<T>, later: Option<T>) {
            if later.is_some() {
                *slot = later;
            }
        }
        later_wins(&mut self.plugin_dir, later.plugin_dir);
        later_wins(&mut self.disable_mlock, later.disable_mlock);
        later_wins(&mut self.ui, later.ui);
        later_wins(&mut self.log_level, later.log_level);
        later_wins(&mut self.log_format, later.log_format);
        later_wins(&mut self.api_addr, later.api_addr);
        later_wins(&mut self.cluster_addr, later.cluster_addr);
        later_wins(&mut self.cluster_name, later.cluster_name);
        later_wins(&mut self.default_lease_ttl, later.default_lease_ttl);
        later_wins(&mut self.max_lease_ttl, later.max_lease_ttl);
        later_wins(&mut self.disable_cache, later.disable_cache);
        later_wins(&mut self.cache_size, later.cache_size);
        Ok(())
    }

    fn finish(self, sources: &str) -> Result<ServerConfig, ConfigError> {
        let missing = |message: &str| ConfigError::Missing {
            sources: sources.to_owned(),
            message: message.to_owned(),
        };
        let storage = self.storage.ok_or_else(|| {
            missing("no storage configured (add a storage \"TYPE\" { ... } block)")
        })?;
        if self.listeners.is_empty() {
            return Err(missing(
                "no listener configured (add a listener \"TYPE\" { ... } block)",
            ));
        }
        Ok(ServerConfig {
            storage,
            listeners: self.listeners,
            plugin_dir: self.plugin_dir,
            disable_mlock: self.disable_mlock.unwrap_or(false),
            ui: self.ui.unwrap_or(false),
            log_level: self.log_level,
            log_format: self.log_format,
            api_addr: self.api_addr,
            cluster_addr: self.cluster_addr,
            cluster_name: self.cluster_name,
            default_lease_ttl: self.default_lease_ttl,
            max_lease_ttl: self.max_lease_ttl,
            disable_cache: self.disable_cache.unwrap_or(false),
            cache_size: self.cache_size,
        })
    }
}

fn validate(raw: &RawFile) -> Result<Partial, ConfigError> {
    let mut partial = Partial::default();
    // Setting a key twice in one file is almost always a leftover; across files it is how
    // overrides work, so only this per-file check rejects it.
    let mut seen: Vec<(&str, &RawMember)> = Vec::new();
    for member in &raw.members {
        let key = member.key.as_str();
        let canonical = match key {
            "plugin_directory" => "plugin_dir",
            other => other,
        };
        if KNOWN_KEYS.contains(&canonical)
            && !matches!(canonical, "storage" | "backend" | "listener")
        {
            if let Some((_, first)) = seen.iter().find(|(c, _)| *c == canonical) {
                let message = if first.key == key {
                    format!("key {key:?} is set twice (first at {})", raw.at(first.pos))
                } else {
                    format!(
                        "key {key:?} and its alias {:?} are both set (the other at {})",
                        first.key,
                        raw.at(first.pos)
                    )
                };
                return Err(raw.invalid(member.pos, message));
            }
            seen.push((canonical, member));
        }

        match canonical {
            "storage" | "backend" => {
                for stanza in stanzas(raw, member)? {
                    partial.set_storage(stanza)?;
                }
            }
            "listener" => partial.listeners.extend(stanzas(raw, member)?),
            "plugin_dir" => partial.plugin_dir = Some(PathBuf::from(string_value(raw, member)?)),
            "disable_mlock" => partial.disable_mlock = Some(bool_value(raw, member)?),
            "ui" => partial.ui = Some(bool_value(raw, member)?),
            "log_level" => {
                partial.log_level = Some(checked_string(raw, member, canonical_log_level)?)
            }
            "log_format" => {
                partial.log_format = Some(checked_string(raw, member, canonical_log_format)?)
            }
            "api_addr" => partial.api_addr = Some(string_value(raw, member)?),
            "cluster_addr" => partial.cluster_addr = Some(string_value(raw, member)?),
            "cluster_name" => partial.cluster_name = Some(string_value(raw, member)?),
            "default_lease_ttl" => partial.default_lease_ttl = Some(duration_value(raw, member)?),
            "max_lease_ttl" => partial.max_lease_ttl = Some(duration_value(raw, member)?),
            "disable_cache" => partial.disable_cache = Some(bool_value(raw, member)?),
            // Vault reads 0 as "the default".
            "cache_size" => partial.cache_size = Some(count_value(raw, member)?).filter(|n| *n > 0),
            _ if UNSUPPORTED_KEYS.contains(&key) => {
                return Err(raw.invalid(
                    member.pos,
                    format!("key {key:?} is not supported by this server"),
                ))
            }
            _ => {
                let hint = KNOWN_KEYS
                    .iter()
                    .map(|known| (edit_distance(key, known), known))
                    .filter(|(distance, _)| *distance <= 2)
                    .min()
                    .map(|(_, known)| format!(" (did you mean {known:?}?)"))
                    .unwrap_or_default();
                return Err(raw.invalid(member.pos, format!("unknown key {key:?}{hint}")));
            }
        }
    }
    Ok(partial)
}

/// The stanzas of one `storage`/`backend`/`listener` member, in any shape Vault accepts: an HCL
/// block `listener "tcp" { ... }`, or in JSON `{"tcp": {...}}`, `{"tcp": [{...}, {...}]}` and
/// `[{"tcp": {...}}, ...]`.
fn stanzas(raw: &RawFile, member: &RawMember) -> Result<Vec<Stanza>, ConfigError> {
    let section = member.key.as_str();
    match &member.value.value {
        RawValue::Block { labels, body } => match labels.as_slice() {
            [kind] => Ok(vec![stanza(raw, section, kind, member.pos, body)?]),
            [] => Err(raw.invalid(
                member.pos,
                format!("{section} block needs a type label, as in {section} \"TYPE\" {{ ... }}"),
            )),
            more => Err(raw.invalid(
                member.pos,
                format!(
                    "{section} block takes exactly one type label, as in {section} \"TYPE\" \
                     {{ ... }}, found {}",
                    more.len()
                ),
            )),
        },
        RawValue::Object(kinds) => stanzas_by_kind(raw, section, kinds),
        RawValue::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match &item.value {
                    RawValue::Object(kinds) => out.extend(stanzas_by_kind(raw, section, kinds)?),
                    other => {
                        return Err(raw.invalid(
                            item.pos,
                            format!(
                                "{section}: expected an object, as in {{\"TYPE\": {{ ... }}}}, \
                                 found {}",
                                other.describe()
                            ),
                        ))
                    }
                }
            }
            Ok(out)
        }
        other => Err(raw.invalid(
            member.pos,
            format!(
                "{section}: expected a block, as in {section} \"TYPE\" {{ ... }}, found {}",
                other.describe()
            ),
        )),
    }
}

fn stanzas_by_kind(
    raw: &RawFile,
    section: &str,
    kinds: &[RawMember],
) -> Result<Vec<Stanza>, ConfigError> {
    let mut out = Vec::new();
    for member in kinds {
        let kind = member.key.as_str();
        let not_an_object = |node: &RawNode| {
            raw.invalid(
                node.pos,
                format!(
                    "{section} {kind:?}: expected an object, found {}",
                    node.value.describe()
                ),
            )
        };
        match &member.value.value {
            RawValue::Object(body) => out.push(stanza(raw, section, kind, member.pos, body)?),
            RawValue::Array(items) => {
                for item in items {
                    match &item.value {
                        RawValue::Object(body) => {
                            out.push(stanza(raw, section, kind, item.pos, body)?)
                        }
                        _ => return Err(not_an_object(item)),
                    }
                }
            }
            _ => return Err(not_an_object(&member.value)),
        }
    }
    Ok(out)
}

/// Flattens a stanza body to string pairs, as Vault hands `map[string]string` to its backends.
fn stanza(
    raw: &RawFile,
    section: &str,
    kind: &str,
    pos: Option<Pos>,
    body: &[RawMember],
) -> Result<Stanza, ConfigError> {
    if kind.is_empty() {
        return Err(raw.invalid(pos, format!("{section} type label is empty")));
    }
    let mut pairs = Vec::with_capacity(body.len());
    let mut key_locations: Vec<(String, SourceLocation)> = Vec::with_capacity(body.len());
    for member in body {
        let key = &member.key;
        if let Some((_, first)) = key_locations.iter().find(|(k, _)| k == key) {
            return Err(raw.invalid(
                member.pos,
                format!("{section} {kind:?}: key {key:?} is set twice (first at {first})"),
            ));
        }
        let value = match &member.value.value {
            RawValue::String(s) => s.clone(),
            RawValue::Number(n) => n.clone(),
            RawValue::Bool(b) => b.to_string(),
            other => {
                return Err(raw.invalid(
                    member.pos,
                    format!(
                        "{section} {kind:?}: key {key:?}: expected a string, found {}",
                        other.describe()
                    ),
                ))
            }
        };
        pairs.push((key.clone(), value));
        key_locations.push((key.clone(), raw.at(member.pos)));
    }
    Ok(Stanza {
        kind: kind.to_owned(),
        pairs,
        location: raw.at(pos),
        key_locations,
    })
}

fn mistyped(raw: &RawFile, member: &RawMember, expected: &str) -> ConfigError {
    raw.invalid(
        member.pos,
        format!(
            "key {:?}: expected {expected}, found {}",
            member.key,
            member.value.value.describe()
        ),
    )
}

fn string_value(raw: &RawFile, member: &RawMember) -> Result<String, ConfigError> {
    match &member.value.value {
        RawValue::String(s) => Ok(s.clone()),
        _ => Err(mistyped(raw, member, "a string")),
    }
}

/// Vault decodes bools leniently (its own docs write `disable_mlock = 1`), so 1/0 and their
/// string forms count too.
fn bool_value(raw: &RawFile, member: &RawMember) -> Result<bool, ConfigError> {
    const EXPECTED: &str = "a bool (true, false, 1 or 0)";
    let text = match &member.value.value {
        RawValue::Bool(b) => return Ok(*b),
        RawValue::Number(n) | RawValue::String(n) => n,
        _ => return Err(mistyped(raw, member, EXPECTED)),
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(raw.invalid(
            member.pos,
            format!("key {:?}: expected {EXPECTED}, found {text:?}", member.key),
        )),
    }
}

fn checked_string(
    raw: &RawFile,
    member: &RawMember,
    check: fn(&str) -> Result<String, String>,
) -> Result<String, ConfigError> {
    let text = string_value(raw, member)?;
    check(&text).map_err(|e| raw.invalid(member.pos, format!("key {:?}: {e}", member.key)))
}

/// A whole number of things, such as `cache_size = 131072` (or `"131072"`).
fn count_value(raw: &RawFile, member: &RawMember) -> Result<usize, ConfigError> {
    const EXPECTED: &str = "a whole number such as 131072";
    match &member.value.value {
        RawValue::Number(text) | RawValue::String(text) => text.trim().parse().map_err(|_| {
            raw.invalid(
                member.pos,
                format!("key {:?}: expected {EXPECTED}, found {text:?}", member.key),
            )
        }),
        _ => Err(mistyped(raw, member, EXPECTED)),
    }
}

fn duration_value(raw: &RawFile, member: &RawMember) -> Result<Duration, ConfigError> {
    match &member.value.value {
        RawValue::Number(text) | RawValue::String(text) => parse_duration(text)
            .map_err(|e| raw.invalid(member.pos, format!("key {:?}: {e}", member.key))),
        _ => Err(mistyped(raw, member, "a duration such as \"768h\"")),
    }
}

/// Lists the config files a path stands for: the path itself, or a directory's `*.hcl` and
/// `*.json` files (not hidden ones, which are editor droppings) in name order.
fn config_files(path: &Path) -> Result<Vec<PathBuf>, ConfigError> {
    let meta = fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let read_dir_error = |source| ConfigError::ReadDir {
        path: path.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(path).map_err(read_dir_error)? {
        let entry = entry.map_err(read_dir_error)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let wanted = !name.starts_with('.') && (name.ends_with(".hcl") || name.ends_with(".json"));
        if wanted && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// Levenshtein distance, for "did you mean" hints on a handful of short keys.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPLOY_HCL: &str = r#"backend "consul" {
  address = "127.0.0.1:8500"
  path    = "vault"
}

listener "tcp" {
  address     = "127.0.0.1:8200"
  tls_disable = 1
}
"#;

    const DEPLOY_JSON: &str = r#"{
  "backend": {
    "consul": {
      "address": "127.0.0.1:8500",
      "path": "vault"
    }
  },
  "listener": {
    "tcp": {
      "address": "127.0.0.1:8200",
      "tls_disable": 1
    }
  }
}
"#;

    /// Enough to satisfy the "storage" and "listener" requirements in tests about other keys.
    const MINIMAL: &str = "storage \"inmem\" {}\nlistener \"tcp\" {}\n";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn err(source: &str, file_name: &str) -> String {
        match parse_str(source, file_name) {
            Ok(config) => panic!("expected an error, got {config:?}"),
            Err(e) => e.to_string(),
        }
    }

    fn assert_contains(message: &str, parts: &[&str]) {
        for part in parts {
            assert!(
                message.contains(part),
                "{message:?} does not contain {part:?}"
            );
        }
        assert!(!message.contains('\n'), "{message:?} is not one line");
    }

    fn kinds_and_addresses(config: &ServerConfig) -> Vec<(String, String)> {
        config
            .listeners
            .iter()
            .map(|l| (l.kind.clone(), l.get("address").unwrap_or("").to_owned()))
            .collect()
    }

    #[test]
    fn deploy_guide_hcl() {
        let config = parse_str(DEPLOY_HCL, "example.hcl").unwrap();
        assert_eq!(config.storage.kind, "consul");
        assert_eq!(
            config.storage.pairs,
            pairs(&[("address", "127.0.0.1:8500"), ("path", "vault")])
        );
        assert_eq!(config.storage.origin(), "example.hcl:1:1");
        assert_eq!(config.storage.locate_key("path"), "example.hcl:3:3");
        assert_eq!(config.listeners.len(), 1);
        let listener = &config.listeners[0];
        assert_eq!(listener.kind, "tcp");
        assert_eq!(listener.get("tls_disable"), Some("1"));
        assert_eq!(listener.origin(), "example.hcl:6:1");
        assert_eq!(listener.locate_key("tls_disable"), "example.hcl:8:3");
        assert_eq!(listener.locate_key("no_such_key"), "example.hcl:6:1");
        assert!(!config.disable_mlock);
        assert!(!config.ui);
        assert_eq!(config.plugin_dir, None);
    }

    #[test]
    fn deploy_guide_json_matches_hcl() {
        let hcl = parse_str(DEPLOY_HCL, "example.hcl").unwrap();
        let json = parse_str(DEPLOY_JSON, "example.json").unwrap();
        assert_eq!(json.storage.kind, hcl.storage.kind);
        assert_eq!(json.storage.pairs, hcl.storage.pairs);
        assert_eq!(json.listeners.len(), 1);
        assert_eq!(json.listeners[0].kind, hcl.listeners[0].kind);
        assert_eq!(json.listeners[0].pairs, hcl.listeners[0].pairs);
        // JSON keeps positions too: the stanza starts at its type key.
        assert_eq!(json.storage.origin(), "example.json:3:5");
        assert_eq!(json.storage.locate_key("path"), "example.json:5:7");
    }

    #[test]
    fn json_listener_shapes() {
        let storage = r#""storage": {"inmem": {}}"#;
        let shapes = [
            (
                r#""listener": {"tcp": {"address": "a"}}"#,
                vec![("tcp", "a")],
            ),
            (
                r#""listener": [{"tcp": {"address": "a"}}, {"tcp": {"address": "b"}}]"#,
                vec![("tcp", "a"), ("tcp", "b")],
            ),
            (
                r#""listener": {"tcp": [{"address": "a"}, {"address": "b"}]}"#,
                vec![("tcp", "a"), ("tcp", "b")],
            ),
            // Order is the file's, not alphabetical.
            (
                r#""listener": {"unix": {"address": "u"}, "tcp": {"address": "a"}}"#,
                vec![("unix", "u"), ("tcp", "a")],
            ),
        ];
        for (listener, expected) in shapes {
            let source = format!("{{{storage}, {listener}}}");
            let config = parse_str(&source, "shape.json").unwrap();
            let expected: Vec<(String, String)> = expected
                .into_iter()
                .map(|(k, a)| (k.to_owned(), a.to_owned()))
                .collect();
            assert_eq!(kinds_and_addresses(&config), expected, "{source}");
        }
    }

    #[test]
    fn json_storage_shape() {
        let config = parse_str(
            r#"{"storage": {"file": {"path": "/x"}}, "listener": {"tcp": {}}}"#,
            "s.json",
        )
        .unwrap();
        assert_eq!(config.storage.kind, "file");
        assert_eq!(config.storage.pairs, pairs(&[("path", "/x")]));
    }

    #[test]
    fn two_hcl_listener_blocks_are_two_listeners() {
        let source = r#"
storage "inmem" {}
listener "tcp" {
  address = "127.0.0.1:8200"
}
listener "tcp" {
  address = "127.0.0.1:8201"
}
"#;
        let config = parse_str(source, "two.hcl").unwrap();
        assert_eq!(
            kinds_and_addresses(&config),
            pairs(&[("tcp", "127.0.0.1:8200"), ("tcp", "127.0.0.1:8201")])
        );
        assert_eq!(config.listeners[1].origin(), "two.hcl:6:1");
    }

    #[test]
    fn values_are_flattened_as_vault_does() {
        let source = r#"
storage "file" {
  path    = "/var/vault"
  port    = 8200
  ratio   = 1.50
  neg     = -3
  on      = true
  off     = false
  heredoc = <<EOT
line
EOT
  escaped = "a$${b}\n"
}
listener "tcp" {}
"#;
        let config = parse_str(source, "flat.hcl").unwrap();
        assert_eq!(
            config.storage.pairs,
            pairs(&[
                ("path", "/var/vault"),
                ("port", "8200"),
                ("ratio", "1.50"),
                ("neg", "-3"),
                ("on", "true"),
                ("off", "false"),
                ("heredoc", "line\n"),
                ("escaped", "a${b}\n"),
            ])
        );
        let json = parse_str(
            r#"{"storage": {"file": {"port": 8200, "ratio": 1.50, "on": true, "s": "\u00e9"}},
                "listener": {"tcp": {}}}"#,
            "flat.json",
        )
        .unwrap();
        assert_eq!(
            json.storage.pairs,
            pairs(&[
                ("port", "8200"),
                ("ratio", "1.50"),
                ("on", "true"),
                ("s", "é")
            ])
        );
    }

    #[test]
    fn storage_and_backend_are_aliases() {
        let storage = parse_str(
            "storage \"file\" { path = \"/x\" }\nlistener \"tcp\" {}",
            "a.hcl",
        )
        .unwrap();
        let backend = parse_str(
            "backend \"file\" { path = \"/x\" }\nlistener \"tcp\" {}",
            "b.hcl",
        )
        .unwrap();
        assert_eq!(storage.storage.kind, backend.storage.kind);
        assert_eq!(storage.storage.pairs, backend.storage.pairs);
    }

    #[test]
    fn plugin_directory_is_an_alias_of_plugin_dir() {
        let a = parse_str(&format!("{MINIMAL}plugin_dir = \"/p\""), "a.hcl").unwrap();
        let b = parse_str(&format!("{MINIMAL}plugin_directory = \"/p\""), "b.hcl").unwrap();
        assert_eq!(a.plugin_dir, Some(PathBuf::from("/p")));
        assert_eq!(b.plugin_dir, Some(PathBuf::from("/p")));

        let message = err(
            &format!("{MINIMAL}plugin_dir = \"/p\"\nplugin_directory = \"/q\"\n"),
            "both.hcl",
        );
        assert_contains(
            &message,
            &[
                "both.hcl:4:1",
                "\"plugin_directory\"",
                "\"plugin_dir\"",
                "both.hcl:3:1",
            ],
        );
    }

    #[test]
    fn bool_spellings() {
        for (spelling, expected) in [
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
            ("\"true\"", true),
            ("\"false\"", false),
            ("\"1\"", true),
            ("\"0\"", false),
        ] {
            let hcl = format!("{MINIMAL}disable_mlock = {spelling}\nui = {spelling}\n");
            let config = parse_str(&hcl, "b.hcl").unwrap();
            assert_eq!(config.disable_mlock, expected, "{spelling}");
            assert_eq!(config.ui, expected, "{spelling}");

            let json = format!(
                r#"{{"storage": {{"inmem": {{}}}}, "listener": {{"tcp": {{}}}}, "ui": {spelling}}}"#
            );
            assert_eq!(
                parse_str(&json, "b.json").unwrap().ui,
                expected,
                "{spelling}"
            );
        }
        for bad in ["2", "\"yes\"", "[true]", "null"] {
            let message = err(&format!("{MINIMAL}disable_mlock = {bad}\n"), "bad.hcl");
            assert_contains(
                &message,
                &["bad.hcl:3:1", "\"disable_mlock\"", "expected a bool"],
            );
        }
    }

    #[test]
    fn durations() {
        let ok = [
            ("768h", Duration::from_secs(768 * 3600)),
            ("1h30m", Duration::from_secs(5400)),
            ("90s", Duration::from_secs(90)),
            ("500ms", Duration::from_millis(500)),
            ("1.5s", Duration::from_millis(1500)),
            ("1.5h", Duration::from_secs(5400)),
            ("2us", Duration::from_micros(2)),
            ("2µs", Duration::from_micros(2)),
            ("7ns", Duration::from_nanos(7)),
            ("7d", Duration::from_secs(7 * 86400)),
            ("3600", Duration::from_secs(3600)),
            ("0", Duration::ZERO),
            ("0s", Duration::ZERO),
            (" 10m ", Duration::from_secs(600)),
            ("+5s", Duration::from_secs(5)),
        ];
        for (input, expected) in ok {
            assert_eq!(parse_duration(input), Ok(expected), "{input}");
        }
        let bad = [
            ("", "expected"),
            ("-1h", "negative"),
            ("-5", "negative"),
            ("h", "expected"),
            ("1h30", "missing unit"),
            ("1.5", "missing unit"),
            ("10x", "unknown unit \"x\""),
            ("ten minutes", "expected"),
            ("99999999999999999999", "out of range"),
            ("9223372037s", "out of range"),
            ("2562048h", "out of range"),
            (
                "999999999999999999999999999999999999999999h",
                "out of range",
            ),
            ("+", "expected"),
            (".s", "expected"),
        ];
        for (input, why) in bad {
            let message = parse_duration(input).unwrap_err();
            assert!(message.contains(why), "{input:?}: {message}");
            assert!(message.contains(&format!("{input:?}")), "{message}");
        }
        // Go's limit: just under 292 years.
        assert!(parse_duration("2562047h").is_ok());
    }

    #[test]
    fn ttl_settings() {
        let source = format!("{MINIMAL}default_lease_ttl = \"768h\"\nmax_lease_ttl = 86400\n");
        let config = parse_str(&source, "ttl.hcl").unwrap();
        assert_eq!(
            config.default_lease_ttl,
            Some(Duration::from_secs(768 * 3600))
        );
        assert_eq!(config.max_lease_ttl, Some(Duration::from_secs(86400)));

        let message = err(
            &format!("{MINIMAL}max_lease_ttl = \"forever\"\n"),
            "ttl.hcl",
        );
        assert_contains(
            &message,
            &["ttl.hcl:3:1", "\"max_lease_ttl\"", "invalid duration"],
        );
        let message = err(&format!("{MINIMAL}max_lease_ttl = true\n"), "ttl.hcl");
        assert_contains(&message, &["ttl.hcl:3:1", "found a bool"]);
    }

    #[test]
    fn cache_settings() {
        let config = parse_str(MINIMAL, "c.hcl").unwrap();
        assert_eq!((config.disable_cache, config.cache_size), (false, None));
        let source = format!("{MINIMAL}disable_cache = 1\ncache_size = 1000\n");
        let config = parse_str(&source, "c.hcl").unwrap();
        assert_eq!(
            (config.disable_cache, config.cache_size),
            (true, Some(1000))
        );
        let config = parse_str(&format!("{MINIMAL}cache_size = \"0\"\n"), "c.hcl").unwrap();
        assert_eq!(config.cache_size, None, "0 means the default, as in Vault");
        for bad in ["-5", "\"lots\"", "1.5"] {
            let message = err(&format!("{MINIMAL}cache_size = {bad}\n"), "c.hcl");
            assert_contains(&message, &["c.hcl:3:1", "\"cache_size\"", "whole number"]);
        }
    }

    #[test]
    fn scalar_settings() {
        let source = format!(
            "{MINIMAL}log_level = \"WARNING\"\nlog_format = \"json\"\napi_addr = \"https://a:8200\"\n\
             cluster_addr = \"https://a:8201\"\ncluster_name = \"c\"\n"
        );
        let config = parse_str(&source, "s.hcl").unwrap();
        assert_eq!(config.log_level.as_deref(), Some("warn"));
        assert_eq!(config.log_format.as_deref(), Some("json"));
        assert_eq!(config.api_addr.as_deref(), Some("https://a:8200"));
        assert_eq!(config.cluster_addr.as_deref(), Some("https://a:8201"));
        assert_eq!(config.cluster_name.as_deref(), Some("c"));
        for (spelling, level) in [
            ("trace", "trace"),
            ("Debug", "debug"),
            ("INFO", "info"),
            ("warn", "warn"),
            ("error", "error"),
        ] {
            let source =
                format!("{MINIMAL}log_level = \"{spelling}\"\nlog_format = \"Standard\"\n");
            let config = parse_str(&source, "s.hcl").unwrap();
            assert_eq!(config.log_level.as_deref(), Some(level));
            assert_eq!(config.log_format.as_deref(), Some("standard"));
        }
    }

    #[test]
    fn bad_log_level_lists_valid_ones() {
        let message = err(&format!("{MINIMAL}log_level = \"verbose\"\n"), "l.hcl");
        assert_contains(
            &message,
            &[
                "l.hcl:3:1",
                "\"log_level\"",
                "\"verbose\"",
                "trace, debug, info, warn, error",
            ],
        );
        let message = err(&format!("{MINIMAL}log_format = \"xml\"\n"), "l.hcl");
        assert_contains(
            &message,
            &["l.hcl:3:1", "\"log_format\"", "standard or json"],
        );
    }

    #[test]
    fn error_value_in_listener_names_block_and_key() {
        let source = r#"
storage "inmem" {}

# comment lines count

listener "tcp" {
  address = ["127.0.0.1:8200"]
}
"#;
        assert_eq!(
            err(source, "example.hcl"),
            "example.hcl:7:3: listener \"tcp\": key \"address\": expected a string, found an array"
        );
    }

    #[test]
    fn error_nested_block_object_and_null_in_storage() {
        for (value, found) in [
            ("nested { a = 1 }", "found a block"),
            ("nested = { a = 1 }", "found an object"),
            ("nested = null", "found null"),
            ("nested = var.x", "found an expression"),
            ("nested = x", "found a variable reference"),
            ("nested = \"${x}\"", "found a string with ${...}"),
            ("nested = upper(\"x\")", "found a function call"),
        ] {
            let source = format!("storage \"file\" {{\n  {value}\n}}\nlistener \"tcp\" {{}}\n");
            let message = err(&source, "n.hcl");
            assert_contains(
                &message,
                &["n.hcl:2:3", "storage \"file\"", "\"nested\"", found],
            );
        }
    }

    #[test]
    fn error_unknown_key() {
        let message = err("listener \"tcp\" {}\nstorag \"file\" {}\n", "example.hcl");
        assert_contains(
            &message,
            &["example.hcl:2:1: unknown key \"storag\"", "\"storage\"?"],
        );
        let message = err(&format!("{MINIMAL}frobnicate = 1\n"), "u.hcl");
        assert_eq!(message, "u.hcl:3:1: unknown key \"frobnicate\"");
    }

    #[test]
    fn error_unsupported_vault_keys() {
        for key in [
            "ha_storage",
            "seal",
            "telemetry",
            "service_registration",
            "cluster_listener",
        ] {
            let message = err(&format!("{MINIMAL}{key} \"x\" {{}}\n"), "v.hcl");
            assert_eq!(
                message,
                format!("v.hcl:3:1: key \"{key}\" is not supported by this server")
            );
        }
    }

    #[test]
    fn error_missing_storage_and_listener() {
        assert_eq!(
            err("listener \"tcp\" {}\n", "example.hcl"),
            "example.hcl: no storage configured (add a storage \"TYPE\" { ... } block)"
        );
        let message = err("storage \"inmem\" {}\n", "example.hcl");
        assert_contains(&message, &["example.hcl: ", "no listener"]);
        let message = err(r#"{"storage": {"inmem": {}}, "listener": []}"#, "e.json");
        assert_contains(&message, &["e.json: ", "no listener"]);
    }

    #[test]
    fn error_storage_labels() {
        let message = err("storage {}\nlistener \"tcp\" {}\n", "l.hcl");
        assert_contains(&message, &["l.hcl:1:1", "storage block needs a type label"]);
        let message = err("storage \"a\" \"b\" {}\nlistener \"tcp\" {}\n", "l.hcl");
        assert_contains(
            &message,
            &["l.hcl:1:1", "exactly one type label", "found 2"],
        );
        let message = err("storage = \"file\"\nlistener \"tcp\" {}\n", "l.hcl");
        assert_contains(
            &message,
            &["l.hcl:1:1", "storage: expected a block", "found a string"],
        );
    }

    #[test]
    fn error_storage_twice_in_one_file() {
        let source = "storage \"file\" {}\nlistener \"tcp\" {}\n  backend \"consul\" {}\n";
        let message = err(source, "twice.hcl");
        assert_contains(
            &message,
            &["twice.hcl:3:3", "twice.hcl:1:1", "\"consul\"", "\"file\""],
        );
    }

    #[test]
    fn error_key_set_twice() {
        // HCL itself forbids repeated attributes; the parser's error gains the key's name.
        let message = err(&format!("{MINIMAL}ui = true\nui = false\n"), "d.hcl");
        assert_contains(
            &message,
            &["d.hcl:4:1", "HCL parse error", "redefined attribute \"ui\""],
        );
        let source = "storage \"file\" {\n path = \"a\"\n  path = \"b\"\n}\nlistener \"tcp\" {}\n";
        let message = err(source, "d.hcl");
        assert_contains(&message, &["d.hcl:3:3", "\"path\""]);
        // JSON does not, so validation catches it, naming both places.
        let source =
            "{\"storage\": {\"inmem\": {}}, \"listener\": {\"tcp\": {}},\n\"ui\": 1,\n\"ui\": 0}";
        let message = err(source, "d.json");
        assert_contains(
            &message,
            &["d.json:3:1", "\"ui\"", "set twice", "d.json:2:1"],
        );
        let source = "{\"storage\": {\"file\": {\"path\": \"a\",\n \"path\": \"b\"}}, \"listener\": {\"tcp\": {}}}";
        let message = err(source, "d.json");
        assert_contains(
            &message,
            &["d.json:2:2", "storage \"file\"", "\"path\"", "d.json:1:23"],
        );
        let source = "{\"storage\": {\"inmem\": {}}, \"listener\": {\"tcp\": {}},\n\"plugin_dir\": \"/a\", \"plugin_directory\": \"/b\"}";
        let message = err(source, "d.json");
        assert_contains(
            &message,
            &["d.json:2:21", "\"plugin_directory\"", "alias", "d.json:2:1"],
        );
    }

    #[test]
    fn error_hcl_syntax_has_parser_position() {
        let source = "storage \"inmem\" {}\nlistener \"tcp\" {\n  address 127.0.0.1\n}\n";
        let message = err(source, "bad.hcl");
        assert!(message.starts_with("bad.hcl:3:"), "{message}");
        assert_contains(&message, &["HCL parse error: "]);

        let message = err("ui = [1,\n", "bad.hcl");
        assert_contains(&message, &["bad.hcl:", "HCL parse error: "]);
    }

    #[test]
    fn error_json_syntax_has_serde_position() {
        let message = err("{\n  \"ui\": ,\n}", "bad.json");
        assert_contains(&message, &["bad.json:2:9", "JSON parse error: "]);
        assert!(!message.contains(" at line "), "{message}");
        let message = err("[1, 2]", "top.json");
        assert_contains(&message, &["top.json:1:1", "expected a JSON object"]);
    }

    #[test]
    fn error_json_semantics_have_positions() {
        let source = "{\n  \"storage\": {\"inmem\": {}},\n  \"listener\": {\"tcp\": {\n    \"address\": [1]\n  }}\n}";
        let message = err(source, "sem.json");
        assert_eq!(
            message,
            "sem.json:4:5: listener \"tcp\": key \"address\": expected a string, found an array"
        );
        let message = err(
            "{\"storage\": {\"inmem\": {}}, \"listener\": {\"tcp\": 5}}",
            "s.json",
        );
        assert_contains(
            &message,
            &["s.json:1:", "listener \"tcp\"", "expected an object"],
        );
        let message = err("{\"storag\": {}}", "s.json");
        assert_eq!(
            message,
            "s.json:1:2: unknown key \"storag\" (did you mean \"storage\"?)"
        );
    }

    #[test]
    fn error_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent.hcl");
        let message = load(std::slice::from_ref(&path)).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("cannot read config file {}: ", path.display())),
            "{message}"
        );
        assert!(matches!(load(&[]), Err(ConfigError::NoSources)));
    }

    #[test]
    fn default_config_is_a_base_for_hand_built_ones() {
        let config = ServerConfig {
            storage: Stanza::synthetic("inmem", Vec::new()),
            disable_mlock: true,
            ..ServerConfig::default()
        };
        assert_eq!(config.storage.origin(), "-dev");
        assert!(config.listeners.is_empty());
        assert!(!config.ui);
    }

    #[test]
    fn synthetic_stanza() {
        let stanza = Stanza::synthetic("inmem", pairs(&[("a", "b")]));
        assert_eq!(stanza.origin(), "-dev");
        assert_eq!(stanza.locate_key("a"), "-dev");
        assert_eq!(stanza.get("a"), Some("b"));
    }

    #[test]
    fn directory_is_read_in_name_order_and_merged() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| fs::write(dir.path().join(name), text).unwrap();
        write(
            "20-listeners.hcl",
            "listener \"tcp\" { address = \"b\" }\nui = false\n",
        );
        write(
            "10-storage.hcl",
            "storage \"file\" { path = \"/x\" }\nui = true\n",
        );
        write(
            "30-more.json",
            r#"{"listener": {"tcp": {"address": "c"}}, "log_level": "debug"}"#,
        );
        // Neither of these is a config file, and both would fail to parse.
        write("README.md", "not a config");
        write(".30-more.json.swp", "{");
        fs::create_dir(dir.path().join("sub.hcl")).unwrap();

        let extra = dir.path().join("extra");
        fs::create_dir(&extra).unwrap();
        fs::write(
            extra.join("a.hcl"),
            "listener \"unix\" { address = \"d\" }\nui = true\n",
        )
        .unwrap();

        let config = load(&[dir.path().to_owned(), extra.join("a.hcl")]).unwrap();
        assert_eq!(config.storage.kind, "file");
        assert_eq!(
            kinds_and_addresses(&config),
            pairs(&[("tcp", "b"), ("tcp", "c"), ("unix", "d")])
        );
        // Later sources win for scalars: 20 set ui = false, then extra/a.hcl set it again.
        assert!(config.ui);
        assert_eq!(config.log_level.as_deref(), Some("debug"));
        assert_eq!(
            config.listeners[0].locate_key("address"),
            format!("{}:1:18", dir.path().join("20-listeners.hcl").display())
        );

        let only_dir = load(&[dir.path().to_owned()]).unwrap();
        assert!(!only_dir.ui);
    }

    #[test]
    fn storage_in_two_files_names_both() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.hcl");
        let b = dir.path().join("b.json");
        fs::write(&a, "storage \"file\" {}\nlistener \"tcp\" {}\n").unwrap();
        fs::write(&b, "{\n  \"storage\": {\"inmem\": {}}\n}").unwrap();
        let message = load(&[a.clone(), b.clone()]).unwrap_err().to_string();
        assert_contains(
            &message,
            &[
                &format!("{}:2:15", b.display()),
                &format!("{}:1:1", a.display()),
                "already defined",
            ],
        );
    }

    #[test]
    fn missing_storage_across_sources_names_them() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("l.hcl"), "listener \"tcp\" {}\n").unwrap();
        let message = load(&[dir.path().to_owned()]).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "{}: no storage configured (add a storage \"TYPE\" {{ ... }} block)",
                dir.path().display()
            )
        );
    }

    #[test]
    fn columns_count_characters() {
        let index = LineIndex::new("é = 1\n  x");
        assert_eq!(index.pos(0), Pos { line: 1, col: 1 });
        assert_eq!(index.pos(3), Pos { line: 1, col: 3 });
        assert_eq!(index.pos(9), Pos { line: 2, col: 3 });
        assert_eq!(index.pos(100), Pos { line: 2, col: 4 });
    }
}
