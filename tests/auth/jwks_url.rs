//! `jwt_jwks_url` mode: keys fetched from a loopback server on the `auth_service_url` origin,
//! cached in key-value, refetched on an unknown `kid` at most once a minute.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use auth::DevKey;
use integration_tests::HostBuilder;
use serde_json::json;

use super::{assert_problem, bearer, claims, now, spin_toml};

/// A loopback server answering every request with `document`, counting requests.
fn serve_jwks(document: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{document}",
                document.len()
            );
        }
    });
    (origin, hits)
}

#[test]
fn jwks_url_is_fetched_once_then_served_from_the_key_value_cache() {
    let key = DevKey::generate().expect("key");
    let (origin, hits) = serve_jwks(key.public_jwks());
    let host = HostBuilder::new(spin_toml())
        .variable("auth_service_url", &origin)
        .variable("auth_token_url", format!("{origin}/oauth/token"))
        .variable("jwt_jwks_url", format!("{origin}/.well-known/jwks.json"))
        .start();
    for _ in 0..3 {
        let answer = bearer(&host, &key.sign(&claims("orders:stats")));
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched once, then cached");

    // An unknown kid may force a refetch, but not within a minute of the last one.
    let stranger = DevKey::generate()
        .expect("key")
        .sign(&claims("orders:stats"));
    assert_problem(&bearer(&host, &stranger), 401, Some(&stranger));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "refetch is rate limited");
}

#[test]
fn jwks_url_rotation_refetches_on_an_unknown_kid_at_most_once_a_minute() {
    let (old, new) = (
        DevKey::generate().expect("key"),
        DevKey::generate().expect("key"),
    );
    let (origin, hits) = serve_jwks(new.public_jwks());
    let url = format!("{origin}/.well-known/jwks.json");
    // Another instance cached the old key set two minutes ago (stale enough to refetch on
    // an unknown kid, still fresh for known ones).
    let state = tempfile::tempdir().expect("state dir");
    let kv = rusqlite::Connection::open(state.path().join("sqlite_key_value.db")).expect("kv");
    kv.execute_batch(
        "CREATE TABLE IF NOT EXISTS spin_key_value (store TEXT NOT NULL, key TEXT NOT NULL,
         value BLOB NOT NULL, PRIMARY KEY (store, key))",
    )
    .expect("kv schema");
    let cached = json!({ "fetchedAtS": now() - 120, "document": old.public_jwks() });
    kv.execute(
        "INSERT INTO spin_key_value VALUES ('default', ?1, ?2)",
        rusqlite::params![format!("auth:jwks:{url}"), cached.to_string().into_bytes()],
    )
    .expect("seed kv");
    drop(kv);
    let host = HostBuilder::new(spin_toml())
        .state_dir(state.path())
        .variable("auth_service_url", &origin)
        .variable("auth_token_url", format!("{origin}/oauth/token"))
        .variable("jwt_jwks_url", &url)
        .start();
    let stats = claims("orders:stats");

    assert_eq!(
        bearer(&host, &old.sign(&stats)).status,
        200,
        "served from key-value"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        bearer(&host, &new.sign(&stats)).status,
        200,
        "rotated key fetched"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(bearer(&host, &new.sign(&stats)).status, 200);
    let retired = old.sign(&stats);
    assert_problem(&bearer(&host, &retired), 401, Some(&retired));
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no second fetch within a minute"
    );
}

#[test]
fn jwks_url_off_the_auth_service_origin_is_misconfiguration() {
    let key = DevKey::generate().expect("key");
    let host = HostBuilder::new(spin_toml())
        .variable("jwt_jwks_url", "http://127.0.0.1:9/jwks.json")
        .start();
    let token = key.sign(&claims("orders:stats"));
    let answer = bearer(&host, &token);
    assert_problem(&answer, 500, Some(&token));
    assert_eq!(answer.header("www-authenticate"), None);
}
