//! ksqlDB's URL functions: URL_EXTRACT_* (parts of a URL) and URL_ENCODE_PARAM /
//! URL_DECODE_PARAM (`application/x-www-form-urlencoded`, as Java's URLEncoder writes it).
//!
//! A string that is not an absolute URL gives NULL, as do absent parts.

use datafusion::arrow::array::{ArrayRef, Int32Array, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;
use url::Url;

use super::args::{out, ret, s, strings};
use super::udf::{Category, FunctionSpec, KsqlUdf, Param as P, Sig};

/// Every URL function's spec, for the catalog.
pub const SPECS: &[FunctionSpec] = &[
    URL_EXTRACT_FRAGMENT,
    URL_EXTRACT_HOST,
    URL_EXTRACT_PARAMETER,
    URL_EXTRACT_PATH,
    URL_EXTRACT_PORT,
    URL_EXTRACT_PROTOCOL,
    URL_EXTRACT_QUERY,
    URL_ENCODE_PARAM,
    URL_DECODE_PARAM,
];

/// The URL functions as UDFs.
pub fn udfs() -> Vec<ScalarUDF> {
    vec![
        KsqlUdf::new(&URL_EXTRACT_FRAGMENT, ret::string, fragment).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_HOST, ret::string, host).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_PARAMETER, ret::string, parameter).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_PATH, ret::string, path).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_PORT, ret::int, port).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_PROTOCOL, ret::string, protocol).into_udf(),
        KsqlUdf::new(&URL_EXTRACT_QUERY, ret::string, query).into_udf(),
        KsqlUdf::new(&URL_ENCODE_PARAM, ret::string, encode_param).into_udf(),
        KsqlUdf::new(&URL_DECODE_PARAM, ret::string, decode_param).into_udf(),
    ]
}

const U: Category = Category::Url;
const ONE: &[Sig] = &[Sig::new(&[P::Str], "VARCHAR")];
const URL_EXTRACT_FRAGMENT: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_FRAGMENT",
    aliases: &[],
    category: U,
    description: "The fragment (after '#') of a URL, or NULL.",
    sigs: ONE,
};
const URL_EXTRACT_HOST: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_HOST",
    aliases: &[],
    category: U,
    description: "The host of a URL, or NULL.",
    sigs: ONE,
};
const URL_EXTRACT_PARAMETER: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_PARAMETER",
    aliases: &[],
    category: U,
    description: "The decoded value of the first query parameter with the given name, or NULL.",
    sigs: &[Sig::new(&[P::Str, P::Str], "VARCHAR")],
};
const URL_EXTRACT_PATH: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_PATH",
    aliases: &[],
    category: U,
    description: "The path of a URL ('' when it has none).",
    sigs: ONE,
};
const URL_EXTRACT_PORT: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_PORT",
    aliases: &[],
    category: U,
    description: "The port written in a URL, or NULL.",
    sigs: &[Sig::new(&[P::Str], "INT")],
};
const URL_EXTRACT_PROTOCOL: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_PROTOCOL",
    aliases: &[],
    category: U,
    description: "The scheme of a URL (http, https ...), or NULL if it has none.",
    sigs: ONE,
};
const URL_EXTRACT_QUERY: FunctionSpec = FunctionSpec {
    name: "URL_EXTRACT_QUERY",
    aliases: &[],
    category: U,
    description: "The query (after '?') of a URL, or NULL.",
    sigs: ONE,
};
const URL_ENCODE_PARAM: FunctionSpec = FunctionSpec {
    name: "URL_ENCODE_PARAM",
    aliases: &[],
    category: U,
    description: "Escapes a string for use as a URL query parameter (spaces become '+').",
    sigs: ONE,
};
const URL_DECODE_PARAM: FunctionSpec = FunctionSpec {
    name: "URL_DECODE_PARAM",
    aliases: &[],
    category: U,
    description: "Unescapes a URL query parameter ('+' becomes a space, %XX a byte). Malformed escapes give NULL.",
    sigs: ONE,
};

fn with_url(a: &[ArrayRef], f: impl Fn(&Url, &str) -> Option<String>) -> Result<ArrayRef> {
    out(strings(a, 0)?
        .iter()
        .map(|x| {
            let x = x?;
            f(&Url::parse(x).ok()?, x)
        })
        .collect::<StringArray>())
}

fn fragment(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    with_url(a, |u, _| u.fragment().map(str::to_string))
}

fn host(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    with_url(a, |u, _| u.host_str().map(str::to_string))
}

fn path(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    with_url(a, |u, raw| {
        // The url crate normalizes an empty path to "/"; Java's URI keeps it empty.
        let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
        let authority_end = after_scheme
            .find(['/', '?', '#'])
            .unwrap_or(after_scheme.len());
        if !after_scheme[authority_end..].starts_with('/') {
            return Some(String::new());
        }
        Some(u.path().to_string())
    })
}

fn protocol(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    with_url(a, |u, _| Some(u.scheme().to_string()))
}

fn query(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    with_url(a, |u, _| u.query().map(str::to_string))
}

fn port(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(strings(a, 0)?
        .iter()
        .map(|x| Url::parse(x?).ok()?.port().map(i32::from))
        .collect::<Int32Array>())
}

fn parameter(a: &[ArrayRef], n: usize, _: &DataType) -> Result<ArrayRef> {
    let (urls, names) = (strings(a, 0)?, strings(a, 1)?);
    out((0..n)
        .map(|i| {
            let (u, name) = (Url::parse(s(urls, i)?).ok()?, s(names, i)?);
            let query = u.query()?;
            query.split('&').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (decode(k)? == name).then(|| decode(v)).flatten()
            })
        })
        .collect::<StringArray>())
}

fn encode_param(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(strings(a, 0)?
        .iter()
        .map(|x| x.map(|x| url::form_urlencoded::byte_serialize(x.as_bytes()).collect::<String>()))
        .collect::<StringArray>())
}

/// Java's `URLDecoder.decode(s, UTF_8)`: `+` is a space, `%XX` a byte; invalid escapes fail.
fn decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => decoded.push(b' '),
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                decoded.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => decoded.push(other),
        }
        i += 1;
    }
    String::from_utf8(decoded).ok()
}

fn decode_param(a: &[ArrayRef], _: usize, _: &DataType) -> Result<ArrayRef> {
    out(strings(a, 0)?
        .iter()
        .map(|x| decode(x?))
        .collect::<StringArray>())
}
