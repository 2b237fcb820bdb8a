//! The §9 contracts of the User, Product and Inventory simulators, observed with a plain
//! HTTP client.

mod common;

use common::{get, post_json};
use serde_json::json;
use simulators::{Money, Product, Simulators, User, UserStatus, demo};

fn sims() -> Simulators {
    Simulators::spawn().expect("simulators start")
}

#[test]
fn user_is_returned_in_camel_case_and_unknown_user_is_404() {
    let sims = sims();
    let alice = get(&format!("{}/users/{}", sims.user.url(), demo::ACTIVE_USER));
    assert_eq!(alice.status, 200);
    assert_eq!(
        alice.json(),
        json!({"id": "usr_alice", "email": "alice@example.com", "name": "Alice Martin", "status": "active"})
    );
    let carol = get(&format!(
        "{}/users/{}",
        sims.user.url(),
        demo::SUSPENDED_USER
    ));
    assert_eq!(carol.json()["status"], "suspended");
    let unknown = get(&format!("{}/users/nobody", sims.user.url()));
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header("content-type"),
        Some("application/problem+json")
    );
}

#[test]
fn user_setters_change_what_the_service_answers() {
    let sims = sims();
    let erin = User {
        id: "usr_erin".into(),
        email: "e@example.com".into(),
        name: "Erin".into(),
        status: UserStatus::Deleted,
    };
    sims.user.upsert(erin.clone());
    assert_eq!(
        get(&format!("{}/users/usr_erin", sims.user.url())).json()["status"],
        "deleted"
    );
    assert_eq!(sims.user.remove("usr_erin"), Some(erin));
    assert_eq!(
        get(&format!("{}/users/usr_erin", sims.user.url())).status,
        404
    );
}

#[test]
fn product_has_money_price_and_inactive_products_are_still_returned() {
    let sims = sims();
    let keyboard = get(&format!(
        "{}/products/{}",
        sims.product.url(),
        demo::KEYBOARD
    ));
    assert_eq!(
        keyboard.json(),
        json!({"id": "prd_keyboard", "name": "Mechanical keyboard", "price": {"amountMinor": 8999, "currency": "EUR"}, "active": true})
    );
    let floppy = get(&format!(
        "{}/products/{}",
        sims.product.url(),
        demo::INACTIVE_PRODUCT
    ));
    assert_eq!(
        (floppy.status, floppy.json()["active"].clone()),
        (200, json!(false))
    );
    assert_eq!(
        get(&format!("{}/products/nothing", sims.product.url())).status,
        404
    );

    let pen = Product {
        id: "prd_pen".into(),
        name: "Pen".into(),
        price: Money::eur(150),
        active: true,
    };
    sims.product.upsert(pen);
    assert!(sims.product.set_price(
        "prd_pen",
        Money {
            amount_minor: 200,
            currency: "USD".into()
        }
    ));
    let answer = get(&format!("{}/products/prd_pen", sims.product.url())).json();
    assert_eq!(
        answer["price"],
        json!({"amountMinor": 200, "currency": "USD"})
    );
}

#[test]
fn reserve_takes_stock_once_per_order_and_release_returns_it_once() {
    let sims = sims();
    let reserve = format!("{}/inventory/reserve", sims.inventory.url());
    let release = format!("{}/inventory/release", sims.inventory.url());
    let body = json!({"orderId": "ord-1", "items": [{"productId": demo::MONITOR, "quantity": 2}, {"productId": demo::CABLE, "quantity": 1}]});

    let first = post_json(&reserve, &body, &[]);
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["success"], true);
    let reservation_id = first.json()["reservationId"]
        .as_str()
        .expect("reservationId")
        .to_owned();
    assert_eq!(sims.inventory.stock(demo::MONITOR), Some(3));

    let again = post_json(&reserve, &body, &[]);
    assert_eq!(
        (again.status, again.json()["reservationId"].as_str()),
        (200, Some(reservation_id.as_str()))
    );
    assert_eq!(
        sims.inventory.stock(demo::MONITOR),
        Some(3),
        "a repeat must not take stock twice"
    );
    assert_eq!(
        sims.inventory
            .reservation("ord-1")
            .map(|r| r.reservation_id),
        Some(reservation_id)
    );

    let released = post_json(&release, &json!({"orderId": "ord-1"}), &[]);
    assert_eq!(
        (released.status, released.json()["released"].clone()),
        (200, json!(true))
    );
    assert_eq!(sims.inventory.stock(demo::MONITOR), Some(5));
    assert_eq!(sims.inventory.stock(demo::CABLE), Some(500));
    let released_again = post_json(&release, &json!({"orderId": "ord-1"}), &[]);
    assert_eq!(
        (
            released_again.status,
            released_again.json()["released"].clone()
        ),
        (200, json!(false))
    );
    assert_eq!(
        sims.inventory.stock(demo::MONITOR),
        Some(5),
        "stock is returned once"
    );

    let late = post_json(&reserve, &body, &[]);
    assert_eq!(late.status, 409);
    assert_eq!(late.json(), json!({"success": false, "reason": "released"}));
}

#[test]
fn short_stock_is_409_naming_the_product_and_takes_nothing() {
    let sims = sims();
    let reserve = format!("{}/inventory/reserve", sims.inventory.url());
    let body = json!({"orderId": "ord-2", "items": [{"productId": demo::KEYBOARD, "quantity": 1}, {"productId": demo::MONITOR, "quantity": 6}]});
    let short = post_json(&reserve, &body, &[]);
    assert_eq!(short.status, 409);
    assert_eq!(
        short.json(),
        json!({"success": false, "reason": "insufficient_stock", "productId": "prd_monitor"})
    );
    assert_eq!(
        sims.inventory.stock(demo::KEYBOARD),
        Some(25),
        "all or nothing"
    );

    let unknown =
        json!({"orderId": "ord-3", "items": [{"productId": "prd_nothing", "quantity": 1}]});
    assert_eq!(
        post_json(&reserve, &unknown, &[]).json()["reason"],
        "unknown_product"
    );

    sims.inventory.set_stock(demo::MONITOR, 6);
    assert_eq!(
        post_json(&reserve, &body, &[]).status,
        200,
        "a refused order may try again"
    );
    let invalid = post_json(&reserve, &json!({"orderId": "ord-4", "items": []}), &[]);
    assert_eq!(invalid.status, 400);
}
