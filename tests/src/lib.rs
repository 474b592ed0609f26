//! Fixture and end-to-end tests of dflc: see `tests/` beside this file.
