//! Building the application from its settings, and running it until it is told to stop.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage, HttpServer};
use anyhow::Context;
use infrastructure::config::{self, Settings};
use infrastructure::db;
use infrastructure::event_store::wakeup::{self, AppendSignal};
use infrastructure::event_store::Stores;
use sqlx::PgPool;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::routes;

/// What request handlers share.
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The write side.
    pub stores: Stores,
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    url: String,
    server: Server,
    pool: PgPool,
    appended: AppendSignal,
}

impl Application {
    /// Connects to the database (creating and migrating it), builds the write side and binds
    /// the HTTP listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(config::database_url(&settings.database)).await?;
        let appended = AppendSignal::new();
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            stores: Stores::new(&pool, appended.clone()),
        });
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on BIND={}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let url = format!("http://{}:{port}", settings.bind.ip());
        let server = HttpServer::new(move || {
            App::new()
                .wrap_fn(|request, service| {
                    let request_id = request.extensions().get::<RequestId>().copied();
                    let response = actix_web::dev::Service::call(service, request);
                    async move {
                        let mut response = response.await?;
                        if let Some(id) =
                            request_id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok())
                        {
                            response
                                .headers_mut()
                                .insert(HeaderName::from_static("x-request-id"), id);
                        }
                        Ok(response)
                    }
                })
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .configure(routes::configure)
        })
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            url,
            server,
            pool,
            appended,
        })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until SIGINT or SIGTERM (actix-web drains requests in flight), running the
    /// node's background tasks beside it; reports which one stopped first.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let notifier = tokio::spawn(wakeup::notify_other_nodes(
            self.pool.clone(),
            self.appended.clone(),
            wakeup::NOTIFY_INTERVAL,
        ));
        let notifier_abort = notifier.abort_handle();
        let outcome = tokio::select! {
            served = self.server => {
                tracing::info!("HTTP server stopped");
                served.context("HTTP server failed")
            }
            ended = notifier => {
                tracing::error!("the event notifier stopped unexpectedly");
                ended.context("event notifier panicked").and_then(|()| anyhow::bail!("event notifier stopped"))
            }
        };
        notifier_abort.abort();
        self.pool.close().await;
        outcome
    }
}
