//! Sessions: short-lived JWT access tokens (HS256 under `JWT_SECRET`) and long-lived opaque
//! refresh tokens that rotate on every use. Only a refresh token's SHA-256 is stored; reusing an
//! already-used one revokes its whole family, so a stolen token dies with its first misuse.

use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
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

/// Issues and checks tokens.
#[derive(Clone)]
pub struct Tokens {
    secret: SecretString,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens")
    }
}

fn refresh_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

impl Tokens {
    /// Tokens signed with `secret` (`JWT_SECRET`).
    pub fn new(secret: SecretString) -> Self {
        Self { secret }
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
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(self.secret.expose_secret().as_bytes()),
        )
        .map_err(|_| TokenError::Invalid)
    }

    /// The claims of a valid, unexpired access token.
    pub fn verify_access(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        decode::<Claims>(
            token,
            &DecodingKey::from_secret(self.secret.expose_secret().as_bytes()),
            &validation,
        )
        .map(|data| data.claims)
        .map_err(|_| TokenError::Invalid)
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

    /// Uses a refresh token: the next pair of its family. A token already used revokes the
    /// family; an expired, revoked or unknown one is invalid; a deactivated user gets nothing.
    pub async fn refresh(&self, pool: &PgPool, token: &str) -> Result<TokenPair, TokenError> {
        let mut tx = pool.begin().await?;
        let row: Option<(Uuid, Uuid, bool, bool, bool, String)> = sqlx::query_as(
            "SELECT t.family_id, t.user_id, t.used_at IS NOT NULL, t.revoked_at IS NOT NULL OR t.expires_at < now(), \
                    u.active, u.role \
               FROM refresh_tokens t JOIN users u USING (user_id) WHERE t.token_hash = $1 FOR UPDATE OF t",
        )
        .bind(refresh_hash(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((family, user, used, dead, active, role)) = row else {
            return Err(TokenError::Invalid);
        };
        if used {
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
        sqlx::query("UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1")
            .bind(refresh_hash(token))
            .execute(&mut *tx)
            .await?;
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
