//! Run the Kafka listener by hand (until `sluice server` exists) to try real clients against it:
//!
//! ```text
//! cargo run -p sluice-broker --example serve -- [data-dir] [127.0.0.1:9092]
//! kcat -b 127.0.0.1:9092 -L
//! ```
//!
//! Logs go to stderr; `RUST_LOG=debug` shows every request. Ctrl-C shuts down gracefully.

use std::net::SocketAddr;

use sluice_broker::protocol::{ServerConfig, serve};
use sluice_broker::{Broker, BrokerConfig};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .finish();
    tracing::subscriber::set_global_default(subscriber)?;
    let mut args = std::env::args().skip(1);
    let data_dir = args.next().unwrap_or_else(|| "./sluice-data".to_string());
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:9092".to_string())
        .parse()?;
    let broker = Broker::open(BrokerConfig::new(&data_dir)).await?;
    let listener = TcpListener::bind(addr).await?;
    eprintln!("serving {data_dir} on {addr}");
    serve(broker.clone(), listener, ServerConfig::default(), async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    broker.shutdown().await;
    Ok(())
}
