//! `GET /api/v1/orders/statistics`: aggregates over orders written straight into the host's
//! SQLite file, and parameter validation.

use integration_tests::HostBuilder;
use serde_json::{Value, json};

use super::{STATS, assert_problem, spin_toml};

/// Epoch ms of `2026-MM-DDTHH:00:00Z`.
fn at(month: i64, day: i64, hour: i64) -> i64 {
    // 2026-10-01 is day 20727 since the epoch.
    let day_number = 20_727 + if month == 10 { day - 1 } else { 31 + day - 1 };
    (day_number * 86_400 + hour * 3_600) * 1_000
}

/// (id, status, currency, total, created, [(product, name, quantity, line total)]).
type SeedOrder = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    i64,
    &'static [Line],
);
type Line = (&'static str, &'static str, i64, i64);

/// Writes `orders` straight into the service's migrated database, each with its lines as the
/// row's `lines` JSON array (`crates/order-store/src/migrations.rs`, migration 8).
fn insert_orders(db: &std::path::Path) {
    let connection = rusqlite::Connection::open(db).expect("open sqlite_db.db");
    // (id, status, currency, total, created, [(product, name, quantity, line total)])
    let orders: [SeedOrder; 6] = [
        (
            "o1",
            "confirmed",
            "EUR",
            3000,
            at(11, 2, 10),
            &[("p-mug", "Mug", 2, 2000), ("p-tee", "Tee", 1, 1000)],
        ),
        (
            "o2",
            "shipped",
            "EUR",
            1001,
            at(11, 4, 10),
            &[("p-mug", "Mug", 1, 1001)],
        ),
        (
            "o3",
            "delivered",
            "USD",
            500,
            at(11, 10, 10),
            &[("p-cap", "Cap", 5, 500)],
        ),
        (
            "o4",
            "pending",
            "EUR",
            9999,
            at(11, 10, 11),
            &[("p-tee", "Tee", 50, 9999)],
        ),
        (
            "o5",
            "cancelled",
            "EUR",
            700,
            at(10, 30, 10),
            &[("p-mug", "Mug", 7, 700)],
        ),
        (
            "o6",
            "confirmed",
            "EUR",
            2000,
            at(10, 30, 12),
            &[("p-tee", "Tee", 2, 2000)],
        ),
    ];
    for (id, status, currency, total, created, lines) in orders {
        let lines: Vec<Value> = lines
            .iter()
            .enumerate()
            .map(|(line_no, (product, name, quantity, line_total))| {
                json!([
                    line_no,
                    product,
                    name,
                    line_total / quantity,
                    quantity,
                    line_total
                ])
            })
            .collect();
        connection
            .execute(
                "INSERT INTO orders (id, user_id, status, currency, total_minor, payment_method_type,
                     saga_step, saga_updated_at, created_at, updated_at, lines)
                 VALUES (?1, 'u-1', ?2, ?3, ?4, 'card', 'completed', ?5, ?5, ?5, ?6)",
                rusqlite::params![
                    id,
                    status,
                    currency,
                    total,
                    created,
                    Value::Array(lines).to_string()
                ],
            )
            .expect("insert order");
    }
}

fn money(amount: i64, currency: &str) -> Value {
    json!({ "amountMinor": amount, "currency": currency })
}

#[test]
fn statistics_count_status_revenue_average_and_top_products_per_period() {
    let host = HostBuilder::new(spin_toml()).start();
    let token = host.token("orders:stats");
    let get = |query: &str| {
        let answer = host.get_with(
            &format!("{STATS}{query}"),
            &[("authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(answer.status, 200, "{query}: {answer:?}");
        answer.json()
    };
    let empty = get("");
    assert_eq!(empty["totals"]["orders"], 0);
    assert_eq!(empty["periods"], json!([]));
    insert_orders(&host.state_dir.join("sqlite_db.db"));

    let weekly = get("?from=2026-11-01&to=2026-11-30&groupBy=week");
    assert_eq!(weekly["from"], "2026-11-01T00:00:00.000Z");
    assert_eq!(weekly["to"], "2026-12-01T00:00:00.000Z");
    assert_eq!(weekly["groupBy"], "week");
    let totals = &weekly["totals"];
    assert_eq!(totals["orders"], 4);
    let counts = &totals["countsByStatus"];
    for (status, count) in [
        ("confirmed", 1),
        ("shipped", 1),
        ("delivered", 1),
        ("pending", 1),
        ("cancelled", 0),
        ("refunded", 0),
    ] {
        assert_eq!(counts[status], count, "{status}");
    }
    assert_eq!(
        totals["revenue"],
        json!([money(4001, "EUR"), money(500, "USD")])
    );
    assert_eq!(
        totals["averageOrderValue"][0]["amountMinor"], 2001,
        "4001 / 2 rounds half up"
    );
    assert_eq!(totals["averageOrderValue"][1]["amountMinor"], 500);
    let top: Vec<(&str, i64)> = totals["topProducts"]
        .as_array()
        .expect("topProducts")
        .iter()
        .map(|p| {
            (
                p["productId"].as_str().unwrap_or_default(),
                p["quantity"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        top,
        [("p-cap", 5), ("p-mug", 3), ("p-tee", 1)],
        "pending orders sell nothing"
    );
    assert_eq!(
        totals["topProducts"][1]["revenue"],
        json!([money(3001, "EUR")])
    );
    assert_eq!(totals["topProducts"][1]["name"], "Mug");

    let periods = weekly["periods"].as_array().expect("periods");
    let labels: Vec<&str> = periods
        .iter()
        .map(|p| p["period"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        ["2026-11-02", "2026-11-09"],
        "ISO weeks start on Monday"
    );
    assert_eq!(periods[0]["orders"], 2);
    assert_eq!(periods[0]["revenue"], json!([money(4001, "EUR")]));
    assert_eq!(periods[1]["revenue"], json!([money(500, "USD")]));
    assert_eq!(periods[1]["countsByStatus"]["pending"], 1);

    let monthly = get("?groupBy=month");
    assert_eq!(monthly["totals"]["orders"], 6);
    let months: Vec<(&str, i64)> = monthly["periods"]
        .as_array()
        .expect("periods")
        .iter()
        .map(|p| {
            (
                p["period"].as_str().unwrap_or_default(),
                p["orders"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(months, [("2026-10-01", 2), ("2026-11-01", 4)]);
    assert_eq!(
        monthly["periods"][0]["revenue"],
        json!([money(2000, "EUR")]),
        "cancelled is not revenue"
    );

    let one_day = get("?from=2026-11-02&to=2026-11-02");
    assert_eq!(
        one_day["totals"]["orders"], 1,
        "a date `to` includes that day"
    );
    assert_eq!(one_day["periods"][0]["period"], "2026-11-02");
    let offset = get("?from=2026-11-02T11:00:00%2B01:00&to=2026-11-04T10:00:00Z");
    assert_eq!(
        offset["totals"]["orders"], 1,
        "from is inclusive (10:00Z), to exclusive"
    );
}

#[test]
fn statistics_parameters_are_validated_by_name() {
    let host = HostBuilder::new(spin_toml()).start();
    let token = host.token("orders:stats");
    for (query, parameter) in [
        ("?groupBy=year", "groupBy"),
        ("?from=yesterday", "from"),
        ("?from=2026-02-30", "from"),
        ("?to=2026-01-01T25:00:00Z", "to"),
        ("?from=2026-02-01&to=2026-01-01", "to"),
        ("?groupBy=day&groupBy=week", "groupBy"),
    ] {
        let answer = host.get_with(
            &format!("{STATS}{query}"),
            &[("authorization", &format!("Bearer {token}"))],
        );
        assert_problem(&answer, 400, Some(&token));
        assert_eq!(answer.json()["parameter"], parameter, "{query}");
        assert!(
            answer.json()["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(parameter)
        );
    }
}
