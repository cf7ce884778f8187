//! Every operation of the REST API under each role and a foreign tenant: anonymous, an admin,
//! owner A (whose business, numbers and call every path names) and owner B, the foreign tenant.
//!
//! The operations are one table ([`table`]), one row per operation of the OpenAPI document
//! with a concrete request and its access class. One test walks the table against a server
//! with a fake Twilio (wiremock, speaking its wire format); another checks that the table
//! covers exactly the operations the server documents, so a new endpoint without a row fails.
//!
//! The rules (docs/api.md, "Roles and tenants"): no token is 401 `missing_token`; another
//! tenant's resource answers 404 like one that does not exist; a role that may not do
//! something at all answers 403 `admin_only`; a list shows each owner only their own.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use domain::values::BusinessId;
use reqwest::Method;
use serde_json::{json, Value};
use support::{new_call_sid, TestApp, User, TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, TEST_PASSWORD};
use wiremock::matchers::{any, basic_auth, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CALLER: &str = "+14155550111";
const RECORDING_SID: &str = "RE0123456789abcdef0123456789abcdef";
const VOICEMAIL_SID: &str = "RE99999999999999999999999999999999";
/// Twilio's sid of the number the admin buys for A.
const BOUGHT_SID: &str = "PNb0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";
/// Twilio's sid of the number the admin registers for A.
const REGISTERED_SID: &str = "PNe0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0";

// ---------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Actor {
    /// No token.
    Anonymous,
    /// An admin.
    Admin,
    /// Owner A: every path names A's resources.
    OwnerA,
    /// Owner B: the foreign tenant.
    OwnerB,
}

impl Actor {
    const ALL: [Actor; 4] = [Self::Anonymous, Self::OwnerB, Self::OwnerA, Self::Admin];
}

/// What a tenant's answer to a collection shows of their own.
#[derive(Debug, Clone, Copy)]
enum Shown {
    /// Their business id.
    Business,
    /// Their number.
    Number,
    /// Their call's sid.
    Call,
}

/// Who may call an operation.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Needs no token (signing in): everyone, anonymous too.
    Open,
    /// The caller themselves (`/me`): everyone signed in, each seeing only themselves.
    Myself,
    /// Everyone signed in; each owner sees only their own (these), an admin everybody's.
    Collection(&'static [Shown]),
    /// A's resource: A and admins; B gets 404 with this code, as if it did not exist.
    Tenant(&'static str),
    /// Admins only: owners get 403 `admin_only`.
    AdminOnly,
}

impl Access {
    /// The actors refused, in the order they are tried (before anyone allowed), with the
    /// status and code each gets.
    fn denied(self) -> Vec<(Actor, u16, &'static str)> {
        let anonymous = (Actor::Anonymous, 401, "missing_token");
        match self {
            Self::Open => vec![],
            Self::Myself | Self::Collection(_) => vec![anonymous],
            Self::Tenant(code) => vec![anonymous, (Actor::OwnerB, 404, code)],
            Self::AdminOnly => vec![
                anonymous,
                (Actor::OwnerB, 403, "admin_only"),
                (Actor::OwnerA, 403, "admin_only"),
            ],
        }
    }

    /// The actors allowed, in the order they are tried.
    fn permitted(self) -> Vec<Actor> {
        match self {
            Self::Open => Actor::ALL.to_vec(),
            Self::Myself | Self::Collection(_) => vec![Actor::OwnerB, Actor::OwnerA, Actor::Admin],
            Self::Tenant(_) => vec![Actor::OwnerA, Actor::Admin],
            Self::AdminOnly => vec![Actor::Admin],
        }
    }
}

/// A request body.
enum Body {
    /// None.
    Empty,
    /// The same for everyone.
    Json(Value),
    /// One per actor (a fresh email, a refresh token of one's own).
    PerActor(HashMap<Actor, Value>),
}

/// One documented operation, a concrete request for it and who may make it.
struct Row {
    method: Method,
    /// The OpenAPI path template.
    template: &'static str,
    /// The template filled with A's resources, plus any query.
    path: String,
    body: Body,
    access: Access,
    /// A path of its own for some actors (each deletes something of its own).
    paths: HashMap<Actor, String>,
}

impl Row {
    fn new(method: Method, template: &'static str, access: Access, r: &Resources) -> Self {
        let path = template
            .replace("{id}", &r.business)
            .replace("{number}", &in_path(&r.number))
            .replace("{sid}", &r.call)
            .replace("{endpoint_id}", &r.endpoint)
            .replace("{delivery_id}", &r.delivery);
        Self {
            method,
            template,
            path,
            body: Body::Empty,
            access,
            paths: HashMap::new(),
        }
    }

    fn path_per_actor(mut self, paths: impl Fn(Actor) -> Option<String>) -> Self {
        self.paths = Actor::ALL
            .into_iter()
            .filter_map(|actor| paths(actor).map(|path| (actor, path)))
            .collect();
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn per_actor(mut self, bodies: impl Fn(Actor) -> Value) -> Self {
        self.body = Body::PerActor(Actor::ALL.into_iter().map(|a| (a, bodies(a))).collect());
        self
    }

    fn query(mut self, query: &str) -> Self {
        self.path.push_str(query);
        self
    }

    fn at(mut self, path: String) -> Self {
        self.path = path;
        self
    }

    fn body_for(&self, actor: Actor) -> Option<Value> {
        match &self.body {
            Body::Empty => None,
            Body::Json(body) => Some(body.clone()),
            Body::PerActor(bodies) => bodies.get(&actor).cloned(),
        }
    }
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ({})", self.method, self.template, self.path)
    }
}

/// What the table's requests name.
struct Resources {
    /// A's business.
    business: String,
    /// A's number (assigned to A's business).
    number: String,
    /// A call on A's number, with a recording and a voicemail.
    call: String,
    /// The number the admin buys for A's business (then releases).
    bought: String,
    /// The number the admin registers for A's business.
    registered: String,
    /// A's email, to sign in with.
    email: String,
    /// Refresh tokens of sessions of their own for each actor: (to refresh, to log out).
    sessions: HashMap<Actor, (String, String)>,
    /// A webhook endpoint of A's business, with a failed delivery.
    endpoint: String,
    /// That delivery.
    delivery: String,
    /// Endpoints of A's business for A and the admin to delete, one each.
    doomed: HashMap<Actor, String>,
}

impl Resources {
    /// Made-up resources: enough to build the table's templates.
    fn placeholder() -> Self {
        let token = || ("refresh".to_owned(), "logout".to_owned());
        Self {
            business: uuid::Uuid::nil().to_string(),
            number: "+15550000001".into(),
            call: new_call_sid(),
            bought: "+15550000002".into(),
            registered: "+15550000003".into(),
            email: "ann@example.com".into(),
            sessions: Actor::ALL.into_iter().map(|a| (a, token())).collect(),
            endpoint: uuid::Uuid::nil().to_string(),
            delivery: uuid::Uuid::nil().to_string(),
            doomed: HashMap::new(),
        }
    }
}

/// Every documented operation, once, in an order in which each succeeds for those allowed:
/// reads before changes, deactivate before reactivate, the agent configured before it is read
/// and disabled, the business active again before numbers are assigned to it, and the release
/// on a number of its own.
fn table(r: &Resources) -> Vec<Row> {
    use Access::{AdminOnly, Collection, Myself, Open, Tenant};
    use Method as M;
    const BUSINESS: Access = Tenant("business_not_found");
    const NUMBER: Access = Tenant("number_not_found");
    const CALL: Access = Tenant("call_not_found");
    let name = |actor: Actor| format!("{actor:?}").to_lowercase();
    let session = |actor: Actor| r.sessions[&actor].clone();
    let acquire = |number: &str| json!({"phone_number": number, "business_id": r.business});
    let number_at =
        |number: &str, action: &str| format!("/api/v1/phone-numbers/{}/{action}", in_path(number));
    vec![
        // Signing in: no token needed.
        Row::new(M::POST, "/api/v1/auth/register", Open, r).per_actor(|actor| {
            json!({
                "email": format!("tenancy-{}@example.com", name(actor)),
                "password": TEST_PASSWORD, "first_name": "New", "last_name": "Owner",
            })
        }),
        Row::new(M::POST, "/api/v1/auth/login", Open, r)
            .json(json!({"email": r.email, "password": TEST_PASSWORD})),
        Row::new(M::POST, "/api/v1/auth/refresh", Open, r)
            .per_actor(|actor| json!({"refresh_token": session(actor).0})),
        Row::new(M::POST, "/api/v1/auth/logout", Open, r)
            .per_actor(|actor| json!({"refresh_token": session(actor).1})),
        Row::new(M::GET, "/api/v1/me", Myself, r),
        // Collections.
        Row::new(
            M::GET,
            "/api/v1/businesses",
            Collection(&[Shown::Business]),
            r,
        ),
        Row::new(
            M::GET,
            "/api/v1/phone-numbers",
            Collection(&[Shown::Number]),
            r,
        ),
        Row::new(
            M::GET,
            "/api/v1/calls",
            Collection(&[Shown::Call, Shown::Business, Shown::Number]),
            r,
        ),
        Row::new(
            M::GET,
            "/api/v1/stats/daily",
            Collection(&[Shown::Business]),
            r,
        ),
        Row::new(M::POST, "/api/v1/businesses", Collection(&[]), r).json(json!({
            "name": "Another one", "description": "", "timezone": "UTC"
        })),
        // A's resources, read.
        Row::new(M::GET, "/api/v1/businesses/{id}", BUSINESS, r),
        Row::new(M::GET, "/api/v1/phone-numbers/{number}", NUMBER, r),
        Row::new(M::GET, "/api/v1/calls/{sid}", CALL, r),
        Row::new(M::GET, "/api/v1/calls/{sid}/timeline", CALL, r),
        Row::new(M::GET, "/api/v1/calls/{sid}/history", CALL, r),
        Row::new(M::GET, "/api/v1/calls/{sid}/recording", CALL, r),
        Row::new(M::GET, "/api/v1/calls/{sid}/voicemail", CALL, r),
        Row::new(M::GET, "/api/v1/stats/hourly", BUSINESS, r)
            .query(&format!("?business_id={}", r.business)),
        // A's business, changed.
        Row::new(M::PUT, "/api/v1/businesses/{id}/profile", BUSINESS, r)
            .json(json!({"name": "Ann's Bakery & Café", "description": "Bread."})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/owner-phone", BUSINESS, r)
            .json(json!({"owner_phone": "+14155550199"})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/timezone", BUSINESS, r)
            .json(json!({"timezone": "Europe/Berlin"})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/hours", BUSINESS, r)
            .json(json!({"monday": [{"opens": "09:00", "closes": "17:00"}]})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/ring-timeout", BUSINESS, r)
            .json(json!({"seconds": 25})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/retention", BUSINESS, r)
            .json(json!({"days": 30})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/availability", BUSINESS, r)
            .json(json!({"available": true})),
        Row::new(M::PUT, "/api/v1/businesses/{id}/agent", BUSINESS, r).json(json!({
            "model": "gpt-realtime", "voice": "marin", "instructions": "Take a message.",
            "openai_api_key": "sk-proj-0123456789abcdef",
        })),
        Row::new(M::GET, "/api/v1/businesses/{id}/agent", BUSINESS, r),
        Row::new(M::DELETE, "/api/v1/businesses/{id}/agent", BUSINESS, r),
        Row::new(M::POST, "/api/v1/businesses/{id}/deactivate", BUSINESS, r)
            .json(json!({"reason": "closed for the season"})),
        Row::new(M::POST, "/api/v1/businesses/{id}/reactivate", BUSINESS, r),
        // A's notifications and webhooks.
        Row::new(M::GET, "/api/v1/businesses/{id}/notifications", BUSINESS, r),
        Row::new(M::PUT, "/api/v1/businesses/{id}/notifications", BUSINESS, r).json(json!({
            "sms": true, "email": false, "triggers": ["message_taken"],
            "quiet_hours": {"from": "22:00", "until": "07:00"}
        })),
        Row::new(M::POST, "/api/v1/businesses/{id}/webhooks", BUSINESS, r).json(json!({
            "url": "https://crm.example.com/hooks", "event_types": ["call.ended"]
        })),
        Row::new(M::GET, "/api/v1/businesses/{id}/webhooks", BUSINESS, r),
        Row::new(
            M::GET,
            "/api/v1/businesses/{id}/webhooks/{endpoint_id}/deliveries",
            BUSINESS,
            r,
        ),
        Row::new(
            M::POST,
            "/api/v1/businesses/{id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend",
            BUSINESS,
            r,
        ),
        Row::new(
            M::DELETE,
            "/api/v1/businesses/{id}/webhooks/{endpoint_id}",
            BUSINESS,
            r,
        )
        .path_per_actor(|actor| {
            r.doomed
                .get(&actor)
                .map(|endpoint| format!("/api/v1/businesses/{}/webhooks/{endpoint}", r.business))
        }),
        // Numbers, changed (admins), and the overview.
        Row::new(M::GET, "/api/v1/phone-numbers/available", AdminOnly, r)
            .query("?country=US&area_code=415"),
        Row::new(M::POST, "/api/v1/phone-numbers/purchase", AdminOnly, r).json(acquire(&r.bought)),
        Row::new(M::POST, "/api/v1/phone-numbers/register", AdminOnly, r)
            .json(acquire(&r.registered)),
        Row::new(
            M::PUT,
            "/api/v1/phone-numbers/{number}/business",
            AdminOnly,
            r,
        )
        .json(json!({"business_id": r.business})),
        Row::new(
            M::POST,
            "/api/v1/phone-numbers/{number}/suspend",
            AdminOnly,
            r,
        )
        .json(json!({"reason": "unpaid invoice"})),
        Row::new(
            M::POST,
            "/api/v1/phone-numbers/{number}/reactivate",
            AdminOnly,
            r,
        ),
        Row::new(
            M::POST,
            "/api/v1/phone-numbers/{number}/release",
            AdminOnly,
            r,
        )
        .at(number_at(&r.bought, "release")),
        Row::new(M::GET, "/api/v1/admin/overview", AdminOnly, r),
        // A caller with no calls: recorded as an erasure of nothing, A's call keeps its data.
        Row::new(M::POST, "/api/v1/admin/privacy/erasures", AdminOnly, r)
            .json(json!({"business_id": r.business, "caller": "+14155550177"})),
    ]
}

// ---------------------------------------------------------------------------------------------
// The world: a server, a fake Twilio, two tenants
// ---------------------------------------------------------------------------------------------

/// An owner and what is theirs.
struct Tenant {
    user: User,
    business: String,
    number: String,
    call: String,
    /// Every string naming something of theirs: none may appear in the other tenant's answers.
    marks: Vec<String>,
}

impl Tenant {
    fn shown(&self, shown: Shown) -> &str {
        match shown {
            Shown::Business => &self.business,
            Shown::Number => &self.number,
            Shown::Call => &self.call,
        }
    }
}

struct World {
    app: TestApp,
    twilio: MockServer,
    admin: User,
    a: Tenant,
    b: Tenant,
    resources: Resources,
}

impl World {
    /// The server with a fake Twilio; A's business (registered over the API by A, owner
    /// unavailable and no agent, so calls go to voicemail) with a number and a call that left
    /// a voicemail and a recording; B's business with a number and a call.
    async fn new() -> Self {
        let twilio = MockServer::start().await;
        let app = TestApp::spawn_with(&[("TWILIO_API_BASE", &twilio.uri())]).await;
        let (admin, ann, bob) = (app.admin().await, app.owner().await, app.owner().await);

        let a_business = register_business(&app, &ann, "Ann's Bakery").await;
        let a_number = assigned_number(&app, &a_business).await;
        let a_call = voicemail_call(&app, &a_number).await;
        let b_business = register_business(&app, &bob, "Bob's Garage").await;
        let b_number = assigned_number(&app, &b_business).await;
        let b_call = incoming_call(&app, &b_number).await;
        app.projections_caught_up().await;

        let (bought, registered) = (fresh_number(), fresh_number());
        let mut sessions = HashMap::new();
        for actor in Actor::ALL {
            let pair = (sign_in(&app, &ann).await, sign_in(&app, &ann).await);
            sessions.insert(actor, pair);
        }
        fake_twilio(&twilio, &app, &bought, &registered).await;
        let (endpoint, delivery) = webhook_with_a_failed_delivery(&app, &ann, &a_business).await;
        let mut doomed = HashMap::new();
        for actor in [Actor::OwnerA, Actor::Admin] {
            doomed.insert(actor, webhook_endpoint(&app, &ann, &a_business).await);
        }

        let resources = Resources {
            business: a_business.clone(),
            number: a_number.clone(),
            call: a_call.clone(),
            bought: bought.clone(),
            registered: registered.clone(),
            email: ann.email.clone(),
            sessions,
            endpoint,
            delivery,
            doomed,
        };
        let a = Tenant {
            marks: vec![
                ann.id.to_string(),
                ann.email.clone(),
                a_business.clone(),
                a_number.clone(),
                a_call.clone(),
                bought,
                registered,
            ],
            user: ann,
            business: a_business,
            number: a_number,
            call: a_call,
        };
        let b = Tenant {
            marks: vec![
                bob.id.to_string(),
                bob.email.clone(),
                b_business.clone(),
                b_number.clone(),
                b_call.clone(),
            ],
            user: bob,
            business: b_business,
            number: b_number,
            call: b_call,
        };
        Self {
            app,
            twilio,
            admin,
            a,
            b,
            resources,
        }
    }

    fn user(&self, actor: Actor) -> Option<&User> {
        match actor {
            Actor::Anonymous => None,
            Actor::Admin => Some(&self.admin),
            Actor::OwnerA => Some(&self.a.user),
            Actor::OwnerB => Some(&self.b.user),
        }
    }

    /// The tenant `actor` is, and the other one.
    fn tenants(&self, actor: Actor) -> Option<(&Tenant, &Tenant)> {
        match actor {
            Actor::OwnerA => Some((&self.a, &self.b)),
            Actor::OwnerB => Some((&self.b, &self.a)),
            Actor::Anonymous | Actor::Admin => None,
        }
    }

    /// Makes `row`'s request as `actor`.
    async fn send(&self, row: &Row, actor: Actor) -> Answer {
        let path = row.paths.get(&actor).unwrap_or(&row.path);
        self.send_to(row, path, actor).await
    }

    /// Makes `row`'s request as `actor`, to `path`.
    async fn send_to(&self, row: &Row, path: &str, actor: Actor) -> Answer {
        let token = self.user(actor).map(|user| user.token.as_str());
        let response = self
            .app
            .api(row.method.clone(), path, token, row.body_for(actor))
            .await;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = response.bytes().await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or_default();
        Answer {
            status,
            content_type,
            text,
            json,
        }
    }

    /// What is wrong with the answer `actor` got to `row`, whose access class refuses them
    /// with `status` and `code`.
    fn check_denied(
        &self,
        row: &Row,
        actor: Actor,
        answer: &Answer,
        (status, code): (u16, &str),
    ) -> Vec<String> {
        let mut wrong = Vec::new();
        if answer.status != status || answer.json["code"] != code {
            let hint = if answer.status < 300 {
                "ACCESS NOT REFUSED (product bug): "
            } else if (answer.status, status) == (403, 404) {
                "A FOREIGN RESOURCE ANSWERS 403, TELLING IT EXISTS (product bug): "
            } else {
                ""
            };
            wrong.push(format!(
                "{hint}{row} as {actor:?}: expected {status} `{code}`, got {} {}",
                answer.status, answer.text
            ));
        } else if answer.content_type != "application/problem+json" {
            wrong.push(format!(
                "{row} as {actor:?}: a {status} that is not problem+json ({})",
                answer.content_type
            ));
        }
        wrong.extend(self.check_no_leak(row, actor, answer));
        wrong
    }

    /// `row`'s path with A's resources swapped for ones that do not exist.
    fn ghost_path(&self, row: &Row) -> String {
        let r = &self.resources;
        row.path
            .replace(&r.business, &uuid::Uuid::new_v4().to_string())
            .replace(&in_path(&r.number), &in_path(&fresh_number()))
            .replace(&r.call, &new_call_sid())
    }

    /// What is wrong with B's answer to A's resource, `foreign`, compared with `missing`,
    /// B's answer to the same request for a resource that does not exist: they must be the
    /// same, so B cannot tell that A's exists.
    fn check_indistinguishable(
        &self,
        row: &Row,
        foreign: &Answer,
        missing: &Answer,
    ) -> Vec<String> {
        if (foreign.status, &foreign.json) == (missing.status, &missing.json) {
            return Vec::new();
        }
        vec![format!(
            "A FOREIGN RESOURCE ANSWERS UNLIKE A MISSING ONE (product bug): {row} as OwnerB: \
             {} {} for A's, {} {} for one that does not exist",
            foreign.status, foreign.text, missing.status, missing.text
        )]
    }

    /// What is wrong with the answer `actor`, who may make `row`'s request, got to it.
    fn check_permitted(&self, row: &Row, actor: Actor, answer: &Answer) -> Vec<String> {
        let mut wrong = Vec::new();
        let status = answer.status;
        if matches!(status, 401 | 403 | 404) || status >= 500 {
            let hint = if status >= 500 {
                "SERVER ERROR (product bug): "
            } else {
                "ACCESS REFUSED TO SOMEONE ALLOWED (product bug): "
            };
            wrong.push(format!(
                "{hint}{row} as {actor:?}: got {status} {}",
                answer.text
            ));
            return wrong;
        }
        if row.method == Method::GET && status != 200 {
            wrong.push(format!(
                "{row} as {actor:?}: a read answered {status}, not 200: {}",
                answer.text
            ));
        }
        match row.access {
            Access::Open => return wrong,
            Access::Myself => {
                let own = self.user(actor).map(|user| user.id.to_string());
                if answer.json["user_id"].as_str() != own.as_deref() {
                    wrong.push(format!(
                        "{row} as {actor:?}: not the caller's profile: {}",
                        answer.text
                    ));
                }
            }
            Access::Collection(shown) => {
                let owners: Vec<&Tenant> = match self.tenants(actor) {
                    Some((own, _)) => vec![own],
                    None => vec![&self.a, &self.b],
                };
                for owner in owners {
                    for &what in shown {
                        let mark = owner.shown(what);
                        if !answer.text.contains(mark) {
                            wrong.push(format!(
                                "{row} as {actor:?}: does not show {what:?} {mark}: {}",
                                answer.text
                            ));
                        }
                    }
                }
            }
            Access::Tenant(_) | Access::AdminOnly => {}
        }
        wrong.extend(self.check_no_leak(row, actor, answer));
        wrong
    }

    /// A tenant's answer names nothing of the other tenant's.
    fn check_no_leak(&self, row: &Row, actor: Actor, answer: &Answer) -> Vec<String> {
        let Some((_, other)) = self.tenants(actor) else {
            return Vec::new();
        };
        if matches!(row.access, Access::Open) {
            return Vec::new();
        }
        other
            .marks
            .iter()
            .filter(|mark| answer.text.contains(mark.as_str()))
            .map(|mark| {
                format!(
                    "ANOTHER TENANT'S DATA LEAKS (product bug): {row} as {actor:?} shows {mark}: {}",
                    answer.text
                )
            })
            .collect()
    }
}

/// An answer, read whole.
struct Answer {
    status: u16,
    content_type: String,
    /// The body as text (audio lossily).
    text: String,
    /// The body as JSON (`null` when it is not).
    json: Value,
}

/// Registers a business over the API as `owner`, who then makes themselves unavailable (no
/// agent either: its calls go to voicemail); returns its id.
/// A webhook endpoint of `business`, registered by its owner over the API; its id.
async fn webhook_endpoint(app: &TestApp, owner: &User, business: &str) -> String {
    let response = app
        .api(
            Method::POST,
            &format!("/api/v1/businesses/{business}/webhooks"),
            Some(&owner.token),
            Some(json!({"url": "https://crm.example.com/hooks", "event_types": ["call.ended"]})),
        )
        .await;
    assert_eq!(response.status(), 201, "registering a webhook endpoint");
    let created: Value = response.json().await.unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// An endpoint of `business` whose one delivery failed for good: (endpoint id, delivery id).
async fn webhook_with_a_failed_delivery(
    app: &TestApp,
    owner: &User,
    business: &str,
) -> (String, String) {
    let endpoint = webhook_endpoint(app, owner, business).await;
    let delivery: uuid::Uuid = sqlx::query_scalar(
        "INSERT INTO webhook_deliveries (endpoint_id, webhook_id, event_type, global_position, \
                                         payload, status, attempts, last_error) \
         VALUES ($1::uuid, 'msg_1', 'call.ended', 1, '{}'::jsonb, 'failed', 8, 'gave up') \
         RETURNING id",
    )
    .bind(&endpoint)
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    (endpoint, delivery.to_string())
}

async fn register_business(app: &TestApp, owner: &User, name: &str) -> String {
    let body = json!({
        "name": name, "description": "", "owner_phone": "+14155550123", "timezone": "UTC"
    });
    let response = app
        .api(
            Method::POST,
            "/api/v1/businesses",
            Some(&owner.token),
            Some(body),
        )
        .await;
    assert_eq!(response.status(), 201, "registering {name}");
    let view: Value = response.json().await.unwrap();
    let id = view["id"].as_str().unwrap().to_owned();
    let unavailable = app
        .api(
            Method::PUT,
            &format!("/api/v1/businesses/{id}/availability"),
            Some(&owner.token),
            Some(json!({"available": false})),
        )
        .await;
    assert_eq!(
        unavailable.status(),
        200,
        "making the owner of {name} unavailable"
    );
    id
}

/// A number we hold, assigned to `business` (as `callassist` would from the command line).
async fn assigned_number(app: &TestApp, business: &str) -> String {
    support::give_new_number(&app.stores(), BusinessId(business.parse().unwrap())).await
}

/// Twilio's first webhook of a call to `number`.
fn incoming_params<'a>(sid: &'a str, number: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", number),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
}

/// A call to `number` comes in; returns its CallSid.
async fn incoming_call(app: &TestApp, number: &str) -> String {
    let sid = new_call_sid();
    let answered = app
        .post_twilio("/twilio/voice/incoming", &incoming_params(&sid, number))
        .await;
    assert_eq!(answered.status(), 200, "the incoming call is answered");
    sid
}

/// A call to `number` that left a voicemail ([`VOICEMAIL_SID`]) and a recording
/// ([`RECORDING_SID`]); returns its CallSid.
async fn voicemail_call(app: &TestApp, number: &str) -> String {
    let sid = incoming_call(app, number).await;
    let incoming = incoming_params(&sid, number);
    let voicemail_url = format!(
        "https://api.twilio.com/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Recordings/{VOICEMAIL_SID}"
    );
    let mut voicemail = incoming.clone();
    voicemail.extend([
        ("RecordingUrl", voicemail_url.as_str()),
        ("RecordingDuration", "9"),
        ("Digits", "hangup"),
    ]);
    let left = app.post_twilio("/twilio/voice/voicemail", &voicemail).await;
    assert_eq!(left.status(), 200, "the voicemail is taken");
    let recording_url = format!(
        "https://api.twilio.com/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/Recordings/{RECORDING_SID}"
    );
    let mut recording = incoming;
    recording.extend([
        ("RecordingSid", RECORDING_SID),
        ("RecordingUrl", recording_url.as_str()),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "12"),
        ("RecordingChannels", "1"),
        ("RecordingSource", "RecordVerb"),
    ]);
    let stored = app.post_twilio("/twilio/voice/recording", &recording).await;
    assert_eq!(stored.status(), 204, "the recording is stored");
    sid
}

/// Signs `user` in once more; returns the refresh token of that session.
async fn sign_in(app: &TestApp, user: &User) -> String {
    let response = app
        .api(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"email": user.email, "password": TEST_PASSWORD})),
        )
        .await;
    assert_eq!(response.status(), 200, "signing in");
    let pair: Value = response.json().await.unwrap();
    pair["refresh_token"].as_str().unwrap().to_owned()
}

/// A Twilio request under the test account, with its credentials.
fn twilio(http_method: &str, rest: &str) -> wiremock::MockBuilder {
    Mock::given(method(http_method))
        .and(path(format!(
            "/2010-04-01/Accounts/{TEST_ACCOUNT_SID}/{rest}"
        )))
        .and(basic_auth(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN))
}

/// An incoming phone number resource as Twilio answers it.
fn incoming_number(sid: &str, number: &str, voice_url: &str) -> Value {
    json!({
        "sid": sid, "account_sid": TEST_ACCOUNT_SID, "phone_number": number,
        "friendly_name": "(555) 555-0100", "voice_url": voice_url, "voice_method": "POST",
        "status_callback": "", "sms_url": null, "capabilities": {"voice": true, "sms": true}
    })
}

/// Twilio as the admins' number endpoints and the recordings need it, each answered as often
/// as those allowed ask (nobody refused reaches Twilio); anything else is an error.
async fn fake_twilio(twilio_api: &MockServer, app: &TestApp, bought: &str, registered: &str) {
    let voice_url = format!("{}/twilio/voice/incoming", app.address);
    let mp3 = || ResponseTemplate::new(200).set_body_raw(b"ID3\x04 audio".to_vec(), "audio/mpeg");
    let mocks = [
        twilio("GET", "AvailablePhoneNumbers/US/Local.json")
            .and(query_param("AreaCode", "415"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "uri": "/2010-04-01/…/Local.json?AreaCode=415",
                "available_phone_numbers": [{
                    "phone_number": "+14155550101", "friendly_name": "(415) 555-0101",
                    "locality": "San Francisco", "region": "CA", "iso_country": "US",
                    "lata": "722", "capabilities": {"voice": true}
                }]
            })))
            .expect(1),
        twilio("POST", "IncomingPhoneNumbers.json")
            .respond_with(
                ResponseTemplate::new(201)
                    .set_body_json(incoming_number(BOUGHT_SID, bought, &voice_url)),
            )
            .expect(1),
        twilio("GET", "IncomingPhoneNumbers.json")
            .and(query_param("PhoneNumber", registered))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "incoming_phone_numbers": [
                    incoming_number(REGISTERED_SID, registered, "https://old.example/voice")
                ],
                "page": 0, "page_size": 50
            })))
            .expect(1),
        twilio(
            "POST",
            &format!("IncomingPhoneNumbers/{REGISTERED_SID}.json"),
        )
        .respond_with(ResponseTemplate::new(200).set_body_json(incoming_number(
            REGISTERED_SID,
            registered,
            &voice_url,
        )))
        .expect(1),
        twilio("DELETE", &format!("IncomingPhoneNumbers/{BOUGHT_SID}.json"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1),
        twilio("GET", &format!("Recordings/{RECORDING_SID}.mp3"))
            .respond_with(mp3())
            .expect(2),
        twilio("GET", &format!("Recordings/{VOICEMAIL_SID}.mp3"))
            .respond_with(mp3())
            .expect(2),
        Mock::given(any())
            .respond_with(ResponseTemplate::new(500))
            .with_priority(10)
            .named("anything else asked of Twilio")
            .expect(0),
    ];
    for mock in mocks {
        mock.mount(twilio_api).await;
    }
}

/// A fresh number in the fictional 555 range.
fn fresh_number() -> String {
    format!("+1555{:07}", uuid::Uuid::new_v4().as_u128() % 10_000_000)
}

/// The number as a path segment, its `+` percent-encoded as clients send it.
fn in_path(number: &str) -> String {
    number.replace('+', "%2B")
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn it_should_let_each_role_do_only_what_it_may_and_show_no_tenant_another_tenants_data() {
    // Arrange
    let world = World::new().await;
    let rows = table(&world.resources);

    // Act and assert: per row, those refused first, then those allowed.
    let mut wrong = Vec::new();
    for row in &rows {
        for (actor, status, code) in row.access.denied() {
            let answer = world.send(row, actor).await;
            wrong.extend(world.check_denied(row, actor, &answer, (status, code)));
            if let (Actor::OwnerB, Access::Tenant(_)) = (actor, row.access) {
                let missing = world.send_to(row, &world.ghost_path(row), actor).await;
                wrong.extend(world.check_indistinguishable(row, &answer, &missing));
            }
        }
        for actor in row.access.permitted() {
            let answer = world.send(row, actor).await;
            wrong.extend(world.check_permitted(row, actor, &answer));
        }
    }

    assert!(
        wrong.is_empty(),
        "{} wrong answers over {} operations:\n{}",
        wrong.len(),
        rows.len(),
        wrong.join("\n")
    );
    // Nobody refused reached Twilio, and those allowed got what they asked of it.
    world.twilio.verify().await;
}

#[tokio::test]
async fn it_should_cover_every_operation_the_server_documents_exactly_once() {
    // Arrange
    let app = TestApp::spawn().await;
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200, "the document is served");
    let document: Value = response.json().await.unwrap();
    let rows = table(&Resources::placeholder());

    // Act: the document's operations under /api/v1 or secured, each with whether it is.
    let mut documented = HashMap::new();
    let everywhere = document["security"]
        .as_array()
        .is_some_and(|s| !s.is_empty());
    for (template, item) in document["paths"].as_object().unwrap() {
        for verb in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            let Some(operation) = item.get(verb) else {
                continue;
            };
            let secured = operation
                .get("security")
                .and_then(Value::as_array)
                .map_or(everywhere, |s| !s.is_empty());
            if template.starts_with("/api/v1") || secured {
                documented.insert((verb.to_uppercase(), template.clone()), secured);
            }
        }
    }

    // Assert
    let mut tabled = BTreeSet::new();
    for row in &rows {
        let operation = (row.method.to_string(), row.template.to_owned());
        assert!(
            tabled.insert(operation.clone()),
            "two rows for {operation:?}"
        );
    }
    let missing: Vec<_> = documented
        .keys()
        .filter(|operation| !tabled.contains(*operation))
        .collect();
    let unknown: Vec<_> = tabled
        .iter()
        .filter(|operation| !documented.contains_key(*operation))
        .collect();
    assert!(
        missing.is_empty(),
        "documented operations without a row in tenancy::table: {missing:?}"
    );
    assert!(
        unknown.is_empty(),
        "rows for operations the document does not have: {unknown:?}"
    );
    for row in &rows {
        let secured = documented[&(row.method.to_string(), row.template.to_owned())];
        let open = matches!(row.access, Access::Open);
        assert_eq!(
            secured, !open,
            "{} {}: the document says secured = {secured}, the row's access is {:?}",
            row.method, row.template, row.access
        );
    }
}
