//! Sessions: short-lived JWT access tokens (HS256 under `JWT_SECRET`) and long-lived opaque
//! refresh tokens that rotate on every use. Only a refresh token's SHA-256 is stored; reusing an
//! already-used one revokes its whole family, so a stolen token dies with its first misuse.
//!
//! Every access token names the secret that signed it in its `kid` header (a short id derived
//! from the secret, never the secret), so `JWT_SECRET` can be rotated without signing anyone
//! out: the new secret signs, retired ones (`JWT_SECRETS_RETIRED`) still verify what they signed
//! until it expires. Refresh tokens are random and only their hash is stored, so no secret
//! touches them: they survive a rotation as they are.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::accounts::Role;

/// How long an access token is valid.
pub const ACCESS_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a refresh token is valid.
pub const REFRESH_TTL: Duration = Duration::from_secs(30 * 24 * 3600);
/// A refresh token presented again this soon after it was used gets a new pair of the same
/// session instead of revoking it: a browser whose requests renewed at the same moment on two
/// nodes (each node shares renewals only among its own requests) is not signed out. Later, a
/// second use means the token was copied, and the whole session is revoked.
pub const REUSE_GRACE: Duration = Duration::from_secs(5);
/// Separates the ids of JWT secrets from other hashes of the same secret.
const KEY_ID_CONTEXT: &[u8] = b"callassist/tokens/key-id/v1\0";

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// Their role.
    pub role: Role,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

/// A token was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Malformed, badly signed or expired.
    #[error("the token is invalid or expired")]
    Invalid,
    /// A refresh token used a second time: its family is now revoked.
    #[error("the refresh token was already used; every session of it is revoked")]
    Reused,
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// A fresh pair.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    /// The JWT to send as `Authorization: Bearer …`.
    pub access_token: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// The opaque token that gets the next pair.
    pub refresh_token: String,
}

/// A secret that signs or verifies access tokens, with its id.
#[derive(Clone)]
struct SigningKey {
    id: String,
    secret: SecretString,
}

impl SigningKey {
    fn new(secret: SecretString) -> Self {
        Self {
            id: key_id(secret.expose_secret().as_bytes()),
            secret,
        }
    }
}

/// Issues and checks tokens.
#[derive(Clone)]
pub struct Tokens {
    current: SigningKey,
    retired: Vec<SigningKey>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("current_key", &self.current.id)
            .field(
                "retired_keys",
                &self.retired.iter().map(|key| &key.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The `kid` of access tokens signed with `secret`: 8 hex digits of a hash of it (not the
/// secret itself).
pub fn key_id(secret: &[u8]) -> String {
    let digest = Sha256::new()
        .chain_update(KEY_ID_CONTEXT)
        .chain_update(secret)
        .finalize();
    hex::encode(&digest[..4])
}

fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Tokens {
    /// Tokens signed with `secret` (`JWT_SECRET`).
    pub fn new(secret: SecretString) -> Self {
        Self {
            current: SigningKey::new(secret),
            retired: Vec::new(),
        }
    }

    /// Also accepts access tokens that `retired` secrets (`JWT_SECRETS_RETIRED`) signed.
    pub fn with_retired(mut self, retired: impl IntoIterator<Item = SecretString>) -> Self {
        self.retired = retired
            .into_iter()
            .map(SigningKey::new)
            .filter(|key| key.id != self.current.id)
            .collect();
        self
    }

    /// The `kid` of the tokens issued now.
    pub fn current_key_id(&self) -> &str {
        &self.current.id
    }

    /// An access token for `user`.
    pub fn access_token(&self, user: Uuid, role: Role) -> Result<String, TokenError> {
        let now = Utc::now().timestamp();
        let ttl = i64::try_from(ACCESS_TTL.as_secs()).unwrap_or(i64::MAX);
        let claims = Claims {
            sub: user,
            role,
            iat: now,
            exp: now.saturating_add(ttl),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.id.clone());
        encode(
            &header,
            &claims,
            &EncodingKey::from_secret(self.current.secret.expose_secret().as_bytes()),
        )
        .map_err(|_| TokenError::Invalid)
    }

    /// The claims of a valid, unexpired access token, checked with the secret its `kid` names
    /// (the current one or a retired one; an unknown `kid` is refused). A token without `kid`
    /// (issued before tokens carried one) is checked with the current secret.
    pub fn verify_access(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        let candidates: Vec<&SigningKey> = match header.kid.as_deref() {
            None => vec![&self.current],
            Some(kid) => std::iter::once(&self.current)
                .chain(&self.retired)
                .filter(|key| key.id == kid)
                .collect(),
        };
        // Two secrets sharing an id (a 1 in 4 billion chance) are both tried.
        candidates
            .into_iter()
            .find_map(|key| {
                decode::<Claims>(
                    token,
                    &DecodingKey::from_secret(key.secret.expose_secret().as_bytes()),
                    &validation,
                )
                .ok()
            })
            .map(|data| data.claims)
            .ok_or(TokenError::Invalid)
    }

    /// A new session for `user`: an access token and the first refresh token of a new family.
    pub async fn start_session(
        &self,
        pool: &PgPool,
        user: Uuid,
        role: Role,
    ) -> Result<TokenPair, TokenError> {
        let mut connection = pool.acquire().await?;
        let refresh_token = self
            .store_refresh(&mut connection, user, Uuid::new_v4())
            .await?;
        Ok(TokenPair {
            access_token: self.access_token(user, role)?,
            expires_in: ACCESS_TTL.as_secs(),
            refresh_token,
        })
    }

    async fn store_refresh(
        &self,
        connection: &mut sqlx::PgConnection,
        user: Uuid,
        family: Uuid,
    ) -> Result<String, TokenError> {
        let token =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        let ttl =
            chrono::Duration::from_std(REFRESH_TTL).unwrap_or_else(|_| chrono::Duration::days(30));
        sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(refresh_hash(&token))
            .bind(family)
            .bind(user)
            .bind(Utc::now() + ttl)
            .execute(&mut *connection)
            .await?;
        Ok(token)
    }

    /// Uses a refresh token: the next pair of its family. A token used more than
    /// [`REUSE_GRACE`] ago revokes the family; an expired, revoked or unknown one is invalid; a
    /// deactivated user gets nothing.
    pub async fn refresh(&self, pool: &PgPool, token: &str) -> Result<TokenPair, TokenError> {
        let mut tx = pool.begin().await?;
        let row: Option<(Uuid, Uuid, bool, bool, bool, bool, String)> = sqlx::query_as(
            "SELECT t.family_id, t.user_id, t.used_at IS NOT NULL, \
                    t.used_at IS NOT NULL AND t.used_at > now() - make_interval(secs => $2), \
                    t.revoked_at IS NOT NULL OR t.expires_at < now(), u.active, u.role \
               FROM refresh_tokens t JOIN users u USING (user_id) WHERE t.token_hash = $1 FOR UPDATE OF t",
        )
        .bind(refresh_hash(token))
        .bind(REUSE_GRACE.as_secs_f64())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, user, used, just_used, dead, active, role)) = row else {
            return Err(TokenError::Invalid);
        };
        if used && !just_used {
            sqlx::query("UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL")
                .bind(family)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::warn!(%user, "a refresh token was used twice: its family is revoked");
            return Err(TokenError::Reused);
        }
        if dead || !active {
            return Err(TokenError::Invalid);
        }
        if just_used {
            // Two requests of one browser renewed at once, on two nodes: both get a session.
            tracing::info!(%user, "a refresh token was presented again within the grace period");
        } else {
            sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
                .bind(refresh_hash(token))
                .execute(&mut *tx)
                .await?;
        }
        // The next token is stored in the same transaction: a failure keeps the old one usable.
        let refresh_token = self.store_refresh(&mut tx, user, family).await?;
        tx.commit().await?;
        let role = Role::parse(&role);
        Ok(TokenPair {
            access_token: self.access_token(user, role)?,
            expires_in: ACCESS_TTL.as_secs(),
            refresh_token,
        })
    }

    /// Ends the session a refresh token belongs to (its whole family).
    pub async fn end_session(&self, pool: &PgPool, token: &str) -> Result<(), TokenError> {
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family_id = \
             (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
        )
        .bind(refresh_hash(token))
        .execute(pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
