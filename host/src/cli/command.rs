//! What the secret, policy and token commands share: their I/O ([`Ctx`]: output streams,
//! stdin, the environment and the home folder), `-format`, the Go client's read, write
//! and list semantics over [`Client`], `k=v` arguments, path clean-up and Go-style flag
//! values.
//!
//! Every command is a `run_*(args, client, ctx)` function, so unit tests drive it against
//! the scripted server with scripted stdin.

use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use super::client::{Client, ClientArgs, Error, Settings};
use super::operator::Format;
use super::output::{self, Secret};

/// Where stdin input comes from.
pub trait Input {
    /// All of stdin (a `-` argument).
    fn read_all(&mut self) -> io::Result<Zeroizing<String>>;
    /// A secret typed on the terminal after `prompt`, without echo; without a terminal,
    /// a line of stdin.
    fn prompt_hidden(&mut self, prompt: &str) -> io::Result<Zeroizing<String>>;
}

/// The process's stdin and terminal.
#[derive(Debug, Default)]
pub struct ProcessInput;

impl Input for ProcessInput {
    fn read_all(&mut self) -> io::Result<Zeroizing<String>> {
        let mut text = Zeroizing::new(String::new());
        io::stdin().lock().read_to_string(&mut text)?;
        Ok(text)
    }

    fn prompt_hidden(&mut self, prompt: &str) -> io::Result<Zeroizing<String>> {
        if io::stdin().is_terminal() {
            // rpassword prompts on and reads from /dev/tty with echo off.
            return rpassword::prompt_password(prompt).map(Zeroizing::new);
        }
        let mut err = io::stderr().lock();
        let _ = err.write_all(prompt.as_bytes());
        let _ = err.flush();
        let mut line = Zeroizing::new(String::new());
        io::stdin().lock().read_line(&mut line)?;
        let _ = err.write_all(b"\n");
        Ok(line)
    }
}

/// A command's surroundings.
pub struct Ctx<'a> {
    /// stdout.
    pub out: &'a mut dyn Write,
    /// stderr.
    pub err: &'a mut dyn Write,
    /// stdin.
    pub input: &'a mut dyn Input,
    /// Whether stdout is a terminal (a raw `-field` value then ends with a newline).
    pub out_is_terminal: bool,
    /// An environment lookup (`VAULT_FORMAT`, `VAULT_TOKEN`).
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The home folder (for `~/.vault-token`).
    pub home: Option<PathBuf>,
}

impl Ctx<'_> {
    /// Writes `text` to stdout as is.
    pub fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }

    /// Writes `text` and a newline to stdout.
    pub fn println(&mut self, text: &str) {
        self.print(&format!("{text}\n"));
    }

    /// Writes `text` to stderr as is.
    pub fn eprint(&mut self, text: &str) {
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
    }

    /// Writes `message` and a newline to stderr and returns `code`.
    pub fn fail(&mut self, code: i32, message: &str) -> i32 {
        self.eprint(&format!("{message}\n"));
        code
    }

    /// `{doing}: {error}` on stderr; returns the error's exit code (2 when the server
    /// answered, 1 when it could not be reached).
    pub fn fail_api(&mut self, doing: &str, error: &Error) -> i32 {
        self.fail(error.exit_code(), &format!("{doing}: {error}"))
    }

    /// A variable of the environment, when set and not empty.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// `-format`, else `BAO_FORMAT` / `VAULT_FORMAT`, else table. An unknown format in
    /// the environment prints `Invalid output format` and gives `Err(1)`.
    pub fn format(&mut self, flag: Option<Format>) -> Result<Format, i32> {
        if let Some(format) = flag {
            return Ok(format);
        }
        let Some(value) = self.var("BAO_FORMAT").or_else(|| self.var("VAULT_FORMAT")) else {
            return Ok(Format::Table);
        };
        match value.to_lowercase().as_str() {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            other => Err(self.fail(1, &format!("Invalid output format: {other}"))),
        }
    }

    /// `OutputSecret`: warnings (stderr) and the table, or the JSON.
    pub fn output_secret(&mut self, format: Format, secret: &Secret) -> i32 {
        match format {
            Format::Table => {
                let warnings = output::warnings_text(secret);
                self.eprint(&warnings);
                self.print(&output::secret_table(secret));
            }
            Format::Json => self.print(&output::secret_json(secret)),
        }
        0
    }

    /// `OutputData` of a map: a `Key  Value` table or the JSON.
    pub fn output_map(&mut self, format: Format, map: &Map<String, Value>) -> i32 {
        match format {
            Format::Table => self.print(&output::map_table(map)),
            Format::Json => self.print(&output::go_json(&output::sorted(&Value::Object(
                map.clone(),
            )))),
        }
        0
    }

    /// `PrintRaw`: the value, with a newline only when stdout is a terminal.
    pub fn print_raw(&mut self, text: &str) -> i32 {
        if self.out_is_terminal {
            self.println(text);
        } else {
            self.print(text);
        }
        0
    }

    /// `PrintRawField`: one value (`None`: `Field "x" not present in secret`, exit 1), as
    /// `%v` in table format or as JSON.
    pub fn print_field(&mut self, format: Format, field: &str, value: Option<Value>) -> i32 {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return self.fail(1, &format!("Field {field:?} not present in secret"));
        };
        match format {
            Format::Table => self.print_raw(&output::go_value(&value)),
            Format::Json => {
                let text = output::go_json(&output::sorted(&value));
                self.print_raw(text.trim_end_matches('\n'))
            }
        }
    }

    /// [`Ctx::print_field`] of a secret's field.
    pub fn print_secret_field(&mut self, format: Format, secret: &Secret, field: &str) -> i32 {
        let value = output::secret_field(secret, field);
        self.print_field(format, field, value)
    }

    /// A secret as `-field` asks: that field alone, raw, or else the whole secret.
    pub fn print_secret(&mut self, format: Format, secret: &Secret, field: Option<&str>) -> i32 {
        match field {
            Some(field) => self.print_secret_field(format, secret, field),
            None => self.output_secret(format, secret),
        }
    }
}

/// Builds a client from the process environment and runs `command` on the real stdout,
/// stderr and stdin.
pub fn run_process(args: &ClientArgs, command: impl FnOnce(&Client, &mut Ctx) -> i32) -> i32 {
    let stdout = io::stdout();
    let out_is_terminal = stdout.is_terminal();
    let mut out = stdout.lock();
    let mut err = io::stderr().lock();
    let mut input = ProcessInput;
    let env = |name: &str| std::env::var(name).ok();
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from);
    let mut ctx = Ctx {
        out: &mut out,
        err: &mut err,
        input: &mut input,
        out_is_terminal,
        env: &env,
        home,
    };
    match Settings::from_process(args).and_then(Client::new) {
        Ok(client) => command(&client, &mut ctx),
        Err(e) => ctx.fail_api("Error", &e),
    }
}

/// A failed write: the error, and the secret a 404 answer still carried (warnings).
#[derive(Debug)]
pub struct WriteFailure {
    pub error: Error,
    pub secret: Option<Box<Secret>>,
}

impl WriteFailure {
    /// Prints `{doing}: {error}`, then the secret if any; returns the exit code.
    pub fn report(&self, ctx: &mut Ctx, doing: &str, format: Format) -> i32 {
        let code = ctx.fail_api(doing, &self.error);
        if let Some(secret) = &self.secret {
            ctx.output_secret(format, secret);
        }
        code
    }
}

/// The Go client's `Logical().Read`, `List` and `Delete`: a 404 means "nothing there"
/// (`None`) unless its body carries data or warnings; other non-2xx answers are errors.
pub fn read_like(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<Option<Secret>, Error> {
    let response = client.send(method, path, body)?;
    if response.status == 404 {
        return Ok(Secret::parse(&response.body).filter(Secret::has_data_or_warnings));
    }
    Ok(Secret::parse(&client.result(method, path, response)?))
}

/// The Go client's `Logical().Write`: any non-2xx answer is an error; an empty 2xx body
/// (204) is `None`.
pub fn write_like(
    client: &Client,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
) -> Result<Option<Secret>, WriteFailure> {
    let response = client
        .send_as(method, path, body, content_type)
        .map_err(|error| WriteFailure {
            error,
            secret: None,
        })?;
    let carried = if response.status == 404 {
        Secret::parse(&response.body)
            .filter(Secret::has_data_or_warnings)
            .map(Box::new)
    } else {
        None
    };
    match client.result(method, path, response) {
        Ok(value) => Ok(Secret::parse(&value)),
        Err(error) => Err(WriteFailure {
            error,
            secret: carried,
        }),
    }
}

/// [`write_like`] with a JSON body sent as `PUT`.
pub fn write_json(
    client: &Client,
    path: &str,
    body: &Value,
) -> Result<Option<Secret>, WriteFailure> {
    write_like(client, "PUT", path, Some(body), "application/json")
}

/// Leading and trailing spaces and slashes removed (`sanitizePath`).
pub fn sanitize_path(path: &str) -> String {
    path.trim().trim_matches('/').to_string()
}

/// `ensureTrailingSlash` (empty stays empty).
pub fn with_trailing_slash(path: &str) -> String {
    let path = path.trim();
    if path.is_empty() || path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    }
}

/// What Go's `url.URL.EscapedPath` escapes in a path: all but letters, digits,
/// `-_.~$&+,/:;=@`.
const PATH_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b',')
    .remove(b'/')
    .remove(b':')
    .remove(b';')
    .remove(b'=')
    .remove(b'@');

/// What a query value has escaped (Go's `url.QueryEscape`, with `%20` for spaces).
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// An API path with the characters a URL path cannot hold escaped.
pub fn escape_path(path: &str) -> String {
    utf8_percent_encode(path, PATH_ESCAPE).to_string()
}

/// `?k=v&...` for query parameters ("" for none), keys sorted as Go's `Values.Encode`.
pub fn query(params: &[(String, String)]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let mut params = params.to_vec();
    params.sort_by(|a, b| a.0.cmp(&b.0));
    let parts: Vec<String> = params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, QUERY_ESCAPE),
                utf8_percent_encode(v, QUERY_ESCAPE)
            )
        })
        .collect();
    format!("?{}", parts.join("&"))
}

/// `path.Join`: the non-empty parts joined with `/`, cleaned (`.`, `..`, doubled and
/// trailing slashes).
pub fn join_path(parts: &[&str]) -> String {
    let joined = parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    let rooted = joined.starts_with('/');
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                if segments.last().is_some_and(|s| *s != "..") {
                    segments.pop();
                } else if !rooted {
                    segments.push("..");
                }
            }
            s => segments.push(s),
        }
    }
    let body = segments.join("/");
    if rooted {
        format!("/{body}")
    } else {
        body
    }
}

/// Go's text for an I/O error (`no such file or directory`).
pub fn io_error_text(err: &io::Error) -> String {
    let text = err.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Reads a file as text (`open PATH: no such file or directory` on failure).
pub fn read_file(path: &str) -> Result<String, String> {
    std::fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .map_err(|e| format!("open {path}: {}", io_error_text(&e)))
}

/// The `k=v` arguments of `vault write` and `vault kv put` (Vault's kvbuilder):
/// `k=v`; `k=@file` (the file's text); `k=\@x` (a literal `@x`); `k=-` (all of stdin);
/// `-` alone (a JSON object on stdin, merged in); `@file` alone (a JSON object file).
/// A repeated key becomes a list. Stdin may be used once.
pub fn parse_data(args: &[String], input: &mut dyn Input) -> Result<Map<String, Value>, String> {
    let mut result = Map::new();
    let mut stdin_used = false;
    for raw in args {
        add_pair(raw, input, &mut stdin_used, &mut result)
            .map_err(|e| format!("invalid key/value pair {raw:?}: {e}"))?;
    }
    Ok(result)
}

fn read_stdin(input: &mut dyn Input, used: &mut bool) -> Result<Zeroizing<String>, String> {
    if *used {
        return Err("stdin already consumed".to_string());
    }
    *used = true;
    input.read_all().map_err(|e| io_error_text(&e))
}

/// Decodes the first JSON value of `text` into `result` (it must be an object).
fn merge_json(text: &str, result: &mut Map<String, Value>) -> Result<(), String> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match values.next() {
        None => Err("EOF".to_string()),
        Some(Err(e)) => Err(e.to_string()),
        Some(Ok(Value::Object(map))) => {
            result.extend(map);
            Ok(())
        }
        Some(Ok(_)) => Err("json: cannot unmarshal into a map: not a JSON object".to_string()),
    }
}

fn add_pair(
    raw: &str,
    input: &mut dyn Input,
    stdin_used: &mut bool,
    result: &mut Map<String, Value>,
) -> Result<(), String> {
    if raw.is_empty() {
        return Ok(());
    }
    let Some((key, value)) = raw.split_once('=') else {
        if raw == "-" {
            let text = read_stdin(input, stdin_used)?;
            return merge_json(&text, result);
        }
        if let Some(file) = raw.strip_prefix('@') {
            let text = Zeroizing::new(read_file(file)?);
            return merge_json(&text, result);
        }
        return Err("format must be key=value".to_string());
    };
    let value = if let Some(file) = value.strip_prefix('@') {
        read_file(file).map_err(|e| format!("error reading file: {e}"))?
    } else if let Some(literal) = value.strip_prefix("\\@") {
        format!("@{literal}")
    } else if value == "-" {
        read_stdin(input, stdin_used)?.to_string()
    } else {
        value.to_string()
    };
    let value = Value::String(value);
    match result.get_mut(key) {
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
        None => {
            result.insert(key.to_string(), value);
        }
    }
    Ok(())
}

/// Query parameters from `k=v` data (lists give one parameter per item).
pub fn data_to_query(data: &Map<String, Value>) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for (k, v) in data {
        match v {
            Value::Array(items) => {
                for item in items {
                    params.push((k.clone(), output::go_value(item)));
                }
            }
            other => params.push((k.clone(), output::go_value(other))),
        }
    }
    params
}

/// Go's `strconv.ParseBool`, for clap.
pub fn parse_go_bool(value: &str) -> Result<bool, String> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(format!("parse error: invalid boolean {value:?}")),
    }
}

/// A duration flag (`1h`, `30m`, `90s`, or a number of seconds), for clap.
pub fn parse_go_duration(value: &str) -> Result<Duration, String> {
    crate::config::parse_duration(value)
}

/// A `k=v` flag value (`-metadata`, `-options`), for clap.
pub fn parse_key_value(value: &str) -> Result<(String, String), String> {
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("invalid key=value pair {value:?}")),
    }
}

/// Repeated, comma-separated flag values (Go's `StringSliceVar`): split, trimmed, empty
/// entries dropped.
pub fn split_list(values: &[String]) -> Vec<String> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
pub mod testing {
    //! Running commands against the scripted server with scripted stdin.

    use super::*;
    use crate::cli::client::Token;
    use crate::cli::fake_server::FakeServer;
    use std::collections::HashMap;

    /// Stdin text handed out by `read_all`, lines by `prompt_hidden`.
    #[derive(Default)]
    pub struct Scripted {
        pub stdin: String,
        pub prompts: Vec<String>,
        pub reads: usize,
    }

    impl Input for Scripted {
        fn read_all(&mut self) -> io::Result<Zeroizing<String>> {
            self.reads += 1;
            Ok(Zeroizing::new(std::mem::take(&mut self.stdin)))
        }

        fn prompt_hidden(&mut self, prompt: &str) -> io::Result<Zeroizing<String>> {
            self.prompts.push(prompt.to_string());
            let text = std::mem::take(&mut self.stdin);
            let (line, rest) = text.split_once('\n').unwrap_or((&text, ""));
            let line = line.to_string();
            self.stdin = rest.to_string();
            Ok(Zeroizing::new(line))
        }
    }

    /// What a command did.
    pub struct Run {
        pub code: i32,
        pub out: String,
        pub err: String,
        pub input: Scripted,
    }

    /// Options of one run.
    #[derive(Default)]
    pub struct Setup {
        pub stdin: String,
        pub env: HashMap<String, String>,
        pub home: Option<PathBuf>,
        pub terminal: bool,
    }

    /// A client of the scripted server.
    pub fn client_for(server: &FakeServer, token: Option<&str>) -> Client {
        Client::new(Settings {
            address: server.address.clone(),
            token: token.map(Token::new),
            ca_cert: None,
            skip_verify: false,
        })
        .unwrap()
    }

    /// Runs `command` with `setup`.
    pub fn run_with(
        client: &Client,
        setup: Setup,
        command: impl FnOnce(&Client, &mut Ctx) -> i32,
    ) -> Run {
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut input = Scripted {
            stdin: setup.stdin,
            ..Scripted::default()
        };
        let env_map = setup.env;
        let env = move |name: &str| env_map.get(name).cloned();
        let code = {
            let mut ctx = Ctx {
                out: &mut out,
                err: &mut err,
                input: &mut input,
                out_is_terminal: setup.terminal,
                env: &env,
                home: setup.home,
            };
            command(client, &mut ctx)
        };
        Run {
            code,
            out: String::from_utf8(out).unwrap(),
            err: String::from_utf8(err).unwrap(),
            input,
        }
    }

    /// Runs `command` with `stdin` and nothing else set.
    pub fn run(
        client: &Client,
        stdin: &str,
        command: impl FnOnce(&Client, &mut Ctx) -> i32,
    ) -> Run {
        run_with(
            client,
            Setup {
                stdin: stdin.to_string(),
                ..Setup::default()
            },
            command,
        )
    }

    /// Parses `args` (Go-style flags) into an `Args` struct.
    pub fn parse_args<T: clap::Args>(args: &[&str]) -> T {
        try_parse_args(args).unwrap_or_else(|e| panic!("{args:?}: {e}"))
    }

    /// [`parse_args`], keeping the error.
    pub fn try_parse_args<T: clap::Args>(args: &[&str]) -> Result<T, clap::Error> {
        #[derive(clap::Parser)]
        struct P<T: clap::Args> {
            #[command(flatten)]
            a: T,
        }
        let mut all = vec!["cmd"];
        all.extend_from_slice(args);
        <P<T> as clap::Parser>::try_parse_from(crate::cli::normalize_args(
            all.into_iter().map(std::ffi::OsString::from),
        ))
        .map(|p| p.a)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::Scripted;
    use super::*;
    use serde_json::json;

    fn parse(args: &[&str], stdin: &str) -> Result<Value, String> {
        let mut input = Scripted {
            stdin: stdin.to_string(),
            ..Scripted::default()
        };
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        parse_data(&args, &mut input).map(Value::Object)
    }

    #[test]
    fn key_value_pairs() {
        assert_eq!(
            parse(&["a=1", "b=two words", "c=", "d=x=y", ""], "").unwrap(),
            json!({"a": "1", "b": "two words", "c": "", "d": "x=y"})
        );
        assert_eq!(
            parse(&["k=1", "k=2", "k=3"], "").unwrap(),
            json!({"k": ["1", "2", "3"]})
        );
        assert_eq!(
            parse(&["k=\\@literal"], "").unwrap(),
            json!({"k": "@literal"})
        );
        assert_eq!(
            parse(&["novalue"], "").unwrap_err(),
            "invalid key/value pair \"novalue\": format must be key=value"
        );
    }

    #[test]
    fn files_and_stdin() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("v.txt");
        std::fs::write(&text, "line1\nline2\n").unwrap();
        let obj = dir.path().join("o.json");
        std::fs::write(&obj, r#"{"n": 5, "s": "x"}"#).unwrap();
        let at = |p: &std::path::Path| format!("@{}", p.display());
        assert_eq!(
            parse(&[&format!("v={}", at(&text)), &at(&obj)], "").unwrap(),
            json!({"v": "line1\nline2\n", "n": 5, "s": "x"})
        );
        let missing = format!("v=@{}/nope", dir.path().display());
        let e = parse(&[&missing], "").unwrap_err();
        assert!(
            e.contains("error reading file: open ") && e.ends_with("no such file or directory"),
            "{e}"
        );

        // `-` alone: a JSON object, merged with the pairs; `k=-`: the raw text.
        assert_eq!(
            parse(&["a=1", "-"], r#"{"b": {"c": [1, 2]}, "a": "over"}"#).unwrap(),
            json!({"a": "over", "b": {"c": [1, 2]}})
        );
        assert_eq!(
            parse(&["pw=-"], "s3cret\n").unwrap(),
            json!({"pw": "s3cret\n"})
        );
        assert!(parse(&["-", "x=-"], "{}")
            .unwrap_err()
            .contains("stdin already consumed"));
        assert!(parse(&["-"], "[1]")
            .unwrap_err()
            .contains("not a JSON object"));
        assert!(parse(&["-"], "not json").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(sanitize_path(" /secret/hello/ "), "secret/hello");
        assert_eq!(with_trailing_slash("secret"), "secret/");
        assert_eq!(with_trailing_slash("secret/"), "secret/");
        assert_eq!(with_trailing_slash(""), "");
        assert_eq!(join_path(&["kv2/", "data", "app"]), "kv2/data/app");
        assert_eq!(join_path(&["kv2/", "metadata", ""]), "kv2/metadata");
        assert_eq!(join_path(&["", "a//b/./c/../d/"]), "a/b/d");
        assert_eq!(
            escape_path("secret/with space/colon:star*q"),
            "secret/with%20space/colon:star%2Aq"
        );
        assert_eq!(escape_path("a?b#c%d"), "a%3Fb%23c%25d");
        assert_eq!(
            query(&[("version".into(), "2".into()), ("a".into(), "x y".into())]),
            "?a=x%20y&version=2"
        );
        assert_eq!(query(&[]), "");
    }

    #[test]
    fn flag_values() {
        assert_eq!(parse_go_bool("false"), Ok(false));
        assert_eq!(parse_go_bool("T"), Ok(true));
        assert!(parse_go_bool("yes").is_err());
        assert_eq!(parse_go_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_go_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_go_duration("bogus").is_err());
        assert_eq!(
            parse_key_value("team=a=b"),
            Ok(("team".into(), "a=b".into()))
        );
        assert!(parse_key_value("=x").is_err());
        assert_eq!(split_list(&["1,2".into(), " 3 ,".into()]), ["1", "2", "3"]);
    }
}
