//! Consul's HTTP API over a blocking client: deadlines, bounded retries, the in-flight cap,
//! and errors that name Consul and its address.

use std::io::Read;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use vault_plugin_api::Error;

use crate::config::{format_duration, Settings};

/// Everything but RFC 3986's unreserved characters is escaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Attempts after the first, for requests that may be retried.
const MAX_RETRIES: u32 = 4;
/// The first pause between attempts; doubled each time, capped at [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// The most of a response body read (values are at most 512 KiB; listings can be longer).
const MAX_BODY: u64 = 64 << 20;

/// Percent-encodes a KV key for a URL path, segment by segment (`/` stays).
pub fn encode_key(key: &str) -> String {
    key.split('/')
        .map(|segment| utf8_percent_encode(segment, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes one query value.
pub fn encode_query(value: &str) -> String {
    utf8_percent_encode(value, SEGMENT).to_string()
}

/// When a failed request may be sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// A read: retried on any transport failure but a timeout, and on 5xx answers.
    Idempotent,
    /// A write. Retried when the connection could not be made (nothing was sent), and once
    /// when a pooled connection turned out closed. Every write this plugin sends sets or
    /// deletes keys, so applying one twice leaves the same state.
    Write,
}

/// Whether a request counts against `max_parallel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// Storage calls.
    Counted,
    /// The HA lock's session traffic, which must not starve behind storage calls.
    Uncounted,
}

/// An answer from Consul, whatever its status.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// `X-Consul-Index`.
    pub index: Option<u64>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as text, trimmed and shortened for an error message.
    pub fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.chars().count() > 300 {
            let cut: String = text.chars().take(300).collect();
            format!("{cut}...")
        } else {
            text.to_string()
        }
    }

    /// The body as JSON.
    pub fn json(&self, client: &Client, what: &str) -> Result<serde_json::Value, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::Other(format!(
                "Consul at {} sent a malformed answer to {what}: {e}",
                client.address
            ))
        })
    }
}

enum Failure {
    /// No answer within the time left.
    Timeout,
    /// The connection could not be made: nothing was sent.
    Connect(String),
    /// The connection broke (closed, reset) before an answer.
    Closed(String),
    /// TLS failed (certificate, protocol version): retrying cannot help.
    Tls(String),
    /// Anything else on the way.
    Other(String),
}

/// A counting semaphore: at most N permits out at once.
struct Semaphore {
    free: Mutex<usize>,
    returned: Condvar,
}

struct Permit<'a>(&'a Semaphore);

impl Semaphore {
    fn new(n: usize) -> Self {
        Semaphore {
            free: Mutex::new(n),
            returned: Condvar::new(),
        }
    }

    /// Waits for a permit until `deadline`.
    fn acquire(&self, deadline: Instant) -> Option<Permit<'_>> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *free > 0 {
                *free -= 1;
                return Some(Permit(self));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            free = self
                .returned
                .wait_timeout(free, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    #[cfg(test)]
    fn available(&self) -> usize {
        *self.free.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.0.returned.notify_one();
    }
}

/// The HTTP client, shared by the storage calls and the HA lock's threads.
pub struct Client {
    agent: ureq::Agent,
    base: String,
    /// `host:port`, for messages.
    pub address: String,
    token: Option<String>,
    /// The bound on one storage call, retries included.
    pub timeout: Duration,
    permits: Semaphore,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(settings: &Settings) -> Client {
        let mut builder = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(settings.request_timeout)
            .max_idle_connections(settings.max_parallel)
            .max_idle_connections_per_host(settings.max_parallel)
            .user_agent(concat!("vault-consul/", env!("CARGO_PKG_VERSION")));
        if let Some(tls) = &settings.tls {
            builder = builder.tls_config(tls.clone());
        }
        Client {
            agent: builder.build(),
            base: settings.base_url(),
            address: settings.address.clone(),
            token: settings.token.clone(),
            timeout: settings.request_timeout,
            permits: Semaphore::new(settings.max_parallel),
        }
    }

    /// A storage call: counted against `max_parallel`, bounded by the request timeout.
    pub fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        retry: Retry,
    ) -> Result<Reply, Error> {
        self.call_with(
            method,
            path_and_query,
            body,
            retry,
            Cap::Counted,
            self.timeout,
        )
    }

    /// One request, retried as `retry` allows, all within `limit`.
    pub fn call_with(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&[u8]>,
        retry: Retry,
        cap: Cap,
        limit: Duration,
    ) -> Result<Reply, Error> {
        let started = Instant::now();
        let deadline = started + limit;
        let url = format!("{}{}", self.base, path_and_query);
        let mut attempt = 0u32;
        let mut closed_retried = false;
        loop {
            let outcome = {
                let _permit = match cap {
                    Cap::Counted => Some(self.permits.acquire(deadline).ok_or_else(|| {
                        Error::Unavailable(format!(
                            "Consul at {}: no request slot freed within {} (max_parallel requests are in flight)",
                            self.address,
                            format_duration(limit)
                        ))
                    })?),
                    Cap::Uncounted => None,
                };
                self.send_once(method, &url, body, deadline)
            };
            let backoff = (FIRST_BACKOFF * 2u32.pow(attempt.min(10))).min(MAX_BACKOFF);
            let left = deadline.saturating_duration_since(Instant::now());
            let failure = match outcome {
                // A read answered 5xx (Consul: no leader yet, say): again, while there is
                // time; the last answer is the caller's to report.
                Ok(reply) if reply.status >= 500 && retry == Retry::Idempotent => {
                    if attempt >= MAX_RETRIES || backoff >= left {
                        return Ok(reply);
                    }
                    std::thread::sleep(backoff);
                    attempt += 1;
                    continue;
                }
                Ok(reply) => return Ok(reply),
                Err(f) => f,
            };
            let may_retry = match (&failure, retry) {
                (Failure::Timeout, _) | (Failure::Tls(_), _) => false,
                (_, Retry::Idempotent) => true,
                (Failure::Connect(_), Retry::Write) => true,
                (Failure::Closed(_), Retry::Write) if !closed_retried => {
                    closed_retried = true;
                    true
                }
                (_, Retry::Write) => false,
            };
            if !may_retry || attempt >= MAX_RETRIES || backoff >= left {
                return Err(self.failure_error(failure, started.elapsed(), limit));
            }
            std::thread::sleep(backoff);
            attempt += 1;
        }
    }

    fn failure_error(&self, failure: Failure, elapsed: Duration, limit: Duration) -> Error {
        match failure {
            Failure::Timeout => Error::Unavailable(format!(
                "Consul at {} did not answer within {}",
                self.address,
                format_duration(limit)
            )),
            Failure::Tls(why) => {
                Error::Unavailable(format!("Consul at {}: TLS failed: {why}", self.address))
            }
            Failure::Connect(why) | Failure::Closed(why) | Failure::Other(why) => {
                Error::Unavailable(format!(
                    "Consul at {} is unreachable: {why} (gave up after {})",
                    self.address,
                    format_duration(Duration::from_millis(elapsed.as_millis() as u64))
                ))
            }
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        deadline: Instant,
    ) -> Result<Reply, Failure> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::Timeout);
        }
        let mut request = self.agent.request(method, url).timeout(left);
        if let Some(token) = &self.token {
            request = request.set("X-Consul-Token", token);
        }
        let result = match body {
            Some(bytes) => request
                .set("Content-Type", "application/json")
                .send_bytes(bytes),
            None => request.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(ureq::Error::Transport(t)) => return Err(classify(&t, deadline)),
        };
        let status = response.status();
        let index = response
            .header("X-Consul-Index")
            .and_then(|v| v.trim().parse().ok());
        let mut body = Vec::new();
        if let Err(e) = response.into_reader().take(MAX_BODY).read_to_end(&mut body) {
            return Err(if is_timeout(&e) || Instant::now() >= deadline {
                Failure::Timeout
            } else {
                Failure::Closed(format!("the answer broke off: {e}"))
            });
        }
        Ok(Reply {
            status,
            index,
            body,
        })
    }

    /// The error for an answer a call cannot use.
    pub fn status_error(&self, what: &str, reply: &Reply) -> Error {
        let address = &self.address;
        let text = reply.text();
        match reply.status {
            403 => Error::Other(format!(
                "Consul at {address} denied {what} (403 {text}): check the token option"
            )),
            413 => Error::TooLarge(format!("Consul at {address} refused {what}: {text}")),
            500..=599 => Error::Unavailable(format!(
                "Consul at {address} failed {what}: {} {text}",
                reply.status
            )),
            status => Error::Other(format!(
                "Consul at {address} refused {what}: {status} {text}"
            )),
        }
    }
}

fn classify(t: &ureq::Transport, deadline: Instant) -> Failure {
    let detail = std::error::Error::source(t)
        .map(|s| s.to_string())
        .or_else(|| t.message().map(str::to_string))
        .unwrap_or_else(|| t.to_string());
    let timed_out = Instant::now() >= deadline || source_is_timeout(t);
    if timed_out {
        return Failure::Timeout;
    }
    if let Some(tls) = tls_error(t) {
        return Failure::Tls(tls);
    }
    match t.kind() {
        ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => Failure::Connect(detail),
        ureq::ErrorKind::Io if source_is_closed(t) => Failure::Closed(detail),
        _ => Failure::Other(detail),
    }
}

fn io_errors(t: &ureq::Transport) -> impl Iterator<Item = &std::io::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
    std::iter::from_fn(move || {
        while let Some(e) = next {
            next = e.source();
            if let Some(io) = e.downcast_ref::<std::io::Error>() {
                return Some(io);
            }
        }
        None
    })
}

/// The rustls error inside a transport failure, if that is what it is.
fn tls_error(t: &ureq::Transport) -> Option<String> {
    io_errors(t).find_map(|io| {
        io.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(|e| e.to_string())
    })
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn source_is_timeout(t: &ureq::Transport) -> bool {
    io_errors(t).any(is_timeout)
}

fn source_is_closed(t: &ureq::Transport) -> bool {
    io_errors(t).any(|e| {
        matches!(
            e.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn keys_are_encoded_segment_by_segment() {
        assert_eq!(encode_key("vault/core/keyring"), "vault/core/keyring");
        assert_eq!(encode_key("vault/odd/with space"), "vault/odd/with%20space");
        assert_eq!(encode_key("a/café"), "a/caf%C3%A9");
        assert_eq!(encode_key("a/colon:star*q"), "a/colon%3Astar%2Aq");
        assert_eq!(encode_key("a/q?x#y%z"), "a/q%3Fx%23y%25z");
        assert_eq!(
            encode_key("a/dash-dot.under_score~"),
            "a/dash-dot.under_score~"
        );
        assert_eq!(encode_key("vault/tree/"), "vault/tree/");
        assert_eq!(encode_key(""), "");
        assert_eq!(encode_query("/"), "%2F");
    }

    #[test]
    fn the_semaphore_caps_and_times_out() {
        let s = Arc::new(Semaphore::new(2));
        let far = Instant::now() + Duration::from_secs(30);
        let a = s.acquire(far).unwrap();
        let _b = s.acquire(far).unwrap();
        assert_eq!(s.available(), 0);
        assert!(s
            .acquire(Instant::now() + Duration::from_millis(20))
            .is_none());
        std::thread::scope(|scope| {
            let waiter = scope.spawn(|| s.acquire(far).is_some());
            drop(a);
            assert!(waiter.join().unwrap(), "a returned permit wakes a waiter");
        });
        assert_eq!(s.available(), 1);
    }

    fn client_for(address: &str, timeout: &str) -> Client {
        let settings = crate::config::parse(vault_plugin_api::Config::new([
            ("address", address),
            ("request_timeout", timeout),
        ]))
        .unwrap();
        Client::new(&settings)
    }

    #[test]
    fn an_unreachable_consul_is_unavailable_naming_the_address() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let address = format!("127.0.0.1:{port}");
        let client = client_for(&address, "2s");
        let err = client
            .call("GET", "/v1/kv/x", None, Retry::Idempotent)
            .unwrap_err();
        let Error::Unavailable(msg) = &err else {
            panic!("{err:?}")
        };
        assert!(msg.contains(&format!("Consul at {address}")), "{msg}");
    }

    #[test]
    fn a_silent_server_times_out_instead_of_hanging() {
        // Accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let keep = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming().take(8) {
                held.push(conn);
            }
        });
        let client = client_for(&address, "300ms");
        let err = client
            .call("GET", "/v1/kv/x", None, Retry::Idempotent)
            .unwrap_err();
        assert!(
            err.to_string().contains("did not answer within 300ms"),
            "{err}"
        );
        drop(keep);
    }
}
