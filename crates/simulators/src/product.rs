//! The Product service simulator: `GET /products/{productId}` → 200 `{id, name, price, active}`
//! or 404. Inactive products are still returned (with `active: false`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::control::lock;
use crate::handle::Simulator;
use crate::http::{RecordedRequest, Reply, segment_after};
use crate::money::Money;
use crate::server::Service;

/// A product as the Product service returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// The product id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Unit price.
    pub price: Money,
    /// Whether it can be ordered.
    pub active: bool,
}

/// The Product service's data: the catalogue by product id.
#[derive(Debug)]
pub struct Catalog {
    records: Mutex<BTreeMap<String, Product>>,
}

/// The Product service simulator.
pub type ProductSimulator = Simulator<Catalog>;

impl Catalog {
    /// The route labels this simulator counts calls under.
    pub const ROUTES: [&'static str; 1] = ["GET /products/{id}"];

    pub(crate) fn seeded() -> Self {
        Self {
            records: Mutex::new(seed()),
        }
    }
}

fn seed() -> BTreeMap<String, Product> {
    crate::demo::products()
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect()
}

impl Service for Catalog {
    fn route(&self, method: &str, path: &str) -> Option<&'static str> {
        (method == "GET" && segment_after(path, "/products/").is_some()).then_some(Self::ROUTES[0])
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        let Some(id) =
            segment_after(&request.path, "/products/").filter(|_| request.method == "GET")
        else {
            return Reply::no_route(request);
        };
        match lock(&self.records).get(&id) {
            Some(product) => Reply::json(200, product),
            None => Reply::problem(404, "Not Found", &format!("no product {id}")),
        }
    }
}

impl Simulator<Catalog> {
    /// Adds or replaces a product.
    pub fn upsert(&self, product: Product) {
        lock(&self.service.records).insert(product.id.clone(), product);
    }

    /// Removes a product (the service then answers 404 for it); returns it if it existed.
    pub fn remove(&self, id: &str) -> Option<Product> {
        lock(&self.service.records).remove(id)
    }

    /// A product by id.
    pub fn get(&self, id: &str) -> Option<Product> {
        lock(&self.service.records).get(id).cloned()
    }

    /// Changes a product's price; `false` if there is no such product.
    pub fn set_price(&self, id: &str, price: Money) -> bool {
        lock(&self.service.records)
            .get_mut(id)
            .map(|p| p.price = price)
            .is_some()
    }

    /// Restores the seeded catalogue ([`crate::demo`]).
    pub fn reset_data(&self) {
        *lock(&self.service.records) = seed();
    }
}
