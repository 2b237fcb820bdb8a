//! The create-order saga (ARCHITECTURE §2): validate the buyer, price the products, store the
//! order `pending` with its key claim, reserve stock and record it with the intent to charge,
//! charge, confirm. Each step is recorded before the next side effect, so
//! [`App::recover`] can finish or compensate a saga whose instance died.
//!
//! Write transactions per confirmed order: three (insert with the key claim; reservation with
//! the intent to charge; confirmation with the key's answer), plus the relay's.

use crate::idempotency::{Claim, Placed, decide};
use crate::ports::{
    ChargeRequest, DependencyError, Inventory, KeyUpdate, OrderRepository, PaymentStatus, Payments,
    Products, Reservation, StockLine, StoreError, UserStatus, Users,
};
use crate::ports::{Clock, Ids};
use crate::{App, Outcome, Refusal, StoredOrder, Unavailable};
use domain::{
    Currency, Money, Order, OrderStatus, PricedItem, SagaStep, Timestamp, ValidatedOrder,
};

/// Who runs a charge: the request (an unknown outcome is answered 202 and left to recovery)
/// or a recovery pass (an outage leaves the saga for the next pass).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runner {
    /// The create-order request.
    Request,
    /// A recovery pass.
    Recovery,
}

impl<D, R, E> App<'_, D, R, E>
where
    D: Users + Products + Inventory + Payments,
    R: OrderRepository,
    E: Clock + Ids,
{
    /// Runs `POST /api/v1/orders` for a validated `request` with key `claim`, traced as
    /// `traceparent`: checks the buyer, prices, stores the order with the claim (one
    /// transaction), reserves, charges and confirms.
    ///
    /// The key is not looked up first: the claim in the order's transaction is the check
    /// (ARCHITECTURE §4: same key and body → the first result, another body → 409), so a new
    /// key, the usual case, costs no read of its own (issue 10: one host call per order fewer,
    /// README → Benchmarks). A request whose key is taken — a replay, a request still in
    /// flight, the key reused with another body — learns it when that write (or the one
    /// keeping a refusal) is refused, before any reservation or charge, and answers from the
    /// key's record: the kept answer wins over whatever the buyer check and the prices said
    /// this time. So a retry reads the buyer and the prices again (reads, no side effect; they
    /// count in the breakers' windows like any call), and its refused write waits for the
    /// write lock like any write. The record is also read when the request ends on an outage
    /// (not kept) or when that write fails (the write lock held past the wait, a lost
    /// database): a retry then still gets its first answer, since a read does not wait for the
    /// write lock (WAL mode); a failed read leaves the outage's answer or the write's error.
    ///
    /// # Errors
    /// A [`StoreError`] when the repository failed and the key's record has no answer for
    /// this request. The claim then stays with its order (if one was stored), whose saga
    /// recovery finishes and answers under the key.
    pub async fn place_order(
        &self,
        request: ValidatedOrder,
        claim: Claim,
        traceparent: &str,
    ) -> Result<Placed, StoreError> {
        let trace = Some(traceparent);
        if let Err(outcome) = self.check_buyer(&request.user_id, trace).await {
            return self.answer_without_order(&claim, outcome).await;
        }
        let priced = match self.price(&request, trace).await {
            Ok(priced) => priced,
            Err(outcome) => return self.answer_without_order(&claim, outcome).await,
        };
        let now = self.now();
        let order = match Order::new(self.env.order_id(), request.user_id, priced, Timestamp(now)) {
            Ok(order) => order,
            Err(error) => {
                let outcome = Outcome::Refused(Refusal::NotPriceable(error));
                return self.answer_without_order(&claim, outcome).await;
            }
        };
        let mut stored = StoredOrder::new(
            order,
            request.payment_method.kind,
            request.payment_method.token,
            request.shipping_address.as_ref().map(|a| a.to_string()),
            Some(traceparent.to_owned()),
        );
        match self.repo.insert_order(&mut stored, &claim, now).await {
            Ok(true) => {}
            Ok(false) => return self.after_lost_claim(&claim).await,
            Err(error) => return self.known_answer(&claim).await.ok_or(error),
        }
        if let Some(outcome) = self.reserve(&mut stored).await? {
            return Ok(Placed::Ran(outcome));
        }
        let outcome = self.charge_and_finish(&mut stored, Runner::Request).await?;
        Ok(Placed::Ran(outcome.unwrap_or_else(|| cancelled(&stored))))
    }

    /// Keeps a refusal that ended the request before any order existed, unless another
    /// request holds the key (then answers from its record). An outage is not kept: it is
    /// answered as it is, unless the key's record has an answer for this request
    /// ([`Self::known_answer`]).
    async fn answer_without_order(
        &self,
        claim: &Claim,
        outcome: Outcome,
    ) -> Result<Placed, StoreError> {
        if !outcome.replayable() {
            return Ok(self
                .known_answer(claim)
                .await
                .unwrap_or(Placed::Ran(outcome)));
        }
        let answer = (self.render)(&outcome);
        match self.repo.store_answer(claim, &answer, self.now()).await {
            Ok(true) => Ok(Placed::Ran(outcome)),
            Ok(false) => self.after_lost_claim(claim).await,
            Err(error) => self.known_answer(claim).await.ok_or(error),
        }
    }

    /// Another request with the same key stored first: answer from its record. A record
    /// that is gone meanwhile (released by a saga that ended without an order) or abandoned
    /// answers in flight: the client retries after `Retry-After`.
    async fn after_lost_claim(&self, claim: &Claim) -> Result<Placed, StoreError> {
        let record = self.repo.find_key(&claim.key).await?;
        Ok(decide(record, claim).unwrap_or(Placed::InFlight))
    }

    /// What the key's record answers this request, if it has an answer for it (a replay, in
    /// flight, another body); `None` when there is no record, it is abandoned, or it could
    /// not be read (the caller's own answer or error then stands).
    async fn known_answer(&self, claim: &Claim) -> Option<Placed> {
        let record = self.repo.find_key(&claim.key).await.ok().flatten();
        decide(record, claim)
    }

    /// The buyer exists and may order.
    async fn check_buyer(&self, user_id: &str, trace: Option<&str>) -> Result<(), Outcome> {
        match self.deps.user_status(user_id, trace).await {
            Ok(UserStatus::Active) => Ok(()),
            Ok(status) => Err(Outcome::Refused(Refusal::UserCannotOrder {
                user_id: user_id.to_owned(),
                status,
            })),
            Err(DependencyError::NotFound) => Err(Outcome::Refused(Refusal::UserNotFound {
                user_id: user_id.to_owned(),
            })),
            Err(error) => Err(Outcome::Unavailable(Unavailable::Users(error))),
        }
    }

    /// Fetches every product concurrently and prices the lines, in request order.
    async fn price(
        &self,
        request: &ValidatedOrder,
        trace: Option<&str>,
    ) -> Result<Vec<PricedItem>, Outcome> {
        let ids: Vec<String> = request.items.iter().map(|i| i.product_id.clone()).collect();
        let answers = self.deps.products(&ids, trace).await;
        let mut priced = Vec::with_capacity(request.items.len());
        for (index, item) in request.items.iter().enumerate() {
            let id = &item.product_id;
            let answer = answers
                .iter()
                .find(|(answered, _)| answered == id)
                .map(|(_, answer)| answer.clone())
                .unwrap_or(Err(DependencyError::NotFound));
            let product = match answer {
                Ok(product) => product,
                Err(DependencyError::NotFound) => {
                    return Err(Outcome::Refused(Refusal::ProductNotFound {
                        product_id: id.clone(),
                        index,
                    }));
                }
                Err(error) => return Err(Outcome::Unavailable(Unavailable::Products(error))),
            };
            if !product.active {
                return Err(Outcome::Refused(Refusal::ProductInactive {
                    product_id: id.clone(),
                    index,
                }));
            }
            let currency = Currency::parse(&product.currency)
                .map_err(|error| Outcome::Refused(Refusal::NotPriceable(error)))?;
            priced.push(PricedItem {
                product_id: id.clone(),
                name: product.name,
                unit_price: Money::new(product.price_minor, currency),
                quantity: item.quantity,
            });
        }
        Ok(priced)
    }

    /// Reserves the stock of a stored order and records the reservation with the intent to
    /// charge (saga step `charge_requested`, one write, still before the charge is sent);
    /// `Some` answer when the saga ends here.
    async fn reserve(&self, stored: &mut StoredOrder) -> Result<Option<Outcome>, StoreError> {
        let lines: Vec<StockLine> = stored
            .order
            .items
            .iter()
            .map(|line| StockLine {
                product_id: line.product_id.clone(),
                quantity: line.quantity,
            })
            .collect();
        let order_id = stored.order.id.clone();
        let answer = self
            .deps
            .reserve(&order_id, &lines, stored.traceparent.as_deref())
            .await;
        match answer {
            Ok(Reservation::Reserved(reservation_id)) => {
                // From here on a crash is recovered forward (the charge repeated with its
                // key), never by guessing.
                stored.reservation_id = Some(reservation_id);
                stored.saga_step = SagaStep::ChargeRequested;
                self.repo
                    .save_order(stored, KeyUpdate::Keep, self.now())
                    .await?;
                Ok(None)
            }
            Ok(Reservation::InsufficientStock { product_id, reason }) => {
                let product_id = product_id.unwrap_or_default();
                let why = format!("insufficient stock for product `{product_id}`");
                self.transition(stored, OrderStatus::Cancelled, Some(why));
                finish(stored);
                let outcome = Outcome::Refused(Refusal::InsufficientStock {
                    order_id,
                    product_id,
                    reason,
                });
                self.save_with_answer(stored, &outcome).await?;
                Ok(Some(outcome))
            }
            Err(error) => {
                // The reservation may have been made before the failure: release it
                // (idempotent); if that fails too, recovery keeps compensating.
                let released = self.release(stored).await.is_ok();
                let reason = format!("inventory service {}", error.describe());
                self.transition(stored, OrderStatus::Cancelled, Some(reason));
                end_compensated(stored, released);
                self.repo
                    .save_order(stored, KeyUpdate::Release, self.now())
                    .await?;
                Ok(Some(Outcome::Unavailable(Unavailable::Inventory {
                    order_id,
                    error,
                })))
            }
        }
    }

    /// Saves `stored` and keeps `outcome` for replays of its key (or gives the key back when
    /// the outcome is an outage), in one transaction.
    async fn save_with_answer(
        &self,
        stored: &mut StoredOrder,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let answer = (self.render)(outcome);
        let key = if outcome.replayable() {
            KeyUpdate::Finish(&answer)
        } else {
            KeyUpdate::Release
        };
        self.repo.save_order(stored, key, self.now()).await
    }

    /// Sends the charge of a stored order (saga step `charge_requested`) and finishes the saga
    /// from Payment's answer. `None` when the runner is recovery and Payment was unreachable.
    pub(crate) async fn charge_and_finish(
        &self,
        stored: &mut StoredOrder,
        runner: Runner,
    ) -> Result<Option<Outcome>, StoreError> {
        let order_id = stored.order.id.clone();
        let Some(token) = stored.payment_token.clone() else {
            // The token is gone, so the charge cannot be repeated: resolve by compensation.
            self.compensate(stored, KeyUpdate::Release, KeyUpdate::Release)
                .await?;
            return Ok(Some(cancelled(stored)));
        };
        let request = charge_request(stored, token);
        let answer = self
            .deps
            .charge(&request, stored.traceparent.as_deref())
            .await;
        match answer {
            Ok(payment) => {
                stored.order.payment_id = Some(payment.payment_id);
                let outcome = match payment.status {
                    PaymentStatus::Captured => {
                        self.transition(stored, OrderStatus::Confirmed, None);
                        finish(stored);
                        Outcome::Confirmed(stored.order.clone())
                    }
                    PaymentStatus::Pending => {
                        self.transition(stored, OrderStatus::PaymentPending, None);
                        finish(stored);
                        Outcome::PaymentPending(stored.order.clone())
                    }
                    PaymentStatus::Declined | PaymentStatus::Refunded => {
                        let reason = payment.reason.unwrap_or_else(|| "declined".into());
                        self.payment_failed(stored, reason).await
                    }
                };
                self.save_with_answer(stored, &outcome).await?;
                Ok(Some(outcome))
            }
            Err(DependencyError::Rejected(why)) => {
                let outcome = self
                    .payment_failed(stored, format!("payment rejected: {why}"))
                    .await;
                self.save_with_answer(stored, &outcome).await?;
                Ok(Some(outcome))
            }
            Err(_) if runner == Runner::Recovery => Ok(None),
            Err(DependencyError::CircuitOpen) => {
                // Payment's breaker refused the call before anything was sent: certainly
                // nothing was charged, so the order is undone at once.
                let released = self.release(stored).await.is_ok();
                let reason = "payment service circuit open; nothing was charged";
                self.transition(stored, OrderStatus::Cancelled, Some(reason.into()));
                end_compensated(stored, released);
                let outcome = Outcome::Unavailable(Unavailable::PaymentCircuitOpen { order_id });
                self.save_with_answer(stored, &outcome).await?;
                Ok(Some(outcome))
            }
            Err(error) => {
                // The charge may have been made (a timeout, a lost answer, a 5xx after Payment
                // processed it): nothing is undone. The order stays `pending` with its stock
                // held at `charge_requested`; recovery repeats the charge with the same key.
                // The key keeps the 202: a retry is not a new order.
                let settles_after_s = self
                    .settings
                    .saga_recovery_after_s
                    .clamp(i64::from(crate::outcome::RETRY_AFTER_S), 3600)
                    as u32;
                let outcome = Outcome::ChargeUnresolved {
                    order: stored.order.clone(),
                    settles_after_s,
                    error,
                };
                let answer = (self.render)(&outcome);
                self.repo
                    .update_key(&order_id, KeyUpdate::Finish(&answer), self.now())
                    .await?;
                Ok(Some(outcome))
            }
        }
    }

    /// Payment refused: release stock, `payment_failed` with `reason`, the token dropped.
    /// Returns the 402 answer; the caller saves.
    async fn payment_failed(&self, stored: &mut StoredOrder, reason: String) -> Outcome {
        let released = self.release(stored).await.is_ok();
        self.transition(stored, OrderStatus::PaymentFailed, Some(reason.clone()));
        end_compensated(stored, released);
        Outcome::Refused(Refusal::PaymentDeclined {
            order_id: stored.order.id.clone(),
            reason,
        })
    }
}

/// The charge of a stored order, always with its one key ([`SagaStep::charge_key`]).
pub(crate) fn charge_request(stored: &StoredOrder, token: String) -> ChargeRequest {
    ChargeRequest {
        order_id: stored.order.id.clone(),
        amount: stored.order.total.clone(),
        method_kind: stored.payment_method_type.clone(),
        method_token: token,
        idempotency_key: SagaStep::charge_key(&stored.order.id),
    }
}

/// Marks the saga finished: nothing left to repeat, so the payment token is dropped.
pub(crate) fn finish(stored: &mut StoredOrder) {
    stored.payment_token = None;
    stored.saga_step = SagaStep::Completed;
}

/// Ends a saga that undid itself: finished when the stock was released, else left
/// `compensating` (token dropped: nothing may be charged any more) for recovery.
fn end_compensated(stored: &mut StoredOrder, released: bool) {
    stored.payment_token = None;
    stored.saga_step = if released {
        SagaStep::Completed
    } else {
        SagaStep::Compensating
    };
}

/// The answer for an order that ended cancelled.
pub(crate) fn cancelled(stored: &StoredOrder) -> Outcome {
    Outcome::Unavailable(Unavailable::Cancelled {
        order_id: stored.order.id.clone(),
    })
}
