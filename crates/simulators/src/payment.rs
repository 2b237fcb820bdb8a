//! The Payment service simulator.
//!
//! - `POST /payments` `{orderId, amount, paymentMethod: {type, token}}` with an
//!   `Idempotency-Key` header → 201 `{paymentId, status, reason?}`. No key → 400 problem.
//!   The same key again → the very first answer, and no new charge; the same key with a
//!   different `orderId` or `amount` → 422 problem. The outcome follows the token (below).
//! - `POST /payments/{paymentId}/refund` → 200 `{paymentId, status: "refunded"}`; repeats
//!   answer the same and refund once; a pending or declined payment → 409 problem; unknown → 404.
//! - `GET /payments/{paymentId}` → 200 `{paymentId, orderId, status}`; unknown → 404.
//!
//! | `paymentMethod.token` | status | reason |
//! |---|---|---|
//! | `tok_pending` | `pending` | — |
//! | `tok_decline` | `declined` | `card_declined` |
//! | `tok_insufficient_funds` | `declined` | `insufficient_funds` |
//! | `tok_expired` | `declined` | `expired_card` |
//! | anything else (`tok_visa`, `tok_mastercard`, …) | `captured` | — |
//!
//! Every new key creates one [`Charge`] (declined ones too), so tests can assert exactly one
//! charge per order with [`Simulator::charges_for`].

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::control::lock;
use crate::handle::Simulator;
use crate::http::{RecordedRequest, Reply, parse_json, segment_after};
use crate::ids::IdSource;
use crate::money::Money;
use crate::server::Service;

/// A payment's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// Money taken.
    Captured,
    /// Outcome not known yet (settle it with [`Simulator::settle`]).
    Pending,
    /// Refused.
    Declined,
    /// Money given back.
    Refunded,
}

/// One charge the simulator created (one per new idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    /// The id answered.
    pub payment_id: String,
    /// The order charged.
    pub order_id: String,
    /// The amount charged.
    pub amount: Money,
    /// The payment method token.
    pub token: String,
    /// The `Idempotency-Key` it was created with.
    pub idempotency_key: String,
    /// Current status.
    pub status: PaymentStatus,
    /// Why it was declined.
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargeRequest {
    order_id: String,
    amount: Money,
    payment_method: PaymentMethod,
}

#[derive(Debug, Deserialize)]
struct PaymentMethod {
    #[serde(rename = "type")]
    _kind: String,
    token: String,
}

#[derive(Debug, Default)]
struct Ledger {
    /// In creation order.
    charges: Vec<Charge>,
    /// Payment id → index in `charges`.
    by_id: HashMap<String, usize>,
    /// Idempotency key → (payment id, the first answer).
    answered: HashMap<String, (String, Value)>,
    refunds: u64,
}

impl Ledger {
    fn get(&self, payment_id: &str) -> Option<&Charge> {
        self.by_id
            .get(payment_id)
            .and_then(|&i| self.charges.get(i))
    }

    fn get_mut(&mut self, payment_id: &str) -> Option<&mut Charge> {
        self.by_id
            .get(payment_id)
            .and_then(|&i| self.charges.get_mut(i))
    }
}

/// The Payment service's data: charges, idempotency keys and refunds.
#[derive(Debug)]
pub struct Payments {
    ledger: Mutex<Ledger>,
    ids: IdSource,
}

/// The Payment service simulator.
pub type PaymentSimulator = Simulator<Payments>;

/// The outcome a payment method token produces (see the module table).
pub fn outcome_for_token(token: &str) -> (PaymentStatus, Option<&'static str>) {
    match token {
        "tok_pending" => (PaymentStatus::Pending, None),
        "tok_decline" => (PaymentStatus::Declined, Some("card_declined")),
        "tok_insufficient_funds" => (PaymentStatus::Declined, Some("insufficient_funds")),
        "tok_expired" => (PaymentStatus::Declined, Some("expired_card")),
        _ => (PaymentStatus::Captured, None),
    }
}

impl Payments {
    /// The route labels this simulator counts calls under.
    pub const ROUTES: [&'static str; 3] = [
        "POST /payments",
        "POST /payments/{id}/refund",
        "GET /payments/{id}",
    ];

    pub(crate) fn new() -> Self {
        Self {
            ledger: Mutex::default(),
            ids: IdSource::new("pay"),
        }
    }

    fn charge(&self, request: &RecordedRequest) -> Result<Reply, Reply> {
        let key = request
            .idempotency_key()
            .map(str::trim)
            .filter(|k| !k.is_empty());
        let key = key.ok_or_else(|| {
            Reply::problem(400, "Bad Request", "the Idempotency-Key header is required")
        })?;
        let body: ChargeRequest = parse_json(request)?;
        if body.order_id.is_empty()
            || body.amount.amount_minor <= 0
            || !body.amount.has_valid_currency()
        {
            let detail = "orderId, a positive amountMinor and an ISO-4217 currency are required";
            return Err(Reply::problem(400, "Bad Request", detail));
        }
        let mut ledger = lock(&self.ledger);
        if let Some((payment_id, first_answer)) = ledger.answered.get(key) {
            let same = ledger
                .get(payment_id)
                .is_some_and(|c| c.order_id == body.order_id && c.amount == body.amount);
            if !same {
                let detail = "this Idempotency-Key was used for a different orderId or amount";
                return Err(Reply::problem(422, "Unprocessable Content", detail));
            }
            return Ok(Reply::json(201, first_answer));
        }
        let payment_id = self.ids.next();
        let (status, reason) = outcome_for_token(&body.payment_method.token);
        let mut answer = json!({ "paymentId": payment_id, "status": status });
        if let Some(reason) = reason {
            answer["reason"] = json!(reason);
        }
        let charge = Charge {
            payment_id: payment_id.clone(),
            order_id: body.order_id,
            amount: body.amount,
            token: body.payment_method.token,
            idempotency_key: key.to_owned(),
            status,
            reason: reason.map(str::to_owned),
        };
        let index = ledger.charges.len();
        ledger.by_id.insert(payment_id.clone(), index);
        ledger.charges.push(charge);
        ledger
            .answered
            .insert(key.to_owned(), (payment_id, answer.clone()));
        Ok(Reply::json(201, &answer))
    }

    fn refund(&self, payment_id: &str) -> Reply {
        let mut ledger = lock(&self.ledger);
        let Some(charge) = ledger.get_mut(payment_id) else {
            return Reply::problem(404, "Not Found", &format!("no payment {payment_id}"));
        };
        match charge.status {
            PaymentStatus::Refunded => {}
            PaymentStatus::Captured => {
                charge.status = PaymentStatus::Refunded;
                ledger.refunds += 1;
            }
            PaymentStatus::Pending | PaymentStatus::Declined => {
                let detail = format!("payment {payment_id} was not captured");
                return Reply::problem(409, "Conflict", &detail);
            }
        }
        Reply::json(
            200,
            &json!({ "paymentId": payment_id, "status": PaymentStatus::Refunded }),
        )
    }

    fn status(&self, payment_id: &str) -> Reply {
        match lock(&self.ledger).get(payment_id) {
            Some(c) => Reply::json(
                200,
                &json!({ "paymentId": c.payment_id, "orderId": c.order_id, "status": c.status }),
            ),
            None => Reply::problem(404, "Not Found", &format!("no payment {payment_id}")),
        }
    }
}

/// The payment id of `/payments/{id}/refund`.
fn refund_target(path: &str) -> Option<String> {
    let id = path.strip_prefix("/payments/")?.strip_suffix("/refund")?;
    segment_after(&format!("/{id}"), "/")
}

impl Service for Payments {
    fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        match method {
            "POST" if path == "/payments" => Some(Self::ROUTES[0]),
            "POST" if refund_target(path).is_some() => Some(Self::ROUTES[1]),
            "GET" if segment_after(path, "/payments/").is_some() => Some(Self::ROUTES[2]),
            _ => None,
        }
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        match self.route(&request.method, &request.path) {
            Some("POST /payments") => self.charge(request).unwrap_or_else(|problem| problem),
            Some("POST /payments/{id}/refund") => match refund_target(&request.path) {
                Some(id) => self.refund(&id),
                None => Reply::no_route(request),
            },
            Some(_) => match segment_after(&request.path, "/payments/") {
                Some(id) => self.status(&id),
                None => Reply::no_route(request),
            },
            None => Reply::no_route(request),
        }
    }
}

impl Simulator<Payments> {
    /// Every charge created, oldest first.
    pub fn charges(&self) -> Vec<Charge> {
        lock(&self.service.ledger).charges.clone()
    }

    /// How many charges were created for an order (replays of a key do not count).
    pub fn charges_for(&self, order_id: &str) -> usize {
        lock(&self.service.ledger)
            .charges
            .iter()
            .filter(|c| c.order_id == order_id)
            .count()
    }

    /// One charge by payment id.
    pub fn charge(&self, payment_id: &str) -> Option<Charge> {
        lock(&self.service.ledger).get(payment_id).cloned()
    }

    /// How many captured payments were refunded (repeated refunds count once).
    pub fn refunds(&self) -> u64 {
        lock(&self.service.ledger).refunds
    }

    /// Changes a payment's status, e.g. settles a pending one as captured or declined
    /// (what reconciliation then sees on `GET /payments/{id}`); `false` if unknown.
    pub fn settle(&self, payment_id: &str, status: PaymentStatus) -> bool {
        lock(&self.service.ledger)
            .get_mut(payment_id)
            .map(|c| c.status = status)
            .is_some()
    }

    /// Puts a payment on the ledger under a chosen id (as if charged earlier), replacing one
    /// with that id: a provider state for contract verification. Its key is `seeded-{id}`.
    pub fn seed(&self, payment_id: &str, order_id: &str, amount: Money, status: PaymentStatus) {
        let mut ledger = lock(&self.service.ledger);
        let charge = Charge {
            payment_id: payment_id.to_owned(),
            order_id: order_id.to_owned(),
            amount,
            token: "seeded".to_owned(),
            idempotency_key: format!("seeded-{payment_id}"),
            status,
            reason: None,
        };
        match ledger.by_id.get(payment_id) {
            Some(&index) => ledger.charges[index] = charge,
            None => {
                let index = ledger.charges.len();
                ledger.charges.push(charge);
                ledger.by_id.insert(payment_id.to_owned(), index);
            }
        }
    }

    /// Forgets every charge, idempotency key and refund.
    pub fn reset_data(&self) {
        *lock(&self.service.ledger) = Ledger::default();
    }
}
