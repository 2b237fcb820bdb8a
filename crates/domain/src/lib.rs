//! The order domain of the Order Service, free of any host or transport type so it is tested
//! with plain `cargo test`: money in integer minor units, the order aggregate and its state
//! machine (ARCHITECTURE §4), validation of the create-order request, and the steps of the
//! create-order saga with their compensations.

#![warn(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod error;
mod json;
mod money;
mod order;
mod request;
mod saga;
mod status;
mod time;

pub use error::DomainError;
pub use json::{ShapeError, StrictJsonError, from_value, parse_strict};
pub use money::{Currency, Money};
pub use order::{Order, OrderLine, PricedItem, StatusChange};
pub use request::{CreateOrderRequest, OrderItemRequest, PaymentMethod, ValidatedOrder, limits};
pub use saga::{RecoveryAction, SagaStep};
pub use status::OrderStatus;
pub use time::Timestamp;
