//! How the owner is told about calls: which happenings (a message taken, a voicemail, a missed
//! call), by text and/or email, and the quiet hours during which texts wait. The same command
//! and checks as `PUT /api/v1/businesses/{id}/notifications`.

use actix_web::{post, web, HttpRequest, HttpResponse};
use domain::business::{Business, BusinessCommand, NotificationTrigger};
use serde::Deserialize;

use super::form::{self, settings_path, Refusal};
use super::page::SettingsPage;
use crate::dashboard::page::{see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::notifications::{NotificationsBody, QuietHoursBody, TriggerName};
use crate::routes::businesses::{self, Via};
use crate::startup::AppState;

/// One happening's checkbox.
pub(super) struct TriggerChoice {
    /// Field name, e.g. `on_message_taken`.
    pub field: &'static str,
    /// What the owner reads.
    pub label: &'static str,
    /// Whether it notifies.
    pub checked: bool,
}

/// The form.
pub(super) struct NotificationsForm {
    /// Text the owner's phone.
    pub sms: bool,
    /// Email the owner.
    pub email: bool,
    /// The happenings.
    pub triggers: Vec<TriggerChoice>,
    /// Whether quiet hours are on.
    pub quiet: bool,
    /// Their start, `HH:MM`.
    pub quiet_from: String,
    /// Their end, `HH:MM`.
    pub quiet_until: String,
    /// Why the last save was refused.
    pub refusal: Refusal,
}

fn label(trigger: NotificationTrigger) -> &'static str {
    match trigger {
        NotificationTrigger::MessageTaken => "The AI agent took a message",
        NotificationTrigger::VoicemailRecorded => "A caller left a voicemail",
        NotificationTrigger::MissedCall => "A call was missed (nobody took it, no message left)",
    }
}

fn field(trigger: NotificationTrigger) -> &'static str {
    match trigger {
        NotificationTrigger::MessageTaken => "on_message_taken",
        NotificationTrigger::VoicemailRecorded => "on_voicemail_recorded",
        NotificationTrigger::MissedCall => "on_missed_call",
    }
}

impl NotificationsForm {
    /// The form showing the settings of `business`.
    pub fn of(business: &Business) -> Self {
        let settings = &business.notifications;
        Self {
            sms: settings.sms,
            email: settings.email,
            triggers: NotificationTrigger::ALL
                .into_iter()
                .map(|trigger| TriggerChoice {
                    field: field(trigger),
                    label: label(trigger),
                    checked: settings.notifies_on(trigger),
                })
                .collect(),
            quiet: settings.quiet_hours.is_some(),
            quiet_from: settings
                .quiet_hours
                .map_or_else(|| "22:00".to_owned(), |quiet| quiet.from.to_string()),
            quiet_until: settings
                .quiet_hours
                .map_or_else(|| "07:00".to_owned(), |quiet| quiet.until.to_string()),
            refusal: Refusal::default(),
        }
    }
}

/// What the browser posts: a checkbox is present only when checked.
#[derive(Deserialize)]
pub(super) struct Posted {
    sms: Option<String>,
    email: Option<String>,
    on_message_taken: Option<String>,
    on_voicemail_recorded: Option<String>,
    on_missed_call: Option<String>,
    quiet: Option<String>,
    #[serde(default)]
    quiet_from: String,
    #[serde(default)]
    quiet_until: String,
}

impl Posted {
    fn body(&self) -> NotificationsBody {
        let mut triggers = Vec::new();
        for (on, trigger) in [
            (&self.on_message_taken, TriggerName::MessageTaken),
            (&self.on_voicemail_recorded, TriggerName::VoicemailRecorded),
            (&self.on_missed_call, TriggerName::MissedCall),
        ] {
            if on.is_some() {
                triggers.push(trigger);
            }
        }
        NotificationsBody {
            sms: self.sms.is_some(),
            email: self.email.is_some(),
            triggers,
            quiet_hours: self.quiet.as_ref().map(|_| QuietHoursBody {
                from: self.quiet_from.trim().to_owned(),
                until: self.quiet_until.trim().to_owned(),
            }),
        }
    }
}

/// `POST /dashboard/businesses/{id}/notifications`.
#[post("/businesses/{id}/notifications")]
pub(super) async fn save(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<Posted>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let saved = match body.body().parse() {
        Ok(settings) => {
            let command = BusinessCommand::SetNotificationSettings(settings);
            businesses::append_via(&state, &viewer.who, &request, Via::Dashboard, id, command).await
        }
        Err(err) => Err(err),
    };
    let error = match saved {
        Ok(_) => {
            return Ok(see_other(&format!(
                "{}?saved=notifications#notifications",
                settings_path(id)
            )))
        }
        Err(err) => form::refused(err)?,
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    let posted = body.into_inner();
    page.notifications.sms = posted.sms.is_some();
    page.notifications.email = posted.email.is_some();
    page.notifications.quiet = posted.quiet.is_some();
    page.notifications.quiet_from = posted.quiet_from.clone();
    page.notifications.quiet_until = posted.quiet_until.clone();
    for choice in &mut page.notifications.triggers {
        choice.checked = match choice.field {
            "on_message_taken" => posted.on_message_taken.is_some(),
            "on_voicemail_recorded" => posted.on_voicemail_recorded.is_some(),
            _ => posted.on_missed_call.is_some(),
        };
    }
    page.notifications.refusal = Refusal::of(error);
    page.refused()
}
