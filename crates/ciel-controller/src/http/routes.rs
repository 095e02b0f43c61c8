//! Route registration that carries authorization: every endpoint is registered with the name
//! of its policy action (`get("compute:servers:show", servers::show)`), the registration is
//! recorded as (method, path template, action), and each endpoint runs [`enforce`] before its
//! handler: the role part of the action's rule (from `app::policy`) is checked for every
//! route, whether or not the handler asks for a caller. An action without a policy entry is
//! refused (403, logged): fail closed.
//!
//! The resource part of a rule (which project owns the thing, is it shared) is checked in
//! `app/` with `Caller::authorize`, once the resource is loaded.

use crate::app::identity::caller::Caller;
use crate::app::policy::{self, Action};
use crate::error::Error;
use crate::http::{AppState, ServiceError};
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use std::marker::PhantomData;

/// One recorded endpoint: what the every-route test and the docs enumerate.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: Method,
    /// The full path template, e.g. `/compute/v2.1/servers/{id}`.
    pub path: String,
    pub action: Action,
}

/// The endpoints of one path, each with its action; `E` renders refusals in the service's
/// error style.
pub struct MethodRoutes<E> {
    router: MethodRouter<AppState>,
    entries: Vec<(Method, Action)>,
    _error: PhantomData<fn() -> E>,
}

fn endpoint<E, H, T>(method: Method, action: impl Into<Action>, handler: H) -> MethodRoutes<E>
where
    E: ServiceError + 'static,
    H: Handler<T, AppState>,
    T: 'static,
{
    let action: Action = action.into();
    let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
    let guarded = action.clone();
    let router =
        axum::routing::on(filter, handler).layer(axum::middleware::from_fn(move |req: Request, next: Next| {
            enforce::<E>(guarded.clone(), req, next)
        }));
    MethodRoutes {
        router,
        entries: vec![(method, action)],
        _error: PhantomData,
    }
}

macro_rules! method_fns {
    ($($name:ident => $method:ident),*) => {
        $(
            /// Registers the handler for this method under the policy action.
            pub fn $name<E, H, T>(action: impl Into<Action>, handler: H) -> MethodRoutes<E>
            where
                E: ServiceError + 'static,
                H: Handler<T, AppState>,
                T: 'static,
            {
                endpoint::<E, H, T>(Method::$method, action, handler)
            }
        )*
        impl<E: ServiceError + 'static> MethodRoutes<E> {
            $(
                pub fn $name<H, T>(self, action: impl Into<Action>, handler: H) -> Self
                where
                    H: Handler<T, AppState>,
                    T: 'static,
                {
                    self.merge(endpoint::<E, H, T>(Method::$method, action, handler))
                }
            )*
        }
    };
}

method_fns!(get => GET, post => POST, put => PUT, patch => PATCH, delete => DELETE, head => HEAD);

impl<E> MethodRoutes<E> {
    fn merge(mut self, other: MethodRoutes<E>) -> Self {
        self.router = self.router.merge(other.router);
        self.entries.extend(other.entries);
        self
    }
}

/// An axum router plus the table of what it serves.
pub struct Routes<E> {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
    _error: PhantomData<fn() -> E>,
}

impl<E> Clone for Routes<E> {
    fn clone(&self) -> Self {
        Routes {
            router: self.router.clone(),
            table: self.table.clone(),
            _error: PhantomData,
        }
    }
}

impl<E> Default for Routes<E> {
    fn default() -> Self {
        Routes {
            router: Router::new(),
            table: vec![],
            _error: PhantomData,
        }
    }
}

fn join(prefix: &str, path: &str) -> String {
    if path == "/" {
        prefix.to_string()
    } else {
        format!("{prefix}{path}")
    }
}

impl<E> Routes<E> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn route(mut self, path: &str, m: MethodRoutes<E>) -> Self {
        for (method, action) in m.entries {
            self.table.push(RouteInfo {
                method,
                path: path.to_string(),
                action,
            });
        }
        self.router = self.router.route(path, m.router);
        self
    }

    pub fn nest<F>(mut self, prefix: &str, inner: Routes<F>) -> Self {
        self.table.extend(inner.table.into_iter().map(|mut r| {
            r.path = join(prefix, &r.path);
            r
        }));
        self.router = self.router.nest(prefix, inner.router);
        self
    }

    pub fn merge<F>(mut self, other: Routes<F>) -> Self {
        self.table.extend(other.table);
        self.router = self.router.merge(other.router);
        self
    }

    /// Changes the router without adding routes (layers, a fallback, a nested service whose
    /// routes are recorded with [`Routes::record`]).
    pub fn map(mut self, f: impl FnOnce(Router<AppState>) -> Router<AppState>) -> Self {
        self.router = f(self.router);
        self
    }

    /// Records routes served through a nested service (their paths get `prefix`).
    pub fn record(mut self, prefix: &str, table: Vec<RouteInfo>) -> Self {
        self.table.extend(table.into_iter().map(|mut r| {
            r.path = join(prefix, &r.path);
            r
        }));
        self
    }

    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}

/// Refusals of routes outside the OpenStack services (the dashboard, the agent API):
/// the status and the error's text.
pub struct PlainError(Error);

impl From<Error> for PlainError {
    fn from(e: Error) -> Self {
        PlainError(e)
    }
}

impl IntoResponse for PlainError {
    fn into_response(self) -> Response {
        let status =
            axum::http::StatusCode::from_u16(self.0.status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, self.0.to_string()).into_response()
    }
}

impl ServiceError for PlainError {}

/// What routing learned about a request, handed back on the response for the metrics and
/// the audit log (`http::observe`): the route's action, the caller, the resource named.
#[derive(Clone)]
pub struct Routed {
    pub action: Action,
    pub caller: Option<Caller>,
    /// The last path parameter (the resource's id), if any.
    pub target: Option<String>,
}

/// Runs before every handler: looks the action's rule up, authenticates unless the rule is
/// public, checks the role part, and hands the caller to the `Authed` extractor.
async fn enforce<E: ServiceError>(action: Action, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let target = RawPathParams::from_request_parts(&mut parts, &())
        .await
        .ok()
        .and_then(|p| p.iter().last().map(|(_, v)| v.to_string()));
    let mut routed = Routed {
        action: action.clone(),
        caller: None,
        target,
    };
    let mut resp = match admit::<E>(&action, &mut parts, &mut routed).await {
        Ok(()) => {
            parts.extensions.insert(action);
            next.run(Request::from_parts(parts, body)).await
        }
        Err(refused) => refused,
    };
    resp.extensions_mut().insert(routed);
    resp
}

/// The policy check of [`enforce`]: the refusal to answer with, if any.
async fn admit<E: ServiceError>(action: &Action, parts: &mut Parts, routed: &mut Routed) -> Result<(), Response> {
    let Some(rule) = policy::rule(action) else {
        tracing::error!(%action, method = %parts.method, uri = %parts.uri, "route without a policy entry refused");
        return Err(E::from(Error::forbidden()).into_response());
    };
    if rule == policy::Rule::Public {
        return Ok(());
    }
    let Some(app) = parts.extensions.get::<AppState>().cloned() else {
        return Err(E::from(Error::Internal("no application state on the request".into())).into_response());
    };
    let caller = authenticate(&app, &parts.headers)
        .await
        .map_err(|e| E::from(e).into_response())?;
    routed.caller = Some(caller.clone());
    caller.allowed(action).map_err(|e| E::from(e).into_response())?;
    if let Ok(params) = RawPathParams::from_request_parts(parts, &()).await {
        if let Some((_, project)) = params.iter().find(|(k, _)| *k == "project_id") {
            caller
                .check_url_project(project)
                .map_err(|e| E::from(e).into_response())?;
        }
    }
    parts.extensions.insert(caller);
    Ok(())
}

/// The caller of `X-Auth-Token`; anything wrong with the token is a 401.
pub(crate) async fn authenticate(app: &AppState, headers: &axum::http::HeaderMap) -> Result<Caller, Error> {
    let unauthorized = || Error::Unauthorized("The request you have made requires authentication.".into());
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(unauthorized)?;
    match app.validate_token(token).await {
        Ok(c) => Ok(c),
        Err(Error::Internal(m)) => Err(Error::Internal(m)),
        Err(_) => Err(unauthorized()),
    }
}
