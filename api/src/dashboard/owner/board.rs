//! What a viewer's dashboard covers: the businesses they may see (every business for an admin)
//! and the time zone each page speaks in.

use chrono_tz::Tz;
use projections::businesses::{list_businesses, BusinessRow};
use sqlx::PgPool;
use uuid::Uuid;

use crate::access::Authenticated;

/// A business the viewer may see, as the dashboard names it.
#[derive(Debug, Clone)]
pub(super) struct Business {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    pub name: String,
    /// Its time zone: calls are shown in it, and its "today" is counted in it.
    pub timezone: Tz,
}

impl Business {
    fn of(row: &BusinessRow) -> Self {
        Self {
            id: row.business_id,
            name: row.name.clone(),
            timezone: row.timezone.parse().unwrap_or(Tz::UTC),
        }
    }
}

/// The businesses a viewer may see: their own, or every business for an admin.
#[derive(Debug, Clone)]
pub(super) struct Visible {
    /// By name.
    pub businesses: Vec<Business>,
    admin: bool,
}

impl Visible {
    /// Reads them from the businesses read model (the same rows the REST API's tenant scope
    /// comes from).
    pub async fn load(pool: &PgPool, who: &Authenticated) -> Result<Self, sqlx::Error> {
        let owner = (!who.is_admin()).then_some(who.user_id);
        let businesses = list_businesses(pool, owner)
            .await?
            .iter()
            .map(Business::of)
            .collect();
        Ok(Self {
            businesses,
            admin: who.is_admin(),
        })
    }

    /// Only `row`, to name and time the calls of one business.
    pub fn single(row: Option<&BusinessRow>) -> Self {
        Self {
            businesses: row.map(Business::of).into_iter().collect(),
            admin: false,
        }
    }

    /// The businesses whose calls the viewer may read, as the query layer takes them (`None`:
    /// all, for an admin).
    pub fn scope(&self) -> Option<Vec<Uuid>> {
        (!self.admin).then(|| self.businesses.iter().map(|b| b.id).collect())
    }

    /// One of them.
    pub fn find(&self, id: Uuid) -> Option<&Business> {
        self.businesses.iter().find(|b| b.id == id)
    }

    /// Whether the viewer sees more than one business (the table then names each call's).
    pub fn several(&self) -> bool {
        self.admin || self.businesses.len() > 1
    }

    /// The time zone of a call of `business` (UTC when unknown).
    pub fn timezone_of(&self, business: Option<Uuid>) -> Tz {
        business
            .and_then(|id| self.find(id))
            .map_or(Tz::UTC, |b| b.timezone)
    }

    /// The time zone dates are read in on a page over `business` (or over all): that
    /// business's, or the one every business shares, else UTC.
    pub fn page_timezone(&self, business: Option<Uuid>) -> Tz {
        if let Some(id) = business {
            return self.timezone_of(Some(id));
        }
        let mut zones = self.businesses.iter().map(|b| b.timezone);
        match zones.next() {
            Some(first) if zones.all(|zone| zone == first) => first,
            _ => Tz::UTC,
        }
    }
}
