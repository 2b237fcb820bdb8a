//! A tiny blocking HTTP client for the simulator tests (ureq, statuses are not errors).

#![allow(dead_code)]

use std::time::Duration;

use serde_json::Value;

/// A received answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A fresh agent per call, so a reset or hang on one call cannot leak into the next.
fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout))
        .max_idle_connections(0)
        .build()
        .new_agent()
}

fn finish(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, ureq::Error> {
    let mut response = result?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = response.body_mut().read_to_string()?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// GET with headers, or the transport error.
pub fn try_get(
    url: &str,
    headers: &[(&str, &str)],
    timeout: Duration,
) -> Result<Answer, ureq::Error> {
    let mut request = agent(timeout).get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    finish(request.call())
}

/// GET that must get an answer.
pub fn get(url: &str) -> Answer {
    try_get(url, &[], Duration::from_secs(5)).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// GET with headers that must get an answer.
pub fn get_with(url: &str, headers: &[(&str, &str)]) -> Answer {
    try_get(url, headers, Duration::from_secs(5)).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// POST a body with a content type and headers, or the transport error.
pub fn try_post(
    url: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, ureq::Error> {
    let mut request = agent(Duration::from_secs(5))
        .post(url)
        .header("content-type", content_type);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    finish(request.send(body))
}

/// POST JSON that must get an answer.
pub fn post_json(url: &str, body: &Value, headers: &[(&str, &str)]) -> Answer {
    try_post(url, "application/json", &body.to_string(), headers)
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

/// POST a form that must get an answer.
pub fn post_form(url: &str, body: &str) -> Answer {
    try_post(url, "application/x-www-form-urlencoded", body, &[])
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}
