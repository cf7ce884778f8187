use std::collections::HashMap;

use secrecy::ExposeSecret;

use super::*;

const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // 32 bytes

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn complete() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/callassist",
        ),
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ("ENCRYPTION_KEY", KEY),
        ("TWILIO_ACCOUNT_SID", "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("TWILIO_AUTH_TOKEN", "twilio-auth-token-secret"),
    ]
}

#[test]
fn it_should_fill_defaults_around_the_required_settings() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    assert_eq!(settings.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(
        settings.public_base_url, None,
        "the bound address, known once bound"
    );
    assert_eq!(
        settings.webhook_store_timeout,
        std::time::Duration::from_secs(2)
    );
    assert_eq!(settings.twilio.api_base.as_str(), "https://api.twilio.com/");
    assert_eq!(
        settings.openai.realtime_url.as_str(),
        DEFAULT_OPENAI_REALTIME_URL
    );
    assert_eq!(settings.log_format, LogFormat::Text);
    assert_eq!(
        settings.encryption_key.expose_secret(),
        b"0123456789abcdef0123456789abcdef"
    );
    assert!(settings.amqp_url.is_none());
    assert!(settings.redis_url.is_none(), "login limits stay in memory");
}

#[test]
fn it_should_read_a_redis_or_rediss_url() {
    for url in [
        "redis://127.0.0.1:6379",
        "rediss://cache.example.com:6380/2",
    ] {
        let mut vars = complete();
        vars.push(("REDIS_URL", url));
        let settings = Settings::from_lookup(env(&vars)).unwrap();
        assert_eq!(
            settings.redis_url.as_ref().map(ExposeSecret::expose_secret),
            Some(url)
        );
    }
}

#[test]
fn it_should_prefix_redis_keys_with_callassist_unless_told_otherwise() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    assert_eq!(settings.redis_key_prefix, "callassist");

    let mut vars = complete();
    vars.push(("REDIS_KEY_PREFIX", "staging:callassist"));
    let settings = Settings::from_lookup(env(&vars)).unwrap();
    assert_eq!(settings.redis_key_prefix, "staging:callassist");

    for bad in ["with space", "a{b}", &"x".repeat(65)] {
        let mut vars = complete();
        vars.push(("REDIS_KEY_PREFIX", bad));
        let err = Settings::from_lookup(env(&vars)).unwrap_err();
        assert!(
            err.to_string().contains("REDIS_KEY_PREFIX"),
            "{bad:?}: {err}"
        );
    }
}

#[test]
fn it_should_name_every_missing_setting_at_once() {
    let err = Settings::from_lookup(env(&[])).unwrap_err();
    let text = err.to_string();
    for name in [
        "DATABASE_URL",
        "JWT_SECRET",
        "ENCRYPTION_KEY",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
    ] {
        assert!(text.contains(name), "{name} not named in: {text}");
    }
    assert_eq!(err.problems.len(), 5);
}

#[test]
fn it_should_name_every_malformed_setting() {
    let mut vars = complete();
    vars.extend([
        ("BIND", "localhost"),
        ("PUBLIC_BASE_URL", "ftp://example.com"),
        ("OPENAI_REALTIME_URL", "https://api.openai.com/v1/realtime"),
        ("LOG_FORMAT", "yaml"),
        ("AMQP_URL", "http://broker"),
        ("REDIS_URL", "http://cache"),
        ("WEBHOOK_STORE_TIMEOUT_MS", "0"),
    ]);
    vars.retain(|(k, _)| *k != "TWILIO_ACCOUNT_SID");
    vars.push(("TWILIO_ACCOUNT_SID", "AC123"));
    vars.retain(|(k, _)| *k != "JWT_SECRET");
    vars.push(("JWT_SECRET", "short"));
    vars.retain(|(k, _)| *k != "ENCRYPTION_KEY");
    vars.push(("ENCRYPTION_KEY", "c2hvcnQ="));
    let err = Settings::from_lookup(env(&vars)).unwrap_err();
    let text = err.to_string();
    for name in [
        "BIND",
        "PUBLIC_BASE_URL",
        "OPENAI_REALTIME_URL",
        "LOG_FORMAT",
        "AMQP_URL",
        "REDIS_URL",
        "TWILIO_ACCOUNT_SID",
        "JWT_SECRET",
        "ENCRYPTION_KEY",
        "WEBHOOK_STORE_TIMEOUT_MS",
    ] {
        assert!(text.contains(name), "{name} not named in: {text}");
    }
}

#[test]
fn it_should_reject_a_database_url_that_is_not_postgres() {
    let err = DatabaseSettings::from_lookup(env(&[("DATABASE_URL", "mysql://root@localhost/db")]))
        .unwrap_err();
    assert_eq!(
        err.problems,
        vec!["DATABASE_URL must be a postgres:// URL".to_owned()]
    );
    assert!(DatabaseSettings::from_lookup(env(&[("DATABASE_URL", "postgresql://u@h/db")])).is_ok());
}

#[test]
fn it_should_keep_secrets_out_of_debug_output() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    let debug = format!("{settings:?}");
    assert!(
        !debug.contains("0123456789abcdef0123456789abcdef"),
        "{debug}"
    );
    assert!(!debug.contains("postgres@127.0.0.1"), "{debug}");
    assert!(!debug.contains("twilio-auth-token-secret"), "{debug}");
}

#[test]
fn it_should_take_an_explicit_public_base_url() {
    let mut vars = complete();
    vars.push(("PUBLIC_BASE_URL", "https://calls.example.com"));
    let settings = Settings::from_lookup(env(&vars)).unwrap();
    assert_eq!(
        settings.public_base_url.unwrap().as_str(),
        "https://calls.example.com/"
    );
}

#[test]
fn it_should_read_the_bcrypt_cost_with_a_safe_default() {
    assert_eq!(bcrypt_cost_from_lookup(env(&[])).unwrap(), 12);
    assert_eq!(
        bcrypt_cost_from_lookup(env(&[("BCRYPT_COST", "10")])).unwrap(),
        10
    );
    for bad in ["3", "32", "twelve"] {
        let err = bcrypt_cost_from_lookup(env(&[("BCRYPT_COST", bad)])).unwrap_err();
        assert!(err.to_string().contains("BCRYPT_COST"), "{bad}");
    }
}

#[test]
fn it_should_default_the_login_limits_forwarded_for_and_cors_to_safe_values() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    assert_eq!(
        settings.login_limits,
        LoginLimitSettings {
            max_failures_per_account: 5,
            max_failures_per_address: 20,
            window: std::time::Duration::from_secs(900),
        }
    );
    assert!(!settings.trust_forwarded_for, "X-Forwarded-For is ignored");
    assert!(settings.cors_allowed_origins.is_empty(), "no CORS headers");
}

#[test]
fn it_should_read_the_login_limits_forwarded_for_and_cors_origins() {
    let mut vars = complete();
    vars.extend([
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "3"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "50"),
        ("LOGIN_FAILURE_WINDOW_SECS", "60"),
        ("TRUST_FORWARDED_FOR", "true"),
        (
            "CORS_ALLOWED_ORIGINS",
            " https://App.Example.com , http://localhost:3000/,https://app.example.com:443",
        ),
    ]);
    let settings = Settings::from_lookup(env(&vars)).unwrap();
    assert_eq!(settings.login_limits.max_failures_per_account, 3);
    assert_eq!(settings.login_limits.max_failures_per_address, 50);
    assert_eq!(
        settings.login_limits.window,
        std::time::Duration::from_secs(60)
    );
    assert!(settings.trust_forwarded_for);
    assert_eq!(
        settings.cors_allowed_origins,
        vec![
            "https://app.example.com".to_owned(),
            "http://localhost:3000".to_owned()
        ],
        "as browsers send Origin: lower-case host, no default port, no duplicates"
    );
}

#[test]
fn it_should_name_malformed_login_limits_forwarded_for_and_cors_origins() {
    let mut vars = complete();
    vars.extend([
        ("LOGIN_MAX_FAILURES_PER_ACCOUNT", "0"),
        ("LOGIN_MAX_FAILURES_PER_ADDRESS", "many"),
        ("LOGIN_FAILURE_WINDOW_SECS", "-1"),
        ("TRUST_FORWARDED_FOR", "maybe"),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://app.example.com,app.example.com",
        ),
    ]);
    let err = Settings::from_lookup(env(&vars)).unwrap_err();
    let text = err.to_string();
    for name in [
        "LOGIN_MAX_FAILURES_PER_ACCOUNT",
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        "LOGIN_FAILURE_WINDOW_SECS",
        "TRUST_FORWARDED_FOR",
        "CORS_ALLOWED_ORIGINS",
    ] {
        assert!(text.contains(name), "{name} not named in: {text}");
    }
    assert_eq!(err.problems.len(), 5, "{text}");
}

#[test]
fn it_should_accept_only_bare_http_origins_for_cors() {
    assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
    assert_eq!(parse_origins(" , ").unwrap(), Vec::<String>::new());
    for bad in [
        "*",
        "app.example.com",
        "ftp://app.example.com",
        "https://app.example.com/dashboard",
        "https://app.example.com/?a=1",
        "https://user:pw@app.example.com",
        "file:///etc/passwd",
    ] {
        let problem = parse_origins(bad).unwrap_err();
        assert!(problem.contains("CORS_ALLOWED_ORIGINS"), "{bad}: {problem}");
    }
}

#[test]
fn it_should_default_to_the_ga_realtime_interface_and_a_three_second_connect_timeout() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    assert_eq!(settings.openai.realtime_interface, Interface::Ga);
    assert_eq!(
        settings.openai.connect_timeout,
        std::time::Duration::from_millis(3_000)
    );
}

#[test]
fn it_should_read_the_realtime_interface_and_connect_timeout() {
    let mut vars = complete();
    vars.extend([
        ("OPENAI_REALTIME_INTERFACE", " Beta "),
        ("OPENAI_CONNECT_TIMEOUT_MS", "750"),
    ]);
    let settings = Settings::from_lookup(env(&vars)).unwrap();
    assert_eq!(settings.openai.realtime_interface, Interface::Beta);
    assert_eq!(
        settings.openai.connect_timeout,
        std::time::Duration::from_millis(750)
    );
}

#[test]
fn it_should_name_a_malformed_realtime_interface_or_connect_timeout() {
    for (name, bad) in [
        ("OPENAI_REALTIME_INTERFACE", "v2"),
        ("OPENAI_CONNECT_TIMEOUT_MS", "0"),
        ("OPENAI_CONNECT_TIMEOUT_MS", "3s"),
        ("OPENAI_CONNECT_TIMEOUT_MS", "600000"),
    ] {
        let mut vars = complete();
        vars.push((name, bad));
        let err = Settings::from_lookup(env(&vars)).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{name}={bad}: {err}");
        assert!(err.problems[0].contains(name), "{name}={bad}: {err}");
    }
}

#[test]
fn it_should_ask_gpt_4o_mini_for_summaries_unless_told_otherwise() {
    let default = Settings::from_lookup(env(&complete())).unwrap();
    let mut vars = complete();
    vars.push(("OPENAI_SUMMARY_MODEL", " gpt-4.1-mini "));
    let chosen = Settings::from_lookup(env(&vars)).unwrap();

    assert_eq!(default.openai.summary_model, "gpt-4o-mini");
    assert_eq!(chosen.openai.summary_model, "gpt-4.1-mini");
}

#[test]
fn it_should_name_a_malformed_summary_model() {
    let mut vars = complete();
    vars.push(("OPENAI_SUMMARY_MODEL", "gpt 4o mini"));

    let err = Settings::from_lookup(env(&vars)).unwrap_err();

    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(err.problems[0].contains("OPENAI_SUMMARY_MODEL"), "{err}");
}

#[test]
fn it_should_limit_ai_sessions_to_a_minute_under_the_realtime_maximum_by_default() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();

    assert_eq!(settings.voice.session_max, Duration::from_secs(59 * 60));
    assert_eq!(settings.voice.wrap_up_lead, Duration::from_secs(60));
}

#[test]
fn it_should_read_the_ai_session_limits() {
    let mut vars = complete();
    vars.extend([
        ("AI_SESSION_MAX_SECS", "600"),
        ("AI_SESSION_WRAP_UP_SECS", "30"),
    ]);

    let settings = Settings::from_lookup(env(&vars)).unwrap();

    assert_eq!(settings.voice.session_max, Duration::from_secs(600));
    assert_eq!(settings.voice.wrap_up_lead, Duration::from_secs(30));
}

#[test]
fn it_should_name_malformed_ai_session_limits() {
    for (pairs, named) in [
        (vec![("AI_SESSION_MAX_SECS", "0")], "AI_SESSION_MAX_SECS"),
        (vec![("AI_SESSION_MAX_SECS", "7200")], "AI_SESSION_MAX_SECS"),
        (
            vec![("AI_SESSION_WRAP_UP_SECS", "soon")],
            "AI_SESSION_WRAP_UP_SECS",
        ),
        (
            vec![
                ("AI_SESSION_MAX_SECS", "30"),
                ("AI_SESSION_WRAP_UP_SECS", "30"),
            ],
            "AI_SESSION_WRAP_UP_SECS",
        ),
    ] {
        let mut vars = complete();
        vars.extend(pairs.iter().copied());
        let err = Settings::from_lookup(env(&vars)).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{pairs:?}: {err}");
        assert!(err.problems[0].contains(named), "{pairs:?}: {err}");
    }
}

#[test]
fn it_should_shorten_the_default_wrap_up_for_a_short_session_limit() {
    let mut vars = complete();
    vars.push(("AI_SESSION_MAX_SECS", "20"));

    let settings = Settings::from_lookup(env(&vars)).unwrap();

    assert_eq!(settings.voice.wrap_up_lead, Duration::from_secs(19));
}

#[test]
fn it_should_read_retired_jwt_secrets_and_none_by_default() {
    let settings = Settings::from_lookup(env(&complete())).unwrap();
    assert!(settings.retired_jwt_secrets.is_empty());

    let mut vars = complete();
    vars.push((
        "JWT_SECRETS_RETIRED",
        "old-secret-old-secret-old-secret-0001 , ,older-secret-older-secret-older-0002",
    ));
    let settings = Settings::from_lookup(env(&vars)).unwrap();

    let retired: Vec<&str> = settings
        .retired_jwt_secrets
        .iter()
        .map(ExposeSecret::expose_secret)
        .collect();
    assert_eq!(
        retired,
        [
            "old-secret-old-secret-old-secret-0001",
            "older-secret-older-secret-older-0002"
        ]
    );
    assert!(!format!("{settings:?}").contains("old-secret"));
}

#[test]
fn it_should_refuse_a_retired_jwt_secret_shorter_than_32_bytes() {
    let mut vars = complete();
    vars.push((
        "JWT_SECRETS_RETIRED",
        "old-secret-old-secret-old-secret-0001,short",
    ));

    let err = Settings::from_lookup(env(&vars)).unwrap_err();

    assert_eq!(
        err.problems,
        ["JWT_SECRETS_RETIRED must be comma-separated secrets of at least 32 bytes each"]
    );
    assert!(
        !err.to_string().contains("old-secret"),
        "no secret is repeated"
    );
}

#[test]
fn it_should_read_the_encryption_keys_alone_for_the_keys_command() {
    let old = "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="; // 32 bytes of '1'
    let keys = EncryptionKeys::from_lookup(env(&[
        ("ENCRYPTION_KEY", KEY),
        ("ENCRYPTION_KEYS_RETIRED", old),
    ]))
    .unwrap();
    assert_eq!(
        keys.current.expose_secret(),
        b"0123456789abcdef0123456789abcdef"
    );
    assert_eq!(keys.retired.len(), 1);
    assert_eq!(keys.retired[0].expose_secret(), &[b'1'; 32]);

    let err =
        EncryptionKeys::from_lookup(env(&[("ENCRYPTION_KEYS_RETIRED", "c2hvcnQ=")])).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("ENCRYPTION_KEY is missing"), "{text}");
    assert!(text.contains("ENCRYPTION_KEYS_RETIRED must be"), "{text}");
}

#[test]
fn it_should_read_smtp_settings_only_as_a_pair() {
    let mut vars = complete();
    vars.push(("SMTP_URL", "smtp://mail.example.com:587?tls=required"));
    vars.push(("SMTP_FROM", "Call Assistant <calls@example.com>"));
    let settings = Settings::from_lookup(env(&vars)).unwrap();
    let smtp = settings.smtp.unwrap();
    assert_eq!(
        smtp.url.expose_secret(),
        "smtp://mail.example.com:587?tls=required"
    );
    assert_eq!(smtp.from, "Call Assistant <calls@example.com>");
    assert!(Settings::from_lookup(env(&complete()))
        .unwrap()
        .smtp
        .is_none());

    let mut half = complete();
    half.push(("SMTP_URL", "smtps://mail.example.com"));
    let problems = Settings::from_lookup(env(&half)).unwrap_err().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("SMTP_FROM is required")),
        "{problems:?}"
    );

    let mut wrong = complete();
    wrong.push(("SMTP_URL", "http://mail.example.com"));
    wrong.push(("SMTP_FROM", "nobody"));
    let problems = Settings::from_lookup(env(&wrong)).unwrap_err().problems;
    assert!(
        problems.iter().any(|p| p.starts_with("SMTP_URL must be")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.starts_with("SMTP_FROM must be")),
        "{problems:?}"
    );
}
