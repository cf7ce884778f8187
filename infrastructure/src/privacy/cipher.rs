//! The two layers of keys: a data key per business, caller and day seals personal fields
//! (XChaCha20-Poly1305, random nonce, the field's place as associated data); `ENCRYPTION_KEY`
//! wraps the data keys for the key table, named by the same key ids as the [`Vault`]'s so that
//! rotating `ENCRYPTION_KEY` keeps old data keys readable.
//!
//! [`Vault`]: crate::vault::Vault

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::vault::key_id;

/// Length of the random nonce that precedes each ciphertext.
const NONCE_LEN: usize = 24;
/// Length of the Poly1305 tag that ends each ciphertext.
const TAG_LEN: usize = 16;
/// What a sealed field starts with; the format's version.
pub(super) const SEALED_PREFIX: &str = "pd1:";
/// Separates wrapped data keys from any other use of the encryption key.
const WRAP_CONTEXT: &str = "callassist/personal-data-key/v1/";

/// A sealed field or wrapped key that cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The ciphertext does not authenticate: changed, or moved from another field or call.
    #[error("the sealed value was tampered with or belongs elsewhere")]
    Tampered,
    /// Not something this module produces.
    #[error("the sealed value is malformed: {0}")]
    Malformed(&'static str),
    /// Wrapped with an encryption key this node does not hold (neither current nor retired).
    #[error("the data key was wrapped with encryption key '{0}', which is not configured")]
    UnknownKey(String),
}

/// One data key, unwrapped: seals and opens the personal fields of the calls that use it.
pub struct DataKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish()
    }
}

impl DataKey {
    /// A data key from its id and its 32 bytes.
    pub(super) fn new(id: String, bytes: &[u8; 32]) -> Self {
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&(*bytes).into()),
        }
    }

    /// `pd1:<key id>:<base64(nonce ‖ ciphertext)>`.
    pub(super) fn seal(&self, aad: &str, plain: &[u8]) -> Result<String, CipherError> {
        let sealed = encrypt(&self.cipher, aad, plain)?;
        Ok(format!("{SEALED_PREFIX}{}:{sealed}", self.id))
    }

    /// Opens the base64 part of a sealed value (see [`split_sealed`]).
    pub(super) fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, CipherError> {
        decrypt(std::iter::once(&self.cipher), aad, sealed)
    }
}

/// The key id and the base64 ciphertext of a sealed value; `None` for anything else (a value
/// stored before encryption, passed through as it is).
pub(super) fn split_sealed(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(SEALED_PREFIX)?.split_once(':')
}

/// Wraps data keys with the current encryption key; unwraps with it or a retired one.
pub(super) struct KeyWrapper {
    current: (String, XChaCha20Poly1305),
    retired: Vec<(String, XChaCha20Poly1305)>,
}

impl KeyWrapper {
    pub(super) fn new<'k>(
        current: &[u8; 32],
        retired: impl IntoIterator<Item = &'k [u8; 32]>,
    ) -> Self {
        let current = (key_id(current), XChaCha20Poly1305::new(&(*current).into()));
        let retired = retired
            .into_iter()
            .filter(|key| key_id(key) != current.0)
            .map(|key| (key_id(key), XChaCha20Poly1305::new(&(*key).into())))
            .collect();
        Self { current, retired }
    }

    /// `<encryption key id>:<base64(nonce ‖ ciphertext)>` of data key `key_id`'s bytes.
    pub(super) fn wrap(&self, key_id: &str, bytes: &[u8; 32]) -> Result<String, CipherError> {
        let sealed = encrypt(&self.current.1, &wrap_aad(key_id), bytes)?;
        Ok(format!("{}:{sealed}", self.current.0))
    }

    /// The id of the encryption key that wraps.
    pub(super) fn current_id(&self) -> &str {
        &self.current.0
    }

    /// The data key `key_id` that [`KeyWrapper::wrap`] wrapped as `wrapped`.
    pub(super) fn unwrap(&self, key_id: &str, wrapped: &str) -> Result<DataKey, CipherError> {
        let bytes = self.unwrap_bytes(key_id, wrapped)?;
        Ok(DataKey::new(key_id.to_owned(), &bytes))
    }

    /// The bytes of data key `key_id`, wrapped as `wrapped`.
    pub(super) fn unwrap_bytes(
        &self,
        key_id: &str,
        wrapped: &str,
    ) -> Result<[u8; 32], CipherError> {
        let (wrapping_id, sealed) = wrapped
            .split_once(':')
            .ok_or(CipherError::Malformed("no encryption key id"))?;
        let ciphers: Vec<&XChaCha20Poly1305> = std::iter::once(&self.current)
            .chain(&self.retired)
            .filter(|(id, _)| id == wrapping_id)
            .map(|(_, cipher)| cipher)
            .collect();
        if ciphers.is_empty() {
            return Err(CipherError::UnknownKey(wrapping_id.to_owned()));
        }
        let plain = decrypt(ciphers.into_iter(), &wrap_aad(key_id), sealed)?;
        plain
            .try_into()
            .map_err(|_| CipherError::Malformed("a data key is 32 bytes"))
    }
}

fn wrap_aad(key_id: &str) -> String {
    format!("{WRAP_CONTEXT}{key_id}")
}

fn encrypt(cipher: &XChaCha20Poly1305, aad: &str, plain: &[u8]) -> Result<String, CipherError> {
    let nonce_bytes: [u8; NONCE_LEN] = rand::random();
    let nonce = XNonce::from(nonce_bytes);
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| CipherError::Malformed("the value cannot be encrypted"))?;
    let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
    bytes.extend_from_slice(&nonce_bytes);
    bytes.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn decrypt<'c>(
    ciphers: impl Iterator<Item = &'c XChaCha20Poly1305>,
    aad: &str,
    sealed: &str,
) -> Result<Vec<u8>, CipherError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(sealed.as_bytes())
        .map_err(|_| CipherError::Malformed("the ciphertext is not base64"))?;
    if bytes.len() < NONCE_LEN + TAG_LEN {
        return Err(CipherError::Malformed("the ciphertext is too short"));
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = XNonce::try_from(nonce).map_err(|_| CipherError::Malformed("bad nonce"))?;
    let mut ciphers = ciphers;
    ciphers
        .find_map(|cipher| {
            cipher
                .decrypt(
                    &nonce,
                    Payload {
                        msg: ciphertext,
                        aad: aad.as_bytes(),
                    },
                )
                .ok()
        })
        .ok_or(CipherError::Tampered)
}
