//! Unit tests of the tasks extension's rules.
