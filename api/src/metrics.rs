//! Prometheus metrics of one application: how long HTTP requests take, how calls are routed,
//! and how far the projections and the RabbitMQ relay are behind the event store.
//!
//! Each [`crate::Application`] has its own [`Registry`] (held in `app_data`), not the
//! process-wide default one: test servers running side by side in one process must not add
//! to each other's counters. Lag gauges are computed from the database when `/metrics` is
//! scraped, so every node reports the same, current values, whether or not it runs the
//! projectors.

use std::future::Future;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::{web, Error};
use domain::call::CallEvent;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use sqlx::PgPool;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// How long a scrape waits for the database before it reports without the lag gauges.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);
/// The `route` label of a request no route matched (its path would be an unbounded label).
const UNMATCHED: &str = "unmatched";

/// Events readable after a relay's checkpoint, as the projections' lag is counted.
const RELAY_LAG: &str = "SELECT c.name, (SELECT count(*) FROM events e \
     WHERE (e.transaction_id, e.global_position) > (c.transaction_id::text::xid8, c.global_position) \
     AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())) \
     FROM relay_checkpoints c ORDER BY c.name";

/// Counts calls by the route the call flow sent them on:
/// `callassist_calls_routed_total{route="owner|ai|voicemail|rejected"}`.
#[derive(Clone)]
pub struct CallsRouted(IntCounterVec);

impl CallsRouted {
    /// Counts the routing decisions among events just appended. A retried webhook appends
    /// nothing, so it is never counted twice; a call that rang the owner and then went to the
    /// AI agent counts once under each.
    pub fn count<'a>(&self, appended: impl IntoIterator<Item = &'a CallEvent>) {
        for event in appended {
            let route = match event {
                CallEvent::CallRoutedToOwner { .. } => "owner",
                CallEvent::CallRoutedToAi { .. } => "ai",
                CallEvent::CallRoutedToVoicemail { .. } => "voicemail",
                CallEvent::CallRejected { .. } => "rejected",
                _ => continue,
            };
            self.0.with_label_values(&[route]).inc();
        }
    }
}

/// The metrics of one application; see the module documentation.
pub struct Metrics {
    registry: Registry,
    http_requests: HistogramVec,
    calls_routed: CallsRouted,
    projection_lag: IntGaugeVec,
    relay_lag: IntGaugeVec,
    voice_sessions: IntGauge,
    voice_fallbacks: IntCounterVec,
    live_streams: IntGauge,
}

impl Metrics {
    /// A fresh registry with every metric registered (the routed-calls counters at 0).
    ///
    /// # Errors
    /// A metric that cannot be registered: a bug in the definitions below.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer HTTP requests, by method, route pattern and status.",
            ),
            &["method", "route", "status"],
        )?;
        let calls_routed = IntCounterVec::new(
            Opts::new(
                "callassist_calls_routed_total",
                "Routing decisions of the call flow, by route (owner, ai, voicemail, rejected).",
            ),
            &["route"],
        )?;
        let projection_lag = IntGaugeVec::new(
            Opts::new(
                "callassist_projection_lag_events",
                "Readable events a projection has not applied yet.",
            ),
            &["projection"],
        )?;
        let relay_lag = IntGaugeVec::new(
            Opts::new(
                "callassist_relay_lag_events",
                "Readable events a relay has not had confirmed by the broker yet.",
            ),
            &["relay"],
        )?;
        let voice_sessions = IntGauge::new(
            "callassist_voice_sessions_live",
            "Media streams (AI agent sessions) this node is serving.",
        )?;
        let voice_fallbacks = IntCounterVec::new(
            Opts::new(
                "callassist_voice_fallbacks_total",
                "Calls the AI agent could not go on with and sent to voicemail, by reason.",
            ),
            &["reason"],
        )?;
        let live_streams = IntGauge::new(
            "callassist_dashboard_live_streams",
            "Dashboard live-update streams (Server-Sent Events) this node is serving.",
        )?;
        registry.register(Box::new(live_streams.clone()))?;
        registry.register(Box::new(voice_sessions.clone()))?;
        registry.register(Box::new(voice_fallbacks.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(calls_routed.clone()))?;
        registry.register(Box::new(projection_lag.clone()))?;
        registry.register(Box::new(relay_lag.clone()))?;
        for route in ["owner", "ai", "voicemail", "rejected"] {
            calls_routed.with_label_values(&[route]);
        }
        Ok(Self {
            registry,
            http_requests,
            calls_routed: CallsRouted(calls_routed),
            projection_lag,
            relay_lag,
            voice_sessions,
            voice_fallbacks,
            live_streams,
        })
    }

    /// The gauge of live media streams, for the voice bridge.
    pub fn voice_sessions(&self) -> IntGauge {
        self.voice_sessions.clone()
    }

    /// The gauge of open dashboard live-update streams.
    pub fn live_streams(&self) -> IntGauge {
        self.live_streams.clone()
    }

    /// The counter of calls the voice bridge sent to voicemail, by reason.
    pub fn voice_fallbacks(&self) -> IntCounterVec {
        self.voice_fallbacks.clone()
    }

    /// The routed-calls counter, for the call flow.
    pub fn calls_routed(&self) -> CallsRouted {
        self.calls_routed.clone()
    }

    /// Records one answered request. `route` is the pattern that matched (`/api/v1/calls/{sid}`),
    /// never the path: label values must stay few.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .with_label_values(&[method, route, &status.to_string()])
            .observe(elapsed.as_secs_f64());
    }

    /// Every metric in the text format, the lag gauges freshly read from `pool`. Without the
    /// database the lag gauges are left out (not reported stale); the rest is still served.
    ///
    /// # Errors
    /// Encoding failed (a bug).
    pub async fn render(&self, pool: &PgPool) -> Result<String, prometheus::Error> {
        match tokio::time::timeout(DATABASE_TIMEOUT, self.refresh_lag(pool)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => self.forget_lag(&err),
            Err(_elapsed) => self.forget_lag(&format!("no answer within {DATABASE_TIMEOUT:?}")),
        }
        let mut text = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut text)?;
        String::from_utf8(text).map_err(|err| prometheus::Error::Msg(err.to_string()))
    }

    async fn refresh_lag(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let statuses = projections::runtime::status(pool, &projections::registry::all()).await?;
        let relays: Vec<(String, i64)> = sqlx::query_as(RELAY_LAG).fetch_all(pool).await?;
        for status in statuses {
            self.projection_lag
                .with_label_values(&[status.name])
                .set(status.lag_events);
        }
        for (relay, lag) in relays {
            self.relay_lag.with_label_values(&[&relay]).set(lag);
        }
        Ok(())
    }

    fn forget_lag(&self, why: &dyn std::fmt::Display) {
        tracing::warn!(error = %why, "metrics served without the lag gauges: the database does not answer");
        self.projection_lag.reset();
        self.relay_lag.reset();
    }
}

/// Middleware (for `App::wrap_fn`): times every request into
/// `http_request_duration_seconds`, labelled with the route pattern that matched.
pub fn track<S, B>(
    request: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, Error>> + 'static
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = Error>,
    S::Future: 'static,
    B: MessageBody,
{
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let method = request.method().clone();
    let route = request.match_pattern();
    let started = Instant::now();
    let response = service.call(request);
    async move {
        let response = response.await;
        if let Some(metrics) = metrics {
            let status = match &response {
                Ok(response) => response.status(),
                Err(err) => err.as_response_error().status_code(),
            };
            metrics.observe_request(
                method.as_str(),
                route.as_deref().unwrap_or(UNMATCHED),
                status.as_u16(),
                started.elapsed(),
            );
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::call::RejectReason;
    use domain::routing::RouteReason;

    fn counted(metrics: &Metrics, route: &str) -> u64 {
        metrics.calls_routed.0.with_label_values(&[route]).get()
    }

    #[test]
    fn it_should_count_routing_decisions_and_nothing_else() {
        let metrics = Metrics::new().unwrap();
        let routed = metrics.calls_routed();

        routed.count(&[
            CallEvent::CallRoutedToAi {
                why: RouteReason::OwnerUnavailable,
            },
            CallEvent::CallRejected {
                reason: RejectReason::UnknownNumber,
            },
            CallEvent::CallSummarized {
                summary: "A plumber is needed.".into(),
            },
        ]);
        routed.count(&[]);

        assert_eq!(counted(&metrics, "ai"), 1);
        assert_eq!(counted(&metrics, "rejected"), 1);
        assert_eq!(counted(&metrics, "owner"), 0);
    }

    #[test]
    fn it_should_report_live_voice_sessions_and_fallbacks_by_reason() {
        let metrics = Metrics::new().unwrap();
        let sessions = crate::voice::VoiceSessions::new().with_gauge(metrics.voice_sessions());
        let live = sessions.enter();
        metrics
            .voice_fallbacks()
            .with_label_values(&["connect_failed"])
            .inc();

        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&metrics.registry.gather(), &mut out)
            .unwrap();
        let text = String::from_utf8(out).unwrap();

        assert!(text.contains("callassist_voice_sessions_live 1"), "{text}");
        assert!(
            text.contains(r#"callassist_voice_fallbacks_total{reason="connect_failed"} 1"#),
            "{text}"
        );
        drop(live);
        assert_eq!(metrics.voice_sessions().get(), 0);
    }

    #[test]
    fn it_should_keep_each_applications_metrics_apart() {
        let first = Metrics::new().unwrap();
        let second = Metrics::new().unwrap();

        first.observe_request("GET", "/health/live", 200, Duration::from_millis(3));

        let text = |metrics: &Metrics| {
            let mut out = Vec::new();
            TextEncoder::new()
                .encode(&metrics.registry.gather(), &mut out)
                .unwrap();
            String::from_utf8(out).unwrap()
        };
        assert!(text(&first).contains(
            r#"http_request_duration_seconds_count{method="GET",route="/health/live",status="200"} 1"#
        ));
        assert!(!text(&second).contains("route=\"/health/live\""));
        assert!(text(&second).contains(r#"callassist_calls_routed_total{route="voicemail"} 0"#));
    }
}
