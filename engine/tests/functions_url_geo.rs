//! URL functions and GEO_DISTANCE through SQL (cases from url.json and geodistance.json).

mod functions_support;

use functions_support::{check, error, value};

#[tokio::test]
async fn url_parts() {
    check(&[
        ("URL_DECODE_PARAM('%3Ffoo+%24bar')", "?foo $bar"),
        ("URL_DECODE_PARAM('hello%26world')", "hello&world"),
        ("URL_DECODE_PARAM('nothing')", "nothing"),
        ("URL_DECODE_PARAM('bad%zz')", "NULL"),
        ("URL_ENCODE_PARAM('?foo $bar')", "%3Ffoo+%24bar"),
        (
            "URL_EXTRACT_FRAGMENT('http://www.test.com/?query#fragment')",
            "fragment",
        ),
        ("URL_EXTRACT_FRAGMENT('http://www.nofragment.com')", "NULL"),
        (
            "URL_EXTRACT_HOST('http://www.test.com/?query#fragment')",
            "www.test.com",
        ),
        (
            "URL_EXTRACT_HOST('http://test@confluent.io:8080')",
            "confluent.io",
        ),
        (
            "URL_EXTRACT_PARAMETER('http://www.test.com/?one=a&two=b&three', 'one')",
            "a",
        ),
        (
            "URL_EXTRACT_PARAMETER('http://www.test.com/?one=a&two=b&three', 'two')",
            "b",
        ),
        (
            "URL_EXTRACT_PARAMETER('http://www.test.com/?one=a%20b', 'one')",
            "a b",
        ),
        (
            "URL_EXTRACT_PARAMETER('http://www.test.com/?one=a', 'four')",
            "NULL",
        ),
        ("URL_EXTRACT_PORT('http://test@confluent.io')", "NULL"),
        (
            "URL_EXTRACT_PORT('http://test@confluent.io:8080/nested/path?query&jobs')",
            "8080",
        ),
        (
            "URL_EXTRACT_PROTOCOL('https://test@confluent.io:8080/nested/path')",
            "https",
        ),
        ("URL_EXTRACT_PROTOCOL('www.confluent.io')", "NULL"),
        (
            "URL_EXTRACT_QUERY('http://www.test.com?query#fragment')",
            "query",
        ),
        (
            "URL_EXTRACT_QUERY('http://www.test.com/path?q1&q2')",
            "q1&q2",
        ),
        (
            "URL_EXTRACT_QUERY('http://test@confluent.io:8080/path')",
            "NULL",
        ),
        (
            "URL_EXTRACT_PATH('http://test@confluent.io:8080/nested/path?q=2')",
            "/nested/path",
        ),
        ("URL_EXTRACT_PATH('http://www.test.com')", ""),
        ("URL_EXTRACT_HOST(CAST(NULL AS VARCHAR))", "NULL"),
    ])
    .await;
}

async fn distance(expr: &str) -> f64 {
    value(expr).await.parse().expect("a number")
}

#[tokio::test]
async fn geo_distance() {
    let cases = [
        (
            "GEO_DISTANCE(37.4439, -122.1663, 51.5257, -0.1122)",
            8634.659796579544,
        ),
        (
            "GEO_DISTANCE(37.4439, -122.1663, 51.5257, -0.1122, 'KM')",
            8634.659796579544,
        ),
        (
            "GEO_DISTANCE(37.4439, -122.1663, 51.5257, -0.1122, 'MI')",
            5365.659729188262,
        ),
        (
            "GEO_DISTANCE(51.5257, -0.1122, -33.9323, 18.4197)",
            9673.40421197142,
        ),
        (
            "GEO_DISTANCE(-33.9323, 18.4197, -33.8666, 151.1, 'miles')",
            6838.756491533589,
        ),
        (
            "GEO_DISTANCE(39.18660374, -76.73262144, 39.18660374, -76.73222145)",
            0.03447366811448324,
        ),
    ];
    for (expr, expected) in cases {
        let got = distance(expr).await;
        assert!(
            (got - expected).abs() <= expected * 1e-12,
            "{expr}: {got} != {expected}"
        );
    }
    check(&[
        ("GEO_DISTANCE(91, 0, 0, 0)", "NULL"),
        ("GEO_DISTANCE(CAST(NULL AS DOUBLE), 0, 0, 0)", "NULL"),
    ])
    .await;
    let e = error("GEO_DISTANCE(0, 0, 1, 1, 'parsecs')").await;
    assert!(e.contains("units must be one of"), "{e}");
}
