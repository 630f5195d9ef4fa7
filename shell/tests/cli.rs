//! The `sluice` binary end to end: a real `sluice server` process on a free port and a temporary
//! data directory, driven by `sluice topic ...` processes as a user would.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Output, Stdio};

mod support;

use support::{BIN, ServerProcess};

/// A `sluice server` on free ports and a temporary data directory, driven by `sluice topic`.
struct Server {
    process: ServerProcess,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_in(tempfile::tempdir().unwrap())
    }

    fn start_in(dir: tempfile::TempDir) -> Server {
        let process =
            ServerProcess::start(dir.path(), &["--group-initial-rebalance-delay-ms", "100"]);
        Server { process, dir }
    }

    fn topic(&self, args: &[&str]) -> Output {
        self.topic_with_input(args, "")
    }

    fn topic_with_input(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new(BIN)
            .args(["topic", "--bootstrap", &self.process.kafka])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Stops the server with SIGTERM and waits; returns the data directory for a restart.
    fn stop(mut self) -> (std::process::ExitStatus, tempfile::TempDir) {
        let exit = self.process.terminate();
        (exit, self.dir)
    }
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn lines(s: &str) -> Vec<String> {
    s.lines().map(str::to_owned).collect()
}

/// "partition -> end offset" from `topic describe` output.
fn end_offsets(describe: &str) -> BTreeMap<i32, i64> {
    describe
        .lines()
        .filter(|l| l.contains("Partition: "))
        .map(|l| {
            let field = |name: &str| -> i64 {
                l.split('\t')
                    .find_map(|f| f.strip_prefix(name))
                    .unwrap_or_else(|| panic!("no {name} in {l:?}"))
                    .trim()
                    .parse()
                    .unwrap()
            };
            (field("Partition: ") as i32, field("EndOffset: "))
        })
        .collect()
}

#[test]
fn create_list_describe_produce_consume() {
    let server = Server::start();
    let out = ok(&server.topic(&[
        "create",
        "orders",
        "--partitions",
        "3",
        "--config",
        "retention.ms=60000",
    ]));
    assert!(out.contains("Created topic orders"), "{out}");
    // The engine's processing log is a user-visible topic; its command log `_sluice_commands`
    // is internal, listed only with --include-internal.
    assert_eq!(
        lines(&ok(&server.topic(&["list"]))),
        vec!["orders", "sluice_processing_log"]
    );
    assert!(
        lines(&ok(&server.topic(&["list", "--include-internal"])))
            .contains(&"_sluice_commands".to_string())
    );

    let keys: Vec<String> = (0..30).map(|i| format!("customer-{i}")).collect();
    let input: String = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k}:order {i}\n"))
        .collect();
    let out = ok(&server.topic_with_input(&["produce", "orders", "--key-separator", ":"], &input));
    assert_eq!(out.trim(), "30 records acknowledged");

    let describe = ok(&server.topic(&["describe", "orders"]));
    assert!(describe.contains("PartitionCount: 3"), "{describe}");
    assert!(
        describe.contains("Configs: retention.ms=60000"),
        "{describe}"
    );
    assert!(describe.contains("\tretention.ms=60000\n"), "{describe}");
    assert!(describe.contains("LogStartOffset: 0"), "{describe}");
    // Each key went to the partition Kafka's murmur2 partitioner picks.
    let mut expected: BTreeMap<i32, i64> = (0..3).map(|p| (p, 0)).collect();
    for k in &keys {
        *expected
            .entry(sluice_broker::topic::partition_for_key(k.as_bytes(), 3))
            .or_default() += 1;
    }
    assert_eq!(end_offsets(&describe), expected);

    let out = ok(&server.topic(&[
        "consume",
        "orders",
        "--from-beginning",
        "--print-key",
        "--key-separator",
        "=",
        "--timeout-ms",
        "1500",
    ]));
    let mut got = lines(&out);
    got.sort();
    let mut want: Vec<String> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{k}=order {i}"))
        .collect();
    want.sort();
    assert_eq!(got, want);

    // Values only, stopping after a count.
    let out = ok(&server.topic(&[
        "consume",
        "orders",
        "--from-beginning",
        "--max-messages",
        "5",
    ]));
    let got = lines(&out);
    assert_eq!(got.len(), 5);
    assert!(got.iter().all(|v| v.starts_with("order ")), "{got:?}");

    // Without --from-beginning only new records are read: nothing arrives, the timeout ends it.
    let out = ok(&server.topic(&["consume", "orders", "--timeout-ms", "500"]));
    assert_eq!(out, "");

    // acks=1 is acknowledged; acks=0 is only sent, and still arrives.
    let out = ok(&server.topic_with_input(&["produce", "orders", "--acks", "1"], "one\n"));
    assert_eq!(out.trim(), "1 records acknowledged");
    let out = ok(&server.topic_with_input(&["produce", "orders", "--acks", "0"], "zero\n"));
    assert_eq!(out.trim(), "1 records sent (acks=0, not acknowledged)");
    let all = ok(&server.topic(&[
        "consume",
        "orders",
        "--from-beginning",
        "--max-messages",
        "32",
        "--timeout-ms",
        "5000",
    ]));
    assert!(
        all.lines().any(|l| l == "one") && all.lines().any(|l| l == "zero"),
        "{all}"
    );

    let out = ok(&server.topic(&["delete", "orders"]));
    assert!(out.contains("Deleted topic orders"), "{out}");
    assert_eq!(
        lines(&ok(&server.topic(&["list"]))),
        vec!["sluice_processing_log"]
    );
}

#[test]
fn consumer_group_resumes_from_committed_offsets() {
    let server = Server::start();
    ok(&server.topic(&["create", "events", "--partitions", "2"]));
    let input: String = (0..10).map(|i| format!("event-{i}\n")).collect();
    ok(&server.topic_with_input(&["produce", "events"], &input));

    let first = lines(&ok(&server.topic(&[
        "consume",
        "events",
        "--group",
        "readers",
        "--from-beginning",
        "--max-messages",
        "4",
        "--timeout-ms",
        "10000",
    ])));
    assert_eq!(first.len(), 4, "{first:?}");
    let second = lines(&ok(&server.topic(&[
        "consume",
        "events",
        "--group",
        "readers",
        "--from-beginning",
        "--timeout-ms",
        "1500",
    ])));
    assert_eq!(second.len(), 6, "{second:?}");
    let mut all: Vec<String> = first.iter().chain(&second).cloned().collect();
    all.sort();
    all.dedup();
    assert_eq!(
        all.len(),
        10,
        "every record exactly once across both runs: {first:?} {second:?}"
    );

    // Everything is committed now: a third run prints nothing.
    let third = ok(&server.topic(&[
        "consume",
        "events",
        "--group",
        "readers",
        "--timeout-ms",
        "1000",
    ]));
    assert_eq!(third, "");
    // Another group starts from the beginning on its own.
    let other = lines(&ok(&server.topic(&[
        "consume",
        "events",
        "--group",
        "audit",
        "--from-beginning",
        "--timeout-ms",
        "1500",
    ])));
    assert_eq!(other.len(), 10);
}

#[test]
fn errors_exit_non_zero_with_a_message() {
    let server = Server::start();
    ok(&server.topic(&["create", "t", "--partitions", "1"]));

    let out = server.topic(&["describe", "missing"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("topic \"missing\" does not exist"));

    let out = server.topic_with_input(&["produce", "missing"], "x\n");
    assert_eq!(out.status.code(), Some(4));
    let out = server.topic(&["consume", "missing", "--timeout-ms", "100"]);
    assert_eq!(out.status.code(), Some(4));

    let out = server.topic(&["create", "t", "--partitions", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("TOPIC_ALREADY_EXISTS"));

    let out = server.topic(&["create", "bad", "--config", "retention.ms"]);
    assert_eq!(out.status.code(), Some(2));
    let out = server.topic(&["create", "bad", "--config", "retention.ms=soon"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("INVALID_CONFIG"),
        "{out:?}"
    );

    let out = server.topic_with_input(
        &["produce", "t", "--key-separator", ":"],
        "k:v\nno separator\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 records acknowledged"));

    let out = server.topic_with_input(&["produce", "t", "--acks", "2"], "x\n");
    assert_eq!(out.status.code(), Some(1));

    // No server at this address.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(BIN)
        .args(["topic", "--bootstrap", &format!("127.0.0.1:{port}"), "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach a Kafka server"));
}

#[test]
fn sigterm_shuts_down_cleanly_and_data_survives_a_restart() {
    let server = Server::start();
    ok(&server.topic(&["create", "durable", "--partitions", "2"]));
    ok(&server.topic_with_input(&["produce", "durable"], "one\ntwo\nthree\n"));
    let (status, dir) = server.stop();
    assert!(status.success(), "server exit status {status:?}");

    let server = Server::start_in(dir);
    let mut got = lines(&ok(&server.topic(&[
        "consume",
        "durable",
        "--from-beginning",
        "--timeout-ms",
        "1000",
    ])));
    got.sort();
    assert_eq!(got, vec!["one", "three", "two"]);
}

#[test]
fn server_settings_come_from_a_config_file_and_a_typo_in_it_stops_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        format!(
            "data-dir = {:?}\nkafka-addr = \"127.0.0.1:0\"\npg-addr = \"127.0.0.1:0\"\n",
            data.display().to_string()
        ),
    )
    .unwrap();
    let server = ServerProcess::spawn(&[
        OsStr::new("server"),
        OsStr::new("--config"),
        config.as_os_str(),
    ]);
    assert!(server.kafka.starts_with("127.0.0.1:"), "{}", server.kafka);
    drop(server);
    assert!(data.is_dir(), "the data directory of the file is used");

    std::fs::write(&config, "pg-adr = \"127.0.0.1:0\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["server", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sluice.toml") && stderr.contains("pg-adr"),
        "{stderr}"
    );
}
