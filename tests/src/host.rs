//! `order-host up` as a child process on a free port and a fresh state directory, and HTTP
//! requests to it.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::host_binary;
use crate::pki;
use crate::process::ChildProcess;

/// How to start a host.
pub struct HostBuilder {
    manifest: PathBuf,
    env: Vec<(String, String)>,
    args: Vec<String>,
    state_dir: Option<PathBuf>,
    client_tls: Option<pki::ClientTls>,
}

impl HostBuilder {
    /// A host for `manifest`, no build, on a free port, with a fresh state directory.
    pub fn new(manifest: impl Into<PathBuf>) -> Self {
        Self {
            manifest: manifest.into(),
            env: Vec::new(),
            args: Vec::new(),
            state_dir: None,
            client_tls: None,
        }
    }

    /// Sets an environment variable of the host process.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// Serves HTTPS (`--tls-cert`, `--tls-key`) and has the [`Host`]'s requests use `client`
    /// (its trust and client certificate).
    pub fn https(self, cert: &Path, key: &Path, client: pki::ClientTls) -> Self {
        self.arg("--tls-cert")
            .arg(cert.display().to_string())
            .arg("--tls-key")
            .arg(key.display().to_string())
            .https_client(client)
    }

    /// Has the [`Host`]'s requests use `client` (trust and client certificate), for a host
    /// told to serve HTTPS some other way (e.g. `SPIN_TLS_CERT` / `SPIN_TLS_KEY`).
    pub fn https_client(mut self, client: pki::ClientTls) -> Self {
        self.client_tls = Some(client);
        self
    }

    /// Sets `SPIN_VARIABLE_<NAME>`.
    pub fn variable(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((
            format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()),
            value.into(),
        ));
        self
    }

    /// An extra command-line argument for `order-host up`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Points the app at `sims` (every `SPIN_VARIABLE_*` they need), so `up` starts none of its own.
    pub fn simulators(self, sims: &simulators::Simulators) -> Self {
        sims.spin_variables()
            .into_iter()
            .fold(self, |b, (name, value)| b.variable(&name, value))
    }

    /// Uses (and keeps) this state directory instead of a fresh one.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    fn command(&self, state_dir: &Path) -> Command {
        let mut cmd = Command::new(host_binary());
        cmd.arg("up")
            .arg("--no-build")
            .arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--manifest")
            .arg(&self.manifest)
            .arg("--state-dir")
            .arg(state_dir)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `order-host up` expecting it to fail; returns (exit code, stderr).
    pub fn expect_failure(self) -> (i32, String) {
        let state = tempfile::tempdir().expect("tempdir");
        let mut child = self
            .command(self.state_dir.as_deref().unwrap_or(state.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn order-host");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .expect("stderr")
                    .read_to_string(&mut err)
                    .expect("read stderr");
                return (status.code().unwrap_or(-1), err);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("order-host was expected to fail but is still running");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the host and waits for its `Serving http://…` line.
    pub fn start(self) -> Host {
        let temp = tempfile::tempdir().expect("tempdir");
        let state_dir = self
            .state_dir
            .clone()
            .unwrap_or_else(|| temp.path().to_path_buf());
        let mut child = self
            .command(&state_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn order-host");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        let err_pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                eprintln!("[order-host] {line}");
                if let Ok(mut s) = sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout");
        let stdout = Arc::new(Mutex::new(String::new()));
        let out_sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
                if let Ok(mut s) = out_sink.lock() {
                    s.push_str(&line);
                    s.push('\n');
                }
                if let Some(addr) = line.strip_prefix("Serving ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "order-host did not start; stderr:\n{}",
                    stderr.lock().map(|s| s.clone()).unwrap_or_default()
                );
            }
        };
        Host {
            process: ChildProcess::new(child),
            agent: pki::agent(self.client_tls.as_ref()),
            base,
            stderr,
            stdout,
            state_dir,
            manifest: self.manifest,
            _temp: temp,
        }
    }
}

/// A running `order-host up`, killed on drop.
pub struct Host {
    process: ChildProcess,
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>` (`https://` when started with [`HostBuilder::https`]).
    pub base: String,
    stderr: Arc<Mutex<String>>,
    stdout: Arc<Mutex<String>>,
    /// Where its default stores live.
    pub state_dir: PathBuf,
    /// The manifest it serves.
    pub manifest: PathBuf,
    _temp: tempfile::TempDir,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
    /// `content-type`, if any.
    pub content_type: Option<String>,
    /// Every response header, lowercase names, in order.
    pub headers: Vec<(String, String)>,
}

impl Answer {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request with its own client (`tls`: trust and client certificate; `None`: plain HTTP);
/// a failure to connect, to shake hands or to read the answer is the `Err`.
pub fn try_request(
    tls: Option<&pki::ClientTls>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Result<Answer, ureq::Error> {
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder
        .body(body.unwrap_or_default().to_string())
        .expect("valid request");
    let mut response = pki::agent(tls).run(request)?;
    let body = response.body_mut().read_to_string()?;
    Ok(read_answer(response, body))
}

fn answer(result: Result<http_response::Response, ureq::Error>) -> Answer {
    let mut response = result.expect("HTTP request failed");
    let body = response.body_mut().read_to_string().unwrap_or_default();
    read_answer(response, body)
}

fn read_answer(response: http_response::Response, body: String) -> Answer {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    Answer {
        status,
        body,
        content_type,
        headers,
    }
}

mod http_response {
    pub type Response = ureq::http::Response<ureq::Body>;
}

impl Host {
    /// `GET base + path`.
    pub fn get(&self, path: &str) -> Answer {
        answer(self.agent.get(&format!("{}{path}", self.base)).call())
    }

    /// `GET` with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        answer(req.call())
    }

    /// `POST base + path` with a body.
    pub fn post(&self, path: &str, body: &str) -> Answer {
        answer(self.agent.post(&format!("{}{path}", self.base)).send(body))
    }

    /// `PUT base + path` with a body.
    pub fn put(&self, path: &str, body: &str) -> Answer {
        answer(self.agent.put(&format!("{}{path}", self.base)).send(body))
    }

    /// Any request: `method` on `base + path` with headers and an optional body.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let uri = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(body.unwrap_or_default().to_string())
            .expect("valid request");
        answer(self.agent.run(request))
    }

    /// `method` on `path` with `Authorization: Bearer <token>`, `extra` headers and, with a
    /// body, `Content-Type: application/json`.
    pub fn authorized(
        &self,
        token: &str,
        method: &str,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let auth = format!("Bearer {token}");
        let mut headers = vec![("authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("content-type", "application/json"));
        }
        headers.extend_from_slice(extra);
        self.request(method, path, &headers, body)
    }

    /// `POST /api/v1/orders` with bearer `token`, `Idempotency-Key: key` and `extra` headers.
    pub fn create_order(
        &self,
        token: &str,
        key: &str,
        body: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut headers = vec![("idempotency-key", key)];
        headers.extend_from_slice(extra);
        self.authorized(token, "POST", "/api/v1/orders", &headers, Some(body))
    }

    /// The JSON lines of stderr whose `event` is `event` (`http_request`: one per request).
    pub fn log_events(&self, event: &str) -> Vec<Value> {
        self.stderr()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(&line[line.find('{')?..]).ok())
            .filter(|v| v["event"] == event)
            .collect()
    }

    /// A development JWT with `scope`, signed by the key this host trusts
    /// (`order-host token --manifest <its manifest>`).
    pub fn token(&self, scope: &str) -> String {
        dev_token(&self.manifest, scope, 900)
    }

    /// The host process id (the benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.process.pid().unwrap_or_default()
    }

    /// Everything the host printed on stdout so far (the banner: routes, simulators, local Redis).
    pub fn stdout(&self) -> String {
        self.stdout.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Everything the host printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops the host (as on drop) and waits for it to exit.
    pub fn stop(mut self) {
        self.kill();
    }

    /// Kills the host process with SIGKILL (no shutdown work of any kind) and waits for it.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

/// A development JWT for the key `order-host up --manifest <manifest>` trusts, via the real
/// `order-host token` command.
pub fn dev_token(manifest: &Path, scope: &str, ttl_s: u32) -> String {
    let out = Command::new(host_binary())
        .args([
            "token",
            "--scope",
            scope,
            "--ttl",
            &ttl_s.to_string(),
            "--manifest",
        ])
        .arg(manifest)
        .output()
        .expect("run order-host token");
    assert!(
        out.status.success(),
        "order-host token failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8 token")
        .trim()
        .to_string()
}
