//! In-memory fakes of every port and a manual clock, so each saga branch runs in a unit test
//! in microseconds: [`FakeServices`] (Users, Products, Inventory and Payment with Payment's
//! idempotency-key rules), [`MemoryRepository`] (versioned rows, key records, outbox events,
//! and injected crashes before a chosen write), [`TestEnv`] (a [`ManualClock`] and
//! sequential ids) and [`render`], a stand-in for the HTTP edge's rendering.

use crate::ports::{
    ChargeRequest, Clock, DependencyError, Ids, Inventory, KeyUpdate, OrderRepository, Payment,
    PaymentStatus, Payments, Product, Products, Reservation, StockLine, StoreError, UserStatus,
    Users,
};
use crate::{Claim, KeyRecord, KeyState, Outcome, StoredAnswer, StoredOrder};
use domain::{OrderStatus, SagaStep};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

/// A clock that moves only when told.
#[derive(Debug, Default)]
pub struct ManualClock(Cell<i64>);

impl ManualClock {
    /// A clock at `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self(Cell::new(now_ms))
    }

    /// Moves the clock `ms` milliseconds on.
    pub fn advance(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }
}

/// A [`ManualClock`] and sequential order ids (`ord_1`, `ord_2`, …).
#[derive(Debug, Default)]
pub struct TestEnv {
    /// The clock.
    pub clock: ManualClock,
    next_id: Cell<u32>,
}

impl TestEnv {
    /// An environment whose clock reads `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self {
            clock: ManualClock::at(now_ms),
            next_id: Cell::new(0),
        }
    }
}

impl Clock for TestEnv {
    fn now_ms(&self) -> i64 {
        self.clock.0.get()
    }
}

impl Ids for TestEnv {
    fn order_id(&self) -> String {
        self.next_id.set(self.next_id.get() + 1);
        format!("ord_{}", self.next_id.get())
    }
}

/// What the fake Payment does with the next charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeScript {
    /// Processes the charge (the first time for its key) with this status and answers.
    Answer(PaymentStatus),
    /// Captures the charge, then the answer is lost: the caller sees this error.
    LostAnswer(DependencyError),
    /// Nothing reaches Payment: the caller sees this error.
    Fail(DependencyError),
}

/// The four dependency services, in memory, with a log of every call.
#[derive(Debug, Default)]
pub struct FakeServices {
    users: RefCell<BTreeMap<String, Result<UserStatus, DependencyError>>>,
    products: RefCell<BTreeMap<String, Result<Product, DependencyError>>>,
    reserve_script: RefCell<VecDeque<Result<Reservation, DependencyError>>>,
    release_script: RefCell<VecDeque<DependencyError>>,
    charge_script: RefCell<VecDeque<ChargeScript>>,
    lookup_script: RefCell<VecDeque<DependencyError>>,
    refund_script: RefCell<VecDeque<DependencyError>>,
    /// Order id → lines currently reserved.
    held: RefCell<BTreeMap<String, Vec<StockLine>>>,
    /// Charge key → payment id.
    charge_keys: RefCell<BTreeMap<String, String>>,
    /// Payment id → payment.
    payments: RefCell<BTreeMap<String, Payment>>,
    refunds: Cell<u32>,
    calls: RefCell<Vec<String>>,
}

impl FakeServices {
    /// Services where `usr_alice` is active and `prd_a` (1000 EUR cents) and `prd_b`
    /// (250 EUR cents) are sold; stock is unlimited and Payment captures.
    pub fn shop() -> Self {
        let fake = Self::default();
        fake.set_user("usr_alice", Ok(UserStatus::Active));
        fake.set_product("prd_a", Ok(product("A", 1000, true)));
        fake.set_product("prd_b", Ok(product("B", 250, true)));
        fake
    }

    /// What the User service answers for `id`.
    pub fn set_user(&self, id: &str, answer: Result<UserStatus, DependencyError>) {
        self.users.borrow_mut().insert(id.into(), answer);
    }

    /// What the Product service answers for `id`.
    pub fn set_product(&self, id: &str, answer: Result<Product, DependencyError>) {
        self.products.borrow_mut().insert(id.into(), answer);
    }

    /// The answer of the next `reserve` (later ones reserve).
    pub fn next_reserve(&self, answer: Result<Reservation, DependencyError>) {
        self.reserve_script.borrow_mut().push_back(answer);
    }

    /// The next `release` fails with `error` (later ones release).
    pub fn fail_next_release(&self, error: DependencyError) {
        self.release_script.borrow_mut().push_back(error);
    }

    /// What the next charge does (later ones capture).
    pub fn next_charge(&self, script: ChargeScript) {
        self.charge_script.borrow_mut().push_back(script);
    }

    /// The next payment lookup fails with `error`.
    pub fn fail_next_lookup(&self, error: DependencyError) {
        self.lookup_script.borrow_mut().push_back(error);
    }

    /// The next refund fails with `error`.
    pub fn fail_next_refund(&self, error: DependencyError) {
        self.refund_script.borrow_mut().push_back(error);
    }

    /// Payment settles payment `payment_id` as `status` (as its notification would say).
    pub fn settle(&self, payment_id: &str, status: PaymentStatus) {
        if let Some(payment) = self.payments.borrow_mut().get_mut(payment_id) {
            payment.status = status;
        }
    }

    /// Whether stock is reserved for `order_id` now.
    pub fn holds_stock(&self, order_id: &str) -> bool {
        self.held.borrow().contains_key(order_id)
    }

    /// Payments made (distinct charge keys processed): money moved at most once per key.
    pub fn charges_made(&self) -> usize {
        self.payments.borrow().len()
    }

    /// The payment made for `order_id`'s charge key, if any.
    pub fn payment_of(&self, order_id: &str) -> Option<Payment> {
        let key = SagaStep::charge_key(order_id);
        let id = self.charge_keys.borrow().get(&key).cloned()?;
        self.payments.borrow().get(&id).cloned()
    }

    /// Refunds that moved money.
    pub fn refunds_made(&self) -> u32 {
        self.refunds.get()
    }

    /// Every call so far, as `service.call(arg)`.
    pub fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }

    fn log(&self, call: String) {
        self.calls.borrow_mut().push(call);
    }
}

/// A product priced in EUR.
pub fn product(name: &str, price_minor: i64, active: bool) -> Product {
    Product {
        name: name.into(),
        price_minor,
        currency: "EUR".into(),
        active,
    }
}

impl Users for FakeServices {
    async fn user_status(
        &self,
        user_id: &str,
        _traceparent: Option<&str>,
    ) -> Result<UserStatus, DependencyError> {
        self.log(format!("users.get({user_id})"));
        self.users
            .borrow()
            .get(user_id)
            .cloned()
            .unwrap_or(Err(DependencyError::NotFound))
    }
}

impl Products for FakeServices {
    async fn products(
        &self,
        ids: &[String],
        _traceparent: Option<&str>,
    ) -> Vec<(String, Result<Product, DependencyError>)> {
        self.log(format!("products.get({})", ids.join(",")));
        let known = self.products.borrow();
        ids.iter()
            .filter_map(|id| known.get(id).map(|answer| (id.clone(), answer.clone())))
            .collect()
    }
}

impl Inventory for FakeServices {
    async fn reserve(
        &self,
        order_id: &str,
        lines: &[StockLine],
        _traceparent: Option<&str>,
    ) -> Result<Reservation, DependencyError> {
        self.log(format!("inventory.reserve({order_id})"));
        let answer = self
            .reserve_script
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Ok(Reservation::Reserved(format!("res_{order_id}"))));
        if let Ok(Reservation::Reserved(_)) = answer {
            self.held
                .borrow_mut()
                .insert(order_id.into(), lines.to_vec());
        }
        answer
    }

    async fn release(
        &self,
        order_id: &str,
        _traceparent: Option<&str>,
    ) -> Result<(), DependencyError> {
        self.log(format!("inventory.release({order_id})"));
        if let Some(error) = self.release_script.borrow_mut().pop_front() {
            return Err(error);
        }
        self.held.borrow_mut().remove(order_id);
        Ok(())
    }
}

impl FakeServices {
    /// The payment for `request`'s key: the first one made for it, or a new one in `status`.
    fn process(&self, request: &ChargeRequest, status: PaymentStatus) -> Payment {
        let mut keys = self.charge_keys.borrow_mut();
        let mut payments = self.payments.borrow_mut();
        if let Some(id) = keys.get(&request.idempotency_key) {
            return payments[id].clone();
        }
        let id = format!("pay_{}", payments.len() + 1);
        let payment = Payment {
            payment_id: id.clone(),
            status,
            reason: (status == PaymentStatus::Declined).then(|| "card declined".into()),
        };
        keys.insert(request.idempotency_key.clone(), id.clone());
        payments.insert(id, payment.clone());
        payment
    }
}

impl Payments for FakeServices {
    async fn charge(
        &self,
        request: &ChargeRequest,
        _traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        self.log(format!("payments.charge({})", request.order_id));
        let script = self.charge_script.borrow_mut().pop_front();
        match script.unwrap_or(ChargeScript::Answer(PaymentStatus::Captured)) {
            ChargeScript::Answer(status) => Ok(self.process(request, status)),
            ChargeScript::LostAnswer(error) => {
                self.process(request, PaymentStatus::Captured);
                Err(error)
            }
            ChargeScript::Fail(error) => Err(error),
        }
    }

    async fn refund(
        &self,
        payment_id: &str,
        _idempotency_key: &str,
        _traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        self.log(format!("payments.refund({payment_id})"));
        if let Some(error) = self.refund_script.borrow_mut().pop_front() {
            return Err(error);
        }
        let mut payments = self.payments.borrow_mut();
        let payment = payments
            .get_mut(payment_id)
            .ok_or(DependencyError::NotFound)?;
        match payment.status {
            PaymentStatus::Captured => {
                payment.status = PaymentStatus::Refunded;
                self.refunds.set(self.refunds.get() + 1);
                Ok(payment.clone())
            }
            PaymentStatus::Refunded => Ok(payment.clone()),
            _ => Err(DependencyError::Rejected("payment is not captured".into())),
        }
    }

    async fn payment(
        &self,
        payment_id: &str,
        _traceparent: Option<&str>,
    ) -> Result<Payment, DependencyError> {
        self.log(format!("payments.get({payment_id})"));
        if let Some(error) = self.lookup_script.borrow_mut().pop_front() {
            return Err(error);
        }
        self.payments
            .borrow()
            .get(payment_id)
            .cloned()
            .ok_or(DependencyError::NotFound)
    }
}

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
        Ok(self.key(key))
    }

    async fn insert_order(
        &self,
        stored: &mut StoredOrder,
        claim: &Claim,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if !self.claimable(claim) {
            return Ok(false);
        }
        self.write()?;
        self.keys.borrow_mut().insert(
            claim.key.clone(),
            KeyRecord {
                request_hash: claim.request_hash.clone(),
                state: KeyState::InFlight,
                order_id: Some(stored.order.id.clone()),
                updated_at_ms: now_ms,
            },
        );
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
        if !self.claimable(claim) {
            return Ok(false);
        }
        self.write()?;
        self.keys.borrow_mut().insert(
            claim.key.clone(),
            KeyRecord {
                request_hash: claim.request_hash.clone(),
                state: KeyState::Done(answer.clone()),
                order_id: answer.order_id.clone(),
                updated_at_ms: now_ms,
            },
        );
        Ok(true)
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

/// A stand-in for the HTTP edge's rendering: the status the edge uses for each outcome and
/// the outcome's debug text as the body.
pub fn render(outcome: &Outcome) -> StoredAnswer {
    let status = match outcome {
        Outcome::Confirmed(_) => 201,
        Outcome::PaymentPending(_) | Outcome::ChargeUnresolved { .. } => 202,
        Outcome::Refused(crate::Refusal::PaymentDeclined { .. }) => 402,
        Outcome::Refused(crate::Refusal::InsufficientStock { .. }) => 409,
        Outcome::Refused(_) => 422,
        Outcome::Unavailable(_) => 503,
    };
    StoredAnswer {
        status,
        body: format!("{outcome:?}"),
        order_id: outcome.order_id().map(str::to_owned),
    }
}
