use base64::Engine;
use jsonwebtoken::{decode_header, encode, Algorithm, EncodingKey, Header};

use super::*;

const CURRENT: &str = "current-secret-current-secret-0001";
const OLD: &str = "old-secret-old-secret-old-secret-0002";
const STRANGER: &str = "someone-elses-secret-someone-else-03";

fn tokens(secret: &str) -> Tokens {
    Tokens::new(SecretString::from(secret.to_owned()))
}

fn rotated() -> Tokens {
    tokens(CURRENT).with_retired([SecretString::from(OLD.to_owned())])
}

fn user() -> Uuid {
    Uuid::from_u128(42)
}

/// An access token as issued before tokens carried a key id.
fn token_without_kid(secret: &str) -> String {
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: user(),
        role: Role::BusinessOwner,
        iat: now,
        exp: now + 600,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[test]
fn it_should_name_the_signing_secret_in_every_access_token_without_revealing_it() {
    let tokens = tokens(CURRENT);

    let token = tokens.access_token(user(), Role::Admin).unwrap();

    let kid = decode_header(&token).unwrap().kid.unwrap();
    assert_eq!(kid, key_id(CURRENT.as_bytes()));
    assert_eq!(kid, tokens.current_key_id());
    assert_eq!(kid.len(), 8);
    assert!(kid.bytes().all(|b| b.is_ascii_hexdigit()), "{kid}");
    assert!(!CURRENT.contains(&kid));
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(CURRENT);
    assert!(!token.contains(CURRENT) && !token.contains(&encoded));
    assert_ne!(key_id(CURRENT.as_bytes()), key_id(OLD.as_bytes()));
}

#[test]
fn it_should_accept_a_token_signed_with_a_retired_secret() {
    let before = tokens(OLD).access_token(user(), Role::Admin).unwrap();

    let claims = rotated().verify_access(&before).unwrap();

    assert_eq!(claims.sub, user());
    assert_eq!(claims.role, Role::Admin);
    assert!(
        tokens(CURRENT).verify_access(&before).is_err(),
        "refused once the old secret is no longer listed"
    );
}

#[test]
fn it_should_sign_new_tokens_with_the_current_secret_only() {
    let token = rotated().access_token(user(), Role::Admin).unwrap();

    assert_eq!(
        decode_header(&token).unwrap().kid.as_deref(),
        Some(key_id(CURRENT.as_bytes()).as_str())
    );
    assert!(tokens(CURRENT).verify_access(&token).is_ok());
    assert!(tokens(OLD).verify_access(&token).is_err());
}

#[test]
fn it_should_refuse_a_token_signed_with_an_unknown_secret() {
    let foreign = tokens(STRANGER).access_token(user(), Role::Admin).unwrap();

    assert!(matches!(
        rotated().verify_access(&foreign),
        Err(TokenError::Invalid)
    ));
}

#[test]
fn it_should_refuse_a_token_that_claims_a_known_kid_with_another_secret() {
    let now = Utc::now().timestamp();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_id(OLD.as_bytes()));
    let claims = Claims {
        sub: user(),
        role: Role::Admin,
        iat: now,
        exp: now + 600,
    };
    let forged = encode(
        &header,
        &claims,
        &EncodingKey::from_secret(STRANGER.as_bytes()),
    )
    .unwrap();

    assert!(rotated().verify_access(&forged).is_err());
}

#[test]
fn it_should_check_a_token_without_kid_against_the_current_secret() {
    let legacy = token_without_kid(CURRENT);

    let claims = rotated().verify_access(&legacy).unwrap();

    assert_eq!(claims.sub, user());
    assert!(
        rotated().verify_access(&token_without_kid(OLD)).is_err(),
        "a token without kid is tried against the current secret only"
    );
}

#[test]
fn it_should_refuse_an_expired_token_whatever_secret_signed_it() {
    let now = Utc::now().timestamp();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key_id(OLD.as_bytes()));
    let claims = Claims {
        sub: user(),
        role: Role::Admin,
        iat: now - 3600,
        exp: now - 60,
    };
    let expired = encode(&header, &claims, &EncodingKey::from_secret(OLD.as_bytes())).unwrap();

    assert!(rotated().verify_access(&expired).is_err());
}

#[test]
fn it_should_show_key_ids_but_no_secret_in_debug_output() {
    let shown = format!("{:?}", rotated());

    assert!(shown.contains(&key_id(CURRENT.as_bytes())), "{shown}");
    assert!(shown.contains(&key_id(OLD.as_bytes())), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn it_should_ignore_a_retired_secret_that_is_the_current_one() {
    let tokens = tokens(CURRENT).with_retired([
        SecretString::from(CURRENT.to_owned()),
        SecretString::from(OLD.to_owned()),
    ]);

    assert_eq!(tokens.retired.len(), 1);
    assert_eq!(tokens.retired[0].id, key_id(OLD.as_bytes()));
}
