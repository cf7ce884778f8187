//! TODO(issue 6): api_businesses tests.
