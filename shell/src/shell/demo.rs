//! The demo generator behind `sluice` with no arguments: a topic `demo_orders` (1 partition) fed
//! one JSON order every 300 ms through the Kafka protocol, so a newcomer has a live stream to
//! query at once. Values look like
//! `{"order_id":42,"customer_id":"c-7","amount":19.99,"category":"books","quantity":2,"ts":"2026-11-23T14:00:00.123Z"}`
//! with the customer id as the key.

use std::collections::BTreeMap;
use std::time::Duration;

use sluice_broker::client::{Client, Producer, ProducerConfig, ProducerRecord};
use tokio::sync::oneshot;

use crate::error::CliError;

/// The demo topic's name.
pub const DEMO_TOPIC: &str = "demo_orders";
/// How often the generator writes an order.
const INTERVAL: Duration = Duration::from_millis(300);
const CATEGORIES: [&str; 5] = ["books", "games", "garden", "music", "tools"];

/// The running generator; [`DemoGenerator::stop`] ends it.
pub struct DemoGenerator {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl DemoGenerator {
    /// Creates the topic when missing and starts writing orders to the broker at `bootstrap`.
    /// Order ids start from the clock, so a restart on the same data folder does not repeat them.
    pub async fn start(bootstrap: &str) -> Result<DemoGenerator, CliError> {
        let client = Client::connect(bootstrap).await?;
        if client.topic(DEMO_TOPIC).await.is_err() {
            client.create_topic(DEMO_TOPIC, 1, &BTreeMap::new()).await?;
        }
        let mut producer = Producer::new(client, ProducerConfig::default());
        let (stop, mut stopped) = oneshot::channel::<()>();
        let mut rng = Lcg(now_ms() as u64 | 1);
        let task = tokio::spawn(async move {
            let mut order_id = now_ms() / 1000 % 1_000_000 * 10;
            let mut tick = tokio::time::interval(INTERVAL);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {}
                }
                order_id += 1;
                let (key, value) = order(order_id, &mut rng);
                if let Err(e) = producer
                    .send(DEMO_TOPIC, ProducerRecord::new(Some(key), value))
                    .await
                {
                    tracing::warn!(error = %e, "the demo generator could not write an order");
                }
                if let Err(e) = producer.flush().await {
                    tracing::warn!(error = %e, "the demo generator could not flush");
                }
            }
            let _ = producer.flush().await;
        });
        Ok(DemoGenerator { stop, task })
    }

    /// Stops writing and waits for the last order to be flushed.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A tiny linear congruential generator: the demo needs variety, not randomness.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

/// One order: the key (customer id) and the JSON value.
fn order(order_id: i64, rng: &mut Lcg) -> (String, String) {
    let customer = format!("c-{}", rng.next(20) + 1);
    let amount = (rng.next(20_000) + 99) as f64 / 100.0;
    let category = CATEGORIES[rng.next(CATEGORIES.len() as u64) as usize];
    let quantity = rng.next(5) + 1;
    let ts = format_timestamp(now_ms());
    let value = serde_json::json!({
        "order_id": order_id,
        "customer_id": customer,
        "amount": amount,
        "category": category,
        "quantity": quantity,
        "ts": ts,
    });
    (customer, value.to_string())
}

/// RFC 3339 in UTC with milliseconds, from ms since the epoch.
fn format_timestamp(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_timestamp(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            format_timestamp(951_782_400_000),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn orders_are_json_with_every_field() {
        let mut rng = Lcg(7);
        let (key, value) = order(5, &mut rng);
        let json: serde_json::Value = serde_json::from_str(&value).unwrap();
        assert_eq!(json["order_id"], 5);
        assert_eq!(json["customer_id"].as_str(), Some(key.as_str()));
        assert!(json["amount"].as_f64().is_some_and(|a| a > 0.0));
        assert!(CATEGORIES.contains(&json["category"].as_str().unwrap_or("")));
        assert!(
            json["quantity"]
                .as_u64()
                .is_some_and(|q| (1..=5).contains(&q))
        );
        assert!(json["ts"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
}
