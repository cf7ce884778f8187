//! `GET /dashboard/businesses`: the viewer's businesses (an admin: all), each with its
//! availability switch and a link to its settings, and the way to create one.
//!
//! The list is the `businesses` read model, as `GET /api/v1/businesses` reads it. The switches
//! show the write side's state (the aggregates are cached, so this is one small query each),
//! because a switch flipped without JavaScript comes straight back to this page and must not
//! show the state from before the click while the read model catches up.

use actix_web::{get, web, HttpResponse};
use askama::Template;
use futures::{StreamExt, TryStreamExt};
use projections::businesses::{list_businesses, BusinessRow};

use super::availability::Switch;
use super::form;
use super::page::database;
use crate::dashboard::page::{html, Layout, PageError};
use crate::dashboard::session::Viewer;
use crate::startup::AppState;

/// Where this page is.
const PATH: &str = "/dashboard/businesses";
/// How many aggregates are loaded at once.
const CONCURRENT_LOADS: usize = 8;

/// One business in the list.
struct Line {
    row: BusinessRow,
    switch: Switch,
}

#[derive(Template)]
#[template(path = "settings/list.html")]
struct ListPage {
    layout: Layout,
    admin: bool,
    lines: Vec<Line>,
}

/// `GET /dashboard/businesses`.
#[get("/businesses")]
pub(super) async fn list(
    state: web::Data<AppState>,
    viewer: Viewer,
) -> Result<HttpResponse, PageError> {
    let owner = (!viewer.is_admin()).then_some(viewer.who.user_id);
    let rows = list_businesses(&state.pool, owner)
        .await
        .map_err(database)?;
    let lines: Vec<Option<Line>> = futures::stream::iter(rows)
        .map(|row| {
            let (state, viewer) = (&state, &viewer);
            async move {
                match form::managed(state, viewer, row.business_id).await {
                    Ok(business) => {
                        let switch = Switch::of(row.business_id, &business, PATH.to_owned());
                        Ok(Some(Line { row, switch }))
                    }
                    // The read model is a moment behind a change of owner: not theirs now.
                    Err(PageError::NotFound) => Ok(None),
                    Err(err) => Err(err),
                }
            }
        })
        .buffered(CONCURRENT_LOADS)
        .try_collect()
        .await?;
    let lines: Vec<Line> = lines.into_iter().flatten().collect();
    html(&ListPage {
        layout: Layout::for_viewer(&viewer, "Businesses", "businesses"),
        admin: viewer.is_admin(),
        lines,
    })
}
