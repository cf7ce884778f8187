use super::*;

fn sealed(key_id: &str, role: KeyRole, agent_keys: u64, personal_data_keys: u64) -> Sealed {
    Sealed {
        key_id: key_id.into(),
        role,
        agent_keys,
        webhook_secrets: 0,
        personal_data_keys,
    }
}

fn inventory(keys: Vec<Sealed>) -> Inventory {
    Inventory {
        current: "aaaa1111".into(),
        retired: vec!["bbbb2222".into()],
        keys,
    }
}

#[test]
fn it_should_tell_each_key_id_what_it_is_to_this_configuration() {
    let retired = ["bbbb2222".to_owned()];
    assert_eq!(role_of("aaaa1111", "aaaa1111", &retired), KeyRole::Current);
    assert_eq!(role_of("bbbb2222", "aaaa1111", &retired), KeyRole::Retired);
    assert_eq!(
        role_of("cccc3333", "aaaa1111", &retired),
        KeyRole::NotConfigured
    );
    assert_eq!(
        role_of("demo", "aaaa1111", &retired),
        KeyRole::DemoPlaceholder
    );
}

#[test]
fn it_should_say_the_retired_keys_can_go_when_nothing_needs_them() {
    let after = inventory(vec![
        sealed("aaaa1111", KeyRole::Current, 3, 7),
        sealed("bbbb2222", KeyRole::Retired, 0, 0),
        sealed("demo", KeyRole::DemoPlaceholder, 1, 0),
    ]);
    let report = ResealReport {
        agent_keys_resealed: 2,
        agent_keys_current: 2,
        ..ResealReport::default()
    };

    let text = render_reseal(&report, &after);

    assert!(after.still_needed().is_empty());
    assert!(
        text.starts_with("resealed under aaaa1111: 2 agent key(s), 0 webhook secret(s)"),
        "{text}"
    );
    assert!(text.contains("retired keys can be removed"), "{text}");
    assert!(!text.contains("still needed"), "{text}");
}

#[test]
fn it_should_name_the_keys_still_needed_and_those_missing() {
    let after = inventory(vec![
        sealed("aaaa1111", KeyRole::Current, 3, 0),
        sealed("bbbb2222", KeyRole::Retired, 0, 5),
        sealed("cccc3333", KeyRole::NotConfigured, 1, 0),
    ]);
    let report = ResealReport {
        failures: vec!["business 42: the secret was sealed with key 'cccc3333'".into()],
        ..ResealReport::default()
    };

    let text = render_reseal(&report, &after);

    assert!(text.contains("could not reseal business 42"), "{text}");
    assert!(
        text.contains("still needed: bbbb2222 (keep them in ENCRYPTION_KEYS_RETIRED)"),
        "{text}"
    );
    assert!(
        text.contains("configuration lacks: cccc3333 (add them to ENCRYPTION_KEYS_RETIRED"),
        "{text}"
    );
    assert!(
        text.contains("5 personal data key(s) are still wrapped under them"),
        "{text}"
    );
    assert!(!text.contains("can be removed"), "{text}");
}

#[test]
fn it_should_print_one_row_per_key_id() {
    let text = render_inventory(&inventory(vec![
        sealed("aaaa1111", KeyRole::Current, 3, 7),
        sealed("demo", KeyRole::DemoPlaceholder, 1, 0),
    ]));

    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["aaaa1111", "current", "3", "0", "7"],
            vec!["demo", "demo", "(no", "key)", "1", "0", "0"],
        ]
    );
}
