//! [`FakeServices`]: Users, Products, Inventory and Payment in memory.

use crate::ports::{
    ChargeRequest, DependencyError, Inventory, Payment, PaymentStatus, Payments, Product, Products,
    Reservation, StockLine, UserStatus, Users,
};
use domain::SagaStep;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};

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
