//! `callassist privacy erase` as an operator runs it: the caller's call then audits with
//! `[erased]` and none of their words, and an unknown business is refused by name.

use domain::business::{BusinessCommand, RegisterBusiness};
use domain::call::{CallCommand, IncomingCall, Speaker};
use domain::routing::{Route, RouteReason};
use domain::values::{BusinessId, CallSid, CallerId, E164};
use domain::{Actor, CommandMetadata};
use infrastructure::event_store::{AppendSignal, Stores};
use infrastructure::privacy::PersonalData;

use super::{as_refs, callassist, fresh_database_url, server_env};

/// The `ENCRYPTION_KEY` of [`server_env`], decoded.
const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const CALLER: &str = "+14155550777";
const WORDS: &str = "my secret address is 12 Elm Street";

/// A business and one call of [`CALLER`] to it, saying [`WORDS`], as a node records them.
fn business_with_a_call(url: &str) -> (BusinessId, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = infrastructure::db::connect(url).await.unwrap();
        let stores = Stores::new(&pool, AppendSignal::new()).with_privacy(PersonalData::new(
            pool.clone(),
            KEY,
            [],
        ));
        let id = BusinessId(uuid::Uuid::new_v4());
        let sid = format!("CA{}", uuid::Uuid::new_v4().simple());
        let meta = CommandMetadata::new(&sid, "test:cli", Actor::Cli, chrono::Utc::now());
        let register = BusinessCommand::Register(RegisterBusiness {
            id,
            name: "Joe's Plumbing".into(),
            description: String::new(),
            owner_user_id: None,
            owner_phone: None,
            timezone: chrono_tz::UTC,
        });
        stores
            .businesses
            .execute(&id.to_string(), register, &meta)
            .await
            .unwrap();
        let commands = [
            CallCommand::Receive {
                call: IncomingCall {
                    call_sid: CallSid::parse(&sid).unwrap(),
                    from: CallerId::Number(E164::parse(CALLER).unwrap()),
                    to: "+14155550000".into(),
                    business_id: Some(id),
                },
                route: Route::AiAgent {
                    why: RouteReason::OwnerUnavailable,
                },
            },
            CallCommand::StartAiSession {
                model: "gpt-realtime".into(),
                voice: "marin".into(),
            },
            CallCommand::RecordTranscriptSegment {
                speaker: Speaker::Caller,
                text: WORDS.into(),
                offset_ms: 500,
            },
        ];
        for command in commands {
            stores.calls.execute(&sid, command, &meta).await.unwrap();
        }
        pool.close().await;
        (id, sid)
    })
}

fn run(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = callassist(args, env).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn it_should_erase_a_callers_data_from_the_command_line() {
    let url = fresh_database_url();
    let env = server_env(&url);
    // No Twilio credentials: nothing to delete there, and the command says so.
    let env: Vec<(&str, &str)> = as_refs(&env)
        .into_iter()
        .filter(|(key, _)| !key.starts_with("TWILIO_"))
        .collect();
    let (migrated, _, stderr) = run(&["migrate"], &env);
    assert!(migrated, "{stderr}");
    let (business, sid) = business_with_a_call(&url);
    let (_, before, _) = run(&["audit", "call", &sid], &env);
    assert!(before.contains(WORDS), "{before}");

    let business = business.to_string();
    let (erased, stdout, stderr) = run(
        &[
            "privacy",
            "erase",
            "--business",
            &business,
            "--caller",
            CALLER,
        ],
        &env,
    );

    assert!(erased, "{stderr}");
    assert!(
        stdout.contains("erased the personal data of 1 call(s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("recordings at Twilio were not deleted"),
        "{stdout}"
    );
    let (audited, after, stderr) = run(&["audit", "call", &sid], &env);
    assert!(audited, "{stderr}");
    assert!(!after.contains(WORDS), "{after}");
    assert!(!after.contains("4155550777"), "{after}");
    assert!(after.contains("[erased]"), "{after}");
    let unknown = uuid::Uuid::new_v4().to_string();
    let (refused, _, stderr) = run(
        &[
            "privacy",
            "erase",
            "--business",
            &unknown,
            "--caller",
            CALLER,
        ],
        &env,
    );
    assert!(!refused);
    assert!(
        stderr.contains(&format!("no business {unknown}")),
        "{stderr}"
    );
}
