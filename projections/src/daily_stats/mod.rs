//! Read model `daily_stats`: per business and local day, how many calls came in and what became
//! of them (answered by the owner, handled by the AI agent, voicemail, missed, rejected), their
//! durations and their cost.
//!
//! Tables (schema `rm_daily_stats`, migration `20261125000007_rm_daily_stats.sql`):
//! `daily_stats`, and the projection's own bookkeeping `business_timezones` and `call_facts`.
//! The counting rules are in [`projection`].

mod projection;
mod queries;
mod tables;

pub use projection::DailyStatsProjection;
pub use queries::{daily_stats, DailyStatsRow};
