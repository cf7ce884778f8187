//! A business's controls: the owner's availability, business hours, ring timeout, the AI
//! agent's settings, and the business's phone numbers; plus the list of the viewer's
//! businesses and the form that creates one.
//!
//! Every change runs the command the REST API runs for it (through the shared helpers of
//! `routes::businesses`, with the same checks and a `dashboard:<METHOD> <route>` causation), on
//! the `Business` aggregate of the write side: call routing reads that same aggregate, so a
//! change takes effect for the very next call. The settings page reads the aggregate too, so it
//! shows a change at once after the redirect. Another owner's business is answered as a
//! missing one (404), for pages and forms alike; an admin manages every business.
//!
//! - [`list`]: `GET /dashboard/businesses`. [`create`]: the new-business form.
//! - [`page`]: `GET /dashboard/businesses/{id}`, the settings page all forms come back to.
//! - [`availability`], [`hours`], [`ring`], [`agent`], [`notifications`], [`profile`]: one
//!   form each.
//! - [`webhooks`]: the business's outbound webhooks, their delivery logs and "Send again".
//! - [`form`]: what the forms share (errors on the form, the tenant check, htmx).

mod agent;
mod availability;
mod create;
mod form;
mod hours;
mod list;
mod notifications;
mod page;
mod profile;
mod ring;
mod webhooks;

use actix_web::web;

pub(super) fn configure(config: &mut web::ServiceConfig) {
    // `new` before `{id}`: the first matching route wins.
    config
        .service(list::list)
        .service(create::new_form)
        .service(create::create)
        .service(page::show)
        .service(availability::switch)
        .service(hours::save)
        .service(ring::save)
        .service(notifications::save)
        .service(agent::save)
        .service(agent::remove)
        .service(profile::save)
        .service(webhooks::show)
        .service(webhooks::add)
        .service(webhooks::remove)
        .service(webhooks::resend);
}
