//! Kafka transactions: the coordinator, its durable state, the in-process producer and the wire
//! APIs that reach it (one file per API, as `group/`).
//!
//! - [`coordinator`]: [`TxnCoordinator`], transactional id → producer id and epoch with
//!   fencing, the transaction state machine, COMMIT/ABORT markers, timeouts, recovery.
//! - [`metadata`]: one id's state and its record in `__transaction_state`.
//! - [`producer`]: [`TransactionalProducer`], the in-process API the engine commits through.
//! - `add_partitions.rs`, `add_offsets.rs`, `txn_offset_commit.rs`, `end_txn.rs`: the Kafka
//!   APIs; InitProducerId is `protocol/producer.rs`, FindCoordinator `group/find_coordinator.rs`.
//!
//! The partition side (which batches a partition accepts, the last stable offset, the aborted
//! index, read_committed reads) is in `log/transactions.rs` and `log/producer_state.rs`.

pub mod coordinator;
pub mod metadata;
pub mod producer;

pub(crate) mod add_offsets;
pub(crate) mod add_partitions;
pub(crate) mod end_txn;
pub(crate) mod txn_offset_commit;

pub use coordinator::{TRANSACTION_STATE_TOPIC, TxnConfig, TxnCoordinator, TxnError};
pub use metadata::{TxnMetadata, TxnState};
pub use producer::TransactionalProducer;
