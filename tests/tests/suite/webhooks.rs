//! Twilio's voice webhooks through the real server: signatures, routing, TwiML, idempotency,
//! out-of-order callbacks and degraded mode.

use std::time::{Duration, Instant};

use support::{new_call_sid, seed, SeedBusiness, Seeded, TestApp};

const CALLER: &str = "+14155550111";

fn incoming<'a>(sid: &'a str, seeded: &'a Seeded) -> Vec<(&'a str, &'a str)> {
    vec![
        ("CallSid", sid),
        ("AccountSid", support::TEST_ACCOUNT_SID),
        ("From", CALLER),
        ("To", &seeded.number),
        ("Caller", CALLER),
        ("Called", &seeded.number),
        ("CallStatus", "ringing"),
        ("Direction", "inbound"),
        ("ApiVersion", "2010-04-01"),
    ]
}

async fn twiml(response: reqwest::Response) -> String {
    assert_eq!(response.status(), 200, "TwiML answers are 200");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "text/xml; charset=utf-8");
    let body = response.text().await.unwrap();
    assert!(
        body.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?><Response>"#),
        "{body}"
    );
    body
}

async fn app_with_business(seed_with: SeedBusiness) -> (TestApp, Seeded) {
    let app = TestApp::spawn().await;
    let seeded = seed(&app.stores(), seed_with).await;
    (app, seeded)
}

async fn dial_result(
    app: &TestApp,
    sid: &str,
    seeded: &Seeded,
    status: &str,
    bridged: Option<&str>,
) -> reqwest::Response {
    let mut params = incoming(sid, seeded);
    params.push(("DialCallStatus", status));
    params.push(("DialCallSid", "CAffffffffffffffffffffffffffffffff"));
    if let Some(bridged) = bridged {
        params.push(("DialBridged", bridged));
    }
    app.post_twilio("/twilio/voice/dial-result", &params).await
}

#[tokio::test]
async fn it_should_refuse_an_unsigned_or_wrongly_signed_webhook_and_append_nothing() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();
    let params = incoming(&sid, &seeded);

    let unsigned = app
        .post_unsigned("/twilio/voice/incoming", &params, None)
        .await;
    let forged = app
        .post_unsigned(
            "/twilio/voice/incoming",
            &params,
            Some("RSOYDt4T1cUTdK1PDd93/VVr8B8="),
        )
        .await;

    assert_eq!(unsigned.status(), 403);
    assert_eq!(forged.status(), 403);
    assert_eq!(forged.headers()["content-type"], "application/problem+json");
    assert!(app.event_types_of(&sid).await.is_empty());
}

#[tokio::test]
async fn it_should_refuse_a_signed_webhook_whose_parameters_were_changed() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();
    let signed_for = incoming(&sid, &seeded);
    let owned: Vec<(String, String)> = signed_for
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let url = format!("{}/twilio/voice/incoming", app.address);
    let signature =
        infrastructure::twilio::signature::Signer::new(support::TEST_AUTH_TOKEN.to_owned().into())
            .sign(
                infrastructure::twilio::signature::Algorithm::HmacSha1,
                &url,
                &infrastructure::twilio::signature::Body::Form(&owned),
            );
    let mut tampered = signed_for.clone();
    tampered[2] = ("From", "+19995550000");

    let response = app
        .post_unsigned("/twilio/voice/incoming", &tampered, Some(&signature))
        .await;

    assert_eq!(response.status(), 403);
    assert!(app.event_types_of(&sid).await.is_empty());
}

#[tokio::test]
async fn it_should_ring_the_owner_with_screening_and_record_the_route_with_the_webhook_in_the_metadata(
) {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();

    let body = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    let dial = format!(
        r#"<Dial timeout="20" action="{0}/twilio/voice/dial-result" method="POST" callerId="{1}" answerOnBridge="true"><Number url="{0}/twilio/voice/screen">{2}</Number></Dial>"#,
        app.address, seeded.number, seeded.owner_phone
    );
    assert!(body.contains(&dial), "{body}");
    let events = app.events_of(&sid).await;
    let types: Vec<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(types, vec!["CallReceived", "CallRoutedToOwner"]);
    let (_, received, metadata) = &events[0];
    assert_eq!(received["CallReceived"]["from"]["value"], CALLER);
    assert_eq!(
        received["CallReceived"]["business_id"],
        seeded.business_id.to_string()
    );
    assert_eq!(metadata["actor"], "twilio");
    assert_eq!(metadata["correlation_id"], sid.as_str());
    assert_eq!(metadata["causation"], "webhook:/twilio/voice/incoming");
    assert_eq!(
        metadata["From"], CALLER,
        "the webhook's parameters ride along"
    );
}

#[tokio::test]
async fn it_should_answer_a_repeated_incoming_webhook_the_same_way_and_append_nothing() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();

    let first = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    // Meanwhile the owner switched availability off: the retry still gets the first answer.
    app.stores()
        .businesses
        .execute(
            &seeded.business_id.to_string(),
            domain::business::BusinessCommand::SetOwnerAvailability { available: false },
            &domain::CommandMetadata::new("t", "test", domain::Actor::Cli, chrono::Utc::now()),
        )
        .await
        .unwrap();
    let retry = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    assert_eq!(first, retry);
    assert_eq!(app.event_types_of(&sid).await.len(), 2);
}

#[tokio::test]
async fn it_should_hand_the_call_to_the_agent_when_the_owner_is_unavailable() {
    let (app, seeded) = app_with_business(SeedBusiness {
        owner_available: false,
        ..SeedBusiness::default()
    })
    .await;
    let sid = new_call_sid();

    let body = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    let ws = app.address.replace("http://", "ws://");
    let stream = format!(
        r#"<Connect><Stream url="{ws}/twilio/media-stream"><Parameter name="call_sid" value="{sid}"/><Parameter name="business_id" value="{}"/></Stream></Connect>"#,
        seeded.business_id
    );
    assert!(body.contains(&stream), "{body}");
    assert!(
        body.contains("<Record "),
        "voicemail follows the stream, in case it fails: {body}"
    );
    assert_eq!(
        app.event_types_of(&sid).await,
        vec!["CallReceived", "CallRoutedToAi"]
    );
}

#[tokio::test]
async fn it_should_take_a_voicemail_naming_the_business_escaped_when_no_agent_is_configured() {
    let business = SeedBusiness {
        name: "Tom & Jerry's <Diner>",
        owner_available: false,
        agent: false,
    };
    let (app, seeded) = app_with_business(business).await;
    let sid = new_call_sid();

    let body = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    assert!(
        body.contains("You have reached Tom &amp; Jerry&apos;s &lt;Diner&gt;."),
        "{body}"
    );
    let record = format!(
        r##"<Record action="{0}/twilio/voice/voicemail" method="POST" maxLength="120" playBeep="true" finishOnKey="#" recordingStatusCallback="{0}/twilio/voice/recording" recordingStatusCallbackEvent="completed" transcribe="true" transcribeCallback="{0}/twilio/voice/transcription"/>"##,
        app.address
    );
    assert!(body.contains(&record), "{body}");
    let events = app.events_of(&sid).await;
    assert_eq!(events[1].0, "CallRoutedToVoicemail");
    assert_eq!(
        events[1].1["CallRoutedToVoicemail"]["why"],
        "owner_unavailable"
    );
}

#[tokio::test]
async fn it_should_turn_away_a_call_to_an_unknown_number_and_still_record_it() {
    let app = TestApp::spawn().await;
    let sid = new_call_sid();
    let unknown = Seeded {
        business_id: domain::values::BusinessId(uuid::Uuid::nil()),
        number: "+15550000000".into(),
        owner_phone: String::new(),
    };

    let body = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &unknown))
            .await,
    )
    .await;

    assert!(
        body.contains(
            "<Say>Sorry, the number you have called is not in service. Goodbye.</Say><Hangup/>"
        ),
        "{body}"
    );
    let events = app.events_of(&sid).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].1["CallRejected"]["reason"], "unknown_number");
}

#[tokio::test]
async fn it_should_turn_away_calls_for_a_suspended_number_or_an_inactive_business() {
    use domain::business::BusinessCommand;
    use domain::phone_number::PhoneNumberCommand;
    let app = TestApp::spawn().await;
    let stores = app.stores();
    let meta = || domain::CommandMetadata::new("t", "test", domain::Actor::Cli, chrono::Utc::now());
    let suspended = seed(&stores, SeedBusiness::default()).await;
    stores
        .numbers
        .execute(
            &suspended.number,
            PhoneNumberCommand::Suspend {
                reason: "fraud".into(),
            },
            &meta(),
        )
        .await
        .unwrap();
    let inactive = seed(&stores, SeedBusiness::default()).await;
    stores
        .businesses
        .execute(
            &inactive.business_id.to_string(),
            BusinessCommand::Deactivate {
                reason: "closed".into(),
            },
            &meta(),
        )
        .await
        .unwrap();

    for (seeded, reason) in [
        (&suspended, "number_suspended"),
        (&inactive, "business_inactive"),
    ] {
        let sid = new_call_sid();
        let body = twiml(
            app.post_twilio("/twilio/voice/incoming", &incoming(&sid, seeded))
                .await,
        )
        .await;
        assert!(body.contains("not taking calls right now"), "{body}");
        let events = app.events_of(&sid).await;
        assert_eq!(events[1].1["CallRejected"]["reason"], reason);
    }
}

#[tokio::test]
async fn it_should_fall_back_to_the_agent_for_every_dial_status_but_a_bridged_answer() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    for (status, bridged, reason) in [
        ("no-answer", None, "no_answer"),
        ("busy", None, "busy"),
        ("failed", None, "failed"),
        ("canceled", None, "canceled"),
        ("completed", Some("false"), "not_accepted"),
        ("answered", Some("false"), "not_accepted"),
    ] {
        let sid = new_call_sid();
        twiml(
            app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
                .await,
        )
        .await;

        let body = twiml(dial_result(&app, &sid, &seeded, status, bridged).await).await;

        assert!(body.contains("<Connect><Stream"), "{status}: {body}");
        let events = app.events_of(&sid).await;
        let types: Vec<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
        assert_eq!(
            types,
            vec![
                "CallReceived",
                "CallRoutedToOwner",
                "OwnerMissed",
                "CallRoutedToAi"
            ],
            "{status}"
        );
        assert_eq!(events[2].1["OwnerMissed"]["reason"], reason, "{status}");
        assert_eq!(events[3].1["CallRoutedToAi"]["why"], "owner_missed");
    }
}

#[tokio::test]
async fn it_should_count_the_owner_as_answering_only_when_bridged() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    let body = twiml(dial_result(&app, &sid, &seeded, "completed", Some("true")).await).await;
    let retry = twiml(dial_result(&app, &sid, &seeded, "completed", Some("true")).await).await;

    assert!(body.ends_with("<Response><Hangup/></Response>"), "{body}");
    assert_eq!(body, retry);
    assert_eq!(
        app.event_types_of(&sid).await,
        vec!["CallReceived", "CallRoutedToOwner", "OwnerAnswered"]
    );
}

#[tokio::test]
async fn it_should_answer_a_repeated_dial_result_the_same_way_and_append_nothing() {
    let (app, seeded) = app_with_business(SeedBusiness {
        agent: false,
        ..SeedBusiness::default()
    })
    .await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;

    let first = twiml(dial_result(&app, &sid, &seeded, "no-answer", None).await).await;
    let retry = twiml(dial_result(&app, &sid, &seeded, "no-answer", None).await).await;

    assert!(first.contains("<Record "), "no agent: voicemail: {first}");
    assert_eq!(first, retry);
    assert_eq!(
        app.event_types_of(&sid).await,
        vec![
            "CallReceived",
            "CallRoutedToOwner",
            "OwnerMissed",
            "CallRoutedToVoicemail"
        ]
    );
}

#[tokio::test]
async fn it_should_end_the_call_right_when_the_status_callback_comes_before_the_dial_result() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    let mut status = incoming(&sid, &seeded);
    status.retain(|(k, _)| *k != "CallStatus");
    status.extend([
        ("CallStatus", "completed"),
        ("CallDuration", "17"),
        ("SequenceNumber", "3"),
    ]);

    let ended = app.post_twilio("/twilio/voice/status", &status).await;
    let body = twiml(dial_result(&app, &sid, &seeded, "no-answer", None).await).await;

    assert_eq!(ended.status(), 204);
    assert!(
        body.ends_with("<Response><Hangup/></Response>"),
        "the call is over: {body}"
    );
    let events = app.events_of(&sid).await;
    let types: Vec<&str> = events.iter().map(|(t, _, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "CallReceived",
            "CallRoutedToOwner",
            "CallEnded",
            "OwnerMissed"
        ]
    );
    assert_eq!(events[2].1["CallEnded"]["status"], "completed");
    assert_eq!(events[2].1["CallEnded"]["duration_secs"], 17);
}

#[tokio::test]
async fn it_should_record_the_end_once_for_each_final_status_and_ignore_the_others() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    for (status, final_status) in [
        ("queued", None),
        ("initiated", None),
        ("ringing", None),
        ("in-progress", None),
        ("completed", Some("completed")),
        ("busy", Some("busy")),
        ("failed", Some("failed")),
        ("no-answer", Some("no-answer")),
        ("canceled", Some("canceled")),
    ] {
        let sid = new_call_sid();
        twiml(
            app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
                .await,
        )
        .await;
        let mut params = incoming(&sid, &seeded);
        params.retain(|(k, _)| *k != "CallStatus");
        params.push(("CallStatus", status));

        assert_eq!(
            app.post_twilio("/twilio/voice/status", &params)
                .await
                .status(),
            204
        );
        assert_eq!(
            app.post_twilio("/twilio/voice/status", &params)
                .await
                .status(),
            204
        );

        let events = app.events_of(&sid).await;
        let ends: Vec<_> = events.iter().filter(|(t, _, _)| t == "CallEnded").collect();
        match final_status {
            None => assert!(ends.is_empty(), "{status}"),
            Some(expected) => {
                assert_eq!(ends.len(), 1, "{status} recorded once");
                assert_eq!(ends[0].1["CallEnded"]["status"], expected);
            }
        }
    }
}

#[tokio::test]
async fn it_should_record_a_price_when_the_status_callback_gives_one() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    let mut params = incoming(&sid, &seeded);
    params.retain(|(k, _)| *k != "CallStatus");
    params.extend([
        ("CallStatus", "completed"),
        ("CallDuration", "42"),
        ("Price", "-0.0085"),
        ("PriceUnit", "USD"),
    ]);

    app.post_twilio("/twilio/voice/status", &params).await;

    let events = app.events_of(&sid).await;
    let cost = events
        .iter()
        .find(|(t, _, _)| t == "CallCostRecorded")
        .expect("cost recorded");
    assert_eq!(cost.1["CallCostRecorded"]["price"]["amount"], "-0.0085");
    assert_eq!(cost.1["CallCostRecorded"]["price"]["currency"], "USD");
}

#[tokio::test]
async fn it_should_keep_one_recording_when_its_callback_comes_twice() {
    let (app, seeded) = app_with_business(SeedBusiness {
        agent: false,
        owner_available: false,
        ..SeedBusiness::default()
    })
    .await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    let mut params = incoming(&sid, &seeded);
    params.extend([
        ("RecordingSid", "RE0123456789abcdef0123456789abcdef"),
        ("RecordingUrl", "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE0123456789abcdef0123456789abcdef"),
        ("RecordingStatus", "completed"),
        ("RecordingDuration", "12"),
        ("RecordingChannels", "1"),
        ("RecordingSource", "RecordVerb"),
    ]);

    assert_eq!(
        app.post_twilio("/twilio/voice/recording", &params)
            .await
            .status(),
        204
    );
    assert_eq!(
        app.post_twilio("/twilio/voice/recording", &params)
            .await
            .status(),
        204
    );

    let types = app.event_types_of(&sid).await;
    assert_eq!(
        types.iter().filter(|t| *t == "RecordingAvailable").count(),
        1
    );
}

#[tokio::test]
async fn it_should_keep_the_voicemail_and_say_goodbye() {
    let (app, seeded) = app_with_business(SeedBusiness {
        agent: false,
        owner_available: false,
        ..SeedBusiness::default()
    })
    .await;
    let sid = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    let mut params = incoming(&sid, &seeded);
    params.extend([
        ("RecordingUrl", "https://api.twilio.com/Recordings/RE1"),
        ("RecordingDuration", "9"),
        ("Digits", "hangup"),
    ]);

    let body = twiml(app.post_twilio("/twilio/voice/voicemail", &params).await).await;
    let retry = twiml(app.post_twilio("/twilio/voice/voicemail", &params).await).await;

    assert!(body.contains("Your message has been recorded"), "{body}");
    assert_eq!(body, retry);
    let events = app.events_of(&sid).await;
    let voicemails: Vec<_> = events
        .iter()
        .filter(|(t, _, _)| t == "VoicemailRecorded")
        .collect();
    assert_eq!(voicemails.len(), 1);
    assert_eq!(voicemails[0].1["VoicemailRecorded"]["duration_secs"], 9);
}

#[tokio::test]
async fn it_should_screen_the_owner_and_bridge_only_on_a_1() {
    let (app, seeded) = app_with_business(SeedBusiness {
        name: "Joe's Plumbing",
        ..SeedBusiness::default()
    })
    .await;
    let parent = new_call_sid();
    twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&parent, &seeded))
            .await,
    )
    .await;
    let child = new_call_sid();
    let leg = |extra: Vec<(&'static str, &'static str)>| {
        let mut params: Vec<(String, String)> = vec![
            ("CallSid".into(), child.clone()),
            ("ParentCallSid".into(), parent.clone()),
            ("To".into(), seeded.owner_phone.clone()),
            ("From".into(), seeded.number.clone()),
            ("Direction".into(), "outbound-dial".into()),
        ];
        params.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())));
        params
    };
    let as_refs = |params: &Vec<(String, String)>| -> Vec<(String, String)> { params.clone() };
    let post = |params: Vec<(String, String)>, path: &'static str| {
        let app = &app;
        async move {
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.post_twilio(path, &refs).await
        }
    };

    let prompt = twiml(post(as_refs(&leg(vec![])), "/twilio/voice/screen").await).await;
    let accepted =
        twiml(post(leg(vec![("Digits", "1")]), "/twilio/voice/screen-result").await).await;
    let declined =
        twiml(post(leg(vec![("Digits", "9")]), "/twilio/voice/screen-result").await).await;
    let timed_out = twiml(post(leg(vec![]), "/twilio/voice/screen-result").await).await;

    let gather = format!(
        r#"<Gather input="dtmf" numDigits="1" action="{}/twilio/voice/screen-result" method="POST" timeout="5"><Say>Call for Joe&apos;s Plumbing. Press 1 to take it.</Say></Gather><Hangup/>"#,
        app.address
    );
    assert!(prompt.contains(&gather), "{prompt}");
    assert!(accepted.ends_with("<Response></Response>"), "{accepted}");
    assert!(
        declined.ends_with("<Response><Hangup/></Response>"),
        "{declined}"
    );
    assert!(
        timed_out.ends_with("<Response><Hangup/></Response>"),
        "{timed_out}"
    );
}

#[tokio::test]
async fn it_should_answer_400_to_a_signed_webhook_without_a_call_sid() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let mut params = incoming("CAnot-a-sid", &seeded);
    params.retain(|(k, _)| *k != "CallSid");

    let response = app.post_twilio("/twilio/voice/incoming", &params).await;

    assert_eq!(response.status(), 400);
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "missing_parameter");
}

#[tokio::test]
async fn it_should_ring_the_owner_from_memory_when_the_event_store_hangs() {
    let app = TestApp::spawn_with(&[("WEBHOOK_STORE_TIMEOUT_MS", "300")]).await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    // A first call puts the number and its business in the server's memory.
    twiml(
        app.post_twilio(
            "/twilio/voice/incoming",
            &incoming(&new_call_sid(), &seeded),
        )
        .await,
    )
    .await;
    // Then the event store stops answering: an open transaction locks the events table.
    let mut blocker = app.db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();

    let sid = new_call_sid();
    let started = Instant::now();
    let body = twiml(
        app.post_twilio("/twilio/voice/incoming", &incoming(&sid, &seeded))
            .await,
    )
    .await;
    let elapsed = started.elapsed();
    let unknown = Seeded {
        business_id: seeded.business_id,
        number: "+15550000001".into(),
        owner_phone: String::new(),
    };
    let apology = twiml(
        app.post_twilio(
            "/twilio/voice/incoming",
            &incoming(&new_call_sid(), &unknown),
        )
        .await,
    )
    .await;
    blocker.rollback().await.unwrap();

    assert!(
        body.contains(&format!(
            "<Number url=\"{}/twilio/voice/screen\">{}</Number>",
            app.address, seeded.owner_phone
        )),
        "{body}"
    );
    assert!(apology.contains("technical trouble"), "{apology}");
    // Far inside Twilio's 15 s, whatever the machine: the bound is 0.3 s.
    assert!(elapsed < Duration::from_secs(10), "answered in {elapsed:?}");
}

#[tokio::test]
async fn it_should_apologise_rather_than_fail_when_the_database_is_gone_and_nothing_is_known() {
    let app = TestApp::spawn_with(&[("WEBHOOK_STORE_TIMEOUT_MS", "500")]).await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    app.db.lose().await;

    let body = twiml(
        app.post_twilio(
            "/twilio/voice/incoming",
            &incoming(&new_call_sid(), &seeded),
        )
        .await,
    )
    .await;

    assert!(body.contains("technical trouble"), "{body}");
}

/// Posts `params` signed by `secret` with HMAC-SHA256 and the settings header Twilio sends when
/// a Webhook Rule signs with a SharedKey.
async fn post_with_shared_key(
    app: &TestApp,
    path: &str,
    params: &[(&str, &str)],
    secret: &str,
) -> reqwest::Response {
    use infrastructure::twilio::signature::{Algorithm, Body, Signer};
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let url = format!("{}{path}", app.address);
    let signature = Signer::new(secret.to_owned().into()).sign(
        Algorithm::HmacSha256,
        &url,
        &Body::Form(&owned),
    );
    app.client
        .post(&url)
        .header("X-Twilio-Signature", signature)
        .header(
            "X-Twilio-Webhooks-Signature-Settings",
            "key=webhooks_sharedkey_test,algorithm=HMAC_SHA256",
        )
        .form(&owned)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn it_should_check_webhooks_signed_with_a_shared_key_against_that_key() {
    let app = TestApp::spawn_with(&[("TWILIO_WEBHOOKS_SHARED_KEY", "shared-key-secret")]).await;
    let seeded = seed(&app.stores(), SeedBusiness::default()).await;
    let sid = new_call_sid();

    let with_the_key = post_with_shared_key(
        &app,
        "/twilio/voice/incoming",
        &incoming(&sid, &seeded),
        "shared-key-secret",
    )
    .await;
    let with_the_token = post_with_shared_key(
        &app,
        "/twilio/voice/incoming",
        &incoming(&new_call_sid(), &seeded),
        support::TEST_AUTH_TOKEN,
    )
    .await;
    let plain = app
        .post_twilio(
            "/twilio/voice/incoming",
            &incoming(&new_call_sid(), &seeded),
        )
        .await;

    assert!(twiml(with_the_key).await.contains("<Dial"));
    assert_eq!(
        with_the_token.status(),
        403,
        "with the header, only the shared key signs"
    );
    assert_eq!(
        plain.status(),
        200,
        "without the header, the auth token still signs"
    );
}

#[tokio::test]
async fn it_should_refuse_a_shared_key_signature_when_no_shared_key_is_configured() {
    let (app, seeded) = app_with_business(SeedBusiness::default()).await;
    let sid = new_call_sid();

    let response = post_with_shared_key(
        &app,
        "/twilio/voice/incoming",
        &incoming(&sid, &seeded),
        support::TEST_AUTH_TOKEN,
    )
    .await;

    assert_eq!(response.status(), 403);
    assert!(app.event_types_of(&sid).await.is_empty());
}
