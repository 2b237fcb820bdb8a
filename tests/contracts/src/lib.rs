//! Pact contract tests (issue 6).
//!
//! - **Consumer pacts** (`consumer_pacts.rs`): the real `dependency-adapters.wasm`, composed
//!   into the `adapter-driver` fixture on `order-host`, calls Pact mock servers standing in
//!   for User, Product, Inventory, Payment and Auth. A mock server fails the test when a
//!   request does not match an interaction or an interaction is never asked for; on success
//!   it writes the pact, which must equal the one checked in under `tests/pacts/`.
//! - **Provider verification** (`provider_verification.rs`): the inbound API, served by
//!   `order-host` from the repository's `spin.toml`, is verified with `pact_verifier`
//!   against the pacts of its consumers Admin, User Service and Analytics (defined in
//!   [`inbound`], checked in under `tests/pacts/`), with provider states set up through the
//!   API itself.
//!
//! The files in `tests/pacts/` are what we publish (outbound) and what we promise
//! (inbound). A test that produces a pact compares it with the checked-in file, metadata
//! aside, and fails on any difference; `PACT_UPDATE=1` rewrites the file instead.

#![warn(missing_docs)]

pub mod inbound;
pub mod patterns;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use pact_models::pact::Pact;
use pact_models::provider_states::ProviderState;
use pact_verifier::callback_executors::ProviderStateExecutor;
use pact_verifier::{
    FilterInfo, NullRequestFilterExecutor, PactSource, ProviderInfo, ProviderTransport,
    VerificationOptions, verify_provider_async,
};
use serde_json::Value;

/// `tests/pacts/` in the repository.
pub fn pact_dir() -> PathBuf {
    integration_tests::workspace_root().join("tests/pacts")
}

/// The file name Pact gives the contract between `consumer` and `provider`.
pub fn pact_file_name(consumer: &str, provider: &str) -> String {
    format!("{consumer}-{provider}.json")
}

/// Whether the caller asked to rewrite the checked-in pacts (`PACT_UPDATE=1`).
fn updating() -> bool {
    std::env::var("PACT_UPDATE").is_ok_and(|v| v == "1" || v == "true")
}

/// A pact file's content without `metadata` (library versions, not the contract).
fn contract_of(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut json: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(object) = json.as_object_mut() {
        object.remove("metadata");
    }
    Ok(json)
}

/// Compares the pact a test wrote into `written_dir` with the checked-in one (or, with
/// `PACT_UPDATE=1`, replaces the checked-in one). Panics with the difference.
pub fn check_against_checked_in(written_dir: &Path, file_name: &str) {
    let written = written_dir.join(file_name);
    let checked_in = pact_dir().join(file_name);
    let produced = contract_of(&written).expect("the test wrote its pact");
    if updating() {
        std::fs::create_dir_all(pact_dir()).expect("create tests/pacts");
        // Write beside the target and rename, so concurrent tests never see half a file.
        let staging = checked_in.with_extension(format!("json.{}", std::process::id()));
        std::fs::copy(&written, &staging).expect("stage pact");
        std::fs::rename(&staging, &checked_in).expect("replace pact");
        return;
    }
    match contract_of(&checked_in) {
        Ok(expected) if expected == produced => {}
        Ok(expected) => panic!(
            "the pact {file_name} changed:\nchecked in: {}\nproduced:   {}\n\
             If the change is intended, run the tests with PACT_UPDATE=1 and commit tests/pacts/.",
            serde_json::to_string_pretty(&expected).unwrap(),
            serde_json::to_string_pretty(&produced).unwrap()
        ),
        Err(error) => panic!(
            "no checked-in pact for {file_name} ({error}); run the tests with PACT_UPDATE=1 \
             and commit tests/pacts/"
        ),
    }
}

/// Writes `pact` into `dir` under its standard file name (for pacts built without a mock
/// server) and returns that name.
pub fn write_pact(pact: &(dyn Pact + Send + Sync), dir: &Path) -> String {
    let name = pact_file_name(&pact.consumer().name, &pact.provider().name);
    let json = pact
        .to_json(pact.specification_version())
        .expect("pact to JSON");
    let text = serde_json::to_string_pretty(&json).expect("pact JSON");
    std::fs::write(dir.join(&name), text).expect("write pact");
    name
}

/// Puts a provider in the provider state a pact interaction names.
#[async_trait]
pub trait SetUp: std::fmt::Debug + Send + Sync {
    /// Sets up the state named `state` (empty for an interaction without one), using `client`
    /// for any HTTP it needs; returns the values `${name}` expressions in the request take.
    async fn set_up(
        &self,
        state: &str,
        client: &reqwest::Client,
    ) -> anyhow::Result<HashMap<String, Value>>;
}

/// The verifier's state executor for a [`SetUp`]: set-up calls only (no teardown).
#[derive(Debug)]
pub struct States<T>(pub T);

#[async_trait]
impl<T: SetUp> ProviderStateExecutor for States<T> {
    async fn call(
        self: Arc<Self>,
        _interaction_id: Option<String>,
        state: &ProviderState,
        setup: bool,
        client: Option<&reqwest::Client>,
    ) -> anyhow::Result<HashMap<String, Value>> {
        if !setup {
            return Ok(HashMap::new());
        }
        match client {
            Some(client) => self.0.set_up(&state.name, client).await,
            None => self.0.set_up(&state.name, &reqwest::Client::new()).await,
        }
    }

    fn teardown(&self) -> bool {
        false
    }
}

/// Verifies the provider listening on `127.0.0.1:<port>` against the pact in `file`, with
/// `headers` added to every request and `states` setting up provider states. Panics with
/// the verifier's report when an interaction is not honoured, or when none was verified.
pub fn verify<T: SetUp + 'static>(
    file: &Path,
    port: u16,
    headers: HashMap<String, String>,
    states: &Arc<States<T>>,
) {
    let options = VerificationOptions::<NullRequestFilterExecutor> {
        custom_headers: headers,
        coloured_output: false,
        request_timeout: 30_000,
        ..VerificationOptions::default()
    };
    let pact = pact_models::pact::read_pact(file).expect("a readable pact");
    let info = ProviderInfo {
        name: pact.provider().name,
        host: "127.0.0.1".into(),
        transports: vec![ProviderTransport {
            transport: "http".into(),
            port: Some(port),
            path: None,
            scheme: Some("http".into()),
        }],
        ..ProviderInfo::default()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let result = runtime
        .block_on(verify_provider_async(
            info,
            vec![PactSource::File(file.display().to_string())],
            FilterInfo::None,
            vec![],
            &options,
            None,
            states,
            None,
        ))
        .expect("the verifier ran");
    assert!(
        result.result,
        "{} is not honoured:\n{}\n{:#?}",
        file.display(),
        result.output.join("\n"),
        result.errors
    );
    assert!(
        !result.interaction_results.is_empty(),
        "no interaction of {} was verified",
        file.display()
    );
}

/// The port of a `http://127.0.0.1:<port>` base URL.
pub fn port_of(base: &str) -> u16 {
    base.trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {base}"))
}
