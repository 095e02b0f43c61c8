//! Requests whose transaction lost a race on PostgreSQL (a serialization failure or a
//! deadlock) run again here, a few times with a short random pause, so users see the answer
//! of the retried request instead of a 503. Only requests that can be replayed whole are
//! retried: a body of at most `REPLAYABLE_BODY` bytes whose length is known (or no body), and
//! no upgrade.

use crate::db::contention;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

/// Attempts in all, the first one included.
const ATTEMPTS: u32 = 5;
/// Larger bodies (image data) stream through without being kept for a retry.
const REPLAYABLE_BODY: u64 = 1 << 20;

pub async fn retry_lost_races(req: Request, next: Next) -> Response {
    if !replayable(&req) {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, REPLAYABLE_BODY as usize).await else {
        return (StatusCode::BAD_REQUEST, "The request body could not be read.").into_response();
    };
    let mut attempt = 1;
    loop {
        let req = Request::from_parts(parts.clone(), Body::from(body.clone()));
        let (resp, lost_race) = contention::watch(next.clone().run(req)).await;
        if !lost_race || resp.status() != StatusCode::SERVICE_UNAVAILABLE || attempt == ATTEMPTS {
            return resp;
        }
        tracing::info!(method = %parts.method, uri = %parts.uri, attempt, "transaction lost a race; running the request again");
        tokio::time::sleep(pause(attempt)).await;
        attempt += 1;
    }
}

fn replayable(req: &Request) -> bool {
    if req.headers().contains_key(header::UPGRADE) {
        return false;
    }
    let length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match length {
        Some(n) => n <= REPLAYABLE_BODY,
        // A body of unknown length (chunked, or streamed) passes through untouched, to the
        // service's own size checks; requests of these methods carry none.
        None => {
            !req.headers().contains_key(header::TRANSFER_ENCODING)
                && matches!(
                    *req.method(),
                    Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS
                )
        }
    }
}

/// 10, 20, 40, 80 ms, each plus up to as much again at random so racing requests part ways.
fn pause(attempt: u32) -> Duration {
    let base = 10u64 << (attempt - 1).min(4);
    Duration::from_millis(base + rand::random::<u64>() % (base + 1))
}
