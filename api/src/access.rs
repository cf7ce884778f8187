//! Who may see and change what: the signed-in caller (from the Bearer token) and the tenant
//! rules. An admin sees and manages everything; a business owner only their own businesses and
//! the numbers and calls of those. Another tenant's resource is answered as missing (404), so
//! a caller cannot learn that it exists.

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use domain::business::Business;
use domain::Actor;
use infrastructure::accounts::Role;
use infrastructure::tokens::Tokens;
use sqlx::PgPool;
use uuid::Uuid;

use crate::api_error::ApiError;

/// The user behind a valid `Authorization: Bearer <access token>`.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated {
    /// The user.
    pub user_id: Uuid,
    /// Their role.
    pub role: Role,
}

impl Authenticated {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// The actor recorded in the metadata of the events this caller's commands append.
    pub fn actor(&self) -> Actor {
        Actor::User(self.user_id)
    }

    /// Refuses callers that are not admins (403: the role, not the resource, is the problem).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "admin_only",
                "only an admin may do this",
            ))
        }
    }

    /// Whether the caller may see and change `business` (registered, and theirs unless admin).
    pub fn may_manage(&self, business: &Business) -> bool {
        business.id.is_some() && (self.is_admin() || business.owner_user_id == Some(self.user_id))
    }

    /// The businesses whose data the caller may read: `None` for all (admins), else the ids
    /// of the businesses they own, from the businesses read model.
    pub async fn business_scope(&self, pool: &PgPool) -> Result<Option<Vec<Uuid>>, ApiError> {
        if self.is_admin() {
            return Ok(None);
        }
        let owned: Vec<Uuid> = sqlx::query_scalar(
            "SELECT business_id FROM rm_businesses.businesses WHERE owner_user_id = $1",
        )
        .bind(self.user_id)
        .fetch_all(pool)
        .await
        .map_err(ApiError::database)?;
        Ok(Some(owned))
    }

    /// Whether a business id is inside `scope` (from [`Authenticated::business_scope`]).
    pub fn in_scope(scope: Option<&[Uuid]>, business: Option<Uuid>) -> bool {
        match (scope, business) {
            (None, _) => true,
            (Some(owned), Some(id)) => owned.contains(&id),
            (Some(_), None) => false,
        }
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let token = request
            .headers()
            .get("Authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let tokens = request.app_data::<web::Data<Tokens>>();
        std::future::ready(match (token, tokens) {
            (Some(token), Some(tokens)) => tokens
                .verify_access(token.trim())
                .map(|claims| Self {
                    user_id: claims.sub,
                    role: claims.role,
                })
                .map_err(|_| {
                    ApiError::unauthorized(
                        "invalid_token",
                        "the access token is invalid or expired",
                    )
                }),
            (None, _) => Err(ApiError::unauthorized(
                "missing_token",
                "sign in: send Authorization: Bearer <access token>",
            )),
            (Some(_), None) => Err(ApiError::Unexpected(anyhow::anyhow!(
                "no token issuer configured"
            ))),
        })
    }
}
