//! A CRM's webhook receiver on 127.0.0.1: it checks every delivery's signature with the
//! `standardwebhooks` crate (not our code), answers as each path is told to (fail the first
//! tries of every message, fail always, hang past the server's timeout), and records what it
//! got by `webhook-id`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How a path answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Behaviour {
    /// The first tries of every message that answer 503...
    pub fail_first: u32,
    /// ...of which the very first hangs past the server's timeout instead.
    pub hang_first: bool,
    /// Answers 500 to everything (until changed).
    pub always_fail: bool,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its path (one per endpoint).
    pub path: String,
    /// `webhook-id`.
    pub webhook_id: String,
    /// The body.
    pub body: Value,
    /// Whether the signature checked out with the endpoint's secret.
    pub verified: bool,
    /// What the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct State {
    secrets: HashMap<String, String>,
    behaviours: HashMap<String, Behaviour>,
    tries: HashMap<(String, String), u32>,
    received: Vec<Received>,
}

/// The receiver.
pub struct Receiver {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

struct Handler(Arc<Mutex<State>>);

impl Respond for Handler {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path().to_owned();
        let header = |name: &str| {
            request
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let webhook_id = header("webhook-id");
        let mut state = self.0.lock().unwrap();
        let verified = state.secrets.get(&path).is_some_and(|secret| {
            standardwebhooks::Webhook::new(secret)
                .and_then(|hook| hook.verify(&request.body, &request.headers))
                .is_ok()
        }) && header("content-type") == "application/json";
        let behaviour = state.behaviours.get(&path).copied().unwrap_or_default();
        let tries = state
            .tries
            .entry((path.clone(), webhook_id.clone()))
            .or_default();
        *tries += 1;
        let attempt = *tries;
        let (answered, template) = if !verified {
            (400, ResponseTemplate::new(400))
        } else if behaviour.always_fail {
            (500, ResponseTemplate::new(500))
        } else if attempt <= behaviour.fail_first {
            if attempt == 1 && behaviour.hang_first {
                (0, ResponseTemplate::new(200).set_delay(super::TIMEOUT * 3))
            } else {
                (503, ResponseTemplate::new(503))
            }
        } else {
            (204, ResponseTemplate::new(204))
        };
        state.received.push(Received {
            path,
            webhook_id,
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            verified,
            answered,
        });
        template
    }
}

impl Receiver {
    /// A receiver listening on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State::default()));
        Mock::given(wiremock::matchers::method("POST"))
            .respond_with(Handler(state.clone()))
            .mount(&server)
            .await;
        Self { server, state }
    }

    /// The URL of `path` (`/crm`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.uri())
    }

    /// Checks signatures on `path` with `secret` (the endpoint's, as registered).
    pub fn trust(&self, path: &str, secret: &str) {
        self.state
            .lock()
            .unwrap()
            .secrets
            .insert(path.to_owned(), secret.to_owned());
    }

    /// Makes `path` answer as `behaviour` says.
    pub fn behave(&self, path: &str, behaviour: Behaviour) {
        self.state
            .lock()
            .unwrap()
            .behaviours
            .insert(path.to_owned(), behaviour);
    }

    /// Everything received on `path`, in order.
    pub fn received(&self, path: &str) -> Vec<Received> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// What a receiver that deduplicates by `webhook-id` keeps from `path`: the body of each
    /// message accepted, once.
    pub fn deduplicated(&self, path: &str) -> HashMap<String, Value> {
        let mut kept = HashMap::new();
        for received in self.received(path) {
            if received.verified && (200..300).contains(&received.answered) {
                kept.entry(received.webhook_id).or_insert(received.body);
            }
        }
        kept
    }

    /// Every request anywhere that failed the signature check.
    pub fn unverified(&self) -> Vec<Received> {
        self.state
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| !r.verified)
            .cloned()
            .collect()
    }

    /// The distinct message ids received on `path`.
    pub fn ids(&self, path: &str) -> HashSet<String> {
        self.received(path)
            .into_iter()
            .map(|r| r.webhook_id)
            .collect()
    }
}

/// Waits a while, letting anything still in flight arrive.
pub async fn quiet() {
    tokio::time::sleep(Duration::from_millis(600)).await;
}
