//! TODO(issue 6): api_numbers tests.
