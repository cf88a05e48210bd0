//! `vault policy write|read|list|delete` (and the old `vault policies [NAME]`,
//! `policy-write`, `policy-delete`): `sys/policies/acl`.

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::client::{Client, ClientArgs};
use super::command::{escape_path, io_error_text, read_like, run_process, Ctx};
use super::operator::Format;
use super::output;
use super::output::FormatArg;

/// `vault policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Upload a policy from a file or stdin (`-`).
    Write(PolicyWriteArgs),
    /// Print a policy's text.
    Read(PolicyNameArgs),
    /// List the policy names.
    List(PolicyListArgs),
    /// Delete a policy.
    Delete(PolicyNameArgs),
}

/// Flags of `vault policy write`.
#[derive(Debug, Clone, Args)]
pub struct PolicyWriteArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The HCL file, or `-` for stdin.
    #[arg(value_name = "FILE")]
    pub file: String,
}

/// Flags of `vault policy read` and `vault policy delete`.
#[derive(Debug, Clone, Args)]
pub struct PolicyNameArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Flags of `vault policy list`.
#[derive(Debug, Clone, Args)]
pub struct PolicyListArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
}

/// Flags of the old `vault policies [NAME]` (list, or read one).
#[derive(Debug, Clone, Args)]
pub struct PoliciesArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub output: FormatArg,
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

/// Runs a `vault policy` command.
pub fn main(command: PolicyCommand) -> i32 {
    match command {
        PolicyCommand::Write(a) => write(a),
        PolicyCommand::Read(a) => run_process(&a.client, |c, ctx| run_read(&a, c, ctx)),
        PolicyCommand::List(a) => run_process(&a.client, |c, ctx| run_list(&a, c, ctx)),
        PolicyCommand::Delete(a) => delete(a),
    }
}

/// `vault policy write`.
pub fn write(args: PolicyWriteArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_write(&args, c, ctx))
}

/// `vault policy delete`.
pub fn delete(args: PolicyNameArgs) -> i32 {
    run_process(&args.client, |c, ctx| run_delete(&args, c, ctx))
}

/// `vault policies [NAME]`.
pub fn policies(args: PoliciesArgs) -> i32 {
    run_process(&args.client, |c, ctx| match &args.name {
        Some(name) => run_read(
            &PolicyNameArgs {
                client: args.client.clone(),
                output: args.output.clone(),
                name: name.clone(),
            },
            c,
            ctx,
        ),
        None => run_list(
            &PolicyListArgs {
                client: args.client.clone(),
                output: args.output.clone(),
            },
            c,
            ctx,
        ),
    })
}

/// Policy names are lower case.
fn policy_name(name: &str) -> String {
    name.trim().to_lowercase()
}

fn policy_path(name: &str) -> String {
    format!("sys/policies/acl/{}", escape_path(name))
}

/// `vault policy write NAME FILE|-`: `PUT sys/policies/acl/NAME {"policy": TEXT}`.
pub fn run_write(args: &PolicyWriteArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let name = policy_name(&args.name);
    let rules = if args.file == "-" {
        match ctx.input.read_all() {
            Ok(text) => text.to_string(),
            Err(e) => return ctx.fail(2, &format!("Error reading policy: {}", io_error_text(&e))),
        }
    } else {
        match std::fs::read(&args.file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                return ctx.fail(
                    2,
                    &format!(
                        "Error opening policy file: open {}: {}",
                        args.file,
                        io_error_text(&e)
                    ),
                )
            }
        }
    };
    match client.put(&policy_path(&name), Some(&json!({ "policy": rules }))) {
        Err(e) => ctx.fail_api("Error uploading policy", &e),
        Ok(_) => {
            ctx.println(&format!("Success! Uploaded policy: {name}"));
            0
        }
    }
}

/// `vault policy read NAME`: `GET sys/policies/acl/NAME`, the text printed trimmed.
pub fn run_read(args: &PolicyNameArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let name = policy_name(&args.name);
    let rules = match read_like(client, "GET", &policy_path(&name), None) {
        Err(e) => return ctx.fail_api(&format!("Error reading policy named {name}"), &e),
        Ok(secret) => secret
            .and_then(|s| s.get("policy").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default(),
    };
    if rules.is_empty() {
        return ctx.fail(2, &format!("No policy named: {name}"));
    }
    match format {
        Format::Table => ctx.println(rules.trim()),
        Format::Json => ctx.print(&output::go_json(&json!({ "policy": rules }))),
    }
    0
}

/// `vault policy list`: `GET sys/policies/acl?list=true`, one name a line.
pub fn run_list(args: &PolicyListArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let format = try_code!(ctx.format(args.output.format));
    let body = match client.get("sys/policies/acl?list=true") {
        Ok(body) => body,
        Err(e) => return ctx.fail_api("Error listing policies", &e),
    };
    let names = output::strings_of(body.get("data").and_then(|d| d.get("keys")))
        .or_else(|| output::strings_of(body.get("keys")))
        .unwrap_or_default();
    match format {
        Format::Table => {
            for name in &names {
                ctx.println(name);
            }
        }
        Format::Json => ctx.print(&output::go_json(&names)),
    }
    0
}

/// `vault policy delete NAME`: `DELETE sys/policies/acl/NAME`.
pub fn run_delete(args: &PolicyNameArgs, client: &Client, ctx: &mut Ctx) -> i32 {
    let name = policy_name(&args.name);
    match client.delete(&policy_path(&name)) {
        Err(e) => ctx.fail_api(&format!("Error deleting {name}"), &e),
        Ok(_) => {
            ctx.println(&format!("Success! Deleted policy: {name}"));
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::command::testing::{client_for, parse_args, run};
    use crate::cli::fake_server::FakeServer;

    const RO: &str = "path \"secret/*\" {\n  capabilities = [\"read\", \"list\"]\n}\n";

    #[test]
    fn write_from_stdin_or_a_file() {
        let server = FakeServer::start(vec![(204, String::new()), (204, String::new())]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, RO, |c, ctx| {
            run_write(&parse_args(&["RO", "-"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.out.as_str()),
            (0, "Success! Uploaded policy: ro\n")
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ro.hcl");
        std::fs::write(&file, RO).unwrap();
        let file = file.display().to_string();
        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["ro2", &file]), c, ctx)
        });
        assert_eq!(r.code, 0);
        let requests = server.requests();
        assert_eq!(requests[0].line(), "PUT /v1/sys/policies/acl/ro");
        assert_eq!(requests[0].json(), json!({ "policy": RO }));
        assert_eq!(requests[1].line(), "PUT /v1/sys/policies/acl/ro2");
        let r = run(&client, "", |c, ctx| {
            run_write(&parse_args(&["x", "/nonexistent/p.hcl"]), c, ctx)
        });
        assert_eq!(
            (r.code, r.err.as_str()),
            (
                2,
                "Error opening policy file: open /nonexistent/p.hcl: no such file or directory\n"
            )
        );
    }

    #[test]
    fn read_list_delete() {
        let read = json!({"data": {"name": "ro", "policy": RO, "version": 1}});
        let server = FakeServer::start(vec![
            (200, read.to_string()),
            (404, r#"{"errors":[]}"#.into()),
            (200, r#"{"data":{"keys":["default","ro","root"]}}"#.into()),
            (200, r#"{"data":{"keys":["default","ro","root"]}}"#.into()),
            (204, String::new()),
            (400, r#"{"errors":["cannot delete default policy"]}"#.into()),
        ]);
        let client = client_for(&server, Some("s.root"));
        let r = run(&client, "", |c, ctx| run_read(&parse_args(&["ro"]), c, ctx));
        assert_eq!(r.out, RO);
        let r = run(&client, "", |c, ctx| {
            run_read(&parse_args(&["nope"]), c, ctx)
        });
        assert_eq!((r.code, r.err.as_str()), (2, "No policy named: nope\n"));
        let r = run(&client, "", |c, ctx| run_list(&parse_args(&[]), c, ctx));
        assert_eq!(r.out, "default\nro\nroot\n");
        let r = run(&client, "", |c, ctx| {
            run_list(&parse_args(&["-format=json"]), c, ctx)
        });
        assert_eq!(
            serde_json::from_str::<Value>(&r.out).unwrap(),
            json!(["default", "ro", "root"])
        );
        let r = run(&client, "", |c, ctx| {
            run_delete(&parse_args(&["ro"]), c, ctx)
        });
        assert_eq!(r.out, "Success! Deleted policy: ro\n");
        let r = run(&client, "", |c, ctx| {
            run_delete(&parse_args(&["default"]), c, ctx)
        });
        assert_eq!(r.code, 2);
        assert!(r
            .err
            .starts_with("Error deleting default: Error making API request."));
        assert_eq!(
            server.lines(),
            [
                "GET /v1/sys/policies/acl/ro",
                "GET /v1/sys/policies/acl/nope",
                "GET /v1/sys/policies/acl?list=true",
                "GET /v1/sys/policies/acl?list=true",
                "DELETE /v1/sys/policies/acl/ro",
                "DELETE /v1/sys/policies/acl/default"
            ]
        );
    }
}
