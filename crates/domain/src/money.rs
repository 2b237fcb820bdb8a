//! Money as integer minor units plus an ISO-4217 currency code. Never floats.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// An ISO-4217 alphabetic code: three uppercase ASCII letters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    /// Parses a code; lowercase or other shapes are refused, not normalised, so a typo never
    /// silently becomes another currency.
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_string()))
        } else {
            Err(DomainError::invalid(
                "currency",
                format!("`{code}` is not an ISO-4217 code (three uppercase letters)"),
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount: `{ "amountMinor": 1999, "currency": "EUR" }` is 19.99 EUR.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// Amount in the currency's minor unit (cents for EUR).
    pub amount_minor: i64,
    /// Its currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in `currency`.
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::new(0, currency)
    }

    /// `self + other`; refuses mixed currencies and overflow.
    pub fn checked_add(&self, other: &Money) -> Result<Money, DomainError> {
        if self.currency != other.currency {
            return Err(DomainError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: other.currency.to_string(),
            });
        }
        let amount = self
            .amount_minor
            .checked_add(other.amount_minor)
            .ok_or(DomainError::AmountOverflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }

    /// `self × quantity`; refuses overflow.
    pub fn checked_mul(&self, quantity: u32) -> Result<Money, DomainError> {
        let amount = self
            .amount_minor
            .checked_mul(i64::from(quantity))
            .ok_or(DomainError::AmountOverflow)?;
        Ok(Money::new(amount, self.currency.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").unwrap())
    }

    #[test]
    fn currency_codes_are_three_uppercase_letters() {
        assert!(Currency::parse("EUR").is_ok());
        for bad in ["eur", "EU", "EURO", "E1R", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addition_and_multiplication_are_exact_and_checked() {
        assert_eq!(eur(1999).checked_mul(3).unwrap(), eur(5997));
        assert_eq!(eur(1).checked_add(&eur(2)).unwrap(), eur(3));
        assert_eq!(
            eur(i64::MAX).checked_add(&eur(1)),
            Err(DomainError::AmountOverflow)
        );
        assert_eq!(
            eur(i64::MAX / 2 + 1).checked_mul(2),
            Err(DomainError::AmountOverflow)
        );
    }

    #[test]
    fn mixed_currencies_are_refused() {
        let usd = Money::new(1, Currency::parse("USD").unwrap());
        assert!(matches!(
            eur(1).checked_add(&usd),
            Err(DomainError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn json_shape_is_camel_case_and_validates_the_currency() {
        assert_eq!(
            serde_json::to_value(eur(1999)).unwrap(),
            serde_json::json!({"amountMinor": 1999, "currency": "EUR"})
        );
        assert!(serde_json::from_str::<Money>(r#"{"amountMinor": 1, "currency": "eur"}"#).is_err());
        assert!(
            serde_json::from_str::<Money>(r#"{"amountMinor": 1.5, "currency": "EUR"}"#).is_err()
        );
    }
}
