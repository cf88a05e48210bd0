//! A bare hyper server: every request gets the same JSON body (by default the bytes of
//! one KV v1 read answer of the real server, saved by bench/run), so a figure can be read
//! as a fraction of what tokio + hyper on this machine allow.
//!
//! Usage: bench-ceiling ADDR [BODY_FILE]; prints `listening on ADDR` once bound.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_string());
    let body: Bytes = match args.next() {
        Some(path) => std::fs::read(&path).expect("read body file").into(),
        None => Bytes::from(format!("{{\"data\":{{\"value\":\"{}\"}}}}", "x".repeat(280))),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("listening on {}", listener.local_addr().expect("local addr"));
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let body = body.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |_req: Request<hyper::body::Incoming>| {
                let body = body.clone();
                async move {
                    let mut resp = Response::new(Full::new(body));
                    let h = resp.headers_mut();
                    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Ok::<_, Infallible>(resp)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
