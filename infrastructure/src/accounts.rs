//! Accounts: who may sign in, with which role. Not part of the call domain, so a plain table
//! (`users`) rather than an aggregate; every change to a user is still recorded in
//! `user_changes` with the actor who made it.
//!
//! Passwords are hashed with bcrypt (cost from `BCRYPT_COST`, 12 by default) on a blocking
//! thread, never on the async workers; emails are normalised (trimmed, lower-case) so one person
//! has one account.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

/// bcrypt cost when `BCRYPT_COST` is not set.
pub const DEFAULT_BCRYPT_COST: u32 = 12;
const PASSWORD_MIN: usize = 10;
const PASSWORD_MAX: usize = 72; // bcrypt reads at most 72 bytes
const NAME_MAX: usize = 100;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and manages everything.
    Admin,
    /// Sees and manages their own businesses.
    BusinessOwner,
}

impl Role {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::BusinessOwner => "business_owner",
        }
    }

    /// Reads a stored value (the table allows only these two).
    pub fn parse(stored: &str) -> Self {
        if stored == "admin" {
            Self::Admin
        } else {
            Self::BusinessOwner
        }
    }
}

/// An account could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// Not an email address.
    #[error("'{0}' is not an email address")]
    BadEmail(String),
    /// The password breaks a rule; the message says which.
    #[error("{0}")]
    WeakPassword(&'static str),
    /// A name is empty or too long.
    #[error("{0} must be 1 to {NAME_MAX} characters")]
    BadName(&'static str),
    /// Another account has this email.
    #[error("an account with this email already exists")]
    EmailTaken,
    /// Hashing failed (a bug or an impossible cost).
    #[error("password hashing failed")]
    Hashing(#[source] bcrypt::BcryptError),
    /// The database failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// An email address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    /// Normalises and checks the shape `local@domain.tld` (no spaces, one `@`).
    pub fn parse(raw: &str) -> Result<Self, AccountError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(char::is_whitespace)
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.contains('@') && domain.contains('.')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Self(email))
        } else {
            Err(AccountError::BadEmail(raw.trim().to_owned()))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks the password rules: 10 to 72 characters, not only one repeated character, not the
/// email itself.
pub fn check_password(password: &str, email: &Email) -> Result<(), AccountError> {
    if password.chars().count() < PASSWORD_MIN {
        return Err(AccountError::WeakPassword(
            "the password must have at least 10 characters",
        ));
    }
    if password.len() > PASSWORD_MAX {
        return Err(AccountError::WeakPassword(
            "the password must have at most 72 bytes",
        ));
    }
    let mut chars = password.chars();
    let first = chars.next();
    if chars.all(|c| Some(c) == first) {
        return Err(AccountError::WeakPassword(
            "the password must not repeat one character",
        ));
    }
    if password.to_lowercase() == email.as_str() {
        return Err(AccountError::WeakPassword(
            "the password must not be the email address",
        ));
    }
    Ok(())
}

fn bounded_name(field: &'static str, raw: &str) -> Result<String, AccountError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        Err(AccountError::BadName(field))
    } else {
        Ok(name.to_owned())
    }
}

/// Hashes a password with bcrypt at `cost`, on a blocking thread.
pub async fn hash_password(password: &str, cost: u32) -> Result<String, AccountError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(|_| AccountError::Hashing(bcrypt::BcryptError::CostNotAllowed(cost)))?
        .map_err(AccountError::Hashing)
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Email (normalised on the way in).
    pub email: String,
    /// Password in clear (only hashed).
    pub password: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// Role.
    pub role: Role,
}

/// Creates an account and records its creation, in one transaction; `actor` is who did it
/// (`cli`, `user:<uuid>`, `self-registration`).
pub async fn create_user(
    pool: &PgPool,
    new: NewUser,
    actor: &str,
    bcrypt_cost: u32,
) -> Result<Uuid, AccountError> {
    let email = Email::parse(&new.email)?;
    check_password(&new.password, &email)?;
    let first_name = bounded_name("first name", &new.first_name)?;
    let last_name = bounded_name("last name", &new.last_name)?;
    let password_hash = hash_password(&new.password, bcrypt_cost).await?;
    let user_id = Uuid::new_v4();
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO users (user_id, email, password_hash, first_name, last_name, role) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (email) DO NOTHING",
    )
    .bind(user_id)
    .bind(email.as_str())
    .bind(&password_hash)
    .bind(&first_name)
    .bind(&last_name)
    .bind(new.role.as_str())
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(AccountError::EmailTaken);
    }
    sqlx::query(
        "INSERT INTO user_changes (user_id, change, actor, details) VALUES ($1, 'created', $2, $3)",
    )
    .bind(user_id)
    .bind(actor)
    .bind(json!({ "email": email.as_str(), "role": new.role.as_str() }))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Whether `password` is the account's password (constant-time inside bcrypt); `None` when no
/// active account has this email. An unknown email costs a bcrypt verification at
/// [`DEFAULT_BCRYPT_COST`] all the same; see [`verify_login`].
pub async fn verify_password(
    pool: &PgPool,
    email: &str,
    password: &str,
) -> Result<Option<Uuid>, AccountError> {
    verify_login(pool, email, password, DEFAULT_BCRYPT_COST).await
}

/// Salt and digest of a bcrypt hash no password is known to match; [`verify_login`] checks
/// unknown emails against it so they take as long as known ones.
const DUMMY_SALT_AND_DIGEST: &str = "4stgknFFO0IDs6MZ.7fXuekEtosUiQceAQnSTUFVuUYZ/UqvpAPma";

/// A bcrypt hash at `cost` that no password matches (the cost is read from the hash, so
/// verifying against it costs what verifying a real hash of that cost does).
fn dummy_hash(cost: u32) -> String {
    format!("$2b${:02}${DUMMY_SALT_AND_DIGEST}", cost.clamp(4, 31))
}

/// As [`verify_password`], for the login endpoint: when no active account has this email the
/// password is still verified, against a dummy hash of `bcrypt_cost` (the cost new hashes are
/// made with), so the time an answer takes does not tell which emails have accounts.
pub async fn verify_login(
    pool: &PgPool,
    email: &str,
    password: &str,
    bcrypt_cost: u32,
) -> Result<Option<Uuid>, AccountError> {
    // A malformed email has no account, whatever the timing says: nothing to hide.
    let Ok(email) = Email::parse(email) else {
        return Ok(None);
    };
    let row: Option<(Uuid, String)> =
        sqlx::query_as("SELECT user_id, password_hash FROM users WHERE email = $1 AND active")
            .bind(email.as_str())
            .fetch_optional(pool)
            .await?;
    let (user_id, hash) = match row {
        Some((user_id, hash)) => (Some(user_id), hash),
        None => (None, dummy_hash(bcrypt_cost)),
    };
    let password = password.to_owned();
    let matches = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
        .await
        .map_err(|_| AccountError::Hashing(bcrypt::BcryptError::CostNotAllowed(0)))?
        .map_err(AccountError::Hashing)?;
    Ok(user_id.filter(|_| matches))
}

/// A user as `/me` shows them (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Profile {
    /// Id.
    pub user_id: Uuid,
    /// Email.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `admin` or `business_owner`.
    pub role: String,
}

/// The profile of an active user.
pub async fn profile(pool: &PgPool, user_id: Uuid) -> Result<Option<Profile>, AccountError> {
    Ok(sqlx::query_as("SELECT user_id, email, first_name, last_name, role FROM users WHERE user_id = $1 AND active")
        .bind(user_id)
        .fetch_optional(pool)
        .await?)
}

/// An account as the admin's users page lists it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UserSummary {
    /// Id.
    pub user_id: Uuid,
    /// Email.
    pub email: String,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// `admin` or `business_owner`.
    pub role: String,
    /// Whether they may sign in.
    pub active: bool,
    /// When the account was created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Every account, active or not, by email (read-only).
pub async fn list_users(pool: &PgPool) -> Result<Vec<UserSummary>, AccountError> {
    Ok(sqlx::query_as(
        "SELECT user_id, email, first_name, last_name, role, active, created_at FROM users ORDER BY email",
    )
    .fetch_all(pool)
    .await?)
}

/// The role of a user.
pub async fn role_of(pool: &PgPool, user_id: Uuid) -> Result<Role, AccountError> {
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(pool)
        .await?;
    Ok(Role::parse(&role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_normalise_emails_and_reject_malformed_ones() {
        assert_eq!(
            Email::parse("  Ann.Smith@Example.COM ").unwrap().as_str(),
            "ann.smith@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann smith@example.com",
            "a@b@c.com",
            "ann@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn it_should_enforce_the_password_rules() {
        let email = Email::parse("ann@example.com").unwrap();
        assert!(check_password("correct horse battery", &email).is_ok());
        assert!(check_password("short", &email).is_err());
        assert!(check_password("aaaaaaaaaaaa", &email).is_err());
        assert!(check_password("Ann@Example.com", &email).is_err());
        assert!(
            check_password(&"x1".repeat(40), &email).is_err(),
            "over 72 bytes"
        );
    }

    #[test]
    fn it_should_make_a_dummy_hash_that_costs_a_real_verification_and_matches_nothing() {
        for cost in [4, 12] {
            let dummy = dummy_hash(cost);
            assert!(dummy.starts_with(&format!("$2b${cost:02}$")), "{dummy}");
            let parts: bcrypt::HashParts = dummy.parse().unwrap();
            assert_eq!(parts.get_cost(), cost);
        }
        for password in ["", "correct horse battery staple", "password123"] {
            assert!(!bcrypt::verify(password, &dummy_hash(4)).unwrap());
        }
    }
}
