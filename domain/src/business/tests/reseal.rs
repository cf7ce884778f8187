//! `ResealAgentKey`: the agent's key sealed again after `ENCRYPTION_KEY` was rotated.

use super::*;

fn resealed(last_four: &str) -> SealedSecret {
    SealedSecret {
        key_id: "k2".into(),
        ciphertext: format!("cmVzZWFsZWQ{last_four}"),
        last_four: last_four.into(),
    }
}

fn reseal() -> BusinessCommand {
    BusinessCommand::ResealAgentKey {
        replaces: sealed_key("abcd"),
        api_key: resealed("abcd"),
    }
}

#[test]
fn it_should_replace_the_sealed_key_in_force() {
    given(vec![registered(), agent_configured()])
        .when(reseal())
        .then_expect_events(vec![BusinessEvent::AgentKeyResealed {
            api_key: resealed("abcd"),
        }]);
}

#[test]
fn it_should_keep_the_agent_settings_and_its_on_off_switch_when_resealed() {
    let business = state_after(vec![
        registered(),
        agent_configured(),
        BusinessEvent::AgentDisabled,
        BusinessEvent::AgentKeyResealed {
            api_key: resealed("abcd"),
        },
    ]);

    let agent = business.agent.expect("the agent stays configured");
    assert_eq!(agent.api_key, resealed("abcd"));
    assert_eq!(agent.model, "gpt-realtime");
    assert!(!agent.enabled, "a reseal does not turn the agent on");
}

#[test]
fn it_should_record_nothing_when_the_key_was_resealed_already() {
    given(vec![
        registered(),
        agent_configured(),
        BusinessEvent::AgentKeyResealed {
            api_key: resealed("abcd"),
        },
    ])
    .when(reseal())
    .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_when_the_owner_set_another_key_meanwhile() {
    let new_key = BusinessEvent::AgentConfigured {
        model: "gpt-realtime".into(),
        voice: "marin".into(),
        instructions: "Take a message for Joe.".into(),
        api_key: sealed_key("wxyz"),
    };

    given(vec![registered(), agent_configured(), new_key])
        .when(reseal())
        .then_expect_events(vec![]);
}

#[test]
fn it_should_record_nothing_without_an_agent() {
    given(vec![registered()])
        .when(reseal())
        .then_expect_events(vec![]);
}

#[test]
fn it_should_keep_the_last_four_characters_of_the_key_in_force() {
    given(vec![registered(), agent_configured()])
        .when(BusinessCommand::ResealAgentKey {
            replaces: sealed_key("abcd"),
            api_key: resealed("zzzz"),
        })
        .then_expect_events(vec![BusinessEvent::AgentKeyResealed {
            api_key: SealedSecret {
                last_four: "abcd".into(),
                ..resealed("zzzz")
            },
        }]);
}

#[test]
fn it_should_reseal_the_key_of_a_deactivated_business() {
    given(vec![registered(), agent_configured(), deactivated()])
        .when(reseal())
        .then_expect_events(vec![BusinessEvent::AgentKeyResealed {
            api_key: resealed("abcd"),
        }]);
}

#[test]
fn it_should_reject_a_reseal_for_an_unregistered_business() {
    given_nothing()
        .when(reseal())
        .then_expect_error(BusinessError::NotFound);
}
