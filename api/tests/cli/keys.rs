//! `callassist keys status|reseal` as an operator runs them after rotating `ENCRYPTION_KEY`:
//! the status names each key id and what it seals, the reseal moves every agent key to the new
//! key (once: a second run changes nothing), and the new key alone then opens them.

use base64::Engine;
use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness};
use domain::values::BusinessId;
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::vault::{key_id, Vault};
use secrecy::ExposeSecret;

use super::{callassist, fresh_database_url};

const OLD: [u8; 32] = [1; 32];
const NEW: [u8; 32] = [2; 32];
const PLAIN: &str = "sk-proj-cli-test-0123456789WXYZ";

fn base64(key: &[u8; 32]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A business whose agent key was sealed with `OLD`, before the rotation.
fn business_sealed_under_old_key(url: &str) -> BusinessId {
    runtime().block_on(async {
        let pool = infrastructure::db::connect(url).await.unwrap();
        let stores = Stores::new(&pool, AppendSignal::new());
        let id = BusinessId(uuid::Uuid::new_v4());
        let meta = CommandMetadata::new("cli-test", "test:cli", Actor::Cli, chrono::Utc::now());
        let register = BusinessCommand::Register(RegisterBusiness {
            id,
            name: "Joe's Plumbing".into(),
            description: String::new(),
            owner_user_id: None,
            owner_phone: None,
            timezone: chrono_tz::UTC,
        });
        let configure = BusinessCommand::ConfigureAgent(AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Take a message.".into(),
            api_key: Some(Vault::new(&OLD, []).seal(id, PLAIN).unwrap()),
        });
        for command in [register, configure] {
            stores
                .businesses
                .execute(&id.to_string(), command, &meta)
                .await
                .unwrap();
        }
        pool.close().await;
        id
    })
}

fn keys(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut all = vec!["keys"];
    all.extend(args);
    let output = callassist(&all, env).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn it_should_reseal_agent_keys_once_and_show_what_each_key_seals() {
    let url = fresh_database_url();
    let migrated = callassist(&["migrate"], &[("DATABASE_URL", &url)])
        .output()
        .unwrap();
    assert!(migrated.status.success());
    let business = business_sealed_under_old_key(&url);
    let (new_key, old_key) = (base64(&NEW), base64(&OLD));
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("ENCRYPTION_KEY", new_key.as_str()),
        ("ENCRYPTION_KEYS_RETIRED", old_key.as_str()),
    ];
    let (new_id, old_id) = (key_id(&NEW), key_id(&OLD));

    let (ok, before, errors) = keys(&["status", "--json"], &env);
    assert!(ok, "{errors}");
    let before: serde_json::Value = serde_json::from_str(&before).unwrap();
    assert_eq!(before["current"], new_id.as_str());
    assert_eq!(
        before["keys"][1],
        serde_json::json!({"key_id": old_id, "role": "retired", "agent_keys": 1,
                           "webhook_secrets": 0, "personal_data_keys": 0})
    );

    let (ok, first, errors) = keys(&["reseal"], &env);
    assert!(ok, "{errors}");
    assert!(
        first.starts_with(&format!("resealed under {new_id}: 1 agent key(s)")),
        "{first}"
    );
    assert!(
        first.contains("nothing is sealed under another key any more"),
        "{first}"
    );

    let (ok, second, errors) = keys(&["reseal"], &env);
    assert!(ok, "{errors}");
    assert!(
        second.starts_with(&format!("resealed under {new_id}: 0 agent key(s)")),
        "{second}"
    );
    assert!(
        second.contains("1 agent key(s) were already under it"),
        "{second}"
    );

    // The voice bridge's view once the old key is gone: the new key alone opens the key.
    let opened = runtime().block_on(async {
        let pool = infrastructure::db::connect(&url).await.unwrap();
        let stores = Stores::new(&pool, AppendSignal::new());
        let loaded = stores.businesses.load(&business.to_string()).await.unwrap();
        let sealed = loaded.aggregate.agent.unwrap().api_key;
        pool.close().await;
        Vault::new(&NEW, [])
            .open(business, &sealed)
            .map(|key| key.expose_secret().to_owned())
    });
    assert_eq!(opened.as_deref(), Ok(PLAIN));
}

#[test]
fn it_should_name_the_missing_encryption_key_and_not_touch_the_database() {
    let (ok, _, errors) = keys(
        &["reseal"],
        &[("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")],
    );

    assert!(!ok);
    assert!(errors.contains("ENCRYPTION_KEY is missing"), "{errors}");
    assert!(!errors.contains("cannot reach PostgreSQL"), "{errors}");
}
