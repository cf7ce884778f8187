//! The dashboard pages over HTTP through the real server (the browser scenarios run in
//! Chromium: `tests/browser/`).

mod admin;
mod owner;
mod session;
mod settings;
