//! TODO(issue 6): openapi tests.
