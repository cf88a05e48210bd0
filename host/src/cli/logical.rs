//! `vault read`, `write`, `delete` and `list`: any API path, as the Go CLI sends them
//! (`GET`, `PUT`, `DELETE`, and `GET ?list=true`; no mount lookup).

use clap::Args;
use serde_json::Value;

use super::client::{Client, ClientArgs};
use super::command::{
    data_to_query, escape_path, parse_data, query, read_like, sanitize_path, with_trailing_slash,
    write_json, Ctx,
};
use super::operator::Format;
use super::output;
use super::output::{FormatArg, OutputArgs};

/// Flags of `vault read`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// The path to read.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// `k=v` query parameters.
    #[arg(value_name = "K=V")]
    pub data: Vec<String>,
}

/// Flags of `vault write`.
#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write even without data.
    #[arg(long = "force", short = 'f')]
    pub force: bool,
    /// The path to write.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// `k=v`, `k=@file`, `k=-` (stdin), `@file.json` or `-` (a JSON object on stdin).
    #[arg(value_name = "DATA")]
    pub data: Vec<String>,
}

/// Flags of `vault delete`.
#[derive(Debug, Clone, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// The path to delete.
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// Flags of `vault list`.
#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    /// The folder to list.
    #[arg(value_name = "PATH")]
    pub path: String,
}

/// `vault read`.
pub fn read(args: ReadArgs) -> i32 {
    super::command::run_process(&args.client, |c, ctx| run_read(&args, c, ctx))
}

/// `vault write`.
pub fn write(args: WriteArgs) -> i32 {
    super::command::run_process(&args.client, |c, ctx| run_write(&args, c, ctx))
}

/// `vault delete`.
pub fn delete(args: DeleteArgs) -> i32 {
    super::command::run_process(&args.client, |c, ctx| run_delete(&args, c, ctx))
}

/// `vault list`.
pub fn list(args: ListArgs) -> i32 {
    super::command::run_process(&args.client, |c, ctx| run_list(&args, c, ctx))
}

/// `vault read PATH [k=v...]`: `GET /v1/PATH`. Nothing there: `No value found at PATH`,
/// exit 2.
pub fn run_read(args: &ReadArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = sanitize_path(&args.path);
    let data = match parse_data(&args.data, ctx.input) {
        Ok(data) => data,
        Err(e) => return ctx.fail(1, &format!("Failed to parse K=V data: {e}")),
    };
    let target = format!("{}{}", escape_path(&path), query(&data_to_query(&data)));
    match read_like(client, "GET", &target, None) {
        Err(e) => ctx.fail_api(&format!("Error reading {path}"), &e),
        Ok(None) => ctx.fail(2, &format!("No value found at {path}")),
        Ok(Some(secret)) => ctx.print_secret(format, &secret, args.output.field.as_deref()),
    }
}

/// `vault write PATH DATA...`: `PUT /v1/PATH` with the data as a JSON object. A 204 prints
/// `Success! Data written to: PATH`; a body is printed as a secret.
pub fn run_write(args: &WriteArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = sanitize_path(&args.path);
    let data = match parse_data(&args.data, ctx.input) {
        Ok(data) => data,
        Err(e) => return ctx.fail(1, &format!("Failed to parse K=V data: {e}")),
    };
    if data.is_empty() && !args.force {
        return ctx.fail(1, "Must supply data or use -force");
    }
    match write_json(client, &escape_path(&path), &Value::Object(data)) {
        Err(failure) => failure.report(ctx, &format!("Error writing data to {path}"), format),
        Ok(None) => {
            if format == Format::Table {
                ctx.println(&format!("Success! Data written to: {path}"));
            }
            0
        }
        Ok(Some(secret)) => ctx.print_secret(format, &secret, args.output.field.as_deref()),
    }
}

/// `vault delete PATH`: `DELETE /v1/PATH`, then
/// `Success! Data deleted (if it existed) at: PATH`.
pub fn run_delete(args: &DeleteArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = sanitize_path(&args.path);
    match read_like(client, "DELETE", &escape_path(&path), None) {
        Err(e) => ctx.fail_api(&format!("Error deleting {path}"), &e),
        Ok(None) => {
            if format == Format::Table {
                ctx.println(&format!("Success! Data deleted (if it existed) at: {path}"));
            }
            0
        }
        Ok(Some(secret)) => ctx.output_secret(format, &secret),
    }
}

/// `vault list PATH`: `GET /v1/PATH/?list=true`, printed as a `Keys` table or a JSON list.
pub fn run_list(args: &ListArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let path = with_trailing_slash(&sanitize_path(&args.path));
    list_at(client, ctx, format, &path)
}

/// Lists `path` and prints the keys (shared with `vault kv list`).
pub fn list_at(client: &Client, ctx: &mut Ctx, format: Format, path: &str) -> i32 {
    let secret = match read_like(
        client,
        "GET",
        &format!("{}?list=true", escape_path(path)),
        None,
    ) {
        Ok(secret) => secret,
        Err(e) => return ctx.fail_api(&format!("Error listing {path}"), &e),
    };
    if let Some(secret) = &secret {
        if secret.wrap_info.is_some() {
            return ctx.output_secret(format, secret);
        }
    }
    let keys = secret
        .as_ref()
        .and_then(|s| s.get("keys"))
        .and_then(Value::as_array);
    match (format, &secret, keys) {
        (Format::Json, _, Some(keys)) => {
            ctx.print(&output::go_json(&Value::Array(keys.clone())));
            0
        }
        (Format::Json, _, None) => {
            ctx.print("{}\n");
            2
        }
        (Format::Table, s, Some(keys)) => {
            if let Some(s) = s {
                let warnings = output::warnings_text(s);
                ctx.eprint(&warnings);
            }
            ctx.print(&output::list_table(keys));
            0
        }
        (Format::Table, Some(s), None) if s.data.is_some() => {
            ctx.fail(2, &format!("No entries found at {path}"))
        }
        (Format::Table, _, None) => ctx.fail(2, &format!("No value found at {path}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::testing::{client_for, parse_args, run, run_with, Setup};
    use crate::cli::fake_server::FakeServer;
    use serde_json::json;

    const READ: &str = r#"{"request_id":"9e968b7b","lease_id":"","renewable":false,"lease_duration":2764800,"data":{"value":"world","n":42},"wrap_info":null,"warnings":null,"auth":null}"#;

    #[test]
    fn flags_parse_go_style() {
        let a: ReadArgs = parse_args(&["-field=value", "-format=json", "secret/hello"]);
        assert_eq!(a.output.field.as_deref(), Some("value"));
        assert_eq!(a.output.format, Some(Format::Json));
        assert_eq!(a.path, "secret/hello");
        let w: WriteArgs = parse_args(&["secret/x", "a=b", "-", "c=@f"]);
        assert_eq!(w.data, ["a=b", "-", "c=@f"]);
        assert!(!w.force);
        let w: WriteArgs = parse_args(&["-f", "secret/x"]);
        assert!(w.force && w.data.is_empty());
        let l: ListArgs = parse_args(&["secret/"]);
        assert_eq!(l.output.format, None);
    }

    #[test]
    fn read_prints_the_table_a_field_or_json() {
        let server = FakeServer::start(vec![
            (200, READ.into()),
            (200, READ.into()),
            (200, READ.into()),
            (200, READ.into()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["/secret/hello/"]), c, ctx)
        });
        assert_eq!(r.code, 0, "{}", r.err);
        assert_eq!(
            r.out,
            "Key                 Value\n---                 -----\nrefresh_interval    768h\nn                   42\nvalue               world\n"
        );
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["-field=value", "secret/hello"]), c, ctx)
        });
        assert_eq!((r.code, r.out.as_str()), (0, "world"));
        let r = run_with(
            &client,
            Setup {
                terminal: true,
                ..Setup::default()
            },
            |c, ctx| run_read(&parse_args(&["-field=value", "secret/hello"]), c, ctx),
        );
        assert_eq!(r.out, "world\n", "a newline on a terminal");
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["-format=json", "secret/hello"]), c, ctx)
        });
        let v: Value = serde_json::from_str(&r.out).unwrap();
        assert_eq!(v["data"], json!({"value": "world", "n": 42}));
        assert_eq!(v["lease_duration"], 2764800);
        assert!(r.out.starts_with("{\n  \"request_id\": \"9e968b7b\",\n"));
        assert_eq!(server.lines(), vec!["GET /v1/secret/hello"; 4]);
        assert_eq!(server.requests()[0].header("x-vault-token"), Some("s.root"));
    }

    #[test]
    fn read_of_a_missing_path_or_field() {
        let server = FakeServer::start(vec![
            (404, r#"{"errors":[]}"#.into()),
            (200, READ.into()),
            (
                403,
                r#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#.into(),
            ),
        ]);
        let client = client_for(&server, None);
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["secret/nope"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.out.as_str(), r.err.as_str()),
            (2, "", "No value found at secret/nope\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["-field=zzz", "secret/hello"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (1, "Field \"zzz\" not present in secret\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["secret/x"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert_eq!(
            r.err,
            format!(
                "Error reading secret/x: Error making API request.\n\nURL: GET {}/v1/secret/x\n\
                 Code: 403. Errors:\n\n* 1 error occurred:\n\t* permission denied\n\n\n",
                server.address
            )
        );
    }

    #[test]
    fn write_sends_the_pairs_and_reports_success() {
        let server = FakeServer::start(vec![
            (204, String::new()),
            (204, String::new()),
            (
                400,
                r#"{"errors":["cannot write to a path ending in '/'"]}"#.into(),
            ),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["secret/hello", "value=world", "n=1"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success! Data written to: secret/hello\n")
        );
        let r = run(&client, r#"{"nested": {"a": [1]}}"#, |c, ctx| {
            run_write(&parse_args(&["-format=json", "secret/j", "-"]), c, ctx)
        });
        assert_eq!((r.code, r.out.as_str()), (0, ""), "no text in json mode");
        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["secret/t", "a=b"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(r
            .err
            .starts_with("Error writing data to secret/t: Error making API request."));
        let requests = server.requests();
        assert_eq!(requests[0].line(), "PUT /v1/secret/hello");
        assert_eq!(requests[0].json(), json!({"value": "world", "n": "1"}));
        assert_eq!(requests[1].json(), json!({"nested": {"a": [1]}}));

        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["secret/empty"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (1, "Must supply data or use -force\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["secret/e", "oops"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (
                1,
                "Failed to parse K=V data: invalid key/value pair \"oops\": format must be key=value\n"
            )
        );
    }

    #[test]
    fn write_with_a_body_prints_it() {
        let token = json!({"request_id":"x","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"s.new","accessor":"acc","policies":["default"],"token_policies":["default"],"metadata":null,"lease_duration":3600,"renewable":true}});
        let server = FakeServer::start(vec![(200, token.to_string()), (200, token.to_string())]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_write(
                &parse_args(&["auth/token/create", "policies=default"]),
                c,
                ctx,
            )
        });
        assert_eq!(r.code, 0);
        assert!(
            r.out.contains("\ntoken                s.new\n"),
            "{}",
            r.out
        );
        let r = run(&client, "", |c, ctx| {
            run_write(
                &parse_args(&["-field=token", "auth/token/create", "policies=default"]),
                c,
                ctx,
            )
        });
        assert_eq!(r.out, "s.new");
    }

    #[test]
    fn delete_and_list() {
        let server = FakeServer::start(vec![
            (204, String::new()),
            (
                200,
                r#"{"data":{"keys":["hello","app/"]},"lease_duration":0}"#.into(),
            ),
            (
                200,
                r#"{"data":{"keys":["hello","app/"]},"lease_duration":0}"#.into(),
            ),
            (404, r#"{"errors":[]}"#.into()),
            (404, r#"{"errors":[]}"#.into()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| {
            run_delete(&parse_args(&["secret/hello"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.out.as_str()),
            (
                0,
                "Success! Data deleted (if it existed) at: secret/hello\n"
            )
        );
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["secret"]), c, ctx)
        });
        assert_eq!((r.code, r.out.as_str()), (0, "Keys\n----\napp/\nhello\n"));
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["-format=json", "secret/"]), c, ctx)
        });
        assert_eq!(r.out, "[\n  \"hello\",\n  \"app/\"\n]\n");
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["secret/nope"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (2, "No value found at secret/nope/\n")
        );
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["-format=json", "secret/nope"]), c, ctx)
        });
        assert_eq!((r.code, r.out.as_str()), (2, "{}\n"));
        assert_eq!(
            server.lines(),
            [
                "DELETE /v1/secret/hello",
                "GET /v1/secret/?list=true",
                "GET /v1/secret/?list=true",
                "GET /v1/secret/nope/?list=true",
                "GET /v1/secret/nope/?list=true"
            ]
        );
    }

    #[test]
    fn the_format_variable_is_used_without_the_flag() {
        let server = FakeServer::start(vec![(200, READ.into())]);
        let client = client_for(&server, None);
        let mut env = std::collections::HashMap::new();
        env.insert("VAULT_FORMAT".to_string(), "JSON".to_string());
        let r = run_with(
            &client,
            Setup {
                env: env.clone(),
                ..Setup::default()
            },
            |c, ctx| run_read(&parse_args(&["secret/hello"]), c, ctx),
        );
        assert!(r.out.starts_with('{'), "{}", r.out);
        env.insert("VAULT_FORMAT".to_string(), "yaml".to_string());
        let r = run_with(
            &client,
            Setup {
                env,
                ..Setup::default()
            },
            |c, ctx| run_read(&parse_args(&["secret/hello"]), c, ctx),
        );
        assert_eq!(
            (r.code, r.err.as_str()),
            (1, "Invalid output format: yaml\n")
        );
    }
}
