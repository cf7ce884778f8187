//! Calls made the way Twilio makes them, for tests of what the read side shows: a business of an
//! owner with a number (seeded through the write side), and the signed webhooks of a call.

use crate::{new_call_sid, TestApp, User, TEST_ACCOUNT_SID};

/// The caller of every call made here.
pub const CALLER: &str = "+14155550111";

/// A business registered for an owner (open around the clock, agent configured) with a number.
pub struct Owned {
    /// The business.
    pub business_id: String,
    /// Its number, which rings it.
    pub number: String,
}

/// Registers a business named `name` for `owner` in `timezone`, the owner taking calls when
/// `available`, with an agent configured and a number of its own.
pub async fn owned_business(
    app: &TestApp,
    owner: &User,
    name: &str,
    available: bool,
    timezone: chrono_tz::Tz,
) -> Owned {
    use domain::business::{AgentSettings, BusinessCommand, RegisterBusiness, SealedSecret};
    use domain::values::{BusinessId, E164};

    let stores = app.stores();
    let meta =
        || domain::CommandMetadata::new("t", "test:seed", domain::Actor::Cli, chrono::Utc::now());
    let business = BusinessId(uuid::Uuid::new_v4());
    let id = business.to_string();
    let commands = [
        BusinessCommand::Register(RegisterBusiness {
            id: business,
            name: name.into(),
            description: String::new(),
            owner_user_id: Some(owner.id),
            owner_phone: Some(E164::parse("+14155550123").unwrap()),
            timezone,
        }),
        BusinessCommand::SetOwnerAvailability { available },
        BusinessCommand::ConfigureAgent(AgentSettings {
            model: "gpt-realtime".into(),
            voice: "marin".into(),
            instructions: "Take a message.".into(),
            api_key: Some(SealedSecret {
                key_id: "test".into(),
                ciphertext: "sealed".into(),
                last_four: "abcd".into(),
            }),
        }),
    ];
    for command in commands {
        stores
            .businesses
            .execute(&id, command, &meta())
            .await
            .unwrap();
    }
    let number = crate::give_new_number(&stores, business).await;
    Owned {
        business_id: id,
        number,
    }
}

/// The parameters of a webhook of call `sid` from [`CALLER`] to `number`, plus `extra`
/// (`CallStatus` is `ringing` unless `extra` says otherwise).
pub fn webhook<'a>(
    sid: &'a str,
    number: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut params = vec![
        ("CallSid", sid),
        ("AccountSid", TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", number),
        ("Caller", CALLER),
        ("Called", number),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ];
    if !extra.iter().any(|(key, _)| *key == "CallStatus") {
        params.push(("CallStatus", "ringing"));
    }
    params.extend_from_slice(extra);
    params
}

/// Posts a signed webhook and asserts it was answered with a success.
pub async fn post(app: &TestApp, path: &str, params: &[(&str, &str)]) {
    let response = app.post_twilio(path, params).await;
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
}

/// A call to `number` comes in; returns its CallSid.
pub async fn incoming(app: &TestApp, number: &str) -> String {
    let sid = new_call_sid();
    post(app, "/twilio/voice/incoming", &webhook(&sid, number, &[])).await;
    sid
}

/// The owner's leg ended with `status` (`bridged`: whether the owner was put through).
pub async fn dial_result(app: &TestApp, sid: &str, number: &str, status: &str, bridged: &str) {
    let extra = [
        ("DialCallStatus", status),
        ("DialCallSid", "CAffffffffffffffffffffffffffffffff"),
        ("DialBridged", bridged),
    ];
    post(
        app,
        "/twilio/voice/dial-result",
        &webhook(sid, number, &extra),
    )
    .await;
}

/// Twilio's status callback: the call is over after `secs` seconds, at a price.
pub async fn completed(app: &TestApp, sid: &str, number: &str, secs: &str) {
    let extra = [
        ("CallStatus", "completed"),
        ("CallDuration", secs),
        ("Price", "-0.0085"),
        ("PriceUnit", "USD"),
    ];
    post(app, "/twilio/voice/status", &webhook(sid, number, &extra)).await;
}
