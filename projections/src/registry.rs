//! Every projection the product runs. To add one: implement [`Projection`], add its migration
//! (schema `rm_<name>` and its tables), and add one line here.

use std::sync::Arc;

use crate::runtime::Projection;

/// All projections, in no particular order (each runs on its own).
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(crate::businesses::BusinessesProjection),
        Arc::new(crate::calls::CallsProjection),
        Arc::new(crate::phone_numbers::PhoneNumbersProjection),
        Arc::new(crate::daily_stats::DailyStatsProjection),
        Arc::new(crate::calls_per_hour::CallsPerHourProjection),
    ]
}

/// The projection named `name`.
pub fn by_name(name: &str) -> Option<Arc<dyn Projection>> {
    all()
        .into_iter()
        .find(|projection| projection.name() == name)
}
