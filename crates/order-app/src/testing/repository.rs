//! [`MemoryRepository`]: the order repository in memory, with the SQL store's rules.

use crate::ports::{KeyUpdate, OrderRepository, StoreError};
use crate::{Claim, KeyRecord, KeyState, StoredAnswer, StoredOrder};
use domain::{OrderStatus, SagaStep};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

/// A stored order row: the order as last saved and when its saga was last touched.
#[derive(Debug, Clone)]
struct Row {
    stored: StoredOrder,
    saga_updated_at: i64,
}

/// The order repository in memory, with the SQL store's rules: conditional saves on the
/// row's version, key claims that never overwrite a live record, an outbox event per status
/// change that has one, and a write counter. [`Self::crash_before_write`] makes the `n`-th
/// write from now (and every later one) fail, as an instance killed just before it.
#[derive(Debug, Default)]
pub struct MemoryRepository {
    orders: RefCell<BTreeMap<String, Row>>,
    keys: RefCell<BTreeMap<String, KeyRecord>>,
    outbox: RefCell<Vec<(String, String)>>,
    writes: Cell<u32>,
    key_reads: Cell<u32>,
    crash_at: Cell<Option<u32>>,
    change_behind_next_load: Cell<bool>,
}

impl MemoryRepository {
    /// The `n`-th write from now (1 = the next) and all later ones fail.
    pub fn crash_before_write(&self, n: u32) {
        self.crash_at.set(Some(self.writes.get() + n));
    }

    /// Right after the next load, another writer saves that order (its version moves on), so
    /// the loader's save conflicts.
    pub fn change_behind_next_load(&self) {
        self.change_behind_next_load.set(true);
    }

    /// The instance is back: writes succeed again.
    pub fn restart(&self) {
        self.crash_at.set(None);
    }

    /// Write transactions committed so far.
    pub fn writes(&self) -> u32 {
        self.writes.get()
    }

    /// Reads of a key's record so far ([`OrderRepository::find_key`]).
    pub fn key_reads(&self) -> u32 {
        self.key_reads.get()
    }

    /// The order `id` as stored.
    pub fn order(&self, id: &str) -> Option<StoredOrder> {
        self.orders.borrow().get(id).map(|row| row.stored.clone())
    }

    /// Number of orders stored.
    pub fn order_count(&self) -> usize {
        self.orders.borrow().len()
    }

    /// The record of key `key`.
    pub fn key(&self, key: &str) -> Option<KeyRecord> {
        self.keys.borrow().get(key).cloned()
    }

    /// Event types in the outbox for `order_id`, in order.
    pub fn events_of(&self, order_id: &str) -> Vec<String> {
        self.outbox
            .borrow()
            .iter()
            .filter(|(id, _)| id == order_id)
            .map(|(_, event)| event.clone())
            .collect()
    }

    /// Moves the saga of `id` back in time by `ms` (it looks stale sooner).
    pub fn age_saga(&self, id: &str, ms: i64) {
        if let Some(row) = self.orders.borrow_mut().get_mut(id) {
            row.saga_updated_at -= ms;
        }
    }

    /// Counts one write, or fails it when a crash is due.
    fn write(&self) -> Result<(), StoreError> {
        let next = self.writes.get() + 1;
        if self.crash_at.get().is_some_and(|at| next >= at) {
            return Err(StoreError::Failed("injected crash".into()));
        }
        self.writes.set(next);
        Ok(())
    }

    fn record_events(&self, stored: &StoredOrder) {
        let mut outbox = self.outbox.borrow_mut();
        for (_, change) in stored.unsaved_history() {
            if let Some(event) = change.status.event_type() {
                outbox.push((stored.order.id.clone(), event.into()));
            }
        }
    }

    fn apply_key(&self, order_id: &str, key: KeyUpdate<'_>, now_ms: i64) {
        let mut keys = self.keys.borrow_mut();
        let Some(name) = keys
            .iter()
            .find(|(_, record)| {
                record.order_id.as_deref() == Some(order_id) && record.state == KeyState::InFlight
            })
            .map(|(name, _)| name.clone())
        else {
            return;
        };
        match key {
            KeyUpdate::Keep => {}
            KeyUpdate::Finish(answer) => {
                let record = keys.get_mut(&name).expect("found above");
                record.state = KeyState::Done(answer.clone());
                record.updated_at_ms = now_ms;
            }
            KeyUpdate::Release => {
                keys.remove(&name);
            }
        }
    }

    /// Writes `claim`'s key as `state` (one write) if it may: no record, or an abandoned one.
    /// `Ok(false)` when the key is taken.
    fn claim(
        &self,
        claim: &Claim,
        state: KeyState,
        order_id: Option<String>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if !self.claimable(claim) {
            return Ok(false);
        }
        self.write()?;
        let record = KeyRecord {
            request_hash: claim.request_hash.clone(),
            state,
            order_id,
            updated_at_ms: now_ms,
        };
        self.keys.borrow_mut().insert(claim.key.clone(), record);
        Ok(true)
    }

    /// Whether `claim` may write its key: no record, or an abandoned one.
    fn claimable(&self, claim: &Claim) -> bool {
        match self.keys.borrow().get(&claim.key) {
            None => true,
            Some(record) => {
                record.state == KeyState::InFlight
                    && record.order_id.is_none()
                    && record.updated_at_ms < claim.stale_before_ms
            }
        }
    }
}

impl OrderRepository for MemoryRepository {
    async fn find_key(&self, key: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.key_reads.set(self.key_reads.get() + 1);
        Ok(self.key(key))
    }

    async fn insert_order(
        &self,
        stored: &mut StoredOrder,
        claim: &Claim,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let order_id = Some(stored.order.id.clone());
        if !self.claim(claim, KeyState::InFlight, order_id, now_ms)? {
            return Ok(false);
        }
        self.record_events(stored);
        stored.mark_saved();
        self.orders.borrow_mut().insert(
            stored.order.id.clone(),
            Row {
                stored: stored.clone(),
                saga_updated_at: now_ms,
            },
        );
        Ok(true)
    }

    async fn store_answer(
        &self,
        claim: &Claim,
        answer: &StoredAnswer,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let state = KeyState::Done(answer.clone());
        self.claim(claim, state, answer.order_id.clone(), now_ms)
    }

    async fn save_order(
        &self,
        stored: &mut StoredOrder,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let id = stored.order.id.clone();
        let current = self
            .orders
            .borrow()
            .get(&id)
            .map(|row| row.stored.version());
        if current != Some(stored.version()) {
            return Err(StoreError::Conflict { order_id: id });
        }
        self.write()?;
        self.record_events(stored);
        self.apply_key(&id, key, now_ms);
        stored.mark_changed();
        self.orders.borrow_mut().insert(
            id,
            Row {
                stored: stored.clone(),
                saga_updated_at: now_ms,
            },
        );
        Ok(())
    }

    async fn update_key(
        &self,
        order_id: &str,
        key: KeyUpdate<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.write()?;
        self.apply_key(order_id, key, now_ms);
        Ok(())
    }

    async fn load_order(&self, id: &str) -> Result<Option<StoredOrder>, StoreError> {
        let mut orders = self.orders.borrow_mut();
        let Some(row) = orders.get_mut(id) else {
            return Ok(None);
        };
        let version = row.stored.version();
        let loaded = row.stored.clone().loaded_at(version);
        if self.change_behind_next_load.replace(false) {
            row.stored.mark_changed();
        }
        Ok(Some(loaded))
    }

    async fn stale_sagas(&self, before_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        let orders = self.orders.borrow();
        let mut stale: Vec<(&String, i64)> = orders
            .iter()
            .filter(|(_, row)| {
                row.stored.saga_step != SagaStep::Completed && row.saga_updated_at < before_ms
            })
            .map(|(id, row)| (id, row.saga_updated_at))
            .collect();
        stale.sort_by_key(|(_, at)| *at);
        Ok(stale
            .into_iter()
            .take(limit as usize)
            .map(|(id, _)| id.clone())
            .collect())
    }

    async fn lease_saga(&self, id: &str, before_ms: i64, now_ms: i64) -> Result<bool, StoreError> {
        let stale = self.orders.borrow().get(id).is_some_and(|row| {
            row.stored.saga_step != SagaStep::Completed && row.saga_updated_at < before_ms
        });
        if !stale {
            return Ok(false);
        }
        self.write()?;
        if let Some(row) = self.orders.borrow_mut().get_mut(id) {
            row.saga_updated_at = now_ms;
        }
        Ok(true)
    }

    async fn pending_payments(
        &self,
        before_ms: i64,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        Ok(self
            .orders
            .borrow()
            .iter()
            .filter(|(_, row)| {
                row.stored.order.status == OrderStatus::PaymentPending
                    && row.stored.order.updated_at.millis() < before_ms
            })
            .take(limit as usize)
            .map(|(id, _)| id.clone())
            .collect())
    }
}
