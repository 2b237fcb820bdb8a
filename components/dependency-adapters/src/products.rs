//! Product service: `GET /products/{productId}` → `{id, name, price: Money, active}`;
//! 404 unknown. Several products are fetched concurrently.

use crate::bindings::exports::shop::order::products::{Product, ProductLookup, ProductOutcome};
use crate::bindings::shop::order::types::{DataSource, DependencyError, Money, TraceContext};
use crate::outbound::{Call, Service, segment};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductWire {
    id: String,
    name: String,
    price: MoneyWire,
    active: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyWire {
    amount_minor: i64,
    currency: String,
}

/// Looks up every id concurrently; one outcome per id, in request order.
pub(crate) async fn get_products(
    product_ids: Vec<String>,
    trace: Option<&TraceContext>,
) -> Vec<ProductOutcome> {
    let lookups = product_ids.iter().map(|id| get_product(id, trace));
    let results = futures::future::join_all(lookups).await;
    product_ids
        .into_iter()
        .zip(results)
        .map(|(product_id, lookup)| ProductOutcome { product_id, lookup })
        .collect()
}

async fn get_product(
    product_id: &str,
    trace: Option<&TraceContext>,
) -> Result<ProductLookup, DependencyError> {
    let path = format!("/products/{}", segment(product_id));
    let answer = Call::get(Service::Product, path, trace).send().await?;
    if answer.status != 200 {
        return Err(answer.unexpected());
    }
    let wire: ProductWire = answer.json()?;
    Ok(ProductLookup {
        product: Product {
            id: wire.id,
            name: wire.name,
            price: Money {
                amount_minor: wire.price.amount_minor,
                currency: wire.price.currency,
            },
            active: wire.active,
        },
        source: DataSource::Live,
    })
}
