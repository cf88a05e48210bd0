//! The HA lock: a Consul session, the KV key it acquires, a renewer and a monitor.
//!
//! The same protocol as Consul's Go `api.Lock`, which Vault's consul backend uses:
//!
//! 1. `PUT /v1/session/create` a session named "Vault Lock" with TTL `session_ttl` and
//!    Consul's default lock-delay (15 s) and behaviour (`release`);
//! 2. a renewer thread `PUT /v1/session/renew/<id>` every TTL/2;
//! 3. `PUT /v1/kv/<path><key>?acquire=<id>&flags=<LOCK_FLAG>` with the holder's value;
//!    while another session holds the key, wait with blocking queries (`?index=`) for it to
//!    change and try again, until the caller's timeout;
//! 4. once acquired, a monitor thread watches the key with blocking queries: when the key's
//!    session is no longer ours (released by an expiry or `session/destroy`, or the key
//!    deleted), the lock is lost. The renewer reports a loss too: when Consul says the
//!    session is gone (404), or when no renewal got through for a whole TTL (the session
//!    has then expired, or may have: loss is reported conservatively);
//! 5. unlock: `PUT /v1/kv/<key>?release=<id>`, then `PUT /v1/session/destroy/<id>`.
//!
//! While a lock is held its session fences the backend's writes: see [`Fences`].

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use vault_plugin_api::{Error, HeldLock};

use crate::client::{encode_key, encode_query, Cap, Client, Retry};
use crate::config::format_duration;

/// The `Flags` Consul's Go lock sets on its keys; Go clients that find other flags on the
/// key refuse it as "not a lock", so the same value lets them share the key with us.
pub const LOCK_FLAG: u64 = 0x2ddc_cbc0_58a5_0c18;
/// The session name Vault uses.
pub const SESSION_NAME: &str = "Vault Lock";
/// How long to pause between acquire attempts while the key is free but refused (Consul's
/// lock-delay after a holder's session expired), and between failed monitor queries.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// The locks currently held through one backend, whose sessions fence its writes.
#[derive(Debug, Default)]
pub struct Fences(Mutex<Vec<Arc<LockState>>>);

impl Fences {
    fn list(&self) -> std::sync::MutexGuard<'_, Vec<Arc<LockState>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The held locks, for a write to check. A write fails when one of them is lost.
    pub fn current(&self) -> Vec<Arc<LockState>> {
        self.list().clone()
    }

    fn add(&self, state: Arc<LockState>) {
        self.list().push(state);
    }

    fn remove(&self, state: &Arc<LockState>) {
        self.list().retain(|s| !Arc::ptr_eq(s, state));
    }
}

#[derive(Debug, Default)]
struct Flags {
    lost: bool,
    released: bool,
}

/// One lock's shared state: what the renewer, the monitor and the holder see.
#[derive(Debug)]
pub struct LockState {
    /// The full Consul key (`<path><key>`).
    pub key: String,
    /// The session that holds it.
    pub session: String,
    flags: Mutex<Flags>,
    changed: Condvar,
}

impl LockState {
    fn flags(&self) -> std::sync::MutexGuard<'_, Flags> {
        self.flags.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lost or released.
    pub fn is_gone(&self) -> bool {
        let f = self.flags();
        f.lost || f.released
    }

    /// Marks the lock lost and wakes every waiter.
    pub fn mark_lost(&self) {
        self.flags().lost = true;
        self.changed.notify_all();
    }

    fn is_released(&self) -> bool {
        self.flags().released
    }

    /// Marks it released; false when it already was.
    fn release(&self) -> bool {
        let mut f = self.flags();
        let first = !f.released;
        f.released = true;
        drop(f);
        self.changed.notify_all();
        first
    }

    /// Waits until lost or released, or `timeout`; true when gone.
    fn wait_gone(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut f = self.flags();
        loop {
            if f.lost || f.released {
                return true;
            }
            let left = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return false;
            }
            f = self
                .changed
                .wait_timeout(f, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Sleeps up to `pause`, waking early when released. True when released.
    fn pause_unless_released(&self, pause: Duration) -> bool {
        let deadline = Instant::now() + pause;
        let mut f = self.flags();
        loop {
            if f.released {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            f = self
                .changed
                .wait_timeout(f, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// What the lock key holds right now.
#[derive(Debug)]
pub struct KeyState {
    /// `X-Consul-Index`, for the next blocking query.
    pub index: u64,
    /// The session holding the key, if any.
    pub session: Option<String>,
    /// The key's value.
    pub value: Option<Vec<u8>>,
}

/// The lock machinery of one backend.
#[derive(Debug)]
pub struct Locker {
    pub client: Arc<Client>,
    pub fences: Arc<Fences>,
    pub session_ttl: Duration,
    pub lock_wait_time: Duration,
    pub consistent: bool,
}

impl Locker {
    /// Reads the lock key; a blocking query when `index > 0` (waits up to `wait` for a
    /// change past `index`).
    pub fn read_key(&self, key: &str, index: u64, wait: Duration) -> Result<KeyState, Error> {
        let mut url = format!("/v1/kv/{}", encode_key(key));
        let mut sep = '?';
        let mut push = |url: &mut String, part: &str| {
            url.push(sep);
            url.push_str(part);
            sep = '&';
        };
        if self.consistent {
            push(&mut url, "consistent");
        }
        let mut limit = self.client.timeout;
        if index > 0 {
            push(&mut url, &format!("index={index}"));
            push(&mut url, &format!("wait={}", format_duration(wait)));
            // Consul adds up to wait/16 of jitter to a blocking query.
            limit += wait + wait / 16;
        }
        let reply =
            self.client
                .call_with("GET", &url, None, Retry::Idempotent, Cap::Uncounted, limit)?;
        let new_index = reply.index.unwrap_or(0);
        // Consul's rule for watchers: an index that went backwards means start over.
        let new_index = if new_index < index { 0 } else { new_index };
        match reply.status {
            404 => Ok(KeyState {
                index: new_index,
                session: None,
                value: None,
            }),
            200 => {
                let json = reply.json(&self.client, "a lock read")?;
                let entry = json.get(0).cloned().unwrap_or_default();
                let session = entry
                    .get("Session")
                    .and_then(|s| s.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string);
                let value = match entry.get("Value").and_then(|v| v.as_str()) {
                    Some(b64) => Some(
                        base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .map_err(|e| {
                                Error::Other(format!(
                                    "Consul at {} sent a value that is not base64: {e}",
                                    self.client.address
                                ))
                            })?,
                    ),
                    None => Some(Vec::new()),
                };
                Ok(KeyState {
                    index: new_index,
                    session,
                    value,
                })
            }
            _ => Err(self.client.status_error("a lock read", &reply)),
        }
    }

    fn create_session(&self) -> Result<String, Error> {
        let body = serde_json::json!({
            "Name": SESSION_NAME,
            "TTL": format_duration(self.session_ttl),
            "Behavior": "release",
        })
        .to_string();
        let reply = self.client.call_with(
            "PUT",
            "/v1/session/create",
            Some(body.as_bytes()),
            Retry::Write,
            Cap::Uncounted,
            self.client.timeout,
        )?;
        if reply.status != 200 {
            return Err(self.client.status_error("creating a session", &reply));
        }
        let json = reply.json(&self.client, "session/create")?;
        json.get("ID")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                Error::Other(format!(
                    "Consul at {} answered session/create without an ID",
                    self.client.address
                ))
            })
    }

    fn destroy_session(client: &Client, session: &str) -> Result<(), Error> {
        let url = format!("/v1/session/destroy/{}", encode_query(session));
        let reply = client.call_with(
            "PUT",
            &url,
            Some(b""),
            Retry::Write,
            Cap::Uncounted,
            client.timeout,
        )?;
        match reply.status {
            200 => Ok(()),
            _ => Err(client.status_error("destroying the lock session", &reply)),
        }
    }

    /// One acquire attempt: true when the key is now ours.
    fn try_acquire(&self, key: &str, session: &str, value: &[u8]) -> Result<bool, Error> {
        let url = format!(
            "/v1/kv/{}?acquire={}&flags={LOCK_FLAG}",
            encode_key(key),
            encode_query(session)
        );
        let reply = self.client.call_with(
            "PUT",
            &url,
            Some(value),
            Retry::Write,
            Cap::Uncounted,
            self.client.timeout,
        )?;
        match reply.status {
            200 => Ok(String::from_utf8_lossy(&reply.body).trim() == "true"),
            _ => Err(self.client.status_error("acquiring the lock", &reply)),
        }
    }

    /// [`vault_plugin_api::HaLock::lock`] on the full key.
    pub fn lock(
        &self,
        key: &str,
        value: &[u8],
        timeout: Duration,
    ) -> Result<Option<Box<dyn HeldLock>>, Error> {
        let deadline = Instant::now() + timeout;
        let session = self.create_session()?;
        let state = Arc::new(LockState {
            key: key.to_string(),
            session: session.clone(),
            flags: Mutex::default(),
            changed: Condvar::new(),
        });
        if let Err(e) = spawn("consul-lock-renew", {
            let (client, state, ttl) = (self.client.clone(), state.clone(), self.session_ttl);
            move || renew(&client, &state, ttl)
        }) {
            let _ = Self::destroy_session(&self.client, &session);
            return Err(e);
        }
        let give_up = |state: &Arc<LockState>, result: Result<Option<Box<dyn HeldLock>>, Error>| {
            state.release();
            let _ = Self::destroy_session(&self.client, &state.session);
            result
        };
        let mut index = 0;
        loop {
            match self.try_acquire(key, &session, value) {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => return give_up(&state, Err(e)),
            }
            if state.is_gone() {
                return give_up(
                    &state,
                    Err(Error::Unavailable(format!(
                        "Consul at {}: the lock session expired while waiting for {key:?}",
                        self.client.address
                    ))),
                );
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return give_up(&state, Ok(None));
            }
            // Whole milliseconds, at least one: Consul parses `wait` as a Go duration.
            let wait = Duration::from_millis(left.min(self.lock_wait_time).as_millis() as u64)
                .max(Duration::from_millis(1));
            match self.read_key(key, index, wait) {
                Ok(now) => {
                    let free = now.session.is_none();
                    let unchanged = now.index == index;
                    index = now.index;
                    if free || unchanged {
                        // Free but refused (lock-delay), or a query that returned without
                        // news: pause before trying again, within the deadline.
                        let left = deadline.saturating_duration_since(Instant::now());
                        std::thread::sleep(RETRY_PAUSE.min(left));
                    }
                }
                Err(e) => return give_up(&state, Err(e)),
            }
        }
        self.fences.add(state.clone());
        let monitor = spawn("consul-lock-monitor", {
            let locker = Locker {
                client: self.client.clone(),
                fences: self.fences.clone(),
                session_ttl: self.session_ttl,
                lock_wait_time: self.lock_wait_time,
                consistent: self.consistent,
            };
            let state = state.clone();
            move || monitor(&locker, &state)
        });
        let held = ConsulLock {
            client: self.client.clone(),
            fences: self.fences.clone(),
            state,
            value: value.to_vec(),
        };
        if let Err(e) = monitor {
            let _ = held.unlock();
            return Err(e);
        }
        Ok(Some(Box::new(held)))
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), Error> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map(drop)
        .map_err(|e| Error::Other(format!("cannot start the {name} thread: {e}")))
}

/// Renews the session every TTL/2 until released; reports a loss when Consul says the
/// session is gone, or when no renewal got through for a whole TTL.
fn renew(client: &Client, state: &LockState, ttl: Duration) {
    let interval = ttl / 2;
    let mut last_ok = Instant::now();
    let mut pause = interval;
    let url = format!("/v1/session/renew/{}", encode_query(&state.session));
    loop {
        if state.pause_unless_released(pause) {
            return;
        }
        let limit = client.timeout.min(interval).max(Duration::from_millis(100));
        match client.call_with("PUT", &url, Some(b""), Retry::Write, Cap::Uncounted, limit) {
            Ok(reply) if reply.status == 200 => {
                last_ok = Instant::now();
                pause = interval;
            }
            Ok(reply) if reply.status == 404 => {
                // Consul: "Session id '...' not found": expired or destroyed.
                state.mark_lost();
                return;
            }
            _ => {
                if last_ok.elapsed() >= ttl {
                    state.mark_lost();
                    return;
                }
                pause = (interval / 4).max(Duration::from_millis(50));
            }
        }
    }
}

/// Watches the held key until released; reports a loss when its session is not ours.
fn monitor(locker: &Locker, state: &LockState) {
    let mut index = 0;
    let wait = locker.lock_wait_time.min(locker.session_ttl);
    loop {
        if state.is_gone() {
            return;
        }
        match locker.read_key(&state.key, index, wait) {
            Ok(now) => {
                if state.is_released() {
                    return;
                }
                if now.session.as_deref() != Some(state.session.as_str()) {
                    state.mark_lost();
                    return;
                }
                index = now.index;
            }
            Err(_) => {
                // Unreachable for now: the renewer decides when that means lost.
                if state.pause_unless_released(RETRY_PAUSE * 4) {
                    return;
                }
            }
        }
    }
}

/// A held lock.
#[derive(Debug)]
pub struct ConsulLock {
    client: Arc<Client>,
    fences: Arc<Fences>,
    state: Arc<LockState>,
    value: Vec<u8>,
}

impl HeldLock for ConsulLock {
    fn is_lost(&self) -> bool {
        self.state.is_gone()
    }

    fn wait_lost(&self, timeout: Duration) -> bool {
        self.state.wait_gone(timeout)
    }

    fn unlock(&self) -> Result<(), Error> {
        if !self.state.release() {
            return Ok(());
        }
        self.fences.remove(&self.state);
        let url = format!(
            "/v1/kv/{}?release={}&flags={LOCK_FLAG}",
            encode_key(&self.state.key),
            encode_query(&self.state.session)
        );
        let released = self
            .client
            .call_with(
                "PUT",
                &url,
                Some(&self.value),
                Retry::Write,
                Cap::Uncounted,
                self.client.timeout,
            )
            .and_then(|reply| match reply.status {
                // `false` means the session no longer held the key: nothing to release.
                200 => Ok(()),
                _ => Err(self.client.status_error("releasing the lock", &reply)),
            });
        let destroyed = Locker::destroy_session(&self.client, &self.state.session);
        released.and(destroyed)
    }
}

impl Drop for ConsulLock {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}
