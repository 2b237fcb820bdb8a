//! Reads, pagination and admin actions.

use serde_json::json;
use simulators::demo;

use integration_tests::{order_body, problem_type, rig};

#[test]
fn pagination_walks_every_order_exactly_once_newest_first() {
    let rig = rig();
    let mut created = Vec::new();
    for i in 0..7 {
        let answer = rig.create(
            &format!("k-page-{i}"),
            &order_body(demo::OTHER_ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa"),
        );
        assert_eq!(answer.status, 201, "{answer:?}");
        created.push(answer.json()["id"].as_str().unwrap().to_owned());
    }
    let mut seen = Vec::new();
    let mut path = format!("/api/v1/users/{}/orders?limit=3", demo::OTHER_ACTIVE_USER);
    loop {
        let page = rig.get(&path);
        assert_eq!(page.status, 200, "{page:?}");
        let page = page.json();
        seen.extend(
            page["orders"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["id"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/users/{}/orders?limit=3&cursor={cursor}",
                    demo::OTHER_ACTIVE_USER
                )
            }
            None => break,
        }
    }
    created.reverse();
    assert_eq!(seen, created);
    let none = rig.get(&format!(
        "/api/v1/users/{}/orders?status=shipped",
        demo::OTHER_ACTIVE_USER
    ));
    assert_eq!(none.json()["orders"], json!([]));
    assert_eq!(rig.get("/api/v1/users/x/orders?limit=0").status, 400);
    assert_eq!(rig.get("/api/v1/users/x/orders?cursor=%%%").status, 400);
}

#[test]
fn sql_injection_shaped_ids_are_harmless() {
    let rig = rig();
    assert_eq!(
        rig.create(
            "k-1",
            &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa")
        )
        .status,
        201
    );
    for id in [
        "x'%20OR%20'1'='1",
        "1;DROP%20TABLE%20orders;--",
        "%27)%20UNION%20SELECT%20*%20FROM%20orders--",
    ] {
        let answer = rig.get(&format!("/api/v1/orders/{id}"));
        assert_eq!(answer.status, 404, "{answer:?}");
        let list = rig.get(&format!("/api/v1/users/{id}/orders"));
        assert_eq!(
            (list.status, list.json()["orders"].clone()),
            (200, json!([])),
            "{list:?}"
        );
        assert_eq!(
            rig.post(&format!("/api/v1/admin/orders/{id}/cancel"), "")
                .status,
            404
        );
    }
    let injected = rig.create(
        "k-2",
        &order_body("usr_alice' OR 1=1 --", &[(demo::CABLE, 1)], "tok_visa"),
    );
    assert_eq!(injected.status, 422, "{injected:?}");
    assert_eq!(rig.order_count(), 1, "tables intact");
}

#[test]
fn admin_cancel_releases_the_stock_and_refunds_and_illegal_transitions_are_409() {
    let rig = rig();
    let answer = rig.create(
        "k-1",
        &order_body(demo::ACTIVE_USER, &[(demo::MONITOR, 2)], "tok_visa"),
    );
    assert_eq!(answer.status, 201, "{answer:?}");
    let id = answer.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(rig.sims.inventory.stock(demo::MONITOR), Some(3));

    let illegal = rig.post(
        &format!("/api/v1/admin/orders/{id}/status"),
        r#"{"status":"delivered"}"#,
    );
    assert_eq!(illegal.status, 409, "{illegal:?}");
    assert_eq!(problem_type(&illegal), "illegal-transition");

    let cancelled = rig.post(&format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(cancelled.json()["status"], "refunded");
    assert_eq!(rig.sims.inventory.stock(demo::MONITOR), Some(5));
    assert_eq!(rig.sims.payment.refunds(), 1);
    let again = rig.post(&format!("/api/v1/admin/orders/{id}/cancel"), "");
    assert_eq!(again.status, 409, "{again:?}");
    assert_eq!(rig.sims.payment.refunds(), 1);

    let other = rig.create(
        "k-2",
        &order_body(demo::ACTIVE_USER, &[(demo::CABLE, 1)], "tok_visa"),
    );
    let other_id = other.json()["id"].as_str().unwrap().to_owned();
    for status in ["shipped", "delivered"] {
        let changed = rig.post(
            &format!("/api/v1/admin/orders/{other_id}/status"),
            &json!({ "status": status }).to_string(),
        );
        assert_eq!(
            (changed.status, changed.json()["status"].clone()),
            (200, json!(status)),
            "{changed:?}"
        );
    }
    let filtered = rig.get("/api/v1/admin/orders?status=delivered&from=2000-01-01T00:00:00Z");
    assert_eq!(
        filtered.json()["orders"].as_array().map(Vec::len),
        Some(1),
        "{filtered:?}"
    );
}
