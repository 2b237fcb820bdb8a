//! Dashboards and alerts that ship with the service (`deploy/observability/`):
//! the rules are valid Prometheus rules that fire on the service's series, the dashboard and
//! the rules only query families `GET /metrics` exposes, and a real Prometheus scrapes a
//! running service and answers a query over what it scraped.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::Duration;

use integration_tests::{ChildProcess, HostBuilder, eventually, free_port, workspace_root};

fn observability_dir() -> std::path::PathBuf {
    workspace_root().join("deploy/observability")
}

/// Runs `promtool` with `args` in `deploy/observability`; its output on failure.
fn promtool(args: &[&str]) {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(observability_dir())
        .output()
        .expect("promtool must be installed (`bash scripts/test.sh` installs prometheus)");
    assert!(
        output.status.success(),
        "promtool {args:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_alert_rules_are_valid_and_fire_on_the_services_series() {
    promtool(&["check", "rules", "alerts.yml"]);
    promtool(&["test", "rules", "alerts_test.yml"]);
}

/// Every `order_*` metric name in `text`, histogram suffixes folded into their family.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("order_") {
        let start = i + at;
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |n| start + n);
        if !preceded {
            let name = &text[start..end];
            let family = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            names.insert(family.to_owned());
        }
        i = end;
    }
    names
}

#[test]
fn the_dashboard_and_the_rules_query_only_families_the_service_exposes() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    assert_eq!(host.get("/health/live").status, 200);
    let scraped = host.get("/metrics");
    assert_eq!(scraped.status, 200, "{scraped:?}");
    let exposed: BTreeSet<String> = scraped
        .body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for file in ["grafana-dashboard.json", "alerts.yml"] {
        let text = std::fs::read_to_string(observability_dir().join(file)).expect(file);
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} queries no order_* family");
        let unknown: Vec<&String> = used.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{file} queries {unknown:?}, /metrics has {exposed:?}"
        );
    }
}

#[test]
fn a_real_prometheus_scrapes_the_service_and_answers_a_query() {
    let host = HostBuilder::new(workspace_root().join("spin.toml")).start();
    for _ in 0..3 {
        assert_eq!(host.get("/health/live").status, 200);
    }
    let target = host.base.trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: order-service\n    metrics_path: /metrics\n    static_configs:\n      - targets: [\"{target}\"]\n",
            rules = observability_dir().join("alerts.yml").display()
        ),
    )
    .expect("config");
    let port = free_port();
    // Stopped on drop.
    let _prometheus = ChildProcess::new(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus must be installed (`bash scripts/test.sh` installs it)"),
    );
    let query = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=order_http_requests_total%7Broute%3D%22%2Fhealth%2Flive%22%7D"
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let value = eventually(
        Duration::from_secs(30),
        "Prometheus to answer from a scrape",
        || {
            let mut response = agent.get(&query).call().ok()?;
            let body: serde_json::Value =
                serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()?;
            let sample = body["data"]["result"].as_array()?.first()?.clone();
            sample["value"][1].as_str()?.parse::<f64>().ok()
        },
    );
    assert!(
        value >= 3.0,
        "the three /health/live requests were counted: {value}"
    );
}
