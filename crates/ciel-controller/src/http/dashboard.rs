//! The web dashboard at `/`: static files only (the single-page app talks to the public
//! OpenStack APIs with the user's token, like any other client). Files are embedded at build
//! time; `dashboard_dir` in the config serves a directory instead, for dashboard development.

use super::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/dashboard_assets.rs"));

const NOT_BUILT: &str = "<!doctype html><title>Ciel</title><h1>Ciel</h1>\
<p>The web dashboard was not built into this binary. Run <code>scripts/build-dashboard</code> \
(or <code>scripts/up</code>, which does) and rebuild. The OpenStack APIs are served as usual.</p>";

/// `GET /`: the dashboard's page.
pub async fn index(state: State<AppState>) -> Response {
    serve(state, "index.html".into()).await
}

/// `GET /{file}`: a file at the top of the dashboard (icons, manifest).
pub async fn top_file(state: State<AppState>, Path(path): Path<String>) -> Response {
    serve(state, path).await
}

/// `GET /assets/{*path}`: the dashboard's bundles (scripts, styles, fonts).
pub async fn asset(state: State<AppState>, Path(path): Path<String>) -> Response {
    serve(state, format!("assets/{path}")).await
}

async fn serve(State(app): State<AppState>, path: String) -> Response {
    let ctype = content_type(&path);
    if let Some(dir) = &app.cfg.dashboard_dir {
        if path.split('/').any(|c| c == ".." || c.is_empty()) {
            return not_found();
        }
        return match tokio::fs::read(dir.join(&path)).await {
            Ok(bytes) => (
                [(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, "no-cache")],
                bytes,
            )
                .into_response(),
            Err(_) => not_found(),
        };
    }
    // Bundles are named by content hash, so only the page itself must be revalidated.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    match ASSETS.iter().find(|(p, _)| *p == path) {
        Some((_, bytes)) => ([(header::CONTENT_TYPE, ctype), (header::CACHE_CONTROL, cache)], *bytes).into_response(),
        None if path == "index.html" && !BUILT => ([(header::CONTENT_TYPE, ctype)], NOT_BUILT).into_response(),
        None => not_found(),
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" | "webmanifest" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}
