//! TODO(issue 6): observability tests.
