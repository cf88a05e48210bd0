//! A small JSON client for the HTTP API, with the token header and any method.

use serde_json::Value;

use crate::{agent, Reply, Server};

/// Talks to one server.
pub struct Api<'a> {
    server: &'a Server,
    agent: ureq::Agent,
}

impl<'a> Api<'a> {
    /// A client for `server`.
    pub fn new(server: &'a Server) -> Self {
        Api {
            server,
            agent: agent(),
        }
    }

    /// Sends `method path` with an optional token and JSON body; any status is returned.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        self.raw(
            method,
            path,
            token,
            body.map(|b| b.to_string()).as_deref(),
            None,
        )
    }

    /// Creates a child token of `token` with the request `body`; its ID. Panics unless the
    /// server answers 200.
    pub fn create_token(&self, token: Option<&str>, body: &Value) -> String {
        let reply = self.send("POST", "/v1/auth/token/create", token, Some(body));
        assert_eq!(reply.status, 200, "token create {body}: {}", reply.body);
        match reply.json()["auth"]["client_token"].as_str() {
            Some(id) => id.to_string(),
            None => panic!("token create {body}: no client_token in {}", reply.body),
        }
    }

    /// Like [`Api::send`] with a raw body and an optional Content-Type.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        content_type: Option<&str>,
    ) -> Reply {
        let mut req = self.agent.request(method, &self.server.url(path));
        if let Some(t) = token {
            req = req.set("X-Vault-Token", t);
        }
        if let Some(ct) = content_type {
            req = req.set("Content-Type", ct);
        }
        let result = match body {
            Some(b) => req.send_string(b),
            None => req.call(),
        };
        Reply::from_result(method, path, result)
    }

    /// The first error message of a reply.
    pub fn error(reply: &Reply) -> String {
        reply.json()["errors"][0]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Initialises with one key, unseals, and returns (key, root token).
    pub fn init_and_unseal(&self) -> (String, String) {
        let init = self
            .send(
                "PUT",
                "/v1/sys/init",
                None,
                Some(&serde_json::json!({"secret_shares": 1, "secret_threshold": 1})),
            )
            .json();
        let key = init["keys"][0].as_str().expect("a key").to_string();
        let root = init["root_token"]
            .as_str()
            .expect("a root token")
            .to_string();
        let unsealed = self
            .send(
                "PUT",
                "/v1/sys/unseal",
                None,
                Some(&serde_json::json!({ "key": key })),
            )
            .json();
        assert_eq!(unsealed["sealed"], false);
        (key, root)
    }
}
