//! Money as the dependency contracts carry it (ARCHITECTURE §9): integer minor units and an
//! ISO-4217 currency code, never floats.

use serde::{Deserialize, Serialize};

/// An amount of money, e.g. `{"amountMinor": 1999, "currency": "EUR"}` for €19.99.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount in minor units (cents for EUR).
    pub amount_minor: i64,
    /// ISO-4217 code, three upper-case letters.
    pub currency: String,
}

impl Money {
    /// An amount in euros, given in cents.
    pub fn eur(amount_minor: i64) -> Self {
        Self {
            amount_minor,
            currency: "EUR".to_owned(),
        }
    }

    /// Whether the currency looks like an ISO-4217 code.
    pub(crate) fn has_valid_currency(&self) -> bool {
        self.currency.len() == 3 && self.currency.bytes().all(|b| b.is_ascii_uppercase())
    }
}
