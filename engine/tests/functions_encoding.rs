//! ENCODE / TO_BYTES / FROM_BYTES, the MASK family and the REGEXP functions through SQL (cases
//! from ksqlDB's encode.json, bytes-and-strings.json and regex.json).

mod functions_support;

use functions_support::{check, error};

#[tokio::test]
async fn encode_between_hex_utf8_ascii_base64() {
    check(&[
        ("ENCODE('4578616d706C6521', 'hex', 'ascii')", "Example!"),
        (
            "ENCODE('4578616d706C6521', 'hex', 'base64')",
            "RXhhbXBsZSE=",
        ),
        (
            "ENCODE('ce95cebbcebbceacceb4ceb1', 'hex', 'utf8')",
            "Ελλάδα",
        ),
        ("ENCODE('0x4578616d706C6521', 'hex', 'utf8')", "Example!"),
        ("ENCODE('X''4578616d706C6521''', 'hex', 'utf8')", "Example!"),
        ("ENCODE('0x', 'hex', 'utf8')", ""),
        ("ENCODE('0x0x', 'hex', 'utf8')", "NULL"),
        ("ENCODE('578616d706C6521', 'hex', 'utf8')", "NULL"),
        ("ENCODE('Example!', 'ascii', 'hex')", "4578616d706c6521"),
        ("ENCODE('Ελλάδα', 'ascii', 'hex')", "3f3f3f3f3f3f"),
        ("ENCODE('RXhhbXBsZSE=', 'base64', 'utf8')", "Example!"),
        (
            "ENCODE('zpXOu867zqzOtM6x', 'base64', 'hex')",
            "ce95cebbcebbceacceb4ceb1",
        ),
        ("ENCODE('RXhhbXBsZSE=', 'base64', 'null')", "NULL"),
        ("ENCODE(CAST(NULL AS VARCHAR), 'hex', 'utf8')", "NULL"),
    ])
    .await;
}

#[tokio::test]
async fn bytes_conversions() {
    check(&[
        ("FROM_BYTES(X'1ab2', 'hex')", "1AB2"),
        ("FROM_BYTES(TO_BYTES('1aB2', 'hex'), 'hex')", "1AB2"),
        ("FROM_BYTES(X'21', 'base64')", "IQ=="),
        ("FROM_BYTES(TO_BYTES('!', 'ascii'), 'ascii')", "!"),
        ("TO_BYTES('IQ==', 'base64')", "21"),
        ("TO_BYTES('not base64!', 'base64')", "NULL"),
        ("INT_FROM_BYTES(TO_BYTES('AAAH5Q==', 'base64'))", "2021"),
        (
            "BIGINT_FROM_BYTES(TO_BYTES('AAAAASoF8gA=', 'base64'))",
            "5000000000",
        ),
        (
            "DOUBLE_FROM_BYTES(TO_BYTES('QICm/ZvJ9YI=', 'base64'))",
            "532.8738323",
        ),
        (
            "INT_FROM_BYTES(TO_BYTES('5QcAAA==', 'base64'), 'LITTLE_ENDIAN')",
            "2021",
        ),
        ("INT_FROM_BYTES(X'0102')", "NULL"),
    ])
    .await;
    let e = error("TO_BYTES('a', 'ebcdic')").await;
    assert!(e.contains("unknown encoding 'ebcdic'"), "{e}");
}

#[tokio::test]
async fn masks() {
    check(&[
        ("MASK('AbCd#$123xy Z')", "XxXx--nnnxx-X"),
        ("MASK('AbCd#$123xy Z', 'Q', 'q', '9', '@')", "QqQq@@999qq@Q"),
        (
            "MASK('AbCd#$123xy Z', 'Q', NULL, '9', NULL)",
            "QbQd#$999xy Q",
        ),
        ("MASK_KEEP_LEFT('AbCd#$123xy Z', 5)", "AbCd#-nnnxx-X"),
        ("MASK_KEEP_RIGHT('AbCd#$123xy Z', 5)", "XxXx--nn3xy Z"),
        ("MASK_LEFT('AbCd#$123xy Z', 5)", "XxXx-$123xy Z"),
        ("MASK_RIGHT('AbCd#$123xy Z', 5)", "AbCd#$12nxx-X"),
        ("MASK_LEFT('AbCd', 10)", "XxXx"),
        ("MASK(CAST(NULL AS VARCHAR))", "NULL"),
        ("MASK_LEFT('AbCd', NULL)", "NULL"),
    ])
    .await;
    let e = error("MASK_LEFT('AbCd', -1)").await;
    assert!(e.contains("non-negative"), "{e}");
}

#[tokio::test]
async fn regular_expressions() {
    check(&[
        ("REGEXP_EXTRACT('test.', 'some_test_string')", "test_"),
        ("REGEXP_EXTRACT('test.', 'anothertest')", "NULL"),
        ("REGEXP_EXTRACT('(.*) (.*)', 'steven zhang', 2)", "zhang"),
        ("REGEXP_EXTRACT('(.*) (.*)', 'agavra', 2)", "NULL"),
        (
            "REGEXP_EXTRACT('.*', REGEXP_EXTRACT('(.*) (.*)', 'andy coates', 2))",
            "coates",
        ),
        (
            "REGEXP_EXTRACT_ALL('test.', 'some_test_string_testabab')",
            "[test_, testa]",
        ),
        ("REGEXP_EXTRACT_ALL('test.', 'nothing')", "[]"),
        (
            "REGEXP_EXTRACT_ALL('(\\w+) (\\w*)', 'steven zhang andy coates', 2)",
            "[zhang, coates]",
        ),
        ("REGEXP_EXTRACT_ALL('test.', CAST(NULL AS VARCHAR))", "NULL"),
        ("REGEXP_REPLACE('baababaa', '(ab)+', 'cat')", "bacataa"),
        ("REGEXP_REPLACE('baabbabaa', '(ab)+', 'cat')", "bacatbcataa"),
        (
            "REGEXP_REPLACE('john smith', '(\\w+) (\\w+)', '$2, $1')",
            "smith, john",
        ),
        (
            "REGEXP_REPLACE('baababaa', CAST(NULL AS VARCHAR), 'cat')",
            "NULL",
        ),
        ("REGEXP_SPLIT_TO_ARRAY('aabcda', '(ab|cd)')", "[a, , a]"),
        ("REGEXP_SPLIT_TO_ARRAY('aabdcda', '(ab|cd)')", "[a, d, a]"),
        ("REGEXP_SPLIT_TO_ARRAY('zxy', '(ab|cd)')", "[zxy]"),
        (
            "REGEXP_SPLIT_TO_ARRAY('zxy', CAST(NULL AS VARCHAR))",
            "NULL",
        ),
    ])
    .await;
    let e = error("REGEXP_EXTRACT('(', 'x')").await;
    assert!(e.contains("Invalid regular expression pattern '('"), "{e}");
}
