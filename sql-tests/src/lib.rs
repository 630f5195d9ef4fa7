//! SQL conformance for Sluice: the ksqlDB query-validation-test runner ([`qtt`], binary `qtt`).

pub mod qtt;
