//! Standard Webhooks signatures: the per-endpoint secret (`whsec_<base64>`), and the
//! `webhook-signature` header, `v1,<base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
//! where the key is the secret's base64-decoded part.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (the spec asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// A secret that is not `whsec_<base64>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a webhook secret is whsec_ followed by base64")]
pub struct MalformedSecret;

/// A new random secret, as shown to the owner once: `whsec_<base64 of 32 random bytes>`.
pub fn new_secret() -> SecretString {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    SecretString::from(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// The `webhook-signature` header's value for message `id`, sent at `timestamp` (seconds since
/// the epoch) with `body`, signed with `secret`.
///
/// # Errors
/// [`MalformedSecret`] when the secret is not `whsec_<base64>`.
pub fn sign(
    secret: &SecretString,
    id: &str,
    timestamp: i64,
    body: &str,
) -> Result<String, MalformedSecret> {
    let encoded = secret
        .expose_secret()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(MalformedSecret)?;
    let key = STANDARD.decode(encoded).map_err(|_| MalformedSecret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| MalformedSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_sign_the_standard_webhooks_test_vector() {
        // The specification's reference libraries' test vector.
        let secret = SecretString::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let signature = sign(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn it_should_make_a_different_32_byte_secret_every_time() {
        let first = new_secret();
        let second = new_secret();
        assert_ne!(first.expose_secret(), second.expose_secret());
        let encoded = first.expose_secret().strip_prefix(SECRET_PREFIX).unwrap();
        assert_eq!(STANDARD.decode(encoded).unwrap().len(), SECRET_BYTES);
    }

    #[test]
    fn it_should_refuse_a_secret_without_its_prefix_or_not_base64() {
        for secret in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!"] {
            assert_eq!(
                sign(&SecretString::from(secret), "msg_1", 1, "{}"),
                Err(MalformedSecret)
            );
        }
    }
}
