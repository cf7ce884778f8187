//! TODO(issue 6): api_calls tests.
