//! The weekly hours editor: for each weekday, open or closed and the ranges it is open in
//! (`HH:MM`, `24:00` the end of the day; a second range for a lunch break).
//!
//! Each day's fields are `<day>_open` (a checkbox) and, repeated once per range in order,
//! `<day>_opens` and `<day>_closes`; the form always offers one empty range more than the day
//! has. The ranges are checked as `PUT /api/v1/businesses/{id}/hours` checks them (the same
//! function), then replace the hours with one `SetBusinessHours`.

use actix_web::{post, web, HttpRequest, HttpResponse};
use chrono::Weekday;
use domain::business::{Business, BusinessCommand};

use super::form::{self, settings_path, FormError, Refusal};
use super::page::SettingsPage;
use crate::dashboard::page::{see_other, PageError};
use crate::dashboard::session::Viewer;
use crate::routes::businesses::{self, input, Via};
use crate::startup::AppState;

/// The weekdays, Monday first: field prefix and label.
const DAYS: [(&str, &str); 7] = [
    ("monday", "Monday"),
    ("tuesday", "Tuesday"),
    ("wednesday", "Wednesday"),
    ("thursday", "Thursday"),
    ("friday", "Friday"),
    ("saturday", "Saturday"),
    ("sunday", "Sunday"),
];

/// One day of the editor.
pub(super) struct DayForm {
    /// Field prefix, e.g. `monday`.
    pub key: &'static str,
    /// Label, e.g. `Monday`.
    pub label: &'static str,
    /// Whether the day is open.
    pub open: bool,
    /// Its ranges as written, then one empty range to add.
    pub ranges: Vec<(String, String)>,
}

/// The editor.
pub(super) struct HoursForm {
    /// The seven days, Monday first.
    pub days: Vec<DayForm>,
    /// The timezone the hours are read in.
    pub timezone: String,
    /// Why the last save was refused.
    pub refusal: Refusal,
}

impl HoursForm {
    /// The editor showing the hours of `business`.
    pub fn of(business: &Business) -> Self {
        let weekdays = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        let days = DAYS
            .iter()
            .zip(weekdays)
            .map(|(&(key, label), weekday)| {
                let ranges: Vec<(String, String)> = business
                    .hours
                    .day(weekday)
                    .iter()
                    .map(|range| (range.opens.to_string(), range.closes.to_string()))
                    .collect();
                DayForm::new(key, label, !ranges.is_empty(), ranges)
            })
            .collect();
        Self {
            days,
            timezone: business.timezone.name().to_owned(),
            refusal: Refusal::default(),
        }
    }
}

impl DayForm {
    fn new(
        key: &'static str,
        label: &'static str,
        open: bool,
        mut ranges: Vec<(String, String)>,
    ) -> Self {
        ranges.push((String::new(), String::new()));
        Self {
            key,
            label,
            open,
            ranges,
        }
    }
}

/// The days as sent: open or not, and the ranges with at least one time filled in.
fn read_days(fields: &[(String, String)]) -> Vec<(bool, Vec<(String, String)>)> {
    DAYS.iter()
        .map(|(key, _)| {
            let values = |suffix: &str| -> Vec<String> {
                let name = format!("{key}_{suffix}");
                fields
                    .iter()
                    .filter(|(field, _)| *field == name)
                    .map(|(_, value)| value.trim().to_owned())
                    .collect()
            };
            let open = !values("open").is_empty();
            let (opens, closes) = (values("opens"), values("closes"));
            let ranges = (0..opens.len().max(closes.len()))
                .map(|i| {
                    let at = |list: &[String]| list.get(i).cloned().unwrap_or_default();
                    (at(&opens), at(&closes))
                })
                .filter(|(opens, closes)| !opens.is_empty() || !closes.is_empty())
                .collect();
            (open, ranges)
        })
        .collect()
}

/// The ranges of each day to save, or what is wrong with the form itself (a half-filled range,
/// an open day without hours); the ranges are then checked as the REST API checks them.
fn to_save(
    days: &[(bool, Vec<(String, String)>)],
) -> Result<[Vec<(String, String)>; 7], FormError> {
    let mut week: [Vec<(String, String)>; 7] = Default::default();
    for ((open, ranges), ((_, label), saved)) in days.iter().zip(DAYS.iter().zip(week.iter_mut())) {
        if !open {
            continue;
        }
        if ranges.is_empty() {
            return Err(FormError::on(
                "hours",
                format!(
                    "{label} is marked open: give its hours (00:00 to 24:00 for the whole day)."
                ),
            ));
        }
        if ranges
            .iter()
            .any(|(opens, closes)| opens.is_empty() || closes.is_empty())
        {
            return Err(FormError::on(
                "hours",
                format!("On {label}, give both the opening and the closing time of each range."),
            ));
        }
        saved.clone_from(ranges);
    }
    Ok(week)
}

/// `POST /dashboard/businesses/{id}/hours`.
#[post("/businesses/{id}/hours")]
pub(super) async fn save(
    request: HttpRequest,
    state: web::Data<AppState>,
    viewer: Viewer,
    path: web::Path<String>,
    body: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let id = form::business_id(&path)?;
    let business = form::managed(&state, &viewer, id).await?;
    let days = read_days(&body);
    let error = match to_save(&days) {
        Err(error) => error,
        Ok(week) => {
            let saved = match input::weekly_hours(week) {
                Ok(hours) => {
                    let command = BusinessCommand::SetBusinessHours(hours);
                    businesses::append_via(
                        &state,
                        &viewer.who,
                        &request,
                        Via::Dashboard,
                        id,
                        command,
                    )
                    .await
                }
                Err(err) => Err(err),
            };
            match saved {
                Ok(_) => {
                    return Ok(see_other(&format!(
                        "{}?saved=hours#hours",
                        settings_path(id)
                    )))
                }
                Err(err) => form::refused(err)?,
            }
        }
    };
    let mut page = SettingsPage::load(&state, &viewer, id, &business).await?;
    page.hours.days = DAYS
        .iter()
        .zip(days)
        .map(|(&(key, label), (open, ranges))| DayForm::new(key, label, open, ranges))
        .collect();
    page.hours.refusal = Refusal::of(error);
    page.refused()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn it_should_read_each_day_and_drop_the_empty_ranges() {
        let days = read_days(&fields(&[
            ("monday_open", "on"),
            ("monday_opens", "09:00"),
            ("monday_closes", "12:00"),
            ("monday_opens", "13:00"),
            ("monday_closes", "17:00"),
            ("monday_opens", ""),
            ("monday_closes", ""),
            ("tuesday_opens", "09:00"),
            ("tuesday_closes", "17:00"),
        ]));
        assert!(days[0].0);
        assert_eq!(days[0].1.len(), 2);
        let week = to_save(&days).unwrap();
        assert_eq!(week[0].len(), 2);
        assert!(week[1].is_empty(), "tuesday is not ticked open: closed");
        assert!(week[6].is_empty());
    }

    #[test]
    fn it_should_refuse_an_open_day_without_hours_and_a_half_filled_range() {
        let no_hours = read_days(&fields(&[("friday_open", "on")]));
        assert!(to_save(&no_hours).unwrap_err().message.contains("Friday"));
        let half = read_days(&fields(&[
            ("friday_open", "on"),
            ("friday_opens", "09:00"),
            ("friday_closes", ""),
        ]));
        assert_eq!(to_save(&half).unwrap_err().field, "hours");
    }
}
