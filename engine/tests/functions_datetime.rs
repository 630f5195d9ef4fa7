//! ksqlDB's date and time functions through SQL (cases from timestamp-to-string.json,
//! stringtimestamp.json, timestampformat.json, format-date.json, parse-date.json,
//! format-time.json, parse-time.json, dateadd.json, timestampadd.json, convert-tz.json ...).

mod functions_support;

use functions_support::{check, error, type_of, value};

#[tokio::test]
async fn format_timestamps_in_zones() {
    check(&[
        (
            "TIMESTAMPTOSTRING(1526075913000, 'yyyy-MM-dd HH:mm:ss zzz', 'America/Los_Angeles')",
            "2018-05-11 14:58:33 PDT",
        ),
        (
            "TIMESTAMPTOSTRING(1526075913000, 'yyyy-MM-dd HH:mm:ss zzz', 'Europe/London')",
            "2018-05-11 22:58:33 BST",
        ),
        ("TIMESTAMPTOSTRING(1526075913123, 'yyyy-MM-dd''T''HH:mm:ss.SSS')", "2018-05-11T21:58:33.123"),
        (
            "FORMAT_TIMESTAMP(FROM_UNIXTIME(1526075913000), 'yyyy-MM-dd HH:mm:ss zzz', 'America/Los_Angeles')",
            "2018-05-11 14:58:33 PDT",
        ),
        ("FORMAT_TIMESTAMP(FROM_UNIXTIME(0), 'dd MMM yyyy, EEE h:mm a')", "01 Jan 1970, Thu 12:00 AM"),
        ("FORMAT_TIMESTAMP(CAST(NULL AS TIMESTAMP), 'yyyy')", "NULL"),
        ("TIMESTAMPTOSTRING(0, 'yyyy-MM-dd', CAST(NULL AS VARCHAR))", "NULL"),
    ])
    .await;
    let e = error("TIMESTAMPTOSTRING(0, 'yyyy', 'Mars/Olympus')").await;
    assert!(e.contains("unknown time zone 'Mars/Olympus'"), "{e}");
    let e = error("TIMESTAMPTOSTRING(0, 'yyyy-qq')").await;
    assert!(e.contains("unsupported pattern letter 'q'"), "{e}");
}

#[tokio::test]
async fn parse_timestamps() {
    check(&[
        ("STRINGTOTIMESTAMP('2018-05-11T21:58:33Z', 'yyyy-MM-dd''T''HH:mm:ssX')", "1526075913000"),
        ("STRINGTOTIMESTAMP('2020-05-11T21:58:33z', 'yyyy-MM-dd''T''HH:mm:ssX')", "1589234313000"),
        (
            "STRINGTOTIMESTAMP('2019-08-27T13:31:09.2+0000', 'yyyy-MM-dd''T''HH:mm:ss.SX')",
            "1566912669200",
        ),
        (
            "UNIX_TIMESTAMP(PARSE_TIMESTAMP('2018-05-11T21:58:33 PST', 'yyyy-MM-dd''T''HH:mm:ss zzz'))",
            "1526101113000",
        ),
        (
            "STRINGTOTIMESTAMP('2018-05-11 14:58:33', 'yyyy-MM-dd HH:mm:ss', 'America/Los_Angeles')",
            "1526075913000",
        ),
        ("PARSE_TIMESTAMP('2018-05-11 21:58:33', 'yyyy-MM-dd HH:mm:ss')", "2018-05-11T21:58:33"),
        ("STRINGTOTIMESTAMP('not a timestamp', 'yyyy-MM-dd''T''HH:mm:ssX')", "NULL"),
        ("STRINGTOTIMESTAMP(CAST(NULL AS VARCHAR), 'yyyy')", "NULL"),
    ])
    .await;
    assert_eq!(
        type_of("PARSE_TIMESTAMP('2018', 'yyyy')").await,
        "Timestamp(ms)"
    );
    assert_eq!(type_of("STRINGTOTIMESTAMP('2018', 'yyyy')").await, "Int64");
}

#[tokio::test]
async fn dates_and_times() {
    check(&[
        ("FORMAT_DATE(FROM_DAYS(17662), 'yyyy-MM-dd')", "2018-05-11"),
        ("FORMAT_DATE(FROM_DAYS(18993), 'dd-MMM-yyyy')", "01-Jan-2022"),
        ("FORMAT_DATE(FROM_DAYS(-1), 'dd-MM-yyyy''Sophia''')", "31-12-1969Sophia"),
        ("DATETOSTRING(18027, 'dd/MM/yyyy')", "11/05/2019"),
        ("UNIX_DATE(PARSE_DATE('2018-05-11Lit', 'yyyy-MM-dd''Lit'''))", "17662"),
        ("UNIX_DATE(PARSE_DATE('01-JAN-2022', 'dd-MMM-yyyy'))", "18993"),
        ("UNIX_DATE(PARSE_DATE('JAN-2022', 'MMM-yyyy'))", "18993"),
        ("STRINGTODATE('11/05/2019', 'dd/MM/yyyy')", "18027"),
        ("PARSE_DATE('bogus', 'yyyy-MM-dd')", "NULL"),
        ("FORMAT_TIME(PARSE_TIME('00:01:05', 'HH:mm:ss'), 'HH_mm_ss_SSS')", "00_01_05_000"),
        ("FORMAT_TIME(TIMEADD('MILLISECONDS', 1234567, PARSE_TIME('00:00', 'HH:mm')), 'HHmmss''AAAAA''')", "002034AAAAA"),
        ("PARSE_TIME('00:01:05Lit', 'HH:mm:ss''Lit''')", "00:01:05"),
        ("PARSE_TIME('01:00:00 PM', 'hh:mm:ss a')", "13:00:00"),
        ("PARSE_TIME('01:00:00 Pm', 'hh:mm:ss a')", "13:00:00"),
        ("FROM_DAYS(-10)", "1969-12-22"),
        ("UNIX_DATE(FROM_DAYS(100))", "100"),
        ("UNIX_TIMESTAMP(FROM_UNIXTIME(1589234313000))", "1589234313000"),
    ])
    .await;
}

#[tokio::test]
async fn interval_arithmetic() {
    check(&[
        ("UNIX_DATE(DATEADD('DAYS', 10, FROM_DAYS(10)))", "20"),
        ("UNIX_DATE(DATEADD('DAYS', -5, FROM_DAYS(2)))", "-3"),
        ("UNIX_DATE(DATESUB('DAYS', 5, FROM_DAYS(10)))", "5"),
        (
            "DATEADD('MILLISECONDS', CAST(NULL AS INT), FROM_DAYS(5))",
            "NULL",
        ),
        (
            "UNIX_TIMESTAMP(TIMESTAMPADD('MILLISECONDS', 10, FROM_UNIXTIME(10)))",
            "20",
        ),
        (
            "UNIX_TIMESTAMP(TIMESTAMPADD('MILLISECONDS', -5, FROM_UNIXTIME(2)))",
            "-3",
        ),
        (
            "UNIX_TIMESTAMP(TIMESTAMPSUB('SECONDS', 1, FROM_UNIXTIME(5000)))",
            "4000",
        ),
        (
            "UNIX_TIMESTAMP(TIMESTAMPADD('HOURS', 1, FROM_UNIXTIME(0)))",
            "3600000",
        ),
        (
            "TIMEADD('HOURS', 2, PARSE_TIME('23:00', 'HH:mm'))",
            "01:00:00",
        ),
        (
            "TIMESUB('MINUTES', 1, PARSE_TIME('00:00', 'HH:mm'))",
            "23:59:00",
        ),
    ])
    .await;
    let e = error("DATEADD('FORTNIGHTS', 1, FROM_DAYS(1))").await;
    assert!(e.contains("unknown time unit 'FORTNIGHTS'"), "{e}");
    let e = error("DATEADD(FROM_DAYS(1), 5, FROM_DAYS(1))").await;
    assert!(
        e.contains("Function 'DATEADD' does not accept parameters (DATE, BIGINT, DATE)"),
        "{e}"
    );
}

#[tokio::test]
async fn convert_tz_and_now() {
    check(&[
        ("UNIX_TIMESTAMP(CONVERT_TZ(FROM_UNIXTIME(100), '+0200', '+0500'))", "10800100"),
        (
            "UNIX_TIMESTAMP(CONVERT_TZ(FROM_UNIXTIME(1589234313000), 'America/Los_Angeles', 'America/New_York'))",
            "1589245113000",
        ),
        ("CONVERT_TZ(CAST(NULL AS TIMESTAMP), 'UTC', 'UTC')", "NULL"),
    ])
    .await;
    assert_eq!(value("UNIX_TIMESTAMP() > 100").await, "true");
    assert_eq!(value("UNIX_DATE() > 100").await, "true");
}

#[tokio::test]
async fn bare_time_units_from_the_ksql_parser() {
    use sluice_engine::functions::quote_time_units;
    use sluice_engine::sql::{Statement, parse_statement};

    let statement = parse_statement(
        "SELECT UNIX_DATE(DATEADD(DAYS, 10, FROM_DAYS(10))) AS D, \
         UNIX_TIMESTAMP(TIMESTAMPSUB(SECONDS, 1, FROM_UNIXTIME(5000))) AS T FROM S EMIT CHANGES;",
    )
    .expect("parses");
    let Statement::Query(mut query) = statement else {
        panic!("not a query: {statement:?}");
    };
    quote_time_units(&mut query.projection);
    let items: Vec<String> = query.projection.iter().map(ToString::to_string).collect();
    assert_eq!(
        items,
        [
            "UNIX_DATE(DATEADD('DAYS', 10, FROM_DAYS(10))) AS D",
            "UNIX_TIMESTAMP(TIMESTAMPSUB('SECONDS', 1, FROM_UNIXTIME(5000))) AS T"
        ]
    );
    let row = functions_support::row(&format!("SELECT {}", items.join(", "))).await;
    assert_eq!(row, ["20", "4000"]);
}
