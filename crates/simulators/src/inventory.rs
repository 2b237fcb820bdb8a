//! The Inventory service simulator.
//!
//! - `POST /inventory/reserve` `{orderId, items: [{productId, quantity}]}` → 200
//!   `{success: true, reservationId}`, all or nothing; 409 `{success: false, reason,
//!   productId}` with `reason` `insufficient_stock` or `unknown_product` (no stock entry).
//!   Idempotent per `orderId`: while a reservation is held, a repeat answers the same
//!   `reservationId` and takes no more stock.
//! - `POST /inventory/release` `{orderId}` → 200 `{success: true, orderId, released}`;
//!   `released` is `true` when stock went back, `false` when nothing was held. Idempotent:
//!   stock is returned once.
//!
//! A release closes the order id for good: a later reserve for it answers 409
//! `{success: false, reason: "released"}` (no `productId`). That protects against a reserve
//! that arrives after the saga already compensated it (e.g. one delayed by a timeout).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::control::lock;
use crate::handle::Simulator;
use crate::http::{RecordedRequest, Reply, parse_json};
use crate::ids::IdSource;
use crate::server::Service;

/// One line of a reservation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReservationItem {
    /// The product reserved.
    pub product_id: String,
    /// Units reserved (at least 1).
    pub quantity: u32,
}

/// Stock held for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    /// The id the service answered.
    pub reservation_id: String,
    /// The order it belongs to.
    pub order_id: String,
    /// What is held.
    pub items: Vec<ReservationItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReserveRequest {
    order_id: String,
    items: Vec<ReservationItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReleaseRequest {
    order_id: String,
}

#[derive(Debug, Default)]
struct Stock {
    available: BTreeMap<String, u32>,
    held: BTreeMap<String, Reservation>,
    released: BTreeSet<String>,
}

/// The Inventory service's data: stock levels and reservations.
#[derive(Debug)]
pub struct Inventory {
    stock: Mutex<Stock>,
    ids: IdSource,
}

/// The Inventory service simulator.
pub type InventorySimulator = Simulator<Inventory>;

impl Inventory {
    /// The route labels this simulator counts calls under.
    pub const ROUTES: [&'static str; 2] = ["POST /inventory/reserve", "POST /inventory/release"];

    pub(crate) fn seeded() -> Self {
        Self {
            stock: Mutex::new(seed()),
            ids: IdSource::new("res"),
        }
    }

    fn reserve(&self, request: ReserveRequest) -> Reply {
        if request.order_id.is_empty()
            || request.items.is_empty()
            || request.items.iter().any(|i| i.quantity == 0)
        {
            let detail = "orderId and at least one item with quantity ≥ 1 are required";
            return Reply::problem(400, "Bad Request", detail);
        }
        let mut stock = lock(&self.stock);
        if let Some(held) = stock.held.get(&request.order_id) {
            return Reply::json(
                200,
                &json!({ "success": true, "reservationId": held.reservation_id }),
            );
        }
        if stock.released.contains(&request.order_id) {
            return Reply::json(409, &json!({ "success": false, "reason": "released" }));
        }
        let wanted = merge_lines(&request.items);
        for item in &wanted {
            let reason = match stock.available.get(&item.product_id) {
                None => "unknown_product",
                Some(&units) if units < item.quantity => "insufficient_stock",
                Some(_) => continue,
            };
            return Reply::json(
                409,
                &json!({ "success": false, "reason": reason, "productId": item.product_id }),
            );
        }
        for item in &wanted {
            if let Some(units) = stock.available.get_mut(&item.product_id) {
                *units -= item.quantity;
            }
        }
        let reservation_id = self.ids.next();
        let reservation = Reservation {
            reservation_id: reservation_id.clone(),
            order_id: request.order_id.clone(),
            items: wanted,
        };
        stock.held.insert(request.order_id, reservation);
        Reply::json(
            200,
            &json!({ "success": true, "reservationId": reservation_id }),
        )
    }

    fn release(&self, request: ReleaseRequest) -> Reply {
        let mut stock = lock(&self.stock);
        let held = stock.held.remove(&request.order_id);
        let released = held.is_some();
        for item in held.into_iter().flat_map(|r| r.items) {
            *stock.available.entry(item.product_id).or_default() += item.quantity;
        }
        stock.released.insert(request.order_id.clone());
        Reply::json(
            200,
            &json!({ "success": true, "orderId": request.order_id, "released": released }),
        )
    }
}

/// Sums the quantities of lines naming the same product, keeping first-seen order.
fn merge_lines(items: &[ReservationItem]) -> Vec<ReservationItem> {
    let mut merged: Vec<ReservationItem> = Vec::with_capacity(items.len());
    for item in items {
        match merged.iter_mut().find(|m| m.product_id == item.product_id) {
            Some(line) => line.quantity = line.quantity.saturating_add(item.quantity),
            None => merged.push(item.clone()),
        }
    }
    merged
}

fn seed() -> Stock {
    Stock {
        available: crate::demo::stock().into_iter().collect(),
        ..Stock::default()
    }
}

impl Service for Inventory {
    fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        match (method, path) {
            ("POST", "/inventory/reserve") => Some(Self::ROUTES[0]),
            ("POST", "/inventory/release") => Some(Self::ROUTES[1]),
            _ => None,
        }
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        let result = match self.route(&request.method, &request.path) {
            Some("POST /inventory/reserve") => parse_json(request).map(|r| self.reserve(r)),
            Some(_) => parse_json(request).map(|r| self.release(r)),
            None => Ok(Reply::no_route(request)),
        };
        result.unwrap_or_else(|problem| problem)
    }
}

impl Simulator<Inventory> {
    /// Sets the units available for a product (creating its stock entry).
    pub fn set_stock(&self, product_id: &str, units: u32) {
        lock(&self.service.stock)
            .available
            .insert(product_id.to_owned(), units);
    }

    /// Units available (not reserved) for a product; `None` if it has no stock entry.
    pub fn stock(&self, product_id: &str) -> Option<u32> {
        lock(&self.service.stock).available.get(product_id).copied()
    }

    /// The reservation held for an order.
    pub fn reservation(&self, order_id: &str) -> Option<Reservation> {
        lock(&self.service.stock).held.get(order_id).cloned()
    }

    /// Every reservation currently held.
    pub fn reservations(&self) -> Vec<Reservation> {
        lock(&self.service.stock).held.values().cloned().collect()
    }

    /// Whether an order's reservation was released (or a release arrived for it).
    pub fn was_released(&self, order_id: &str) -> bool {
        lock(&self.service.stock).released.contains(order_id)
    }

    /// Restores the seeded stock and forgets every reservation and release.
    pub fn reset_data(&self) {
        *lock(&self.service.stock) = seed();
    }
}
