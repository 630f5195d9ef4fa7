//! ksqlDB functions that DataFusion already implements with ksqlDB's semantics: described here
//! for `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`, computed by DataFusion's own UDFs.

use super::udf::{Category, FunctionSpec, Param as P, Sig};

/// DataFusion built-ins exposed under their ksqlDB names.
pub const SPECS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "ABS",
        aliases: &[],
        category: Category::Math,
        description: "The absolute value, of the argument's type.",
        sigs: &[
            Sig::new(&[P::Int], "INT"),
            Sig::new(&[P::BigInt], "BIGINT"),
            Sig::new(&[P::Decimal], "DECIMAL"),
            Sig::new(&[P::Double], "DOUBLE"),
        ],
    },
    FunctionSpec {
        name: "RANDOM",
        aliases: &[],
        category: Category::Math,
        description: "A random DOUBLE in [0, 1), different on every call.",
        sigs: &[Sig::new(&[], "DOUBLE")],
    },
    FunctionSpec {
        name: "GREATEST",
        aliases: &[],
        category: Category::Math,
        description: "The largest of its arguments, ignoring NULLs (NULL only if all are NULL). Works on numbers, strings, dates and times.",
        sigs: &[Sig::variadic(&[P::Any, P::Any], "T")],
    },
    FunctionSpec {
        name: "LEAST",
        aliases: &[],
        category: Category::Math,
        description: "The smallest of its arguments, ignoring NULLs (NULL only if all are NULL). Works on numbers, strings, dates and times.",
        sigs: &[Sig::variadic(&[P::Any, P::Any], "T")],
    },
    FunctionSpec {
        name: "COALESCE",
        aliases: &[],
        category: Category::Conditional,
        description: "The first argument that is not NULL, or NULL if all are.",
        sigs: &[Sig::variadic(&[P::Any], "T")],
    },
    FunctionSpec {
        name: "IFNULL",
        aliases: &["NVL"],
        category: Category::Conditional,
        description: "expression if it is not NULL, else altValue.",
        sigs: &[Sig::new(&[P::Any, P::Any], "T")],
    },
    FunctionSpec {
        name: "NULLIF",
        aliases: &[],
        category: Category::Conditional,
        description: "NULL if expr1 equals expr2, else expr1.",
        sigs: &[Sig::new(&[P::Any, P::Any], "T")],
    },
    FunctionSpec {
        name: "REPLACE",
        aliases: &[],
        category: Category::String,
        description: "Replaces every occurrence of substring in a string with replacement. Any NULL argument gives NULL.",
        sigs: &[Sig::new(&[P::Str, P::Str, P::Str], "VARCHAR")],
    },
    FunctionSpec {
        name: "MD5",
        aliases: &[],
        category: Category::String,
        description: "The MD5 hash of a string, as 32 lower-case hex digits. NULL gives NULL.",
        sigs: &[Sig::new(&[P::Str], "VARCHAR")],
    },
    FunctionSpec {
        name: "UUID",
        aliases: &[],
        category: Category::String,
        description: "A random (version 4) UUID in its 36-character text form.",
        sigs: &[Sig::new(&[], "VARCHAR")],
    },
];
