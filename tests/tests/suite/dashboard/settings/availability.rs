//! The owner's availability switch: one click, with or without htmx, and the very next call
//! follows it.

use support::{new_call_sid, TestApp};

use super::{business, create_business, htmx_post, signed_in_owner};

#[tokio::test]
async fn it_should_flip_the_switch_without_javascript_and_come_back_to_the_page_it_was_on() {
    // Arrange
    let app = TestApp::spawn().await;
    let (owner, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(
        page.body.contains(&format!(
            r#"id="availability-{id}"
          class="toggle on"
          aria-pressed="true""#
        )),
        "{}",
        page.body
    );

    // Act
    let away = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/availability"),
            &[("available", "false"), ("next", "/dashboard/businesses")],
        )
        .await;

    // Assert
    assert_eq!(
        (away.status, away.location()),
        (303, "/dashboard/businesses")
    );
    // The list is read from the businesses read model (the switch's state from the write side):
    // the new business is listed once the projection has it.
    app.projections_caught_up().await;
    let list = browser.get("/dashboard/businesses").await;
    assert!(
        list.body.contains(r#"aria-pressed="false""#),
        "{}",
        list.body
    );
    assert!(list.body.contains(">Away</button>"));
    assert!(!business(&app, &id).await.owner_available);
    let events = app.events_of(&id).await;
    let (event_type, _, metadata) = events.last().unwrap();
    assert_eq!(event_type, "OwnerAvailabilityChanged");
    assert_eq!(
        metadata["causation"],
        "dashboard:POST /dashboard/businesses/{id}/availability"
    );
    assert_eq!(metadata["actor"], format!("user:{}", owner.id));

    // A repeated click with the same state records nothing more.
    let again = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/availability"),
            &[("available", "false")],
        )
        .await;
    assert_eq!(
        (again.status, again.location()),
        (303, format!("/dashboard/businesses/{id}").as_str())
    );
    assert_eq!(app.events_of(&id).await.len(), events.len());
}

#[tokio::test]
async fn it_should_swap_only_the_switch_for_htmx() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/availability");

    // Act
    let (status, fragment) = htmx_post(&app, &browser, &path, &[("available", "false")]).await;

    // Assert: the switch alone, now away, still posting to the same place.
    assert_eq!(status, 200, "{fragment}");
    assert!(fragment.trim_start().starts_with("<form"), "{fragment}");
    assert!(!fragment.contains("<html"));
    assert!(fragment.contains(&format!(r#"id="availability-{id}""#)));
    assert!(fragment.contains(r#"aria-pressed="false""#));
    assert!(fragment.contains(">Away</button>"));
    assert!(fragment.contains(r#"name="available" value="true""#));
    assert!(fragment.contains(&format!(r#"hx-post="{path}""#)));
    assert!(!business(&app, &id).await.owner_available);

    let (status, back) = htmx_post(&app, &browser, &path, &[("available", "true")]).await;
    assert_eq!(status, 200);
    assert!(back.contains(r#"aria-pressed="true""#));
    assert!(back.contains(">Available</button>"));
    assert!(business(&app, &id).await.owner_available);
}

/// An incoming call to `number`, as Twilio signs it; returns the TwiML.
async fn incoming_call(app: &TestApp, number: &str) -> String {
    let sid = new_call_sid();
    let response = app
        .post_twilio(
            "/twilio/voice/incoming",
            &[
                ("CallSid", &sid),
                ("AccountSid", support::TEST_ACCOUNT_SID),
                ("From", "+14155550111"),
                ("To", number),
                ("Caller", "+14155550111"),
                ("Called", number),
                ("CallStatus", "ringing"),
                ("Direction", "inbound"),
                ("ApiVersion", "2010-04-01"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// Provisions a number and assigns it to business `id`, as an admin would.
async fn number_for(app: &TestApp, id: &str) -> String {
    let business = domain::values::BusinessId(id.parse().unwrap());
    support::give_new_number(&app.stores(), business).await
}

#[tokio::test]
async fn it_should_route_the_very_next_call_by_the_switch() {
    // Arrange: a business made on the dashboard, no AI agent, a number ringing for it.
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let number = number_for(&app, &id).await;
    let switch = format!("/dashboard/businesses/{id}/availability");
    let rings_owner = incoming_call(&app, &number).await;
    assert!(rings_owner.contains("<Dial"), "{rings_owner}");
    assert!(rings_owner.contains("+14155550123"), "{rings_owner}");

    // Act: away on the page, then a call.
    let away = browser.post_form(&switch, &[("available", "false")]).await;
    assert_eq!(away.status, 303);
    let while_away = incoming_call(&app, &number).await;

    // Assert: no ringing the owner; voicemail, as there is no agent.
    assert!(!while_away.contains("<Dial"), "{while_away}");
    assert!(while_away.contains("<Record "), "{while_away}");

    // With an AI agent set up on the page, the call goes to the agent instead.
    let agent = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/agent"),
            &[
                ("instructions", "Take a message."),
                ("voice", "marin"),
                ("model", "gpt-realtime"),
                ("openai_api_key", "sk-test-0123456789abcdef"),
            ],
        )
        .await;
    assert_eq!(agent.status, 303, "{}", agent.body);
    let to_agent = incoming_call(&app, &number).await;
    assert!(!to_agent.contains("<Dial"), "{to_agent}");
    assert!(to_agent.contains("<Connect><Stream"), "{to_agent}");

    // And back: the next call rings the owner again.
    let (status, _) = htmx_post(&app, &browser, &switch, &[("available", "true")]).await;
    assert_eq!(status, 200);
    let back = incoming_call(&app, &number).await;
    assert!(back.contains("<Dial"), "{back}");

    // The settings page lists the number, read-only.
    app.projections_caught_up().await;
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(
        page.body.contains(&format!(
            "<td>{number}</td><td>active</td><td>1.15 USD</td>"
        )),
        "{}",
        page.body
    );
}
