//! `sluice shell -e` / `-f` and `sluice -e` end to end: a real `sluice server` (or the local
//! server of `sluice` alone) and the shell as a separate process; checks output and exit codes.

use std::process::{Command, Output};

mod support;

use support::{BIN, ServerProcess};

/// A `sluice server` on free ports and a temporary data directory.
struct Server {
    process: ServerProcess,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        Server {
            process: ServerProcess::start(dir.path(), &[]),
            _dir: dir,
        }
    }

    fn shell(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(["shell", "--port", self.process.pg_port(), "--no-timing"])
            .args(args)
            .output()
            .unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn execute_runs_statements_and_prints_results() {
    let server = Server::start();
    let out = server.shell(&[
        "-e",
        "CREATE STREAM s (id INT, name VARCHAR) WITH (KAFKA_TOPIC='s', VALUE_FORMAT='JSON', \
         PARTITIONS=1); INSERT INTO s (id, name) VALUES (1, 'a;b'); \
         SELECT id, name FROM s EMIT CHANGES LIMIT 1;",
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout {stdout} stderr {}",
        text(&out.stderr)
    );
    // ksqlDB's message for the command (a notice from the server), else the command tag.
    assert!(stdout.contains("Stream created"), "{stdout}");
    assert!(stdout.contains("INSERT 0 1"), "{stdout}");
    assert!(stdout.contains("1 | a;b"), "{stdout}");
    assert!(stdout.contains("(1 row)"), "{stdout}");
}

#[test]
fn the_first_error_stops_the_script_with_a_caret() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("script.sql");
    std::fs::write(
        &file,
        "-- a comment; not a statement\nSHOW STREAMS;\nSELECT nope FROM missing_stream;\nSHOW TABLES;\n",
    )
    .unwrap();
    let out = server.shell(&["-f", file.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr {stderr}");
    assert!(stderr.contains("ERROR:  "), "{stderr}");
    assert!(stderr.contains("missing_stream"), "{stderr}");
    // SHOW TABLES after the failure never ran: only one result table was printed.
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout.matches("rows)").count() + stdout.matches("row)").count(),
        1,
        "{stdout}"
    );
}

#[test]
fn an_unreachable_server_exits_3() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    drop(listener);
    let out = Command::new(BIN)
        .args(["shell", "--port", &port, "-e", "SHOW STREAMS;"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
}

#[test]
fn sluice_alone_runs_a_script_on_the_demo_stream_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args([
            "--no-timing",
            "-e",
            "PRINT demo_orders FROM BEGINNING LIMIT 2;",
        ])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout {stdout} stderr {}",
        text(&out.stderr)
    );
    assert!(stdout.contains("Postgres wire on"), "{stdout}");
    assert!(stdout.contains("\"order_id\""), "{stdout}");
    assert!(stdout.contains("(2 rows)"), "{stdout}");
}
