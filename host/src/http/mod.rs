//! The HTTP server: accepts on the listeners' sockets, terminates TLS, applies Vault's
//! transport rules (headers, body limit, path cleaning) and routes `/v1/` requests.
//!
//! [`run`] takes the listeners and a shutdown future (mini-redis style), so tests bind
//! port 0 and stop the server cleanly.

mod logical;
mod request;
mod sys;
mod sys_mounts;
mod tls;
mod token;

use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, CACHE_CONTROL, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION,
    STRICT_TRANSPORT_SECURITY,
};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use vault_plugin_api::ListenerSettings;

pub use request::{ApiError, ApiRequest, ApiResponse};
pub use tls::{build_acceptor, TlsError};

use crate::core::Core;

/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// One listener, ready to serve.
pub struct Listener {
    /// The socket, non-blocking and registered with tokio.
    pub socket: tokio::net::TcpListener,
    /// Its settings, as the listener plugin parsed them.
    pub settings: ListenerSettings,
    /// The TLS acceptor, `None` when TLS is disabled.
    pub tls: Option<TlsAcceptor>,
}

impl Listener {
    /// Wraps a socket handed over by a listener plugin.
    pub fn from_plugin(bound: vault_plugin_api::BoundListener) -> Result<Self, ListenerError> {
        let address = bound.settings.address.clone();
        let tls = match &bound.settings.tls {
            Some(settings) => {
                Some(
                    build_acceptor(settings).map_err(|source| ListenerError::Tls {
                        address: address.clone(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        // Sockets arrive blocking; tokio needs them non-blocking or a worker stalls in accept.
        bound
            .socket
            .set_nonblocking(true)
            .map_err(|source| ListenerError::Socket {
                address: address.clone(),
                source,
            })?;
        let socket = tokio::net::TcpListener::from_std(bound.socket).map_err(|source| {
            ListenerError::Socket {
                address: address.clone(),
                source,
            }
        })?;
        Ok(Listener {
            socket,
            settings: bound.settings,
            tls,
        })
    }
}

/// Why a listener could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    /// The TLS files could not be used.
    #[error("listener {address}: {source}")]
    Tls {
        /// The listener.
        address: String,
        /// Why.
        source: TlsError,
    },
    /// The socket could not be registered.
    #[error("listener {address}: {source}")]
    Socket {
        /// The listener.
        address: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Serves every listener until `shutdown` completes, then lets in-flight requests finish
/// (up to a grace period) and returns.
pub async fn run(listeners: Vec<Listener>, core: Arc<Core>, shutdown: impl Future<Output = ()>) {
    let graceful = Arc::new(GracefulShutdown::new());
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut accept_loops = Vec::new();
    for listener in listeners {
        accept_loops.push(tokio::spawn(accept_loop(
            listener,
            core.clone(),
            graceful.clone(),
            stop_rx.clone(),
        )));
    }
    shutdown.await;
    let _ = stop_tx.send(true);
    for task in accept_loops {
        let _ = task.await;
    }
    let graceful = Arc::try_unwrap(graceful).unwrap_or_else(|_| GracefulShutdown::new());
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("shutdown grace period over; closing remaining connections");
    }
}

async fn accept_loop(
    listener: Listener,
    core: Arc<Core>,
    graceful: Arc<GracefulShutdown>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let settings = Arc::new(listener.settings);
    loop {
        let accepted = tokio::select! {
            accepted = listener.socket.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(err) => {
                // EMFILE and friends: back off instead of spinning, keep serving.
                tracing::warn!(address = %settings.address, error = %err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let core = core.clone();
        let settings = settings.clone();
        let tls = listener.tls.clone();
        let graceful = graceful.clone();
        tokio::spawn(async move {
            serve_connection(stream, tls, core, settings, &graceful).await;
        });
    }
    // The accept loop's Arc is the last clone but the connection tasks': dropping it lets
    // `run` reclaim the GracefulShutdown once they are all watched.
    drop(graceful);
}

async fn serve_connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    core: Arc<Core>,
    settings: Arc<ListenerSettings>,
    graceful: &GracefulShutdown,
) {
    let limit = settings.max_request_size;
    let service = hyper::service::service_fn(move |req| {
        let core = core.clone();
        async move { Ok::<_, Infallible>(handle(req, core, limit).await) }
    });
    match tls {
        None => {
            // Plain TCP carries HTTP/1.1 only (as Vault's listener does): skipping the
            // HTTP/2 preface sniffing of the auto builder saves work on every read.
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            let _ = graceful.watch(conn).await;
        }
        Some(acceptor) => {
            let tls_stream =
                match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                    Ok(Ok(s)) => s,
                    Ok(Err(err)) => {
                        tracing::debug!(error = %err, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                };
            // With TLS, ALPN may pick h2: the auto builder serves both.
            let conn = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls_stream), service)
                .into_owned();
            let _ = graceful.watch(conn).await;
        }
    }
}

/// One request, start to finish. Never panics outward: a handler panic becomes a 500.
async fn handle(req: Request<Incoming>, core: Arc<Core>, limit: u64) -> Response<Full<Bytes>> {
    let result = AssertUnwindSafe(handle_inner(req, core, limit))
        .catch_unwind()
        .await;
    result.unwrap_or_else(|_| {
        tracing::error!("request handler panicked");
        ApiError::internal("internal error").into_response()
    })
}

async fn handle_inner(
    req: Request<Incoming>,
    core: Arc<Core>,
    limit: u64,
) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let Some(path) = request::decode_path(parts.uri.path()) else {
        return bare(StatusCode::BAD_REQUEST);
    };
    if path != "/v1" && !path.starts_with("/v1/") {
        return not_found_page();
    }
    if !request::is_clean(&path) {
        let cleaned = request::clean_path(&path);
        let location = match parts.uri.query() {
            Some(q) => format!("{cleaned}?{q}"),
            None => cleaned,
        };
        let mut resp = bare(StatusCode::TEMPORARY_REDIRECT);
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(LOCATION, v);
        }
        return resp;
    }
    let declared_len = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > limit) {
        return too_large();
    }
    let limit_usize = usize::try_from(limit).unwrap_or(usize::MAX);
    let body = match Limited::new(body, limit_usize).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => {
            if err
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large();
            }
            return ApiError::bad_request(format!("failed to read request body: {err}"))
                .into_response();
        }
    };
    let Some(api_path) = path.strip_prefix("/v1/") else {
        // "/v1" itself: Vault answers 404 with an empty error list.
        return ApiError::new(StatusCode::NOT_FOUND, Vec::new()).into_response();
    };
    let api_path = api_path.to_string();
    drop(path);
    let request = ApiRequest::new(parts, api_path, body);
    let response = match route(&request, &core).await {
        Ok(r) => r,
        Err(e) => e.into(),
    };
    response.into_http(request.method() == Method::HEAD)
}

async fn route(req: &ApiRequest, core: &Core) -> Result<ApiResponse, ApiError> {
    if let Some(r) = sys::raw_route(req, core).await {
        return r;
    }
    // Everything that is not a raw sys/ handler needs an unsealed server.
    if core.is_sealed() {
        return Err(ApiError::sealed());
    }
    logical::dispatch(req, core).await
}

fn bare(status: StatusCode) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

fn not_found_page() -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(b"404 page not found\n")));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn too_large() -> Response<Full<Bytes>> {
    // As Vault: no Cache-Control or HSTS on a 413, and the connection is closed.
    let mut resp = Response::new(Full::new(Bytes::from_static(
        b"{\"errors\":[\"http: request body too large\"]}\n",
    )));
    *resp.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Headers every `/v1/` response carries.
fn add_api_headers(resp: &mut Response<Full<Bytes>>) {
    let h = resp.headers_mut();
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    );
}
