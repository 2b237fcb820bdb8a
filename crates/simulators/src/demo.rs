//! The demo data every simulator starts with (and returns to on `reset_data`), all in EUR.
//!
//! | user id | name | status |
//! |---|---|---|
//! | `usr_alice` | Alice Martin, alice@example.com | active |
//! | `usr_bob` | Bob Schmidt, bob@example.com | active |
//! | `usr_carol` | Carol Rossi, carol@example.com | suspended |
//! | `usr_dave` | Dave Dubois, dave@example.com | deleted |
//!
//! | product id | name | price | active | stock |
//! |---|---|---|---|---|
//! | `prd_keyboard` | Mechanical keyboard | 89.99 | yes | 25 |
//! | `prd_mouse` | Wireless mouse | 29.99 | yes | 100 |
//! | `prd_monitor` | 27-inch monitor | 249.00 | yes | 5 |
//! | `prd_cable` | USB-C cable | 9.99 | yes | 500 |
//! | `prd_webcam` | HD webcam | 59.99 | yes | 0 (out of stock) |
//! | `prd_floppy` | Floppy disk drive | 19.99 | **no** (inactive) | 10 |

use crate::money::Money;
use crate::product::Product;
use crate::user::{User, UserStatus};

/// An active user.
pub const ACTIVE_USER: &str = "usr_alice";
/// A second active user.
pub const OTHER_ACTIVE_USER: &str = "usr_bob";
/// A suspended user.
pub const SUSPENDED_USER: &str = "usr_carol";
/// A deleted user.
pub const DELETED_USER: &str = "usr_dave";

/// An active product with plenty of stock (25).
pub const KEYBOARD: &str = "prd_keyboard";
/// An active product with plenty of stock (100).
pub const MOUSE: &str = "prd_mouse";
/// An active product with little stock (5).
pub const MONITOR: &str = "prd_monitor";
/// A cheap active product with lots of stock (500).
pub const CABLE: &str = "prd_cable";
/// An active product with no stock.
pub const OUT_OF_STOCK_PRODUCT: &str = "prd_webcam";
/// An inactive product (still has stock).
pub const INACTIVE_PRODUCT: &str = "prd_floppy";

/// The seeded users.
pub fn users() -> Vec<User> {
    let user = |id: &str, name: &str, email: &str, status| User {
        id: id.to_owned(),
        email: email.to_owned(),
        name: name.to_owned(),
        status,
    };
    vec![
        user(
            ACTIVE_USER,
            "Alice Martin",
            "alice@example.com",
            UserStatus::Active,
        ),
        user(
            OTHER_ACTIVE_USER,
            "Bob Schmidt",
            "bob@example.com",
            UserStatus::Active,
        ),
        user(
            SUSPENDED_USER,
            "Carol Rossi",
            "carol@example.com",
            UserStatus::Suspended,
        ),
        user(
            DELETED_USER,
            "Dave Dubois",
            "dave@example.com",
            UserStatus::Deleted,
        ),
    ]
}

/// The seeded products.
pub fn products() -> Vec<Product> {
    let product = |id: &str, name: &str, cents, active| Product {
        id: id.to_owned(),
        name: name.to_owned(),
        price: Money::eur(cents),
        active,
    };
    vec![
        product(KEYBOARD, "Mechanical keyboard", 8999, true),
        product(MOUSE, "Wireless mouse", 2999, true),
        product(MONITOR, "27-inch monitor", 24900, true),
        product(CABLE, "USB-C cable", 999, true),
        product(OUT_OF_STOCK_PRODUCT, "HD webcam", 5999, true),
        product(INACTIVE_PRODUCT, "Floppy disk drive", 1999, false),
    ]
}

/// The seeded stock levels (product id → units available).
pub fn stock() -> Vec<(String, u32)> {
    [
        (KEYBOARD, 25),
        (MOUSE, 100),
        (MONITOR, 5),
        (CABLE, 500),
        (OUT_OF_STOCK_PRODUCT, 0),
        (INACTIVE_PRODUCT, 10),
    ]
    .into_iter()
    .map(|(id, units)| (id.to_owned(), units))
    .collect()
}
