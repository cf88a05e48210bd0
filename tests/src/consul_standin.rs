//! A stand-in for Consul's HTTP API, **not a real Consul**: just the endpoints the `consul`
//! storage plugin uses, with Consul's documented semantics, in process, for the tests.
//!
//! No Consul server package exists on the machines these tests run on, so the plugin is
//! tested against this. Set `VAULT_TEST_CONSUL_ADDR` to run the same tests against a real
//! Consul agent instead (see `plugins/consul/README.md`).
//!
//! What it implements, as Consul documents it:
//!
//! * `GET /v1/kv/<key>`: a JSON array of entries (`Key`, base64 `Value`, `Flags`,
//!   `CreateIndex`, `ModifyIndex`, `LockIndex`, `Session` when held), `?raw` for the bare
//!   value, `?recurse` for a sub-tree, `?keys` (with `&separator=`) for key names, 404 for
//!   nothing found; `?consistent`/`?stale` accepted; blocking queries (`?index=&wait=`),
//!   and the `X-Consul-Index` header on every answer;
//! * `PUT /v1/kv/<key>` with `?cas=`, `?flags=`, `?acquire=` and `?release=` (answers
//!   `true`/`false`), `DELETE /v1/kv/<key>` with `?recurse` and `?cas=`;
//! * `PUT /v1/txn`: KV verbs `set`, `cas`, `get`, `get-tree`, `delete`, `delete-cas`,
//!   `delete-tree`, `lock`, `unlock`, `check-index`, `check-session`, `check-not-exists`;
//!   all or nothing, 200 with `Results`, or 409 with
//!   `{"Errors":[{"OpIndex":0,"What":"..."}],"Results":null}`; at most 64 operations;
//! * sessions: `PUT /v1/session/create` (`Name`, `TTL` between the minimum and 24h,
//!   `LockDelay` default 15 s, `Behavior` `release` or `delete`), `PUT
//!   /v1/session/renew/<id>` (404 once gone), `PUT /v1/session/destroy/<id>`, `GET
//!   /v1/session/info/<id>`; an expired or destroyed session releases (or deletes) its keys
//!   and holds them back from `acquire` for its lock-delay;
//! * `X-Consul-Token` (or `?token=`) checked when a token is configured: 403
//!   `Permission denied`;
//! * Consul's 512 KiB limits: 413 `Value exceeds 524288 byte limit` on `/v1/kv`, and the
//!   `txn_max_req_len` / `kv_max_value_size` checks on `/v1/txn`.
//!
//! Not implemented: ACL rules beyond one token, datacenters, namespaces, the catalog,
//! health checks tied to sessions, and Consul's jitter on blocking queries.
//!
//! Test knobs: [`ConsulStandIn::set_delay`] (every answer waits), [`ConsulStandIn::stop`]
//! and [`ConsulStandIn::restart`] (same port, same data), and
//! [`ConsulStandIn::set_ignore_renewals`] (sessions run out their TTL) and
//! [`ConsulStandIn::set_freeze_blocking`] (watchers see nothing for a while). It binds
//! 127.0.0.1 only. One thread per connection, every answer closes its connection.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Consul's default `kv_max_value_size` (and `txn_max_req_len`).
pub const MAX_VALUE_SIZE: usize = 512 * 1024;
/// Consul's limit on operations in one transaction.
pub const MAX_TXN_OPS: usize = 64;
/// Consul's default minimum session TTL.
pub const DEFAULT_MIN_SESSION_TTL: Duration = Duration::from_secs(10);
/// The longest body read; more is refused.
const MAX_REQUEST: usize = 8 << 20;

#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    flags: u64,
    create_index: u64,
    modify_index: u64,
    lock_index: u64,
    session: Option<String>,
}

#[derive(Debug, Clone)]
struct Session {
    id: String,
    name: String,
    ttl: Option<Duration>,
    expires: Option<Instant>,
    lock_delay: Duration,
    behavior_delete: bool,
    create_index: u64,
}

#[derive(Debug, Clone, Default)]
struct State {
    /// The Raft index: bumped by every write.
    index: u64,
    kv: BTreeMap<String, Entry>,
    sessions: HashMap<String, Session>,
    /// Keys held back from `acquire` until then (lock-delay).
    lock_delays: HashMap<String, Instant>,
}

struct Shared {
    state: Mutex<State>,
    /// Notified on every write, on stop and by the reaper.
    changed: Condvar,
    token: Option<String>,
    min_session_ttl: Duration,
    delay_ms: AtomicU64,
    ignore_renewals: AtomicBool,
    freeze_blocking: AtomicBool,
    /// Bumped by `stop`: connections accepted before it never answer.
    generation: AtomicU64,
    /// Open connections, shut down by `stop`.
    conns: Mutex<HashMap<u64, TcpStream>>,
    next_conn: AtomicU64,
    /// Set when the stand-in is dropped: the reaper exits.
    closing: AtomicBool,
    requests: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Running {
    stop: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

/// A running stand-in. Dropping it stops it.
pub struct ConsulStandIn {
    shared: Arc<Shared>,
    port: u16,
    running: Mutex<Option<Running>>,
    reaper: Option<JoinHandle<()>>,
}

/// Options for [`ConsulStandIn`].
#[derive(Debug, Clone)]
pub struct StandInBuilder {
    token: Option<String>,
    min_session_ttl: Duration,
    port: u16,
}

impl StandInBuilder {
    /// Requires this `X-Consul-Token` on every request.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }

    /// The shortest session TTL accepted (Consul's default is 10 s; tests use less).
    pub fn min_session_ttl(mut self, ttl: Duration) -> Self {
        self.min_session_ttl = ttl;
        self
    }

    /// Listens on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Binds and starts serving.
    pub fn start(self) -> ConsulStandIn {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            token: self.token,
            min_session_ttl: self.min_session_ttl,
            delay_ms: AtomicU64::new(0),
            ignore_renewals: AtomicBool::new(false),
            freeze_blocking: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(0),
            closing: AtomicBool::new(false),
            requests: AtomicU64::new(0),
        });
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("bind the stand-in");
        let port = listener.local_addr().expect("local addr").port();
        let reaper = {
            let shared = shared.clone();
            std::thread::spawn(move || reap(&shared))
        };
        let standin = ConsulStandIn {
            shared,
            port,
            running: Mutex::new(None),
            reaper: Some(reaper),
        };
        standin.serve(listener);
        standin
    }
}

impl ConsulStandIn {
    /// A stand-in on a free port, without a token, with Consul's 10 s minimum TTL.
    pub fn start() -> ConsulStandIn {
        ConsulStandIn::builder().start()
    }

    /// Options.
    pub fn builder() -> StandInBuilder {
        StandInBuilder {
            token: None,
            min_session_ttl: DEFAULT_MIN_SESSION_TTL,
            port: 0,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Delays every answer by `delay` (the request is handled after the wait).
    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// When set, renewals answer 200 but no longer extend sessions, so they run out.
    pub fn set_ignore_renewals(&self, ignore: bool) {
        self.shared.ignore_renewals.store(ignore, Ordering::SeqCst);
    }

    /// When set, blocking queries no longer return early on a change: they wait out their
    /// `wait` (so a watcher does not notice anything meanwhile).
    pub fn set_freeze_blocking(&self, freeze: bool) {
        self.shared.freeze_blocking.store(freeze, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }

    /// Stops listening and drops every open connection (in-flight requests get no
    /// answer). The data stays; [`ConsulStandIn::restart`] serves it again on the same port.
    pub fn stop(&self) {
        let running = self.running().take();
        let Some(running) = running else { return };
        running.stop.store(true, Ordering::SeqCst);
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        for (_, conn) in self
            .shared
            .conns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain()
        {
            let _ = conn.shutdown(Shutdown::Both);
        }
        // Wake the accept loop so it sees the flag and drops the listener.
        let _ =
            TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
        let _ = running.accept.join();
        self.shared.changed.notify_all();
    }

    /// Serves again on the same port, with the same data.
    pub fn restart(&self) {
        if self.running().is_some() {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("rebind the stand-in on port {}: {e}", self.port),
            }
        };
        self.serve(listener);
    }

    /// Every key held, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.shared.state().kv.keys().cloned().collect()
    }

    /// A key's value.
    pub fn value(&self, key: &str) -> Option<Vec<u8>> {
        self.shared.state().kv.get(key).map(|e| e.value.clone())
    }

    /// The session holding a key.
    pub fn session_of(&self, key: &str) -> Option<String> {
        self.shared
            .state()
            .kv
            .get(key)
            .and_then(|e| e.session.clone())
    }

    /// Requests answered or in progress so far.
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn serve(&self, listener: TcpListener) {
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (shared, stop) = (self.shared.clone(), stop.clone());
            std::thread::spawn(move || accept_loop(&shared, listener, &stop))
        };
        *self.running() = Some(Running { stop, accept });
    }
}

impl Drop for ConsulStandIn {
    fn drop(&mut self) {
        self.stop();
        self.shared.closing.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        if let Some(reaper) = self.reaper.take() {
            let _ = reaper.join();
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: TcpListener, stop: &AtomicBool) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(conn) = conn else { continue };
        let id = shared.next_conn.fetch_add(1, Ordering::SeqCst);
        if let Ok(clone) = conn.try_clone() {
            shared
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, clone);
        }
        let generation = shared.generation.load(Ordering::SeqCst);
        let shared = shared.clone();
        std::thread::spawn(move || {
            serve_connection(&shared, conn, generation);
            shared
                .conns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        });
    }
}

/// Expires sessions whose TTL ran out.
fn reap(shared: &Shared) {
    let mut state = shared.state();
    while !shared.closing.load(Ordering::SeqCst) {
        let now = Instant::now();
        let expired: Vec<String> = state
            .sessions
            .values()
            .filter(|s| s.expires.is_some_and(|e| e <= now))
            .map(|s| s.id.clone())
            .collect();
        if !expired.is_empty() {
            for id in expired {
                invalidate(&mut state, &id);
            }
            shared.changed.notify_all();
        }
        state = shared
            .changed
            .wait_timeout(state, Duration::from_millis(50))
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
}

/// A session ends: its keys are released (or deleted) and held back for its lock-delay.
fn invalidate(state: &mut State, id: &str) -> bool {
    let Some(session) = state.sessions.remove(id) else {
        return false;
    };
    state.index += 1;
    let index = state.index;
    let held: Vec<String> = state
        .kv
        .iter()
        .filter(|(_, e)| e.session.as_deref() == Some(id))
        .map(|(k, _)| k.clone())
        .collect();
    for key in held {
        if session.behavior_delete {
            state.kv.remove(&key);
        } else if let Some(e) = state.kv.get_mut(&key) {
            e.session = None;
            e.modify_index = index;
        }
        if !session.lock_delay.is_zero() {
            state
                .lock_delays
                .insert(key, Instant::now() + session.lock_delay);
        }
    }
    true
}

// ---- HTTP ----

struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn has(&self, name: &str) -> bool {
        self.param(name).is_some()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Response {
    status: u16,
    content_type: &'static str,
    body: Vec<u8>,
    index: Option<u64>,
}

fn json_reply(status: u16, body: &Value, index: u64) -> Response {
    Response {
        status,
        content_type: "application/json",
        body: body.to_string().into_bytes(),
        index: Some(index),
    }
}

fn text_reply(status: u16, text: impl Into<String>) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body: text.into().into_bytes(),
        index: None,
    }
}

fn serve_connection(shared: &Shared, conn: TcpStream, generation: u64) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let request = match read_request(&mut reader) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(reply) => {
            let _ = write_response(&mut writer, &reply);
            return;
        }
    };
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let stale = || shared.generation.load(Ordering::SeqCst) != generation;
    let delay = Duration::from_millis(shared.delay_ms.load(Ordering::SeqCst));
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if stale() {
            return;
        }
        std::thread::sleep(
            until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(20)),
        );
    }
    let reply = handle(shared, &request, &stale);
    if stale() {
        return; // stopped meanwhile: a stopped server answers nothing
    }
    let _ = write_response(&mut writer, &reply);
    let _ = writer.shutdown(Shutdown::Both);
}

fn read_request(reader: &mut impl BufRead) -> Result<Option<Request>, Response> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(text_reply(400, "malformed request line"));
    };
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(_) => {}
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
    {
        return Err(text_reply(411, "Content-Length required"));
    }
    if length > MAX_REQUEST {
        return Err(text_reply(413, "Request body too large"));
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return Ok(None);
    }
    let (raw_path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    let Some(path) = percent_decode(raw_path, false) else {
        return Err(text_reply(400, "malformed path"));
    };
    let mut query = Vec::new();
    for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match (percent_decode(k, true), percent_decode(v, true)) {
            (Some(k), Some(v)) => query.push((k, v)),
            _ => return Err(text_reply(400, "malformed query")),
        }
    }
    Ok(Some(Request {
        method: method.to_string(),
        path,
        query,
        headers,
        body,
    }))
}

fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn write_response(w: &mut impl Write, r: &Response) -> std::io::Result<()> {
    let reason = match r.status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Request Entity Too Large",
        _ => "Internal Server Error",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    if let Some(index) = r.index {
        head.push_str(&format!(
            "X-Consul-Index: {index}\r\nX-Consul-KnownLeader: true\r\nX-Consul-LastContact: 0\r\n"
        ));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(&r.body)?;
    w.flush()
}

// ---- endpoints ----

fn handle(shared: &Shared, req: &Request, stale: &dyn Fn() -> bool) -> Response {
    if let Some(required) = &shared.token {
        let given = req.header("X-Consul-Token").or_else(|| req.param("token"));
        if given != Some(required.as_str()) {
            return text_reply(403, "Permission denied");
        }
    }
    let method = req.method.as_str();
    if let Some(key) = req.path.strip_prefix("/v1/kv/") {
        return match method {
            "GET" => kv_get(shared, req, key, stale),
            "PUT" => kv_put(shared, req, key),
            "DELETE" => kv_delete(shared, req, key),
            _ => text_reply(405, "method not allowed"),
        };
    }
    match (method, req.path.as_str()) {
        ("PUT", "/v1/txn") => txn(shared, req),
        ("PUT", "/v1/session/create") => session_create(shared, req),
        ("GET", "/v1/status/leader") => json_reply(200, &json!("127.0.0.1:8300"), 0),
        ("PUT", path) if path.starts_with("/v1/session/renew/") => {
            session_renew(shared, &path["/v1/session/renew/".len()..])
        }
        ("PUT", path) if path.starts_with("/v1/session/destroy/") => {
            let mut state = shared.state();
            invalidate(&mut state, &path["/v1/session/destroy/".len()..]);
            let index = state.index;
            drop(state);
            shared.changed.notify_all();
            json_reply(200, &json!(true), index)
        }
        ("GET", path) if path.starts_with("/v1/session/info/") => {
            let state = shared.state();
            let found: Vec<Value> = state
                .sessions
                .get(&path["/v1/session/info/".len()..])
                .map(session_json)
                .into_iter()
                .collect();
            json_reply(200, &Value::Array(found), state.index)
        }
        _ => text_reply(404, "404 page not found"),
    }
}

fn entry_json(key: &str, e: &Entry, with_value: bool) -> Value {
    let mut v = json!({
        "LockIndex": e.lock_index,
        "Key": key,
        "Flags": e.flags,
        "Value": if with_value && !e.value.is_empty() { Value::String(base64_encode(&e.value)) } else { Value::Null },
        "CreateIndex": e.create_index,
        "ModifyIndex": e.modify_index,
    });
    if let Some(s) = &e.session {
        v["Session"] = json!(s);
    }
    v
}

fn session_json(s: &Session) -> Value {
    json!({
        "ID": s.id,
        "Name": s.name,
        "Node": "consul-standin",
        "LockDelay": s.lock_delay.as_nanos() as u64,
        "Behavior": if s.behavior_delete { "delete" } else { "release" },
        "TTL": s.ttl.map(go_duration).unwrap_or_default(),
        "NodeChecks": ["serfHealth"],
        "ServiceChecks": null,
        "CreateIndex": s.create_index,
        "ModifyIndex": s.create_index,
    })
}

fn kv_get(shared: &Shared, req: &Request, key: &str, stale: &dyn Fn() -> bool) -> Response {
    let mut state = shared.state();
    // A blocking query: wait for the index to move past the one given, up to `wait`.
    if let Some(index) = req.param("index").and_then(|i| i.parse::<u64>().ok()) {
        let wait = req
            .param("wait")
            .and_then(parse_go_duration)
            .unwrap_or(Duration::from_secs(300))
            .min(Duration::from_secs(600));
        let deadline = Instant::now() + wait;
        let frozen = || shared.freeze_blocking.load(Ordering::SeqCst);
        while index > 0 && (state.index <= index || frozen()) && !stale() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = shared
                .changed
                .wait_timeout(state, left.min(Duration::from_millis(100)))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
    let index = state.index;
    let not_found = Response {
        status: 404,
        content_type: "text/plain",
        body: Vec::new(),
        index: Some(index),
    };
    if req.has("keys") {
        let sep = req
            .param("separator")
            .or_else(|| req.param("seperator"))
            .unwrap_or("");
        let mut keys: Vec<String> = Vec::new();
        for k in state.kv.keys().filter(|k| k.starts_with(key)) {
            let rest = &k[key.len()..];
            let name = match (sep.is_empty(), rest.find(sep)) {
                (false, Some(i)) => format!("{key}{}", &rest[..i + sep.len()]),
                _ => k.clone(),
            };
            if keys.last() != Some(&name) {
                keys.push(name);
            }
        }
        keys.sort();
        keys.dedup();
        if keys.is_empty() && !key.is_empty() {
            return not_found;
        }
        return json_reply(200, &json!(keys), index);
    }
    if req.has("recurse") {
        let entries: Vec<Value> = state
            .kv
            .iter()
            .filter(|(k, _)| k.starts_with(key))
            .map(|(k, e)| entry_json(k, e, true))
            .collect();
        if entries.is_empty() {
            return not_found;
        }
        return json_reply(200, &Value::Array(entries), index);
    }
    if key.is_empty() {
        return text_reply(400, "Missing key name");
    }
    match state.kv.get(key) {
        None => not_found,
        Some(e) if req.has("raw") => Response {
            status: 200,
            content_type: "text/plain",
            body: e.value.clone(),
            index: Some(index),
        },
        Some(e) => json_reply(200, &json!([entry_json(key, e, true)]), index),
    }
}

fn parse_u64(req: &Request, name: &str) -> Result<Option<u64>, Response> {
    match req.param(name) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| text_reply(400, format!("invalid {name} {v:?}"))),
    }
}

fn kv_put(shared: &Shared, req: &Request, key: &str) -> Response {
    if key.is_empty() {
        return text_reply(400, "Missing key name");
    }
    let modes = ["cas", "acquire", "release"]
        .iter()
        .filter(|m| req.has(m))
        .count();
    if modes > 1 {
        return text_reply(400, "Conflicting flags");
    }
    if req.body.len() > MAX_VALUE_SIZE {
        return text_reply(413, format!("Value exceeds {MAX_VALUE_SIZE} byte limit"));
    }
    let (flags, cas) = match (parse_u64(req, "flags"), parse_u64(req, "cas")) {
        (Ok(f), Ok(c)) => (f.unwrap_or(0), c),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let mut state = shared.state();
    let index = state.index + 1;
    let result = if let Some(session) = req.param("acquire") {
        acquire(&mut state, key, session, &req.body, flags, index)
    } else if let Some(session) = req.param("release") {
        release(&mut state, key, session, &req.body, flags, index)
    } else if let Some(cas) = cas {
        if cas_ok(&state, key, cas) {
            set(&mut state, key, &req.body, flags, index);
            Ok(true)
        } else {
            Ok(false)
        }
    } else {
        set(&mut state, key, &req.body, flags, index);
        Ok(true)
    };
    match result {
        Ok(done) => {
            if done {
                state.index = index;
            }
            let now = state.index;
            drop(state);
            shared.changed.notify_all();
            json_reply(200, &json!(done), now)
        }
        Err(what) => text_reply(500, what),
    }
}

fn kv_delete(shared: &Shared, req: &Request, key: &str) -> Response {
    let cas = match parse_u64(req, "cas") {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut state = shared.state();
    let done = if req.has("recurse") {
        let doomed: Vec<String> = state
            .kv
            .keys()
            .filter(|k| k.starts_with(key))
            .cloned()
            .collect();
        for k in doomed {
            state.kv.remove(&k);
        }
        true
    } else if key.is_empty() {
        return text_reply(400, "Missing key name");
    } else if let Some(cas) = cas {
        match state.kv.get(key) {
            None => true,
            Some(e) if e.modify_index == cas => {
                state.kv.remove(key);
                true
            }
            Some(_) => false,
        }
    } else {
        state.kv.remove(key);
        true
    };
    state.index += 1;
    let index = state.index;
    drop(state);
    shared.changed.notify_all();
    json_reply(200, &json!(done), index)
}

fn cas_ok(state: &State, key: &str, cas: u64) -> bool {
    match state.kv.get(key) {
        None => cas == 0,
        Some(e) => e.modify_index == cas,
    }
}

fn set(state: &mut State, key: &str, value: &[u8], flags: u64, index: u64) {
    let e = state.kv.entry(key.to_string()).or_insert_with(|| Entry {
        value: Vec::new(),
        flags: 0,
        create_index: index,
        modify_index: index,
        lock_index: 0,
        session: None,
    });
    e.value = value.to_vec();
    e.flags = flags;
    e.modify_index = index;
}

/// `?acquire=`: `Ok(false)` when another session holds the key or its lock-delay runs.
fn acquire(
    state: &mut State,
    key: &str,
    session: &str,
    value: &[u8],
    flags: u64,
    index: u64,
) -> Result<bool, String> {
    if !state.sessions.contains_key(session) {
        return Err(format!("invalid session {session:?}"));
    }
    if let Some(until) = state.lock_delays.get(key) {
        if *until > Instant::now() {
            return Ok(false);
        }
    }
    let current = state.kv.get(key).and_then(|e| e.session.clone());
    match current.as_deref() {
        Some(holder) if holder != session => return Ok(false),
        _ => {}
    }
    set(state, key, value, flags, index);
    if let Some(e) = state.kv.get_mut(key) {
        if current.is_none() {
            e.lock_index += 1;
        }
        e.session = Some(session.to_string());
    }
    Ok(true)
}

/// `?release=`: `Ok(false)` when the key is not held by `session`.
fn release(
    state: &mut State,
    key: &str,
    session: &str,
    value: &[u8],
    flags: u64,
    index: u64,
) -> Result<bool, String> {
    match state.kv.get(key) {
        Some(e) if e.session.as_deref() == Some(session) => {}
        _ => return Ok(false),
    }
    set(state, key, value, flags, index);
    if let Some(e) = state.kv.get_mut(key) {
        e.session = None;
    }
    Ok(true)
}

fn txn(shared: &Shared, req: &Request) -> Response {
    if req.body.len() > MAX_VALUE_SIZE {
        return text_reply(
            413,
            format!("Request body too large, max size: {MAX_VALUE_SIZE} bytes"),
        );
    }
    let ops: Vec<Value> = match serde_json::from_slice(&req.body) {
        Ok(Value::Array(ops)) => ops,
        Ok(_) => return text_reply(400, "Failed to parse body: expected an array"),
        Err(e) => return text_reply(400, format!("Failed to parse body: {e}")),
    };
    if ops.len() > MAX_TXN_OPS {
        return text_reply(
            413,
            format!(
                "Transaction contains too many operations ({} > {MAX_TXN_OPS})",
                ops.len()
            ),
        );
    }
    // Decode every operation first, as Consul does, before touching the store.
    let mut decoded = Vec::new();
    for op in &ops {
        let Some(kv) = op.get("KV") else {
            return text_reply(
                400,
                "Failed to parse body: only KV operations are supported",
            );
        };
        let text = |name: &str| {
            kv.get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let value = match kv.get("Value") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(b64)) => match base64_decode(b64) {
                Some(v) => v,
                None => return text_reply(400, "Failed to parse body: failed to decode value"),
            },
            Some(_) => return text_reply(400, "Failed to parse body: unexpected value type"),
        };
        let key = text("Key");
        if value.len() > MAX_VALUE_SIZE {
            return text_reply(
                413,
                format!(
                    "Value for key {key:?} is too large ({} > {MAX_VALUE_SIZE} bytes)",
                    value.len()
                ),
            );
        }
        decoded.push(TxnKv {
            verb: text("Verb"),
            key,
            value,
            flags: kv.get("Flags").and_then(Value::as_u64).unwrap_or(0),
            index: kv.get("Index").and_then(Value::as_u64).unwrap_or(0),
            session: text("Session"),
        });
    }
    let mut state = shared.state();
    let mut work = state.clone();
    let index = state.index + 1;
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut wrote = false;
    for (i, op) in decoded.iter().enumerate() {
        match apply(&mut work, op, index) {
            Ok((result, write)) => {
                wrote |= write;
                results.extend(result);
            }
            Err(what) => errors.push(json!({"OpIndex": i, "What": what})),
        }
    }
    if !errors.is_empty() {
        return json_reply(
            409,
            &json!({"Results": null, "Errors": errors}),
            state.index,
        );
    }
    if wrote {
        work.index = index;
        *state = work;
    }
    let now = state.index;
    drop(state);
    shared.changed.notify_all();
    json_reply(200, &json!({"Results": results, "Errors": null}), now)
}

struct TxnKv {
    verb: String,
    key: String,
    value: Vec<u8>,
    flags: u64,
    index: u64,
    session: String,
}

/// One KV operation of a transaction: its results and whether it wrote.
fn apply(state: &mut State, op: &TxnKv, index: u64) -> Result<(Vec<Value>, bool), String> {
    let key = op.key.as_str();
    let entry_result = |state: &State, with_value: bool| -> Vec<Value> {
        state
            .kv
            .get(key)
            .map(|e| vec![json!({"KV": entry_json(key, e, with_value)})])
            .unwrap_or_default()
    };
    let missing = || format!("key {key:?} doesn't exist");
    match op.verb.as_str() {
        "set" => {
            set(state, key, &op.value, op.flags, index);
            Ok((entry_result(state, false), true))
        }
        "cas" => {
            if !cas_ok(state, key, op.index) {
                return Err(format!("failed to set key {key:?}, index is stale"));
            }
            set(state, key, &op.value, op.flags, index);
            Ok((entry_result(state, false), true))
        }
        "lock" => match acquire(state, key, &op.session, &op.value, op.flags, index)? {
            true => Ok((entry_result(state, false), true)),
            false => Err(format!("failed to lock key {key:?}, lock is already held")),
        },
        "unlock" => match release(state, key, &op.session, &op.value, op.flags, index)? {
            true => Ok((entry_result(state, false), true)),
            false => Err(format!(
                "failed to unlock key {key:?}, lock isn't held, or is held by another session"
            )),
        },
        "get" => match state.kv.get(key) {
            Some(_) => Ok((entry_result(state, true), false)),
            None => Err(missing()),
        },
        "get-tree" => Ok((
            state
                .kv
                .iter()
                .filter(|(k, _)| k.starts_with(key))
                .map(|(k, e)| json!({"KV": entry_json(k, e, true)}))
                .collect(),
            false,
        )),
        "delete" => {
            state.kv.remove(key);
            Ok((Vec::new(), true))
        }
        "delete-cas" => match state.kv.get(key) {
            Some(e) if e.modify_index != op.index => {
                Err(format!("failed to delete key {key:?}, index is stale"))
            }
            _ => {
                state.kv.remove(key);
                Ok((Vec::new(), true))
            }
        },
        "delete-tree" => {
            let doomed: Vec<String> = state
                .kv
                .keys()
                .filter(|k| k.starts_with(key))
                .cloned()
                .collect();
            for k in doomed {
                state.kv.remove(&k);
            }
            Ok((Vec::new(), true))
        }
        "check-index" => match state.kv.get(key) {
            None => Err(missing()),
            Some(e) if e.modify_index != op.index => Err(format!(
                "current modify index {} != {}",
                e.modify_index, op.index
            )),
            Some(_) => Ok((entry_result(state, false), false)),
        },
        "check-session" => match state.kv.get(key) {
            None => Err(missing()),
            Some(e) if e.session.as_deref() != Some(op.session.as_str()) => Err(format!(
                "failed session check for key {key:?}, current session {:?} != {:?}",
                e.session.as_deref().unwrap_or(""),
                op.session
            )),
            Some(_) => Ok((entry_result(state, false), false)),
        },
        "check-not-exists" => match state.kv.get(key) {
            Some(_) => Err(format!("key {key:?} exists")),
            None => Ok((Vec::new(), false)),
        },
        other => Err(format!("unknown KV verb {other:?}")),
    }
}

fn session_create(shared: &Shared, req: &Request) -> Response {
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => return text_reply(400, format!("Request decode failed: {e}")),
        }
    };
    let ttl = match body.get("TTL").and_then(Value::as_str).unwrap_or("") {
        "" => None,
        raw => match parse_go_duration(raw) {
            Some(d) if d.is_zero() => None,
            Some(d) if d >= shared.min_session_ttl && d <= Duration::from_secs(86400) => Some(d),
            _ => {
                return text_reply(
                    400,
                    format!(
                        "Invalid Session TTL '{raw}', must be between [{}-24h0m0s]",
                        go_duration(shared.min_session_ttl)
                    ),
                )
            }
        },
    };
    let lock_delay = match body.get("LockDelay") {
        None | Some(Value::Null) => Duration::from_secs(15),
        Some(Value::String(s)) => match parse_go_duration(s) {
            Some(d) => d,
            None => return text_reply(400, format!("Invalid LockDelay {s:?}")),
        },
        // Consul reads small numbers as seconds and large ones as nanoseconds.
        Some(Value::Number(n)) => {
            let n = n.as_u64().unwrap_or(0);
            if n < 1000 {
                Duration::from_secs(n)
            } else {
                Duration::from_nanos(n)
            }
        }
        Some(_) => return text_reply(400, "Invalid LockDelay"),
    };
    let behavior_delete = match body.get("Behavior").and_then(Value::as_str).unwrap_or("") {
        "" | "release" => false,
        "delete" => true,
        other => return text_reply(400, format!("Invalid Behavior setting '{other}'")),
    };
    let mut state = shared.state();
    state.index += 1;
    let id = new_id(state.index);
    let session = Session {
        id: id.clone(),
        name: body
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        ttl,
        expires: ttl.map(|t| Instant::now() + t),
        lock_delay,
        behavior_delete,
        create_index: state.index,
    };
    state.sessions.insert(id.clone(), session);
    let index = state.index;
    json_reply(200, &json!({"ID": id}), index)
}

fn session_renew(shared: &Shared, id: &str) -> Response {
    let mut state = shared.state();
    let index = state.index;
    let ignore = shared.ignore_renewals.load(Ordering::SeqCst);
    match state.sessions.get_mut(id) {
        None => text_reply(404, format!("Session id '{id}' not found")),
        Some(s) => {
            if !ignore {
                s.expires = s.ttl.map(|t| Instant::now() + t);
            }
            json_reply(200, &json!([session_json(s)]), index)
        }
    }
}

/// A UUID-shaped session id: random, from the OS-seeded hasher.
fn new_id(seed: u64) -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut parts = [0u64; 2];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(seed);
        h.write_usize(i);
        *part = h.finish();
    }
    let hex = format!("{:016x}{:016x}", parts[0], parts[1]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Go's `time.ParseDuration` for the forms Consul's clients send (`15s`, `1m30s`,
/// `250ms`, `1.5h`).
pub fn parse_go_duration(raw: &str) -> Option<Duration> {
    let mut rest = raw.trim();
    if rest == "0" {
        return Some(Duration::ZERO);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..n_end].parse().ok()?;
        let tail = &rest[n_end..];
        let u_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let scale = match &tail[..u_end] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * scale;
        rest = &tail[u_end..];
    }
    Some(Duration::from_secs_f64(total))
}

fn go_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as Go's `encoding/json` writes `[]byte`.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The inverse of [`base64_encode`]; `None` for anything malformed.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    if bytes.len() & 3 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (ci, chunk) in bytes.chunks(4).enumerate() {
        let last = ci + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            let v = B64.iter().position(|&b| b == c)? as u32;
            n = (n << 6) | v;
        }
        n <<= 6 * pad as u32;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&decoded[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", b"fooba", b"foobar"] {
            let text = base64_encode(data);
            assert_eq!(base64_decode(&text).as_deref(), Some(data), "{text}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_decode("Zm8"), None);
        assert_eq!(base64_decode("Z=m8"), None);
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("15s"), Some(Duration::from_secs(15)));
        assert_eq!(parse_go_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("15"), None);
        assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
    }
}
