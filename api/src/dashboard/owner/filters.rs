//! The filters of the calls table: read from the query string of a plain GET form (an empty
//! value is "any"), checked, turned into the query layer's `CallFilter`, written back into the
//! page's links, and matched against a call the live stream is about to add.

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use projections::calls::{CallFilter, CallRoute, CallRow, CallStatus};
use uuid::Uuid;

use crate::dashboard::page::PageError;

/// The query string of the dashboard's pages, as typed: every value optional, an empty one
/// meaning "any" (what a form sends for its "Any" option), unknown names ignored.
#[derive(Debug, Clone, Default)]
pub(super) struct FilterQuery {
    business: Option<String>,
    route: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// The calls table's page (an opaque cursor of `GET /api/v1/calls`).
    pub cursor: Option<String>,
    /// Where a live stream starts (see `live`).
    pub after: Option<String>,
}

impl FilterQuery {
    /// Reads a raw query string (never fails: a repeated name keeps its last value).
    pub fn parse(raw: &str) -> Self {
        let mut query = Self::default();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let value = Some(value.trim().to_owned()).filter(|value| !value.is_empty());
            match name.as_ref() {
                "business" => query.business = value,
                "route" => query.route = value,
                "status" => query.status = value,
                "from" => query.from = value,
                "to" => query.to = value,
                "cursor" => query.cursor = value,
                "after" => query.after = value,
                _ => {}
            }
        }
        query
    }
}

/// The filters of the calls table.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Filters {
    /// Only this business's calls.
    pub business: Option<Uuid>,
    /// Only calls last routed there.
    pub route: Option<CallRoute>,
    /// Only calls in this status.
    pub status: Option<CallStatus>,
    /// Only calls from this day on (in the page's time zone).
    pub from: Option<NaiveDate>,
    /// Only calls up to this day, included.
    pub to: Option<NaiveDate>,
}

fn day(name: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, PageError> {
    let Some(raw) = raw else { return Ok(None) };
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|day| (1..=9999).contains(&chrono::Datelike::year(day)))
        .map(Some)
        .ok_or_else(|| {
            PageError::BadRequest(format!("The {name} day must be a date such as 2026-03-08."))
        })
}

impl Filters {
    /// Checks the typed values.
    ///
    /// # Errors
    /// [`PageError::BadRequest`] naming what is wrong.
    pub fn parse(query: &FilterQuery) -> Result<Self, PageError> {
        let business = match query.business.as_deref() {
            Some(raw) => Some(Uuid::parse_str(raw).map_err(|_| PageError::NotFound)?),
            None => None,
        };
        let route = match query.route.as_deref() {
            Some(raw) => Some(CallRoute::parse(raw).ok_or_else(|| {
                PageError::BadRequest(format!("There is no route called {raw:?}."))
            })?),
            None => None,
        };
        let status = match query.status.as_deref() {
            Some(raw) => Some(CallStatus::parse(raw).ok_or_else(|| {
                PageError::BadRequest(format!("There is no call status called {raw:?}."))
            })?),
            None => None,
        };
        let from = day("first", query.from.as_deref())?;
        let to = day("last", query.to.as_deref())?;
        if let (Some(from), Some(to)) = (from, to) {
            if from > to {
                return Err(PageError::BadRequest(
                    "The first day is after the last day.".to_owned(),
                ));
            }
        }
        Ok(Self {
            business,
            route,
            status,
            from,
            to,
        })
    }

    /// The filters as a query string (`business=…&route=…`, without `?`), for links.
    pub fn query(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(business) = self.business {
            query.append_pair("business", &business.to_string());
        }
        if let Some(route) = self.route {
            query.append_pair("route", route.as_str());
        }
        if let Some(status) = self.status {
            query.append_pair("status", status.as_str());
        }
        if let Some(from) = self.from {
            query.append_pair("from", &from.to_string());
        }
        if let Some(to) = self.to {
            query.append_pair("to", &to.to_string());
        }
        query.finish()
    }

    /// The instants the days stand for in `timezone`: from the start of `from` to the start of
    /// the day after `to`.
    pub fn bounds(&self, timezone: Tz) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let from = self.from.map(|day| start_of_day(timezone, day));
        let to = self
            .to
            .and_then(|day| day.checked_add_days(Days::new(1)))
            .map(|day| start_of_day(timezone, day));
        (from, to)
    }

    /// The query layer's filter for one page of the table over `scope`.
    pub fn call_filter(&self, scope: Option<Vec<Uuid>>, timezone: Tz, limit: u32) -> CallFilter {
        let (from, to) = self.bounds(timezone);
        CallFilter {
            business_ids: scope,
            route: self.route,
            status: self.status,
            from,
            to,
            limit,
            ..CallFilter::default()
        }
    }

    /// Whether `call` belongs in a table with these filters (dates read in `timezone`).
    pub fn matches(&self, call: &CallRow, timezone: Tz) -> bool {
        let (from, to) = self.bounds(timezone);
        self.business.is_none_or(|id| call.business_id == Some(id))
            && self.route.is_none_or(|route| call.route == Some(route))
            && self.status.is_none_or(|status| call.status == status)
            && from.is_none_or(|from| call.started_at >= from)
            && to.is_none_or(|to| call.started_at < to)
    }

    /// Whether any filter is set.
    pub fn any(&self) -> bool {
        *self != Self::default()
    }
}

/// The first instant of `day` in `timezone` (midnight, or the first hour after a gap).
pub(super) fn start_of_day(timezone: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    (0..3)
        .find_map(|hours| {
            timezone
                .from_local_datetime(&(midnight + chrono::Duration::hours(hours)))
                .earliest()
        })
        .map_or_else(|| midnight.and_utc(), |at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_should_read_an_empty_form_value_as_any_and_write_back_only_what_is_set() {
        let query = FilterQuery::parse("route=&status=completed&from=2026-03-01&colour=red");
        let filters = Filters::parse(&query).unwrap();

        assert_eq!(filters.route, None);
        assert_eq!(filters.status, Some(CallStatus::Completed));
        assert_eq!(filters.query(), "status=completed&from=2026-03-01");
        assert!(filters.any());
    }

    #[test]
    fn it_should_refuse_unknown_values_and_a_reversed_range() {
        for raw in [
            "route=fax",
            "status=lost",
            "from=yesterday",
            "to=2026-13-01",
            "from=2026-03-09&to=2026-03-08",
        ] {
            let refused = Filters::parse(&FilterQuery::parse(raw));
            assert!(matches!(refused, Err(PageError::BadRequest(_))), "{raw}");
        }
        let unknown = Filters::parse(&FilterQuery::parse("business=not-an-id"));
        assert!(matches!(unknown, Err(PageError::NotFound)));
    }

    #[test]
    fn it_should_read_days_in_the_time_zone_of_the_page() {
        let query = FilterQuery::parse("from=2026-03-08&to=2026-03-08");
        let filters = Filters::parse(&query).unwrap();
        let paris: Tz = "Europe/Paris".parse().unwrap();

        let (from, to) = filters.bounds(paris);

        assert_eq!(from.unwrap().to_rfc3339(), "2026-03-07T23:00:00+00:00");
        assert_eq!(to.unwrap().to_rfc3339(), "2026-03-08T23:00:00+00:00");
    }
}
