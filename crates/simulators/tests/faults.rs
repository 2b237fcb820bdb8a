//! Every fault kind, the counters and the request log, observed with a plain HTTP client.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{get, get_with, post_json, try_get};
use serde_json::json;
use simulators::{Fault, Simulators, demo};

fn sims() -> Simulators {
    Simulators::spawn().expect("simulators start")
}

fn alice(sims: &Simulators) -> String {
    format!("{}/users/{}", sims.user.url(), demo::ACTIVE_USER)
}

#[test]
fn fixed_status_answers_every_call_with_a_problem_until_cleared() {
    let sims = sims();
    sims.user.set_fault(Fault::Status(503));
    for _ in 0..3 {
        let answer = get(&alice(&sims));
        assert_eq!(
            (answer.status, answer.header("content-type")),
            (503, Some("application/problem+json"))
        );
    }
    sims.user.clear_fault();
    assert_eq!(get(&alice(&sims)).status, 200);
    assert_eq!(sims.user.calls(), 4, "faulted calls are counted too");
}

#[test]
fn status_with_retry_after_sends_the_header() {
    let sims = sims();
    sims.inventory.set_fault(Fault::StatusRetryAfter {
        status: 429,
        retry_after_s: 2,
    });
    let answer = post_json(
        &format!("{}/inventory/release", sims.inventory.url()),
        &json!({"orderId": "o"}),
        &[],
    );
    assert_eq!(
        (answer.status, answer.header("retry-after")),
        (429, Some("2"))
    );
}

#[test]
fn error_rate_fails_a_deterministic_share_of_calls() {
    let sims = sims();
    sims.product.set_fault(Fault::ErrorRate {
        percent: 50,
        status: 500,
    });
    let url = format!("{}/products/{}", sims.product.url(), demo::MOUSE);
    let statuses: Vec<u16> = (0..6).map(|_| get(&url).status).collect();
    assert_eq!(statuses, [200, 500, 200, 500, 200, 500]);

    sims.product.set_fault(Fault::ErrorRate {
        percent: 25,
        status: 503,
    });
    let failures = (0..20).filter(|_| get(&url).status == 503).count();
    assert_eq!(failures, 5);
}

#[test]
fn latency_delays_a_normal_answer() {
    let sims = sims();
    sims.user
        .set_fault(Fault::Latency(Duration::from_millis(250)));
    let started = Instant::now();
    let answer = get(&alice(&sims));
    assert_eq!(answer.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_slow_answer_takes_effect_even_when_the_caller_gives_up() {
    let sims = sims();
    sims.payment
        .set_fault(Fault::SlowAnswer(Duration::from_millis(800)));
    let body = json!({
        "orderId": "ord_slow",
        "amount": { "amountMinor": 100, "currency": "EUR" },
        "paymentMethod": { "type": "card", "token": "tok_visa" },
    });
    let started = Instant::now();
    let mut stream =
        TcpStream::connect(sims.payment.url().trim_start_matches("http://")).expect("connect");
    let text = body.to_string();
    write!(
        stream,
        "POST /payments HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         idempotency-key: k-slow\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    )
    .expect("send");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut buffer = [0u8; 64];
    let gave_up = stream.read(&mut buffer);
    assert!(gave_up.is_err(), "no answer within 200 ms: {gave_up:?}");
    drop(stream);
    assert!(started.elapsed() < Duration::from_millis(800));
    assert_eq!(sims.payment.charges_for("ord_slow"), 1, "charged anyway");
}

#[test]
fn hang_reads_the_request_and_never_answers() {
    let sims = sims();
    sims.payment.set_fault(Fault::Hang);
    let started = Instant::now();
    let result = try_get(
        &format!("{}/payments/pay_1", sims.payment.url()),
        &[],
        Duration::from_millis(300),
    );
    assert!(result.is_err(), "a hung call must time out at the client");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(
        sims.payment.wait_for_calls(1, Duration::from_secs(1)),
        "the hung call was received and counted"
    );
    sims.payment.clear_fault();
    assert_eq!(
        get(&format!("{}/payments/pay_1", sims.payment.url())).status,
        404
    );
}

#[test]
fn reset_closes_the_connection_without_an_answer() {
    let sims = sims();
    sims.user.set_fault(Fault::Reset);
    let mut stream = TcpStream::connect(sims.user.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(b"GET /users/usr_alice HTTP/1.1\r\nhost: sim\r\n\r\n")
        .expect("request sent");
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
        Ok(_) => panic!(
            "expected a reset, got {:?}",
            String::from_utf8_lossy(&answer)
        ),
    }
    assert!(try_get(&alice(&sims), &[], Duration::from_secs(2)).is_err());
    assert_eq!(sims.user.calls(), 2);
}

#[test]
fn fail_next_scripts_failures_then_recovers() {
    let sims = sims();
    sims.user.fail_next(1, Fault::Reset);
    sims.user.fail_next(2, Fault::Status(502));
    assert!(try_get(&alice(&sims), &[], Duration::from_secs(2)).is_err());
    assert_eq!(get(&alice(&sims)).status, 502);
    assert_eq!(get(&alice(&sims)).status, 502);
    assert_eq!(get(&alice(&sims)).status, 200);

    sims.user.set_fault(Fault::Status(503));
    sims.user
        .fail_next(1, Fault::Latency(Duration::from_millis(1)));
    assert_eq!(
        get(&alice(&sims)).status,
        200,
        "the script runs before the standing fault"
    );
    assert_eq!(get(&alice(&sims)).status, 503);
}

#[test]
fn calls_are_counted_per_route_and_requests_are_logged_with_headers_and_body() {
    let sims = sims();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let body = json!({"orderId": "ord-9", "amount": {"amountMinor": 500, "currency": "EUR"}, "paymentMethod": {"type": "card", "token": "tok_visa"}});
    let headers = [
        ("Idempotency-Key", "order-ord-9"),
        ("traceparent", traceparent),
        ("Authorization", "Bearer abc"),
    ];
    let created = post_json(&format!("{}/payments", sims.payment.url()), &body, &headers);
    let payment_id = created.json()["paymentId"]
        .as_str()
        .expect("paymentId")
        .to_owned();
    get_with(
        &format!("{}/payments/{payment_id}", sims.payment.url()),
        &[("traceparent", traceparent)],
    );
    get(&format!("{}/nowhere", sims.payment.url()));

    assert_eq!(sims.payment.calls(), 3);
    assert_eq!(sims.payment.calls_to("POST /payments"), 1);
    assert_eq!(sims.payment.calls_to("GET /payments/{id}"), 1);
    assert_eq!(sims.payment.calls_to(simulators::UNMATCHED_ROUTE), 1);

    let requests = sims.payment.requests();
    let charge = &requests[0];
    assert_eq!(
        (charge.method.as_str(), charge.path.as_str()),
        ("POST", "/payments")
    );
    assert_eq!(charge.idempotency_key(), Some("order-ord-9"));
    assert_eq!(charge.traceparent(), Some(traceparent));
    assert_eq!(charge.bearer_token(), Some("abc"));
    assert_eq!(charge.body_json(), Some(body));
    assert_eq!(
        sims.payment.last_request().map(|r| r.path),
        Some("/nowhere".to_owned())
    );

    sims.payment.clear_log();
    assert_eq!(
        (sims.payment.calls(), sims.payment.requests().len()),
        (0, 0)
    );
}

#[test]
fn faults_on_one_simulator_leave_the_others_alone() {
    let sims = sims();
    sims.user.set_fault(Fault::Status(500));
    assert_eq!(
        get(&format!("{}/products/{}", sims.product.url(), demo::CABLE)).status,
        200
    );
    sims.clear_faults();
    assert_eq!(get(&alice(&sims)).status, 200);
}

#[test]
fn dropping_the_simulators_stops_them_even_with_a_hung_call() {
    let sims = sims();
    sims.user.set_fault(Fault::Hang);
    let addr = sims.user.addr();
    let mut hung = TcpStream::connect(addr).expect("connect");
    hung.write_all(b"GET /users/usr_alice HTTP/1.1\r\nhost: sim\r\n\r\n")
        .expect("sent");
    assert!(sims.user.wait_for_calls(1, Duration::from_secs(2)));
    drop(sims);
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens after drop"
    );
}
