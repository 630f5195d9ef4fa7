//! ksqlDB's ARRAY and MAP functions, ELT and FIELD through SQL (cases from arraycontains.json,
//! array-set-functions.json, array-remove.json, array-min-max-sort.json, arrayjoin.json,
//! slice.json, map.json and elt-field.json).

mod functions_support;

use functions_support::{check, error};

#[tokio::test]
async fn contains_length_slice() {
    check(&[
        ("ARRAY_CONTAINS(['Red', 'Green'], 'Pink')", "false"),
        ("ARRAY_CONTAINS(['Pink', 'Yellow', 'Pink'], 'Pink')", "true"),
        ("ARRAY_CONTAINS(['Pink', NULL], 'Pink')", "true"),
        ("ARRAY_CONTAINS(CAST(NULL AS VARCHAR[]), 'Pink')", "false"),
        ("ARRAY_CONTAINS([1, 2, 3], 2)", "true"),
        ("ARRAY_CONTAINS([1, NULL], NULL)", "true"),
        ("ARRAY_CONTAINS([1.5, 2.5], 2)", "false"),
        ("ARRAY_LENGTH([1, 2, 3])", "3"),
        ("ARRAY_LENGTH(CAST(NULL AS INT[]))", "NULL"),
        ("SLICE(['a', 'b', 'c', 'd'], 2, 3)", "[b, c]"),
        ("SLICE([[1], [2], [3]], 2, 3)", "[[2], [3]]"),
        ("SLICE(['a', 'b'], NULL, 1)", "[a]"),
        ("SLICE(['a', 'b'], 2, NULL)", "[b]"),
        ("SLICE(['a', 'b'], 1, 5)", "NULL"),
        ("SLICE(['a', 'b'], 0, 1)", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn set_functions() {
    check(&[
        ("ARRAY_DISTINCT(['foo', 'bar', 'foo'])", "[foo, bar]"),
        ("ARRAY_DISTINCT([NULL, 1, NULL, 2])", "[NULL, 1, 2]"),
        ("ARRAY_DISTINCT([[1, 2], [1, 2], [1]])", "[[1, 2], [1]]"),
        ("ARRAY_DISTINCT(CAST(NULL AS INT[]))", "NULL"),
        (
            "ARRAY_EXCEPT(['foo', 'bar', 'foo'], ['bar', 'baz'])",
            "[foo]",
        ),
        ("ARRAY_EXCEPT([0, 0, 1, 0, -1], [1, -2])", "[0, -1]"),
        ("ARRAY_EXCEPT([0, 0, 1, 0, -1], [1, -1, 0])", "[]"),
        ("ARRAY_EXCEPT([0, 1], CAST(NULL AS BIGINT[]))", "NULL"),
        (
            "ARRAY_INTERSECT(['foo', 'bar', 'foo'], ['foo', 'baz'])",
            "[foo]",
        ),
        (
            "ARRAY_UNION(['foo', 'bar'], ['baz', 'foo'])",
            "[foo, bar, baz]",
        ),
        ("ARRAY_UNION([1], CAST(NULL AS BIGINT[]))", "NULL"),
        ("ARRAY_CONCAT([1, 2], [2, 3])", "[1, 2, 2, 3]"),
        ("ARRAY_CONCAT(CAST(NULL AS BIGINT[]), [3])", "[3]"),
        ("ARRAY_REMOVE(['foo', 'bar', 'foo'], 'foo')", "[bar]"),
        ("ARRAY_REMOVE([1, NULL, 2], NULL)", "[1, 2]"),
        ("ARRAY_REMOVE([[1], [2], [1]], [1])", "[[2]]"),
    ])
    .await;
}

#[tokio::test]
async fn max_min_sort_join() {
    check(&[
        ("ARRAY_MAX([0, 0, 1, 0, -1])", "1"),
        ("ARRAY_MAX([NULL, -123, 345])", "345"),
        ("ARRAY_MAX(['foo', 'bar'])", "foo"),
        ("ARRAY_MAX([false, true, false])", "true"),
        ("ARRAY_MIN([0.1, -12345.678, 0.2])", "-12345.678"),
        ("ARRAY_MIN(CAST([] AS INT[]))", "NULL"),
        ("ARRAY_SORT([0, NULL, 1, 0, -1])", "[-1, 0, 0, 1, NULL]"),
        (
            "ARRAY_SORT([0, NULL, 1, 0, -1], 'desc')",
            "[1, 0, 0, -1, NULL]",
        ),
        ("ARRAY_SORT(['foo', 'bar'])", "[bar, foo]"),
        ("ARRAY_JOIN([true, NULL, false])", "true,null,false"),
        ("ARRAY_JOIN([1, 23, -42, 0], '?')", "1?23?-42?0"),
        ("ARRAY_JOIN([1.23, -23.42, 0.0], ' ')", "1.23 -23.42 0.0"),
        (
            "ARRAY_JOIN(['Hello', 'From', '', 'Ksqldb'], '_')",
            "Hello_From__Ksqldb",
        ),
        ("ARRAY_JOIN([1, 23], CAST(NULL AS VARCHAR))", "123"),
        ("ARRAY_JOIN(CAST(NULL AS INT[]))", "NULL"),
    ])
    .await;
    let e = error("ARRAY_SORT([1], 'sideways')").await;
    assert!(e.contains("must be 'ASC' or 'DESC'"), "{e}");
    let e = error("ARRAY_LENGTH(1)").await;
    assert!(
        e.contains("expects an ARRAY") || e.contains("does not accept"),
        "{e}"
    );
}

#[tokio::test]
async fn maps() {
    check(&[
        ("MAP_KEYS(MAP(['foo', 'bar'], [10, 20]))", "[foo, bar]"),
        ("MAP_VALUES(MAP(['foo', 'bar'], [10, NULL]))", "[10, NULL]"),
        (
            "MAP_KEYS(MAP(CAST([] AS VARCHAR[]), CAST([] AS INT[])))",
            "[]",
        ),
        (
            "MAP_UNION(MAP(['a', 'b'], [1, 2]), MAP(['b', 'c'], [20, 30]))",
            "{a: 1, b: 20, c: 30}",
        ),
        ("MAP_UNION(MAP(['a'], [1]), NULL)", "{a: 1}"),
        ("AS_MAP(['a', 'b'], [1, 2])", "{a: 1, b: 2}"),
        ("AS_MAP(['a', 'b'], [1])", "{a: 1, b: NULL}"),
        ("AS_MAP(CAST(NULL AS VARCHAR[]), [1])", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn elt_and_field() {
    check(&[
        ("ELT(2, 'ignored', 'something')", "something"),
        ("ELT(2, 'ignored', CAST(NULL AS VARCHAR))", "NULL"),
        ("ELT(3, 'a', 'b')", "NULL"),
        ("ELT(0, 'a', 'b')", "NULL"),
        ("FIELD('b', 'a', 'b', 'c')", "2"),
        ("FIELD('z', 'a', 'b')", "0"),
        ("FIELD(CAST(NULL AS VARCHAR), 'a', NULL)", "0"),
    ])
    .await;
}

#[tokio::test]
async fn series_entries_as_value() {
    check(&[
        ("GENERATE_SERIES(1, 4)", "[1, 2, 3, 4]"),
        ("GENERATE_SERIES(4, 1)", "[4, 3, 2, 1]"),
        ("GENERATE_SERIES(0, 10, 5)", "[0, 5, 10]"),
        ("GENERATE_SERIES(CAST(NULL AS BIGINT), 1)", "NULL"),
        (
            "ENTRIES(MAP(['b', 'a'], [2, 1]), true)",
            "[{K: a, V: 1}, {K: b, V: 2}]",
        ),
        (
            "ENTRIES(MAP(['b', 'a'], [2, 1]), false)",
            "[{K: b, V: 2}, {K: a, V: 1}]",
        ),
        ("AS_VALUE(42)", "42"),
        ("AS_VALUE(NULL)", "NULL"),
    ])
    .await;
    let e = error("GENERATE_SERIES(1, 10, -1)").await;
    assert!(e.contains("wrong sign"), "{e}");
    let e = error("GENERATE_SERIES(1, 10, 0)").await;
    assert!(e.contains("cannot be zero"), "{e}");
}
