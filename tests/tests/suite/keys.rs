//! Rotating `ENCRYPTION_KEY` and `JWT_SECRET` without downtime: `callassist keys reseal` seals
//! every stored secret again under the new key (so the retired key can go), and the server
//! accepts access tokens signed with a retired JWT secret.

use api::keys_cmd::{self, KeyRole};
use chrono::Utc;
use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness, SealedSecret};
use domain::call::{CallCommand, IncomingCall};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::accounts::{self, NewUser, Role};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::privacy::PersonalData;
use infrastructure::tokens::Tokens;
use infrastructure::vault::{key_id, Vault};
use infrastructure::webhooks::endpoints::secret_context;
use secrecy::{ExposeSecret, SecretString};
use support::{TestApp, TestDatabase};
use uuid::Uuid;

const OLD: [u8; 32] = [1; 32];
const NEW: [u8; 32] = [2; 32];
const LOST: [u8; 32] = [3; 32];

fn meta() -> CommandMetadata {
    CommandMetadata::new("keys-test", "test:keys", Actor::Cli, chrono::Utc::now())
}

fn plain_key(business: BusinessId) -> String {
    format!("sk-proj-{}", business.0.simple())
}

/// A business whose agent's key is sealed with `key` (or the demo placeholder); `None`: no
/// agent.
async fn business(stores: &Stores, key: Option<&[u8; 32]>, placeholder: bool) -> BusinessId {
    let id = BusinessId(Uuid::new_v4());
    stores
        .businesses
        .execute(
            &id.to_string(),
            BusinessCommand::Register(RegisterBusiness {
                id,
                name: "Joe's Plumbing".into(),
                description: String::new(),
                owner_user_id: None,
                owner_phone: None,
                timezone: chrono_tz::UTC,
            }),
            &meta(),
        )
        .await
        .unwrap();
    let api_key = match (key, placeholder) {
        (Some(key), _) => Vault::new(key, []).seal(id, &plain_key(id)).unwrap(),
        (None, true) => SealedSecret {
            key_id: "demo".into(),
            ciphertext: String::new(),
            last_four: "none".into(),
        },
        (None, false) => return id,
    };
    configure(stores, id, BusinessCommand::ConfigureAgent(agent(api_key))).await;
    id
}

fn agent(api_key: SealedSecret) -> AgentSettings {
    AgentSettings {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message.".into(),
        api_key: Some(api_key),
    }
}

async fn configure(stores: &Stores, id: BusinessId, command: BusinessCommand) {
    stores
        .businesses
        .execute(&id.to_string(), command, &meta())
        .await
        .unwrap();
}

/// The agent's sealed key as a node that never saw the business reads it from the store.
async fn sealed_key_of(db: &TestDatabase, id: BusinessId) -> SealedSecret {
    let fresh = Stores::new(&db.pool, AppendSignal::new());
    let business = fresh
        .businesses
        .load(&id.to_string())
        .await
        .unwrap()
        .aggregate;
    business.agent.expect("the agent is configured").api_key
}

async fn event_count(db: &TestDatabase) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn it_should_reseal_every_agent_key_so_that_the_new_key_alone_opens_them() {
    let db = TestDatabase::fresh().await;
    let stores = Stores::new(&db.pool, AppendSignal::new());
    let active = business(&stores, Some(&OLD), false).await;
    let dormant = business(&stores, Some(&OLD), false).await;
    configure(&stores, dormant, BusinessCommand::DisableAgent).await;
    configure(
        &stores,
        dormant,
        BusinessCommand::Deactivate {
            reason: "closed for winter".into(),
        },
    )
    .await;
    let current = business(&stores, Some(&NEW), false).await;
    let demo = business(&stores, None, true).await;
    let _no_agent = business(&stores, None, false).await;
    let rotated = Vault::new(&NEW, [&OLD]);

    let report = keys_cmd::reseal(&db.pool, &stores, &rotated).await.unwrap();

    assert_eq!(report.agent_keys_resealed, 2, "{report:?}");
    assert_eq!(report.agent_keys_current, 2, "{report:?}");
    assert_eq!(report.agent_keys_changed_meanwhile, 0);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    // What the voice bridge and the summariser do, on a node that holds only the new key.
    let only_new = Vault::new(&NEW, []);
    for id in [active, dormant, current] {
        let sealed = sealed_key_of(&db, id).await;
        assert_eq!(sealed.key_id, key_id(&NEW));
        assert_eq!(sealed.last_four, &plain_key(id)[plain_key(id).len() - 4..]);
        let opened = only_new.open(id, &sealed).unwrap();
        assert_eq!(opened.expose_secret(), plain_key(id));
    }
    assert_eq!(sealed_key_of(&db, demo).await.key_id, "demo");
    let fresh = Stores::new(&db.pool, AppendSignal::new());
    let dormant_state = fresh
        .businesses
        .load(&dormant.to_string())
        .await
        .unwrap()
        .aggregate;
    assert!(!dormant_state.active, "a reseal does not reactivate");
    assert!(!dormant_state.agent_ready(), "nor turn the agent on");
    let (event_type, actor): (String, String) = sqlx::query_as(
        "SELECT event_type, metadata->>'actor' FROM events \
         WHERE aggregate_type = 'Business' AND aggregate_id = $1 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(active.to_string())
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (event_type.as_str(), actor.as_str()),
        ("AgentKeyResealed", "cli")
    );

    // Idempotent: a second run finds nothing to do and appends nothing.
    let before = event_count(&db).await;
    let again = keys_cmd::reseal(&db.pool, &stores, &rotated).await.unwrap();
    assert_eq!(again.agent_keys_resealed, 0);
    assert_eq!(again.agent_keys_current, 4);
    assert_eq!(event_count(&db).await, before);

    let inventory = keys_cmd::inventory(&db.pool, &stores, &rotated, &[key_id(&OLD)])
        .await
        .unwrap();
    let roles: Vec<(KeyRole, &str, u64)> = inventory
        .keys
        .iter()
        .map(|k| (k.role, k.key_id.as_str(), k.agent_keys))
        .collect();
    let (new_id, old_id) = (key_id(&NEW), key_id(&OLD));
    assert_eq!(
        roles,
        [
            (KeyRole::Current, new_id.as_str(), 3),
            (KeyRole::Retired, old_id.as_str(), 0),
            (KeyRole::DemoPlaceholder, "demo", 1),
        ]
    );
    assert!(inventory.still_needed().is_empty());
}

#[tokio::test]
async fn it_should_fold_the_resealed_key_into_the_businesses_read_model() {
    let db = TestDatabase::fresh().await;
    let stores = Stores::new(&db.pool, AppendSignal::new());
    let id = business(&stores, Some(&OLD), false).await;
    keys_cmd::reseal(&db.pool, &stores, &Vault::new(&NEW, [&OLD]))
        .await
        .unwrap();

    let projection = projections::registry::by_name("businesses").unwrap();
    // A rebuild reads the events every transaction of the server has settled; under a busy test
    // run another database's open transaction may hold the newest back for a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let (key, last_four): (String, Option<String>) = loop {
        projections::runtime::rebuild(&db.pool, projection.as_ref(), &|_, _| {})
            .await
            .unwrap();
        let row = sqlx::query_as(
            "SELECT state->'agent'->'api_key'->>'key_id', agent_key_last_four \
             FROM rm_businesses.businesses WHERE business_id = $1",
        )
        .bind(id.0)
        .fetch_optional(&db.pool)
        .await
        .unwrap();
        match row {
            Some(row) => break row,
            None if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            None => panic!("the rebuilt read model never showed the business"),
        }
    };
    assert_eq!(key, key_id(&NEW));
    assert_eq!(
        last_four.as_deref(),
        Some(&plain_key(id)[plain_key(id).len() - 4..])
    );
}

#[tokio::test]
async fn it_should_name_what_it_cannot_open_and_reseal_the_rest() {
    let db = TestDatabase::fresh().await;
    let stores = Stores::new(&db.pool, AppendSignal::new());
    let lost = business(&stores, Some(&LOST), false).await;
    let fine = business(&stores, Some(&OLD), false).await;
    let rotated = Vault::new(&NEW, [&OLD]);

    let report = keys_cmd::reseal(&db.pool, &stores, &rotated).await.unwrap();

    assert_eq!(report.agent_keys_resealed, 1);
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains(&lost.to_string()));
    assert!(report.failures[0].contains(&key_id(&LOST)));
    assert_eq!(sealed_key_of(&db, fine).await.key_id, key_id(&NEW));
    assert_eq!(sealed_key_of(&db, lost).await.key_id, key_id(&LOST));
    let inventory = keys_cmd::inventory(&db.pool, &stores, &rotated, &[key_id(&OLD)])
        .await
        .unwrap();
    let needed: Vec<(KeyRole, &str)> = inventory
        .still_needed()
        .into_iter()
        .map(|k| (k.role, k.key_id.as_str()))
        .collect();
    assert_eq!(needed, [(KeyRole::NotConfigured, key_id(&LOST).as_str())]);
}

#[tokio::test]
async fn it_should_reseal_webhook_secrets_and_report_a_personal_data_key_it_cannot_open() {
    let db = TestDatabase::fresh().await;
    let stores = Stores::new(&db.pool, AppendSignal::new()).with_privacy(PersonalData::new(
        db.pool.clone(),
        &NEW,
        [&OLD],
    ));
    let endpoint = Uuid::new_v4();
    let sealed = Vault::new(&OLD, [])
        .seal_for(&secret_context(endpoint), "whsec_0123456789")
        .unwrap();
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, business_id, url, event_types, secret_key_id, secret_ciphertext) \
         VALUES ($1, $2, 'https://example.com/hook', ARRAY['call.ended'], $3, $4)",
    )
    .bind(endpoint)
    .bind(Uuid::new_v4())
    .bind(&sealed.key_id)
    .bind(&sealed.ciphertext)
    .execute(&db.pool)
    .await
    .unwrap();
    // A damaged data key "wrapped" under the old key.
    sqlx::query(
        "INSERT INTO personal_data_keys (key_id, business_id, caller_digest, day, wrapped_key) \
         VALUES ('dk1', $1, 'digest', current_date, $2)",
    )
    .bind(Uuid::new_v4())
    .bind(format!("{}:AAAA", key_id(&OLD)))
    .execute(&db.pool)
    .await
    .unwrap();
    let rotated = Vault::new(&NEW, [&OLD]);

    let report = keys_cmd::reseal(&db.pool, &stores, &rotated).await.unwrap();

    assert_eq!(report.webhook_secrets_resealed, 1);
    let (key, ciphertext): (String, String) = sqlx::query_as(
        "SELECT secret_key_id, secret_ciphertext FROM webhook_endpoints WHERE id = $1",
    )
    .bind(endpoint)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!(key, key_id(&NEW));
    let resealed = SealedSecret {
        key_id: key,
        ciphertext,
        last_four: String::new(),
    };
    let opened = Vault::new(&NEW, [])
        .open_for(&secret_context(endpoint), &resealed)
        .unwrap();
    assert_eq!(opened.expose_secret(), "whsec_0123456789");
    let inventory = keys_cmd::inventory(&db.pool, &stores, &rotated, &[key_id(&OLD)])
        .await
        .unwrap();
    let old = inventory
        .keys
        .iter()
        .find(|k| k.key_id == key_id(&OLD))
        .unwrap();
    assert_eq!((old.webhook_secrets, old.personal_data_keys), (0, 1));
    assert_eq!(
        inventory.still_needed().len(),
        1,
        "the data key still needs it"
    );
    assert_eq!(report.personal_data_keys_rewrapped, 0);
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("personal data keys: ")),
        "{:?}",
        report.failures
    );
    let text = keys_cmd::render_reseal(&report, &inventory);
    assert!(
        text.contains("1 personal data key(s) are still wrapped"),
        "{text}"
    );
}

#[tokio::test]
async fn it_should_wrap_callers_data_keys_again_so_calls_open_with_the_new_key_alone() {
    // A call recorded while OLD was the encryption key: its data key is wrapped under OLD.
    let db = TestDatabase::fresh().await;
    let before = Stores::new(&db.pool, AppendSignal::new()).with_privacy(PersonalData::new(
        db.pool.clone(),
        &OLD,
        [],
    ));
    let sid = support::new_call_sid();
    let meta = CommandMetadata::new(sid.clone(), "test:keys", Actor::Twilio, Utc::now());
    before
        .calls
        .execute(
            &sid,
            CallCommand::Receive {
                call: IncomingCall {
                    call_sid: CallSid::parse(&sid).unwrap(),
                    from: CallerId::Number(E164::parse("+14155550111").unwrap()),
                    to: "+14155550100".into(),
                    business_id: Some(BusinessId(Uuid::new_v4())),
                },
                route: Route::Voicemail {
                    why: RouteReason::OwnerUnavailable,
                },
            },
            &meta,
        )
        .await
        .unwrap();

    // Rotated: NEW seals, OLD is retired; reseal.
    let rotated = Stores::new(&db.pool, AppendSignal::new()).with_privacy(PersonalData::new(
        db.pool.clone(),
        &NEW,
        [&OLD],
    ));
    let report = keys_cmd::reseal(&db.pool, &rotated, &Vault::new(&NEW, [&OLD]))
        .await
        .unwrap();
    assert_eq!(report.personal_data_keys_rewrapped, 1);
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let again = keys_cmd::reseal(&db.pool, &rotated, &Vault::new(&NEW, [&OLD]))
        .await
        .unwrap();
    assert_eq!(again.personal_data_keys_rewrapped, 0, "nothing left to do");

    // With OLD removed, the caller's number still opens.
    let after = Stores::new(&db.pool, AppendSignal::new()).with_privacy(PersonalData::new(
        db.pool.clone(),
        &NEW,
        [],
    ));
    let call = after.calls.load(&sid).await.unwrap().aggregate;
    assert_eq!(
        call.received.unwrap().from,
        CallerId::Number(E164::parse("+14155550111").unwrap())
    );
}

const OLD_JWT_SECRET: &str = "old-jwt-secret-old-jwt-secret-0001";
const NEW_JWT_SECRET: &str = "new-jwt-secret-new-jwt-secret-0002";

fn signer(secret: &str) -> Tokens {
    Tokens::new(SecretString::from(secret.to_owned()))
}

#[tokio::test]
async fn it_should_keep_sessions_signed_with_a_retired_jwt_secret_working() {
    let app = TestApp::spawn_with(&[
        ("JWT_SECRET", NEW_JWT_SECRET),
        ("JWT_SECRETS_RETIRED", OLD_JWT_SECRET),
    ])
    .await;
    let user = accounts::create_user(
        &app.db.pool,
        NewUser {
            email: "rotation@example.com".into(),
            password: support::TEST_PASSWORD.into(),
            first_name: "Rita".into(),
            last_name: "Rotation".into(),
            role: Role::BusinessOwner,
        },
        "test",
        4,
    )
    .await
    .unwrap();
    // A session a node under the old secret started before the rotation.
    let before = signer(OLD_JWT_SECRET)
        .start_session(&app.db.pool, user, Role::BusinessOwner)
        .await
        .unwrap();
    let me = |token: String| {
        let app = &app;
        async move {
            app.api(reqwest::Method::GET, "/api/v1/me", Some(&token), None)
                .await
                .status()
        }
    };

    assert_eq!(me(before.access_token.clone()).await, 200);
    let stranger = signer("someone-elses-secret-someone-else-03")
        .access_token(user, Role::BusinessOwner)
        .unwrap();
    assert_eq!(me(stranger).await, 401);

    // The refresh token is opaque and stored hashed: it survives the rotation, and the pair it
    // buys is signed with the new secret.
    let refreshed = app
        .api(
            reqwest::Method::POST,
            "/api/v1/auth/refresh",
            None,
            Some(serde_json::json!({ "refresh_token": before.refresh_token })),
        )
        .await;
    assert_eq!(refreshed.status(), 200);
    let pair: serde_json::Value = refreshed.json().await.unwrap();
    let access = pair["access_token"].as_str().unwrap().to_owned();
    assert!(signer(NEW_JWT_SECRET).verify_access(&access).is_ok());
    assert!(signer(OLD_JWT_SECRET).verify_access(&access).is_err());
    assert_eq!(me(access).await, 200);
}
