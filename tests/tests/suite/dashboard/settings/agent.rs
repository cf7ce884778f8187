//! The AI agent's settings: the key is write-only, an empty key field keeps it, and the agent
//! can be removed.

use support::TestApp;

use super::{business, create_business, event_count, signed_in_owner};

const KEY: &str = "sk-proj-SECRETsecret0123456789WXYZ";

fn agent_form<'a>(instructions: &'a str, key: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("instructions", instructions),
        ("voice", "cedar"),
        ("model", "gpt-realtime"),
        ("openai_api_key", key),
    ]
}

#[tokio::test]
async fn it_should_save_the_agent_and_never_show_its_key_again() {
    // Arrange
    let app = TestApp::spawn().await;
    let (owner, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/agent");
    let before = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(before.body.contains("Not set up"));
    assert!(before
        .body
        .contains(r#"<span id="agent-key">no key</span>"#));

    // Act
    let saved = browser
        .post_form(&path, &agent_form("Greet callers in German.", KEY))
        .await;

    // Assert: saved, and no page shows the key: only its last four.
    assert_eq!(
        (saved.status, saved.location()),
        (
            303,
            format!("/dashboard/businesses/{id}?saved=agent#agent").as_str()
        )
    );
    let mut bodies = vec![saved.body];
    for page in [
        format!("/dashboard/businesses/{id}?saved=agent"),
        format!("/dashboard/businesses/{id}"),
        "/dashboard/businesses".to_owned(),
    ] {
        let page = browser.get(&page).await;
        assert_eq!(page.status, 200);
        bodies.push(page.body);
    }
    for body in &bodies {
        assert!(!body.contains(KEY), "the key leaked: {body}");
        assert!(!body.contains("SECRET"), "part of the key leaked: {body}");
    }
    let page = &bodies[1];
    assert!(page.contains("AI agent saved"));
    assert!(
        page.contains(r#"<span id="agent-key">key ending in …WXYZ</span>"#),
        "{page}"
    );
    assert!(page.contains(r#"<option value="cedar" selected>"#));
    assert!(page.contains("Greet callers in German."));
    assert!(page.contains(r#"id="openai_api_key" name="openai_api_key" type="password""#));
    let agent = business(&app, &id).await.agent.unwrap();
    assert!(agent.enabled);
    assert_eq!(agent.api_key.last_four, "WXYZ");
    // Sealed with the vault, as the API does: the stored event never holds the key.
    let events = app.events_of(&id).await;
    let (event_type, payload, metadata) = events.last().unwrap();
    assert_eq!(event_type, "AgentConfigured");
    assert!(!payload.to_string().contains("SECRET"), "{payload}");
    assert_eq!(metadata["actor"], format!("user:{}", owner.id));
    assert_eq!(
        metadata["causation"],
        "dashboard:POST /dashboard/businesses/{id}/agent"
    );
}

#[tokio::test]
async fn it_should_keep_the_key_when_the_key_field_is_left_empty() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/agent");
    let first = browser
        .post_form(&path, &agent_form("Take a message.", KEY))
        .await;
    assert_eq!(first.status, 303);
    let sealed = business(&app, &id).await.agent.unwrap().api_key;

    // Act
    let second = browser
        .post_form(
            &path,
            &agent_form("Take a message, and spell the name back.", ""),
        )
        .await;

    // Assert
    assert_eq!(second.status, 303, "{}", second.body);
    let agent = business(&app, &id).await.agent.unwrap();
    assert_eq!(agent.api_key, sealed, "the same sealed key");
    assert_eq!(
        agent.instructions,
        "Take a message, and spell the name back."
    );
}

#[tokio::test]
async fn it_should_refuse_a_first_agent_without_a_key_and_never_echo_a_key_on_a_refused_form() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let path = format!("/dashboard/businesses/{id}/agent");
    let before = event_count(&app, &id).await;

    // Act
    let no_key = browser
        .post_form(&path, &agent_form("Take a message.", ""))
        .await;
    let blank_instructions = browser.post_form(&path, &agent_form("   ", KEY)).await;
    let bad_key = browser
        .post_form(
            &path,
            &agent_form("Take a message.", "sk-with a SECRET space"),
        )
        .await;

    // Assert
    assert_eq!(no_key.status, 422);
    assert!(
        no_key.body.contains("Enter an OpenAI API key"),
        "{}",
        no_key.body
    );
    assert_eq!(blank_instructions.status, 422);
    assert!(blank_instructions
        .body
        .contains("Instructions must be 1 to 20000 characters."));
    assert!(
        !blank_instructions.body.contains("SECRET"),
        "the key was echoed"
    );
    assert_eq!(bad_key.status, 422);
    assert!(bad_key
        .body
        .contains("The OpenAI API key must be 8 to 512 visible ASCII characters."));
    assert!(!bad_key.body.contains("SECRET"), "the key was echoed");
    assert_eq!(event_count(&app, &id).await, before);
}

#[tokio::test]
async fn it_should_remove_the_agent_as_the_api_does() {
    // Arrange
    let app = TestApp::spawn().await;
    let (_, browser) = signed_in_owner(&app).await;
    let id = create_business(&browser, "Joe's Plumbing", "+14155550123").await;
    let saved = browser
        .post_form(
            &format!("/dashboard/businesses/{id}/agent"),
            &agent_form("Take a message.", KEY),
        )
        .await;
    assert_eq!(saved.status, 303);
    let page = browser.get(&format!("/dashboard/businesses/{id}")).await;
    assert!(page.body.contains(r#"id="agent-remove""#));

    // Act
    let removed = browser
        .post_form(&format!("/dashboard/businesses/{id}/agent/remove"), &[])
        .await;

    // Assert: off, its settings kept; the page says so and offers no second removal.
    assert_eq!(
        (removed.status, removed.location()),
        (
            303,
            format!("/dashboard/businesses/{id}?saved=agent-removed#agent").as_str()
        )
    );
    let agent = business(&app, &id).await.agent.unwrap();
    assert!(!agent.enabled);
    assert_eq!(
        app.event_types_of(&id).await.last().unwrap(),
        "AgentDisabled"
    );
    let page = browser
        .get(&format!("/dashboard/businesses/{id}?saved=agent-removed"))
        .await;
    assert!(page.body.contains("AI agent removed"));
    assert!(page.body.contains("<strong>Off</strong>"));
    assert!(!page.body.contains(r#"id="agent-remove""#));
    let again = browser
        .post_form(&format!("/dashboard/businesses/{id}/agent/remove"), &[])
        .await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("The AI agent is not on."));
}
