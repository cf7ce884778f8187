//! Encryption of API keys at rest (the businesses' OpenAI keys).
//!
//! An owner's key must be stored (the voice bridge needs it on every AI call) but must never be
//! readable from the event store, a backup or a read model. The [`Vault`] seals it with an AEAD
//! cipher (XChaCha20-Poly1305, random 24-byte nonce) under `ENCRYPTION_KEY`, and binds the
//! business id as associated data, so a sealed key copied onto another business does not open.
//!
//! Every sealed key names the key that sealed it (a short id derived from the key), so the
//! encryption key can be rotated: the new key seals, retired keys (`ENCRYPTION_KEYS_RETIRED`)
//! still open what they sealed until every business has set its key again.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use domain::business::SealedSecret;
use domain::values::BusinessId;
use secrecy::SecretString;
use sha2::{Digest, Sha256};

/// Length of the random nonce that precedes each ciphertext.
/// The key id of a sealed secret that stands for no key at all: the agent key `callassist demo
/// seed` gives the demo business, whose calls the built-in demo agent answers. The vault's own
/// key ids are 8 hex digits, so it never seals with this one.
pub const PLACEHOLDER_KEY_ID: &str = "demo";

/// Whether `sealed` is the [`PLACEHOLDER_KEY_ID`] placeholder rather than a sealed key.
pub fn is_placeholder(sealed: &SealedSecret) -> bool {
    sealed.key_id == PLACEHOLDER_KEY_ID
}

const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag that ends each ciphertext.
const TAG_LEN: usize = 16;
/// Separates key ids from other hashes of the same key.
const KEY_ID_CONTEXT: &[u8] = b"callassist/vault/key-id/v1\0";
/// Separates these ciphertexts from any other use of the same key.
const AAD_CONTEXT: &str = "callassist/openai-api-key/v1/";

/// A sealed secret that cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Sealed under a key this node does not hold (neither current nor retired).
    #[error("the secret was sealed with key '{0}', which is not configured")]
    UnknownKey(String),
    /// The ciphertext does not authenticate: changed, or sealed for another business.
    #[error("the sealed secret was tampered with or belongs to another business")]
    Tampered,
    /// Not something [`Vault::seal`] produces.
    #[error("the sealed secret is malformed: {0}")]
    Malformed(&'static str),
}

/// Seals and opens API keys with the current encryption key and any retired ones.
pub struct Vault {
    current: (String, XChaCha20Poly1305),
    retired: Vec<(String, XChaCha20Poly1305)>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("current_key", &self.current.0)
            .field(
                "retired_keys",
                &self.retired.iter().map(|(id, _)| id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Vault {
    /// A vault that seals with `current` and also opens what `retired` keys sealed.
    pub fn new<'k>(current: &[u8; 32], retired: impl IntoIterator<Item = &'k [u8; 32]>) -> Self {
        let current = (key_id(current), cipher(current));
        let retired = retired
            .into_iter()
            .filter(|key| key_id(key) != current.0)
            .map(|key| (key_id(key), cipher(key)))
            .collect();
        Self { current, retired }
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.current.0
    }

    /// Seals `plain` (an API key) for `business`.
    ///
    /// # Errors
    /// [`VaultError::Malformed`] only if the cipher refuses the input (longer than it can
    /// encrypt, which no API key is).
    pub fn seal(&self, business: BusinessId, plain: &str) -> Result<SealedSecret, VaultError> {
        self.seal_for(&associated_data(business), plain)
    }

    /// Opens what [`Vault::seal`] sealed for `business`.
    ///
    /// # Errors
    /// [`VaultError::UnknownKey`] when no configured key has the secret's key id,
    /// [`VaultError::Malformed`] when the ciphertext is not base64 of nonce and ciphertext,
    /// [`VaultError::Tampered`] when it does not authenticate (changed, or another business').
    pub fn open(
        &self,
        business: BusinessId,
        sealed: &SealedSecret,
    ) -> Result<SecretString, VaultError> {
        self.open_for(&associated_data(business), sealed)
    }

    /// Seals `plain` bound to `context` (associated data) instead of a business: for secrets
    /// of other things, e.g. `callassist/webhook-secret/v1/<endpoint id>`, so a sealed secret
    /// opens for nothing else. `context` must not start with the OpenAI keys' context.
    ///
    /// # Errors
    /// As [`Vault::seal`].
    pub fn seal_for(&self, context: &str, plain: &str) -> Result<SealedSecret, VaultError> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let sealed = self
            .current
            .1
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| VaultError::Malformed("the secret cannot be encrypted"))?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce_bytes);
        bytes.extend_from_slice(&sealed);
        Ok(SealedSecret {
            key_id: self.current.0.clone(),
            ciphertext: base64::engine::general_purpose::STANDARD.encode(bytes),
            last_four: last_four(plain),
        })
    }

    /// Opens what [`Vault::seal_for`] sealed for `context`.
    ///
    /// # Errors
    /// As [`Vault::open`]; [`VaultError::Tampered`] also when sealed for another context.
    pub fn open_for(
        &self,
        context: &str,
        sealed: &SealedSecret,
    ) -> Result<SecretString, VaultError> {
        let ciphers: Vec<&XChaCha20Poly1305> = std::iter::once(&self.current)
            .chain(&self.retired)
            .filter(|(id, _)| *id == sealed.key_id)
            .map(|(_, cipher)| cipher)
            .collect();
        if ciphers.is_empty() {
            return Err(VaultError::UnknownKey(sealed.key_id.clone()));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed.ciphertext.as_bytes())
            .map_err(|_| VaultError::Malformed("the ciphertext is not base64"))?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(VaultError::Malformed("the ciphertext is too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| VaultError::Malformed("bad nonce"))?;
        let plain = ciphers
            .into_iter()
            .find_map(|cipher| {
                cipher
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: ciphertext,
                            aad: context.as_bytes(),
                        },
                    )
                    .ok()
            })
            .ok_or(VaultError::Tampered)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| VaultError::Malformed("the secret is not UTF-8"))
    }
}

/// The id stored with each ciphertext: 8 hex digits of a hash of the key (not the key itself).
pub fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::new()
        .chain_update(KEY_ID_CONTEXT)
        .chain_update(key)
        .finalize();
    hex::encode(&digest[..4])
}

/// The last four characters of a secret, shown to its owner to tell keys apart.
pub fn last_four(plain: &str) -> String {
    let count = plain.chars().count();
    plain.chars().skip(count.saturating_sub(4)).collect()
}

fn cipher(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

fn associated_data(business: BusinessId) -> String {
    format!("{AAD_CONTEXT}{business}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use uuid::Uuid;

    const KEY: [u8; 32] = [7; 32];
    const OLD_KEY: [u8; 32] = [3; 32];
    const PLAIN: &str = "sk-proj-0123456789abcdefWXYZ";

    fn business(n: u128) -> BusinessId {
        BusinessId(Uuid::from_u128(n))
    }

    fn vault() -> Vault {
        Vault::new(&KEY, [])
    }

    #[test]
    fn it_should_open_what_it_sealed() {
        let vault = vault();
        let sealed = vault.seal(business(1), PLAIN).unwrap();
        assert_eq!(sealed.key_id, key_id(&KEY));
        assert!(!sealed.ciphertext.contains(PLAIN));
        let opened = vault.open(business(1), &sealed).unwrap();
        assert_eq!(opened.expose_secret(), PLAIN);
    }

    #[test]
    fn it_should_use_a_fresh_nonce_for_every_seal() {
        let vault = vault();
        let first = vault.seal(business(1), PLAIN).unwrap();
        let second = vault.seal(business(1), PLAIN).unwrap();
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn it_should_keep_the_last_four_characters() {
        let sealed = vault().seal(business(1), PLAIN).unwrap();
        assert_eq!(sealed.last_four, "WXYZ");
        assert_eq!(last_four("abc"), "abc");
        assert_eq!(last_four("clé-€uro"), "€uro");
    }

    #[test]
    fn it_should_not_open_a_key_sealed_for_another_business() {
        let vault = vault();
        let sealed = vault.seal(business(1), PLAIN).unwrap();
        assert_eq!(
            vault.open(business(2), &sealed).map(|_| ()),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn it_should_not_open_a_tampered_ciphertext() {
        let vault = vault();
        let mut sealed = vault.seal(business(1), PLAIN).unwrap();
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(&sealed.ciphertext)
            .unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        sealed.ciphertext = base64::engine::general_purpose::STANDARD.encode(bytes);
        assert_eq!(
            vault.open(business(1), &sealed).map(|_| ()),
            Err(VaultError::Tampered)
        );
    }

    #[test]
    fn it_should_call_a_ciphertext_that_is_not_one_malformed() {
        let vault = vault();
        let mut sealed = vault.seal(business(1), PLAIN).unwrap();
        sealed.ciphertext = "not base64!".into();
        assert!(matches!(
            vault.open(business(1), &sealed),
            Err(VaultError::Malformed(_))
        ));
        sealed.ciphertext = "AAAA".into();
        assert!(matches!(
            vault.open(business(1), &sealed),
            Err(VaultError::Malformed(_))
        ));
    }

    #[test]
    fn it_should_name_the_key_it_does_not_hold() {
        let sealed = Vault::new(&OLD_KEY, []).seal(business(1), PLAIN).unwrap();
        assert_eq!(
            vault().open(business(1), &sealed).map(|_| ()),
            Err(VaultError::UnknownKey(key_id(&OLD_KEY)))
        );
    }

    #[test]
    fn it_should_still_open_what_a_retired_key_sealed() {
        let sealed = Vault::new(&OLD_KEY, []).seal(business(1), PLAIN).unwrap();
        let rotated = Vault::new(&KEY, [&OLD_KEY]);
        let opened = rotated.open(business(1), &sealed).unwrap();
        assert_eq!(opened.expose_secret(), PLAIN);
        let resealed = rotated.seal(business(1), PLAIN).unwrap();
        assert_eq!(resealed.key_id, rotated.current_key_id());
        assert_ne!(resealed.key_id, sealed.key_id);
    }

    #[test]
    fn it_should_only_take_the_placeholder_for_one_and_never_seal_with_its_id() {
        let sealed = vault().seal(business(1), "sk-real").unwrap();
        let placeholder = SealedSecret {
            key_id: PLACEHOLDER_KEY_ID.into(),
            ciphertext: String::new(),
            last_four: "none".into(),
        };

        assert!(is_placeholder(&placeholder));
        assert!(!is_placeholder(&sealed));
        assert!(
            !(PLACEHOLDER_KEY_ID.len() == 8
                && PLACEHOLDER_KEY_ID.chars().all(|c| c.is_ascii_hexdigit())),
            "vault key ids are 8 hex digits: the placeholder must never look like one"
        );
        assert_eq!(key_id(&[0; 32]).len(), 8);
    }

    #[test]
    fn it_should_derive_short_stable_key_ids() {
        assert_eq!(key_id(&KEY), key_id(&KEY));
        assert_eq!(key_id(&KEY).len(), 8);
        assert_ne!(key_id(&KEY), key_id(&OLD_KEY));
    }

    #[test]
    fn it_should_not_show_keys_in_debug_output() {
        let shown = format!("{:?}", Vault::new(&KEY, [&OLD_KEY]));
        assert!(shown.contains(&key_id(&KEY)));
        assert!(!shown.contains("7, 7"));
    }
}
