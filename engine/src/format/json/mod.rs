//! The JSON format, with ksqlDB's rules rather than arrow-json's.
//!
//! arrow-json cannot be used for decoding because ksqlDB's JSON is lenient in ways Arrow's
//! reader is not, and one bad record must not fail the batch: object fields match column names
//! exactly or upper-cased, numbers and numeric strings are coerced to the column's type,
//! DECIMAL comes from numbers or strings without rounding, STRING accepts any JSON value (an
//! object becomes its JSON text), and a single column may be written bare (unwrapped).
//! Decoding parses only the top level of each record eagerly and converts just the fields the
//! schema names, keeping every number's original text (so DECIMAL and STRING see exactly what
//! was written, not a float).

mod decode;
mod encode;

pub(super) use decode::decode;
pub(super) use encode::{encode, write_datum};
