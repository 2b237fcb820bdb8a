//! Test harness: starts the real `order-host` binary on the real `.wasm` components, a real
//! `redis-server`, and talks to them over loopback HTTP.
//!
//! Prerequisites are built by the README's test command (`scripts/test.sh`): the release host
//! binary and the release `.wasm` files. The harness checks for them and says what to run.

#![warn(missing_docs)]

pub mod adapter_rig;
pub mod cluster;
pub mod pki;
mod sqld;

pub use cluster::{Cluster, ClusterBuilder, Database};
pub use sqld::{SqldServer, sqld_binary};

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The repository root: the nearest ancestor of the running package's directory (cargo sets
/// `CARGO_MANIFEST_DIR` when it runs tests and binaries) that holds `spin.toml`. Found at run
/// time, not compile time: clones sharing one target directory (CI's fresh clone and a
/// working copy) reuse each other's test binaries, and a compile-time path would point at
/// whichever clone built them.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("spin.toml").is_file() && dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("tests/ has a parent")
                .to_path_buf()
        })
}

pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn must_exist(path: PathBuf) -> PathBuf {
    assert!(
        path.exists(),
        "{} is missing: run the README's test command (bash scripts/test.sh), which builds it",
        path.display()
    );
    path
}

/// The release `order-host` binary.
pub fn host_binary() -> PathBuf {
    must_exist(target_dir().join("release/order-host"))
}

/// A release component built for `wasm32-wasip2`, by crate name (`probe`, `order_api`, ...).
pub fn wasm(name: &str) -> PathBuf {
    must_exist(target_dir().join(format!("wasm32-wasip2/release/{name}.wasm")))
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A `redis-server` of our own on a free loopback port, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port (kept across [`restart`](Self::restart)).
    pub port: u16,
}

impl RedisServer {
    /// Starts one and waits until it answers PING.
    pub fn start() -> Self {
        let mut server = Self {
            child: None,
            port: free_port(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed (the README's test command installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = self.connection()
                && redis::cmd("PING").query::<String>(&mut c).is_ok()
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kills the server (connections reset, then refused) until [`restart`](Self::restart).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server if it runs and starts a new, empty one on the same port (no
    /// persistence: streams and keys are gone, as after a Redis crash without AOF).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A synchronous client connection for assertions.
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// `(stream entry id, CloudEvent id, type)` of every entry in `orders.events`; empty when
    /// the server cannot be reached.
    pub fn stream_events(&self) -> Vec<(String, String, String)> {
        let Ok(mut redis) = self.connection() else {
            return Vec::new();
        };
        let entries: Vec<(String, Vec<String>)> = redis::cmd("XRANGE")
            .arg("orders.events")
            .arg("-")
            .arg("+")
            .query(&mut redis)
            .unwrap_or_default();
        entries
            .into_iter()
            .map(|(entry, fields)| {
                let field = |name: &str| {
                    fields
                        .chunks(2)
                        .find(|f| f[0] == name)
                        .and_then(|f| f.get(1).cloned())
                        .unwrap_or_default()
                };
                let (id, kind) = (field("id"), field("type"));
                (entry, id, kind)
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

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
            child,
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
    child: Child,
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

    /// A development JWT with `scope`, signed by the key this host trusts
    /// (`order-host token --manifest <its manifest>`).
    pub fn token(&self, scope: &str) -> String {
        dev_token(&self.manifest, scope, 900)
    }

    /// The host process id (the benchmark reads its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` every 25 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn eventually<T>(timeout: Duration, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Writes `text` as `spin.toml` in a new temporary directory and returns (dir, manifest path).
pub fn manifest_in_tempdir(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("spin.toml");
    std::fs::write(&path, text).expect("write manifest");
    (dir, path)
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
