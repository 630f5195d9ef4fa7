//! A `sluice server` child process for the binary's end-to-end tests: started on free ports,
//! its Kafka and Postgres addresses read from the two lines it prints once it listens, killed
//! when dropped.

#![allow(dead_code)] // each test file uses part of it

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_sluice");

/// A running server process.
pub struct ServerProcess {
    child: Child,
    /// The Kafka listener's address (`127.0.0.1:port`).
    pub kafka: String,
    /// The Postgres listener's address.
    pub pg: String,
}

impl ServerProcess {
    /// `sluice server` on free ports with its data in `data_dir`, plus `extra` flags.
    pub fn start(data_dir: &Path, extra: &[&str]) -> ServerProcess {
        let mut args: Vec<&OsStr> = ["server", "--kafka-addr", "127.0.0.1:0"]
            .iter()
            .chain(&["--pg-addr", "127.0.0.1:0", "--data-dir"])
            .map(OsStr::new)
            .collect();
        args.push(data_dir.as_os_str());
        args.extend(extra.iter().map(OsStr::new));
        ServerProcess::spawn(&args)
    }

    /// `sluice` with exactly `args` (which must start a server), waiting until it listens.
    pub fn spawn<S: AsRef<OsStr>>(args: &[S]) -> ServerProcess {
        let mut child = Command::new(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut read = |prefix: &str| {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix(prefix)
                .unwrap_or_else(|| panic!("expected {prefix:?}, got {line:?}"))
                .to_owned()
        };
        let kafka = read("sluice: Kafka API listening on ");
        let pg = read("sluice: Postgres wire listening on ");
        ServerProcess { child, kafka, pg }
    }

    /// The Postgres listener's port.
    pub fn pg_port(&self) -> &str {
        self.pg.rsplit_once(':').map_or("", |(_, port)| port)
    }

    /// Stops the server with SIGTERM and waits for it to exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
