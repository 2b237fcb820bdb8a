//! Product service: `GET /products/{productId}` → `{id, name, price: Money, active}`;
//! 404 unknown.
//!
//! Breaker + cache. Each answer is cached (`cache:product:{id}`) for
//! `product_cache_ttl_s`; a fresh entry answers without a call (source `cache`). The
//! other ids are fetched **concurrently** under one breaker admission, each attempt cut
//! at `call_timeout_ms`, and all outcomes are recorded in one window update (one
//! read-modify-write per request, not per product, so concurrent lookups of one request
//! cannot overwrite each other's counts). When a call fails or the breaker refuses, an
//! expired entry (up to a day old) is served instead (source `fallback`). In half-open
//! only the first missing id is sent, as the probe; the others are treated as refused.
//!
//! A reused instance keeps the fresh entries it read or wrote in a near cache
//! ([`resilience::NearCache`], at most [`NEAR_CAPACITY`]): while an entry is fresh it answers
//! without the key-value read (two reads fewer per order of two products, issue 10). The
//! entry's age is the stored one, so nothing is served longer than the TTL allows.

use std::cell::RefCell;
use std::collections::HashMap;

use resilience::{
    Admission, CacheEntry, CallOutcome, Clock, NearCache, OutcomeKind, Permit, Source, Tally,
    timeout,
};
use serde::{Deserialize, Serialize};

use crate::bindings::exports::shop::adapters::products::{Product, ProductLookup, ProductOutcome};
use crate::bindings::exports::shop::adapters::types::{DependencyError, Money, TraceContext};
use crate::clock::WasiClock;
use crate::context::{Context, data_source};
use crate::kv::product_key;
use crate::log;
use crate::outbound::{Call, CallError, segment};
use crate::service::Service;

/// The contract's product, also the cached value.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProductWire {
    id: String,
    name: String,
    price: MoneyWire,
    active: bool,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MoneyWire {
    amount_minor: i64,
    currency: String,
}

type Lookup = Result<ProductLookup, DependencyError>;

/// Looks up every id; one outcome per id, in request order.
pub(crate) async fn get_products(
    product_ids: Vec<String>,
    trace: Option<TraceContext>,
) -> Vec<ProductOutcome> {
    let context = Context::open(trace).await;
    let mut distinct: Vec<String> = Vec::new();
    for id in &product_ids {
        if !distinct.contains(id) {
            distinct.push(id.clone());
        }
    }
    let distinct: Vec<&str> = distinct.iter().map(String::as_str).collect();
    let answers = lookup_all(&context, &distinct).await;
    product_ids
        .into_iter()
        .map(|product_id| {
            let lookup = answers
                .get(product_id.as_str())
                .cloned()
                .unwrap_or(Err(DependencyError::Unavailable("no answer".into())));
            ProductOutcome { product_id, lookup }
        })
        .collect()
}

/// Fresh product entries this instance can answer from without a key-value read.
const NEAR_CAPACITY: usize = 1_024;

thread_local! {
    static NEAR: RefCell<NearCache<ProductWire>> = RefCell::new(NearCache::new(NEAR_CAPACITY));
}

async fn lookup_all<'a>(context: &Context, ids: &[&'a str]) -> HashMap<&'a str, Lookup> {
    let policy = context.settings.product_cache;
    let mut answers = HashMap::new();
    let now = WasiClock.now_ms();
    let mut unanswered = Vec::new();
    for id in ids {
        match NEAR.with_borrow_mut(|near| near.fresh(&product_key(id), &policy, now)) {
            Some(product) => {
                answers.insert(*id, Ok(lookup(product, Source::Cache)));
            }
            None => unanswered.push(*id),
        }
    }
    if unanswered.is_empty() {
        return answers;
    }
    let entries = futures::future::join_all(unanswered.iter().map(|id| async {
        match context
            .kv
            .get_json::<CacheEntry<ProductWire>>(&product_key(id))
            .await
        {
            Ok(entry) => entry,
            Err(error) => {
                log::store_error(Some(Service::Product), "cache read", &error);
                None
            }
        }
    }))
    .await;

    let now = WasiClock.now_ms();
    let mut missing = Vec::new();
    for (id, entry) in unanswered.into_iter().zip(entries) {
        match policy.fresh(entry.as_ref(), now) {
            Some(product) => {
                answers.insert(id, Ok(lookup(product.clone(), Source::Cache)));
                if let Some(entry) = &entry {
                    NEAR.with_borrow_mut(|near| near.keep(&product_key(id), entry, &policy, now));
                }
            }
            None => missing.push((id, entry)),
        }
    }
    if missing.is_empty() {
        return answers;
    }

    let breaker = context.breaker(Service::Product);
    let permit = match breaker.admit().await {
        Ok(Admission::Permitted(permit)) => {
            if let Some(transition) = permit.transition() {
                log::transition(Service::Product, transition);
            }
            Some(permit)
        }
        Ok(Admission::Refused) => None,
        Err(error) => {
            log::store_error(Some(Service::Product), "admit", &error);
            Some(Permit::fail_open())
        }
    };
    let sendable = match &permit {
        None => 0,
        Some(permit) if permit.is_probe() => 1,
        Some(_) => missing.len(),
    };
    let (to_call, refused) = missing.split_at(sendable);

    let results = futures::future::join_all(to_call.iter().map(|(id, _)| fetch(context, id))).await;
    let mut tally = Tally::default();
    let mut writes = Vec::new();
    let mut deletes = Vec::new();
    let now = WasiClock.now_ms();
    for ((id, entry), (result, outcome)) in to_call.iter().zip(results) {
        tally.outcomes.push(outcome);
        let answer = match result {
            Ok(product) => {
                writes.push((product_key(id), CacheEntry::new(product.clone(), now)));
                Ok(lookup(product, Source::Live))
            }
            Err(error) => {
                if outcome.kind.is_failure() {
                    tally.last_error = Some(error.to_string());
                }
                if matches!(error.error, DependencyError::NotFound) && entry.is_some() {
                    // Gone from the catalogue: never serve it stale again.
                    deletes.push(product_key(id));
                }
                let stale = outcome
                    .kind
                    .wants_fallback()
                    .then(|| policy.stale_if_error(entry.as_ref(), now))
                    .flatten();
                match stale {
                    Some(product) => {
                        tally.fallbacks += 1;
                        Ok(lookup(product.clone(), Source::Fallback))
                    }
                    None => Err(error.error),
                }
            }
        };
        answers.insert(*id, answer);
    }
    for (id, entry) in refused {
        tally.short_circuits += 1;
        let answer = match policy.stale_if_error(entry.as_ref(), now) {
            Some(product) => {
                tally.fallbacks += 1;
                Ok(lookup(product.clone(), Source::Fallback))
            }
            None => Err(DependencyError::CircuitOpen),
        };
        answers.insert(*id, answer);
    }

    let stores = futures::future::join_all(
        writes
            .iter()
            .map(|(key, entry)| context.kv.set_json(key, entry)),
    );
    let removals = futures::future::join_all(deletes.iter().map(|key| context.kv.delete(key)));
    let (stored, removed, recorded) =
        futures::join!(stores, removals, breaker.record(permit.as_ref(), tally));
    NEAR.with_borrow_mut(|near| {
        for ((key, entry), stored) in writes.iter().zip(&stored) {
            match stored {
                Ok(()) => near.keep(key, entry, &policy, now),
                Err(_) => near.forget(key),
            }
        }
        for key in &deletes {
            near.forget(key);
        }
    });
    for error in stored.into_iter().chain(removed).filter_map(Result::err) {
        log::store_error(Some(Service::Product), "cache write", &error);
    }
    match recorded {
        Ok(Some(transition)) => log::transition(Service::Product, &transition),
        Ok(None) => {}
        Err(error) => log::store_error(Some(Service::Product), "record", &error),
    }
    answers
}

/// One live lookup under the per-attempt timeout, with its outcome for the window.
async fn fetch(
    context: &Context,
    product_id: &str,
) -> (Result<ProductWire, CallError>, CallOutcome) {
    let started = WasiClock.now_ms();
    let exchange = async {
        let path = format!("/products/{}", segment(product_id));
        let answer = context
            .exchange(Call::get(Service::Product, path, context.trace()))
            .await?;
        if answer.status != 200 {
            return Err(answer.unexpected());
        }
        answer.json::<ProductWire>()
    };
    let result = timeout(&WasiClock, context.settings.call_timeout_ms, exchange).await;
    let latency_ms = WasiClock.now_ms().saturating_sub(started).max(0) as u64;
    let (result, kind) = match result {
        Ok(Ok(product)) => (Ok(product), OutcomeKind::Success),
        Ok(Err(error)) => {
            let kind = resilience::Classify::kind(&error);
            (Err(error), kind)
        }
        Err(_) => (Err(CallError::timeout()), OutcomeKind::Timeout),
    };
    (result, CallOutcome::new(kind, latency_ms))
}

fn lookup(wire: ProductWire, source: Source) -> ProductLookup {
    ProductLookup {
        product: Product {
            id: wire.id,
            name: wire.name,
            price: Money {
                amount_minor: wire.price.amount_minor,
                currency: wire.price.currency,
            },
            active: wire.active,
        },
        source: data_source(source),
    }
}
