//! What mcp-hive serves out of the box: the demo tools of the seed walkthroughs ([`demo`]) and,
//! when enabled, the conformance suite's fixtures ([`conformance`], and
//! [`conformance_stateless`] for the 2026-07-28 scenarios, [`conformance_tasks`] for the tasks
//! extension's). Both use only the public registry API, so they double as examples for library
//! users.

pub mod conformance;
pub mod conformance_stateless;
pub mod conformance_tasks;
pub mod demo;
