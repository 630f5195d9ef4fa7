//! Connection slots: how many clients the Kafka listener serves at once, in all and per address,
//! and which connection gives its slot up when every slot is taken.
//!
//! Kafka's `max.connections` blocks new clients once the limit is reached; then a client that
//! opens a thousand connections and sends nothing (or half a frame) locks everyone else out until
//! `connections.max.idle.ms` passes. Here a new client that finds every slot taken takes the slot
//! of the connection that is not in the middle of a request and was idle the longest, preferring
//! connections that never completed a request: a flood of idle or half-sent connections evicts
//! itself, while clients that are being served keep their slots. `max.connections.per.ip` refuses
//! an address's connections beyond its share at once, as Kafka does.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Why a new connection was not given a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Its address holds `max.connections.per.ip` connections already.
    PerIp,
    /// Every slot is taken by a connection in the middle of a request.
    AllBusy,
}

#[derive(Debug)]
struct Entry {
    ip: IpAddr,
    /// When the last request was answered (or the connection accepted).
    last_active: Instant,
    /// Handling a request now: not evictable.
    busy: bool,
    /// Completed at least one request.
    served: bool,
    evict: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    entries: HashMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Table {
    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some(n) = self.per_ip.get_mut(&entry.ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&entry.ip);
            }
        }
        Some(entry)
    }
}

/// The slot table shared by the accept loop and every connection.
#[derive(Debug)]
pub struct Slots {
    table: Mutex<Table>,
    max: usize,
    max_per_ip: usize,
}

impl Slots {
    /// `max` slots in all, `max_per_ip` per client address (both at least 1).
    pub fn new(max: usize, max_per_ip: usize) -> Arc<Slots> {
        Arc::new(Slots {
            table: Mutex::new(Table::default()),
            max: max.max(1),
            max_per_ip: max_per_ip.max(1),
        })
    }

    /// A slot for a new connection from `ip`, evicting the idlest connection when every slot is
    /// taken. The slot is released when the returned [`Slot`] is dropped.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let mut t = self.table.lock();
        if t.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        if t.entries.len() >= self.max {
            // Linear in the number of slots, and only when all are taken.
            let victim = t
                .entries
                .iter()
                .filter(|(_, e)| !e.busy)
                .min_by_key(|(_, e)| (e.served, e.last_active))
                .map(|(id, _)| *id);
            let Some(victim) = victim else {
                return Err(Refused::AllBusy);
            };
            if let Some(entry) = t.remove(victim) {
                entry.evict.notify_one();
            }
        }
        let id = t.next_id;
        t.next_id += 1;
        let evict = Arc::new(Notify::new());
        t.entries.insert(
            id,
            Entry {
                ip,
                last_active: Instant::now(),
                busy: false,
                served: false,
                evict: evict.clone(),
            },
        );
        *t.per_ip.entry(ip).or_default() += 1;
        Ok(Slot {
            slots: self.clone(),
            id,
            evict,
        })
    }

    /// Connections holding a slot now.
    pub fn len(&self) -> usize {
        self.table.lock().entries.len()
    }

    /// True when no connection holds a slot.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One connection's slot.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    id: u64,
    evict: Arc<Notify>,
}

impl Slot {
    /// Completes when a newer connection took this slot: the connection should close.
    pub async fn evicted(&self) {
        self.evict.notified().await;
    }

    /// The connection starts handling a request (it cannot be evicted until [`Slot::idle`]).
    pub fn busy(&self) {
        if let Some(e) = self.slots.table.lock().entries.get_mut(&self.id) {
            e.busy = true;
        }
    }

    /// The connection answered a request and waits for the next one.
    pub fn idle(&self) {
        if let Some(e) = self.slots.table.lock().entries.get_mut(&self.id) {
            e.busy = false;
            e.served = true;
            e.last_active = Instant::now();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.table.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[tokio::test]
    async fn a_full_table_evicts_the_idlest_connection_that_never_completed_a_request() {
        let slots = Slots::new(3, 10);
        let served = slots.admit(ip(1)).unwrap();
        served.idle();
        let silent = slots.admit(ip(2)).unwrap();
        let busy = slots.admit(ip(3)).unwrap();
        busy.busy();
        let newcomer = slots.admit(ip(4)).unwrap();
        assert_eq!(slots.len(), 3);
        // The silent one was told to go; the served and the busy one were not.
        tokio::time::timeout(std::time::Duration::from_secs(1), silent.evicted())
            .await
            .expect("the silent connection is evicted");
        drop(silent);
        assert_eq!(slots.len(), 3, "an evicted slot is not released twice");
        // Once the newcomer was served too, the one idle for longest goes (never the busy one).
        newcomer.idle();
        let _another = slots.admit(ip(5)).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(1), served.evicted())
            .await
            .expect("then the idlest served connection");
        drop((served, newcomer));
        busy.idle();
    }

    #[test]
    fn per_ip_limit_and_all_busy_refuse() {
        let slots = Slots::new(2, 1);
        let a = slots.admit(ip(1)).unwrap();
        assert_eq!(slots.admit(ip(1)).unwrap_err(), Refused::PerIp);
        let b = slots.admit(ip(2)).unwrap();
        a.busy();
        b.busy();
        assert_eq!(slots.admit(ip(3)).unwrap_err(), Refused::AllBusy);
        drop(a);
        assert!(slots.admit(ip(3)).is_ok());
    }
}
