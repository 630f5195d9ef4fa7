//! Test support: a deterministic driver for persistent queries, like Kafka Streams'
//! `TopologyTestDriver`. The ksqlDB query-validation runner and the engine's tests use it.

pub mod driver;

pub use driver::{DriverError, TestDriver, TestRecord};
