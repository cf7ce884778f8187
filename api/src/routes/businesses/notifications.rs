//! How a business' owner is told about calls: `GET` and `PUT
//! /api/v1/businesses/{id}/notifications`. Read from the write side, like the agent's settings,
//! so a change shows at once.

use actix_web::{get, put, web, HttpRequest, HttpResponse};
use domain::business::{
    BusinessCommand, ClockTime, NotificationSettings, NotificationTrigger, QuietHours,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::access::Authenticated;
use crate::api_error::{ApiError, Problem};
use crate::startup::AppState;

/// What may notify the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerName {
    /// The AI agent took a message.
    MessageTaken,
    /// The caller left a voicemail.
    VoicemailRecorded,
    /// Nobody took the call and no message was left.
    MissedCall,
}

impl From<TriggerName> for NotificationTrigger {
    fn from(name: TriggerName) -> Self {
        match name {
            TriggerName::MessageTaken => Self::MessageTaken,
            TriggerName::VoicemailRecorded => Self::VoicemailRecorded,
            TriggerName::MissedCall => Self::MissedCall,
        }
    }
}

impl From<NotificationTrigger> for TriggerName {
    fn from(trigger: NotificationTrigger) -> Self {
        match trigger {
            NotificationTrigger::MessageTaken => Self::MessageTaken,
            NotificationTrigger::VoicemailRecorded => Self::VoicemailRecorded,
            NotificationTrigger::MissedCall => Self::MissedCall,
        }
    }
}

/// A daily span of local time (the business' timezone) during which text messages wait.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursBody {
    /// Start, `HH:MM`.
    #[schema(example = "22:00", pattern = r"^[0-9]{2}:[0-9]{2}$")]
    pub from: String,
    /// End, `HH:MM`; earlier than `from` when the span crosses midnight.
    #[schema(example = "07:00", pattern = r"^[0-9]{2}:[0-9]{2}$")]
    pub until: String,
}

/// A business' notification settings.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationsBody {
    /// Text the owner's phone (from the number that was called).
    pub sms: bool,
    /// Email the owner's account address (where the deployment has SMTP settings).
    pub email: bool,
    /// What notifies; an empty list turns notifications off.
    pub triggers: Vec<TriggerName>,
    /// When text messages wait until the quiet ends (`null`: never). Emails are not held.
    #[schema(required = true)]
    pub quiet_hours: Option<QuietHoursBody>,
}

impl NotificationsBody {
    /// The settings of `business`, as the API shows them.
    pub fn of(settings: &NotificationSettings) -> Self {
        Self {
            sms: settings.sms,
            email: settings.email,
            triggers: settings.triggers.iter().copied().map(Into::into).collect(),
            quiet_hours: settings.quiet_hours.map(|quiet| QuietHoursBody {
                from: quiet.from.to_string(),
                until: quiet.until.to_string(),
            }),
        }
    }

    /// The validated settings.
    pub fn parse(self) -> Result<NotificationSettings, ApiError> {
        let time = |field: &str, raw: &str| {
            ClockTime::parse(raw)
                .ok()
                .filter(|time| *time != ClockTime::END_OF_DAY)
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_quiet_hours",
                        format!(
                            "quiet_hours.{field} must be a time of day, HH:MM (00:00 to 23:59)"
                        ),
                    )
                })
        };
        let quiet_hours = match &self.quiet_hours {
            None => None,
            Some(quiet) => Some(QuietHours {
                from: time("from", &quiet.from)?,
                until: time("until", &quiet.until)?,
            }),
        };
        Ok(NotificationSettings {
            sms: self.sms,
            email: self.email,
            triggers: self.triggers.into_iter().map(Into::into).collect(),
            quiet_hours,
        })
    }
}

/// How the owner is told about calls.
#[utoipa::path(tag = "businesses", operation_id = "get_business_notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    responses(
        (status = 200, description = "The notification settings", body = NotificationsBody),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/v1/businesses/{id}/notifications")]
pub(super) async fn get_notifications(
    state: web::Data<AppState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let business = super::managed(&state, &who, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(NotificationsBody::of(&business.notifications)))
}

/// Chooses how the owner is told about calls: which happenings, by text and/or email, and the
/// quiet hours during which texts wait.
#[utoipa::path(tag = "businesses", operation_id = "set_business_notifications", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The business' id")),
    request_body = NotificationsBody,
    responses(
        (status = 200, description = "The settings after the change", body = NotificationsBody),
        (status = 400, description = "Malformed quiet hours (or equal start and end), or malformed body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such business, or not one of the caller's", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The business is deactivated, or a concurrent change", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/v1/businesses/{id}/notifications")]
pub(super) async fn set_notifications(
    state: web::Data<AppState>,
    who: Authenticated,
    request: HttpRequest,
    id: web::Path<Uuid>,
    body: web::Json<NotificationsBody>,
) -> Result<HttpResponse, ApiError> {
    let settings = body.into_inner().parse()?;
    let command = BusinessCommand::SetNotificationSettings(settings);
    let business = super::execute(&state, &who, &request, id.into_inner(), command).await?;
    Ok(HttpResponse::Ok().json(NotificationsBody::of(&business.notifications)))
}
