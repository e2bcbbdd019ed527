//! Server assembly: configuration, state, routes, startup and shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use actix_web::dev::{ServerHandle, Service};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::StreamExt;
use serde_json::json;

use crate::api::{ApiIndex, RuntimeConfig};
use crate::discovery::Discovery;
use crate::errors::ApiError;
use crate::handlers;
use crate::openapi::OpenApi;
use crate::storage::Storage;
use crate::store::Store;

/// Request bodies larger than this are refused with 413, as kube-apiserver does.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How the server is configured (from the command line or a test).
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub bind: SocketAddr,
    pub runtime_config: RuntimeConfig,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Which storage backend to use.
    pub storage: StorageConfig,
    /// Service cluster IP and node port ranges.
    pub services: crate::kinds::ServiceRanges,
}

/// The storage backend (`--storage`).
#[derive(Debug, Clone, Default)]
pub enum StorageConfig {
    /// The embedded store in `<data-dir>/store`.
    #[default]
    Embedded,
    /// An etcd v3 cluster (`--etcd-*`).
    Etcd(crate::storage::EtcdOptions),
}

/// Everything a request handler can reach.
pub struct AppState {
    pub api: ApiIndex,
    pub store: Arc<Store>,
    pub discovery: Discovery,
    pub openapi: OpenApi,
    pub ready: AtomicBool,
    pub started: Instant,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub handle: ServerHandle,
    pub state: web::Data<AppState>,
    pub server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(self) {
        self.handle.stop(true).await;
        let _ = self.server.await;
    }
}

/// Opens storage, bootstraps the cluster objects, binds and starts serving.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let started = Instant::now();
    std::fs::create_dir_all(&config.data_dir)?;
    let storage: Arc<dyn Storage> = match &config.storage {
        StorageConfig::Embedded => crate::storage::embedded::EmbeddedStore::open(
            &config.data_dir.join("store"),
            Default::default(),
        )
        .map_err(|e| std::io::Error::other(format!("cannot open the embedded store: {e}")))?,
        StorageConfig::Etcd(opts) => crate::storage::EtcdStore::connect(opts.clone())
            .await
            .map_err(|e| std::io::Error::other(format!("cannot use etcd: {e}")))?,
    };
    let kinds = crate::kinds::KindState::for_ranges(&config.services)
        .map_err(|e| std::io::Error::other(format!("service ranges: {e}")))?;
    let store = Arc::new(Store::with_kinds(storage, kinds));
    let api = ApiIndex::new(kiln_generated::REGISTRY, &config.runtime_config);

    let listener = std::net::TcpListener::bind(config.bind)?;
    let addr = listener.local_addr()?;
    let discovery = Discovery::new(&api, &addr.to_string());
    let openapi = OpenApi::new(&api);
    let state = web::Data::new(AppState {
        api,
        store,
        discovery,
        openapi,
        ready: AtomicBool::new(false),
        started,
    });

    crate::bootstrap::ensure_namespaces(&state)
        .await
        .map_err(|e| std::io::Error::other(format!("bootstrap failed: {e}")))?;
    crate::bootstrap::spawn_controllers(state.clone().into_inner());

    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        // Runs once on each worker thread, which keeps its runtime for its whole life.
        crate::storage::etcd::use_thread_clients();
        App::new()
            .app_data(app_state.clone())
            .wrap_fn(|req, srv| {
                let start = Instant::now();
                // Cheap clones (shared buffers), formatted only when the line is written.
                let method = req.method().clone();
                let uri = req.uri().clone();
                let agent = req.headers().get("user-agent").cloned();
                let fut = srv.call(req);
                async move {
                    let res = fut.await?;
                    tracing::info!(
                        verb = %method,
                        uri = %uri,
                        status = res.status().as_u16(),
                        latency = ?start.elapsed(),
                        user_agent = %agent.as_ref().and_then(|v| v.to_str().ok()).unwrap_or(""),
                        "HTTP"
                    );
                    Ok(res)
                }
            })
            // The API first: prefix scopes match without the regular expressions of the
            // `{check:.*}` routes below, which actix would otherwise try on every request.
            .service(web::scope("/api").default_service(web::to(api_entry)))
            .service(web::scope("/apis").default_service(web::to(api_entry)))
            .route("/version", web::get().to(version))
            .route("/version/", web::get().to(version))
            .route("/healthz", web::get().to(health))
            .route("/healthz/{check:.*}", web::get().to(health))
            .route("/livez", web::get().to(health))
            .route("/livez/{check:.*}", web::get().to(health))
            .route("/readyz", web::get().to(health))
            .route("/readyz/{check:.*}", web::get().to(health))
            .route("/openapi/v2", web::get().to(crate::openapi::serve_v2))
            .route("/openapi/v3", web::get().to(crate::openapi::serve_v3_index))
            .route(
                "/openapi/v3/{path:.*}",
                web::get().to(crate::openapi::serve_v3),
            )
            .default_service(web::to(api_entry))
    })
    .listen(listener)?
    .shutdown_timeout(10);
    if config.workers > 0 {
        server = server.workers(config.workers);
    }
    let server = server.run();
    let handle = server.handle();
    let task = tokio::spawn(server);
    state.ready.store(true, Ordering::SeqCst);
    tracing::info!(address = %addr, elapsed = ?started.elapsed(), "serving");
    Ok(Running {
        addr,
        handle,
        state,
        server: task,
    })
}

/// Reads the body with kube-apiserver's size limit, then hands over to the generic path.
async fn api_entry(
    req: HttpRequest,
    mut payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(c) => {
                if body.len() + c.len() > MAX_BODY_BYTES {
                    return handlers::error_response(
                        &req,
                        &ApiError::too_large("Request entity too large: limit is 3145728"),
                    );
                }
                body.extend_from_slice(&c);
            }
            Err(e) => {
                return handlers::error_response(
                    &req,
                    &ApiError::bad_request(format!("error reading body: {e}")),
                );
            }
        }
    }
    handlers::dispatch(req, body.freeze(), state).await
}

async fn version() -> HttpResponse {
    let release = kiln_generated::RELEASE;
    let minor = release.split('.').nth(1).unwrap_or("0");
    let min_compat = minor
        .parse::<u32>()
        .map(|m| m.saturating_sub(1).to_string())
        .unwrap_or_default();
    let body = json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": min_compat,
        "gitVersion": kiln_generated::GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "",
        "goVersion": "",
        "compiler": "rustc",
        "platform": format!("{}/{}", std::env::consts::OS, go_arch()),
    });
    HttpResponse::Ok()
        .content_type("application/json")
        .body(handlers::to_json(&body, true))
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// `/healthz`, `/livez`, `/readyz` with `?verbose`, `?exclude=` and `/<endpoint>/<check>`.
async fn health(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let path = req.path().trim_end_matches('/');
    let (endpoint, single) = match path.trim_start_matches('/').split_once('/') {
        Some((e, c)) => (e.to_string(), Some(c.to_string())),
        None => (path.trim_start_matches('/').to_string(), None),
    };
    let query = handlers::Query::parse(req.query_string()).unwrap_or_default();
    let storage_ok = state.store.current_revision().await.is_ok();
    let ready = state.ready.load(Ordering::SeqCst);
    let mut checks: Vec<(&str, bool)> = vec![("ping", true), ("log", true), ("etcd", storage_ok)];
    if endpoint == "readyz" {
        checks.push(("poststarthook/bootstrap-controller", ready));
        checks.push(("shutdown", true));
    }
    if let Some(name) = single {
        return match checks.iter().find(|(n, _)| *n == name) {
            Some((_, true)) => HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body("ok"),
            Some((n, false)) => HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(format!("[-]{n} failed: reason withheld\n")),
            None => handlers::not_found_page(),
        };
    }
    let excluded: Vec<&str> = query.all("exclude").collect();
    let checks: Vec<(&str, bool)> = checks
        .into_iter()
        .filter(|(n, _)| !excluded.contains(n))
        .collect();
    let passed = checks.iter().all(|(_, ok)| *ok);
    let verbose = query.has("verbose");
    let mut out = String::new();
    if verbose || !passed {
        for (n, ok) in &checks {
            if *ok {
                out.push_str(&format!("[+]{n} ok\n"));
            } else {
                out.push_str(&format!("[-]{n} failed: reason withheld\n"));
            }
        }
        for e in &excluded {
            out.push_str(&format!("[+]{e} excluded: ok\n"));
        }
    }
    if passed {
        if verbose {
            out.push_str(&format!("{endpoint} check passed\n"));
        } else {
            out.push_str("ok");
        }
        HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(out)
    } else {
        out.push_str(&format!("{endpoint} check failed\n"));
        HttpResponse::InternalServerError()
            .content_type("text/plain; charset=utf-8")
            .body(out)
    }
}

/// The admin kubeconfig written into the data directory once the server serves.
pub fn admin_kubeconfig(addr: SocketAddr) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kiln\n  cluster:\n    server: http://{addr}\ncontexts:\n- name: kiln-admin\n  context:\n    cluster: kiln\n    user: admin\n    namespace: default\ncurrent-context: kiln-admin\nusers:\n- name: admin\n  user: {{}}\npreferences: {{}}\n"
    )
}
