//! A business's outbound webhooks in the dashboard: `GET /dashboard/businesses/{id}/webhooks`
//! lists its endpoints, each with its delivery log (status, tries, last error) and a "Send
//! again" button per delivery, and has the form that adds an endpoint.
//!
//! Every form runs what the REST API runs (`routes::webhooks`'s helpers, same checks), posts,
//! and comes back to the page (303) — except adding an endpoint: its answer is the page that
//! shows the new secret, once, since a secret must not travel in a redirect's URL. A refused
//! form re-renders the page with the error (422). Works without JavaScript.

use actix_web::{get, post, web, HttpResponse};
use askama::Template;
use infrastructure::vault::Vault;
use infrastructure::webhooks::endpoints::{Delivery, DeliveryStatus};
use infrastructure::webhooks::EventType;
use serde::Deserialize;
use uuid::Uuid;

use super::form::{self, FormError, Refusal};
use crate::api_error::ApiError;
use crate::dashboard::page::{html, see_other, sentence, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::webhooks::{self as api, CreatedEndpoint, WebhookOptions};
use crate::startup::AppState;

/// Deliveries shown per endpoint.
const LOG_SHOWN: usize = 20;

/// One checkbox of the event types.
pub(super) struct EventChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// One delivery in an endpoint's log.
pub(super) struct DeliveryLine {
    pub id: Uuid,
    pub webhook_id: String,
    pub event_type: &'static str,
    pub status: &'static str,
    pub attempts: i32,
    pub tries: usize,
    pub last_status_code: String,
    pub last_error: String,
    pub created_at: String,
    pub resendable: bool,
}

impl DeliveryLine {
    fn of(delivery: &Delivery) -> Self {
        Self {
            id: delivery.id,
            webhook_id: delivery.webhook_id.clone(),
            event_type: delivery.event_type.as_str(),
            status: delivery.status.as_str(),
            attempts: delivery.attempts,
            tries: delivery.tries.len(),
            last_status_code: delivery
                .last_status_code
                .map(|code| code.to_string())
                .unwrap_or_default(),
            last_error: delivery.last_error.clone().unwrap_or_default(),
            created_at: delivery
                .created_at
                .format("%Y-%m-%d %H:%M:%S UTC")
                .to_string(),
            resendable: delivery.status != DeliveryStatus::Pending,
        }
    }
}

/// An endpoint with its log.
pub(super) struct EndpointBlock {
    pub id: Uuid,
    pub url: String,
    pub event_types: String,
    pub created_at: String,
    pub deliveries: Vec<DeliveryLine>,
}

/// The webhooks page.
#[derive(Template)]
#[template(path = "settings/webhooks.html")]
pub(super) struct WebhooksPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub notice: Option<&'static str>,
    pub endpoints: Vec<EndpointBlock>,
    pub url: String,
    pub choices: Vec<EventChoice>,
    pub refusal: Refusal,
}

/// The page after an endpoint was added: its secret, shown once.
#[derive(Template)]
#[template(path = "settings/webhook_created.html")]
pub(super) struct CreatedPage {
    pub layout: Layout,
    pub id: Uuid,
    pub name: String,
    pub endpoint: CreatedEndpoint,
    pub event_types: String,
}

fn webhooks_path(id: Uuid) -> String {
    format!("/dashboard/businesses/{id}/webhooks")
}

fn join(kinds: &[EventType]) -> String {
    kinds
        .iter()
        .map(|kind| kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn api_page_error(err: ApiError) -> PageError {
    match form::refused(err) {
        Ok(error) => PageError::Unexpected(anyhow::anyhow!(
            "unexpected refusal on the webhooks page: {}",
            error.message
        )),
        Err(page) => page,
    }
}

impl WebhooksPage {
    async fn load(
        state: &AppState,
        viewer: &Viewer,
        id: Uuid,
        name: String,
    ) -> Result<Self, PageError> {
        let endpoints = infrastructure::webhooks::endpoints::list(&state.pool, id)
            .await
            .map_err(super::page::database)?;
        let mut blocks = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            let deliveries = api::deliveries_log(state, &viewer.who, id, endpoint.id)
                .await
                .map_err(api_page_error)?;
            blocks.push(EndpointBlock {
                id: endpoint.id,
                url: endpoint.url,
                event_types: join(&endpoint.event_types),
                created_at: endpoint.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                deliveries: deliveries
                    .iter()
                    .take(LOG_SHOWN)
                    .map(DeliveryLine::of)
                    .collect(),
            });
        }
        Ok(Self {
            layout: Layout::for_viewer(viewer, format!("Webhooks · {name}"), "businesses"),
            id,
            name,
            notice: None,
            endpoints: blocks,
            url: String::new(),
            choices: EventType::ALL
                .into_iter()
                .map(|kind| EventChoice {
                    name: kind.as_str(),
                    label: kind.describe(),
                    checked: false,
                })
                .collect(),
            refusal: Refusal::default(),
        })
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    saved: Option<String>,
}

fn notice(saved: Option<&str>) -> Option<&'static str> {
    Some(match saved? {
        "deleted" => "Endpoint deleted: nothing more is sent to it.",
        "resent" => "The delivery goes out again now, with the same webhook-id.",
        _ => return None,
    })
}

/// `GET /dashboard/businesses/{id}/webhooks`.
#[get("/businesses/{id}/webhooks")]
pub(super) async fn show(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let mut page = WebhooksPage::load(&state, &viewer, id, business.name).await?;
    page.notice = notice(query.saved.as_deref());
    html(&page)
}

/// The add form: `url`, and one `event_types` per box ticked (`serde_urlencoded` gives a
/// repeated field as a sequence only through `Vec<(String, String)>`).
type AddForm = Vec<(String, String)>;

/// `POST /dashboard/businesses/{id}/webhooks`: adds an endpoint and shows its secret once.
#[post("/businesses/{id}/webhooks")]
pub(super) async fn add(
    state: web::Data<AppState>,
    vault: web::Data<Vault>,
    options: web::Data<WebhookOptions>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<AddForm>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let url = body
        .iter()
        .find(|(key, _)| key == "url")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let kinds: Vec<String> = body
        .iter()
        .filter(|(key, _)| key == "event_types")
        .map(|(_, value)| value.clone())
        .collect();
    let error =
        match api::register_endpoint(&state, &vault, &options, &viewer.who, id, &url, &kinds).await
        {
            Ok(endpoint) => {
                let page = CreatedPage {
                    layout: Layout::for_viewer(&viewer, "Webhook endpoint added", "businesses"),
                    id,
                    name: business.name,
                    event_types: join(&endpoint.event_types),
                    endpoint,
                };
                let mut response = html(&page)?;
                response.headers_mut().insert(
                    actix_web::http::header::CACHE_CONTROL,
                    actix_web::http::header::HeaderValue::from_static("no-store"),
                );
                return Ok(response);
            }
            Err(ApiError::BadRequest { code, message } | ApiError::Conflict { code, message }) => {
                let field = if code == "invalid_webhook_url" {
                    "url"
                } else {
                    "event_types"
                };
                let field = if code == "too_many_webhook_endpoints" {
                    ""
                } else {
                    field
                };
                FormError::on(field, sentence(&message))
            }
            Err(err) => return Err(api_page_error(err)),
        };
    let mut page = WebhooksPage::load(&state, &viewer, id, business.name).await?;
    page.url = url;
    for choice in &mut page.choices {
        choice.checked = kinds.iter().any(|kind| kind == choice.name);
    }
    page.refusal = Refusal::of(error);
    Ok(form::unprocessable(html(&page)?))
}

/// `POST /dashboard/businesses/{id}/webhooks/{endpoint_id}/delete`.
#[post("/businesses/{id}/webhooks/{endpoint_id}/delete")]
pub(super) async fn remove(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, endpoint_id) = path.into_inner();
    let id = form::business_id(&id)?;
    let endpoint_id = form::business_id(&endpoint_id)?;
    api::remove_endpoint(&state, &viewer.who, id, endpoint_id)
        .await
        .map_err(api_page_error)?;
    Ok(see_other(&format!("{}?saved=deleted", webhooks_path(id))))
}

/// `POST /dashboard/businesses/{id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend`.
#[post("/businesses/{id}/webhooks/{endpoint_id}/deliveries/{delivery_id}/resend")]
pub(super) async fn resend(
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, endpoint_id, delivery_id) = path.into_inner();
    let id = form::business_id(&id)?;
    let endpoint_id = form::business_id(&endpoint_id)?;
    let delivery_id = form::business_id(&delivery_id)?;
    api::send_again(&state, &viewer.who, id, endpoint_id, delivery_id)
        .await
        .map_err(api_page_error)?;
    Ok(see_other(&format!(
        "{}?saved=resent#endpoint-{endpoint_id}",
        webhooks_path(id)
    )))
}
