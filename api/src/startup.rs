//! Building the application from its settings, and running it until it is told to stop.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_service::{map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{AppConfig, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{web, App, HttpMessage};
use anyhow::Context;
use infrastructure::config::{self, Settings};
use infrastructure::db;
use infrastructure::event_store::wakeup::AppendSignal;
use infrastructure::event_store::Stores;
use infrastructure::notifications::{Mailer, Notifier};
use infrastructure::openai::summary::{self, SummaryClient};
use infrastructure::privacy::PersonalData;
use infrastructure::summarizer::Summarizer;
use infrastructure::tokens::Tokens;
use infrastructure::twilio::rest::{self, TwilioClient};
use infrastructure::twilio::signature::Signer;
use sqlx::PgPool;
use tracing_actix_web::{RequestId, TracingLogger};
use url::Url;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::call_flow::CallFlow;
use crate::openapi;
use crate::routes;
use crate::stopping::{self, StopSignals};
use crate::twilio::{PublicUrls, WebhookSigners};
use crate::voice::{BridgeSettings, Limits, VoiceBridge, VoiceSessions};
use crate::workers::{Roles, Workers};

/// What request handlers share.
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The write side.
    pub stores: Arc<Stores>,
    /// bcrypt cost of new password hashes.
    pub bcrypt_cost: u32,
}

/// A built, bound, not yet running application.
pub struct Application {
    port: u16,
    url: String,
    server: Server,
    pool: PgPool,
    appended: AppendSignal,
    roles: Roles,
    voice_sessions: VoiceSessions,
    summarizer: Option<Summarizer>,
    privacy: PersonalData,
    retention: crate::privacy_cmd::retention::RetentionJob,
    webhooks: Option<infrastructure::webhooks::Dispatcher>,
    notifier: Option<Notifier>,
    stopping: web::Data<crate::stopping::Stopping>,
}

impl Application {
    /// Connects to the database (creating and migrating it), builds the write side and binds
    /// the HTTP listener (port 0 picks a free port).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(config::database_url(&settings.database)).await?;
        let appended = AppendSignal::new();
        let privacy = PersonalData::from_settings(pool.clone(), &settings);
        let stores = Arc::new(Stores::new(&pool, appended.clone()).with_privacy(privacy.clone()));
        let retention = crate::privacy_cmd::retention::RetentionJob::new(
            pool.clone(),
            stores.clone(),
            privacy.clone(),
        );
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            stores: stores.clone(),
            bcrypt_cost: settings.bcrypt_cost,
        });
        let tokens = web::Data::new(
            Tokens::new(settings.jwt_secret.clone())
                .with_retired(settings.retired_jwt_secrets.clone()),
        );
        let vault = web::Data::new(infrastructure::vault::Vault::new(
            secrecy::ExposeSecret::expose_secret(&settings.encryption_key),
            settings
                .retired_encryption_keys
                .iter()
                .map(secrecy::ExposeSecret::expose_secret),
        ));
        let listener = TcpListener::bind(settings.bind)
            .with_context(|| format!("cannot listen on BIND={}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let url = format!("http://{}:{port}", settings.bind.ip());
        let public_base = match settings.public_base_url.clone() {
            Some(public) => public,
            None => Url::parse(&url).with_context(|| format!("{url} is not a URL"))?,
        };
        let cookie_policy = web::Data::new(crate::dashboard::session::CookiePolicy {
            secure: public_base.scheme() == "https",
        });
        let dashboard_base = public_base.clone();
        let urls = web::Data::new(PublicUrls::new(public_base));
        let renewals = web::Data::new(crate::dashboard::session::Renewals::default());
        let stopping = web::Data::new(crate::stopping::Stopping::default());
        let stopping_seen_by_app = stopping.clone();
        let signer = web::Data::new(WebhookSigners {
            auth_token: Signer::new(settings.twilio.auth_token.clone()),
            shared_key: settings.twilio.webhooks_shared_key.clone().map(Signer::new),
        });
        let metrics =
            web::Data::new(crate::metrics::Metrics::new().context("cannot register the metrics")?);
        let login_limiter = web::Data::new(
            crate::login_limit::LoginLimiter::from_settings(&settings)
                .context("REDIS_URL cannot be used")?,
        );
        let broker_probe =
            web::Data::new(routes::health::BrokerProbe::new(settings.amqp_url.clone()));
        let cors_origins = settings.cors_allowed_origins.clone();
        let flow = web::Data::new(
            CallFlow::new(stores.clone(), settings.webhook_store_timeout)
                .with_metrics(metrics.calls_routed()),
        );
        let twilio = web::Data::new(
            TwilioClient::new(
                &settings.twilio.api_base,
                &settings.twilio.account_sid,
                settings.twilio.auth_token.clone(),
                rest::DEFAULT_TIMEOUT,
            )
            .context("cannot build the Twilio REST client")?,
        );
        let retention = retention.with_twilio(twilio.get_ref().clone());
        let summarizer = Summarizer::new(
            pool.clone(),
            stores.clone(),
            vault.clone().into_inner(),
            SummaryClient::new(
                &settings.openai.api_base,
                &settings.openai.summary_model,
                summary::DEFAULT_TIMEOUT,
            )
            .context("cannot build the OpenAI summary client")?,
        );
        let mut notifier = Notifier::new(pool.clone(), stores.clone())
            .with_sms(twilio.get_ref().clone())
            .with_privacy(privacy.clone())
            .with_dashboard_base(dashboard_base);
        if let Some(smtp) = &settings.smtp {
            notifier = notifier.with_email(
                Mailer::new(&smtp.url, &smtp.from)
                    .context("SMTP_URL or SMTP_FROM cannot be used")?,
            );
        }
        if let Some(amqp_url) = &settings.amqp_url {
            notifier = notifier.with_rabbitmq(amqp_url.clone());
        }
        let webhooks = infrastructure::webhooks::Dispatcher::new(
            pool.clone(),
            stores.clone(),
            vault.clone().into_inner(),
        )
        .allowing_http_loopback(settings.webhooks_allow_http_loopback);
        let webhook_options = web::Data::new(crate::routes::webhooks::WebhookOptions {
            allow_http_loopback: settings.webhooks_allow_http_loopback,
        });
        let voice_sessions = VoiceSessions::new().with_gauge(metrics.voice_sessions());
        let voice = web::Data::new(
            VoiceBridge::new(
                stores,
                vault.clone().into_inner(),
                twilio.get_ref().clone(),
                urls.get_ref().clone(),
                BridgeSettings {
                    realtime_url: settings.openai.realtime_url.clone(),
                    interface: settings.openai.realtime_interface,
                    connect_timeout: settings.openai.connect_timeout,
                    store_timeout: settings.webhook_store_timeout,
                    start_timeout: crate::voice::START_TIMEOUT,
                    limits: Limits {
                        session_max: settings.voice.session_max,
                        wrap_up_lead: settings.voice.wrap_up_lead,
                        greeting_timeout: crate::voice::GREETING_TIMEOUT,
                        goodbye_timeout: crate::voice::GOODBYE_TIMEOUT,
                    },
                },
            )
            .with_metrics(voice_sessions.clone(), metrics.voice_fallbacks()),
        );
        let upgrade_voice = voice.clone().into_inner();
        let upgrade_signers = signer.clone().into_inner();
        let app = move || {
            App::new()
                .wrap(crate::cors::middleware(&cors_origins))
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
                .wrap_fn(crate::metrics::track)
                .wrap(TracingLogger::default())
                .app_data(metrics.clone())
                .app_data(login_limiter.clone())
                .app_data(broker_probe.clone())
                .app_data(state.clone())
                .app_data(urls.clone())
                .app_data(cookie_policy.clone())
                .app_data(renewals.clone())
                .app_data(stopping_seen_by_app.clone())
                .app_data(signer.clone())
                .app_data(flow.clone())
                .app_data(tokens.clone())
                .app_data(vault.clone())
                .app_data(webhook_options.clone())
                .app_data(twilio.clone())
                .app_data(voice.clone())
                .app_data(crate::api_error::json_config())
                .app_data(crate::api_error::query_config())
                .app_data(crate::api_error::path_config())
                .into_utoipa_app()
                .openapi(openapi::base())
                .configure(routes::documented)
                .openapi_service(|document| {
                    SwaggerUi::new(format!("{}/{{_:.*}}", openapi::SWAGGER_PATH))
                        .url(openapi::DOCUMENT_PATH, document)
                })
                .into_app()
                .configure(routes::webhooks)
                .configure(crate::dashboard::configure)
                .default_service(web::to(crate::api_error::no_route))
        };
        let server = serve(listener, app, upgrade_voice, upgrade_signers)?;
        Ok(Self {
            port,
            url,
            server,
            pool,
            appended,
            roles: Roles {
                projectors: true,
                relay: settings.amqp_url.clone(),
            },
            voice_sessions,
            summarizer: Some(summarizer),
            retention,
            privacy,
            webhooks: Some(webhooks),
            notifier: Some(notifier),
            stopping,
        })
    }

    /// Turns the projectors on or off for this process (on by default).
    pub fn with_projectors(mut self, on: bool) -> Self {
        self.roles.projectors = on;
        self
    }

    /// Turns the post-call summariser on or off for this process (on by default; one node
    /// summarises at a time, the others stand by).
    pub fn with_summaries(mut self, on: bool) -> Self {
        if !on {
            self.summarizer = None;
        }
        self
    }

    /// Turns owner notifications on or off for this process (on by default; every node sends
    /// due notifications, one reads the stream for them when RabbitMQ is not used).
    pub fn with_notifications(mut self, on: bool) -> Self {
        if !on {
            self.notifier = None;
        }
        self
    }

    /// Adjusts the notifier (tests shorten its retries and fix its clock).
    pub fn with_notifier(mut self, adjust: impl FnOnce(Notifier) -> Notifier) -> Self {
        self.notifier = self.notifier.map(adjust);
        self
    }

    /// Turns the outbound webhooks' dispatcher on or off for this process (on by default; one
    /// node delivers at a time, the others stand by).
    pub fn with_webhooks(mut self, on: bool) -> Self {
        if !on {
            self.webhooks = None;
        }
        self
    }

    /// Retries outbound webhooks as `policy` says (tests shorten the day-long schedule).
    pub fn with_webhook_retry_policy(
        mut self,
        policy: infrastructure::webhooks::RetryPolicy,
    ) -> Self {
        self.webhooks = self.webhooks.map(|d| d.with_retry_policy(policy));
        self
    }

    /// How long an endpoint may take to answer one try of a webhook.
    pub fn with_webhook_timeout(mut self, timeout: Duration) -> Self {
        self.webhooks = self.webhooks.map(|d| d.with_timeout(timeout));
        self
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The media streams (AI sessions) being served: a handle that stays valid while the
    /// application runs, e.g. for tests that check every call's tasks ended.
    pub fn voice_sessions(&self) -> VoiceSessions {
        self.voice_sessions.clone()
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until SIGINT or SIGTERM, then stops accepting and lets requests in flight finish
    /// (up to 30 s); runs the node's background tasks beside it and reports which one stopped
    /// first. A second signal exits at once, and so does a stop still going on well past the
    /// grace ([`stopping`]).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let flag = self.stopping.clone();
        let mut signals = StopSignals::listen();
        let stopper = tokio::spawn(async move {
            let signal = signals.next().await;
            tracing::info!(
                signal,
                "stopping: finishing requests in flight (a second signal stops at once)"
            );
            flag.begin();
            stopping::exit_after(SHUTDOWN_GRACE + STOP_DEADLINE_MARGIN);
            tokio::select! {
                () = handle.stop(true) => {}
                again = signals.next() => stopping::exit_now(again),
            }
        });
        let mut workers = Workers::spawn(
            &self.pool,
            &self.appended,
            self.roles,
            projections::registry::all(),
            &self.privacy,
        );
        if let Some(summarizer) = self.summarizer {
            workers.spawn_summarizer(summarizer);
        }
        workers.spawn_retention(self.retention);
        if let Some(dispatcher) = self.webhooks {
            workers.spawn_webhooks(dispatcher);
        }
        if let Some(notifier) = self.notifier {
            workers.spawn_notifier(notifier);
        }
        let outcome = tokio::select! {
            served = self.server => {
                tracing::info!("HTTP server stopped");
                served.context("HTTP server failed")
            }
            stopped = workers.next_exit() => {
                tracing::error!(worker = %stopped, "a background task stopped unexpectedly");
                Err(anyhow::anyhow!("{stopped} stopped unexpectedly"))
            }
        };
        workers.abort_all();
        stopper.abort();
        self.pool.close().await;
        outcome
    }
}

/// How long requests in flight may take to finish after a stop signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How long past the grace a stopping node may take (closing connections, stopping its
/// background tasks) before it exits regardless.
const STOP_DEADLINE_MARGIN: Duration = Duration::from_secs(15);
/// How long a client may take to send a request's head.
const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closing connection may take to shut down.
const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// The HTTP server on `listener`: the application `app` on every worker, and Twilio's media
/// stream beside it, taking its upgraded connection over from HTTP (`voice::upgrades`).
///
/// Assembled here rather than by actix-web's `HttpServer`, which has no way to hand a
/// connection's socket over to an upgrade; the settings are `HttpServer`'s defaults, with
/// `TCP_NODELAY` on.
fn serve<F, T, B>(
    listener: TcpListener,
    app: F,
    voice: Arc<VoiceBridge>,
    signers: Arc<WebhookSigners>,
) -> std::io::Result<Server>
where
    F: Fn() -> App<T> + Send + Clone + 'static,
    T: ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse<B>,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    Ok(builder
        .listen("callassist", listener, move || {
            let shutdown = shutdown.clone();
            let application = app()
                .into_factory()
                .map_err(|err: actix_web::Error| err.error_response());
            HttpService::build()
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .keep_alive(KeepAlive::default())
                .client_request_timeout(REQUEST_HEAD_TIMEOUT)
                .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                // Twilio's media streams get a small write every 20 ms: Nagle would hold one back
                // until the previous one is acknowledged.
                .tcp_nodelay(true)
                .local_addr(address)
                .upgrade(crate::voice::upgrades(voice.clone(), signers.clone()))
                .finish(map_config(application, |()| AppConfig::default()))
                .tcp()
        })?
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .run())
}
