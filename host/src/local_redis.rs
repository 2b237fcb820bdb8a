//! The local Redis server of `order-host up`: when the app has a Redis trigger whose address
//! is a variable nobody set (`address = "{{ redis_url }}"` with no `SPIN_VARIABLE_REDIS_URL`),
//! `up` starts `redis-server` on a free loopback port, keeps its data under the state directory,
//! and points the variable at it, as it starts the dependency simulators. An address the user
//! configured is used as given: if it cannot be reached, start-up fails as on Spin.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use order_host::manifest::Manifest;

/// A `redis-server` child process; stopped when dropped (and, through `setpriv --pdeathsig`,
/// when `order-host` itself dies without running destructors).
pub(crate) struct LocalRedis {
    child: Child,
    /// The variable it answers for and its value (`redis://127.0.0.1:<port>`).
    pub(crate) variable: (String, String),
}

impl Drop for LocalRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The variable named by the Redis trigger address, when it is exactly one `{{ variable }}`
/// reference (the per-trigger address first, then `[application.trigger.redis] address`).
fn address_variable(manifest: &Manifest) -> Option<String> {
    let trigger = manifest.redis_triggers.first()?;
    let address = manifest.redis_address(trigger);
    let name = address
        .trim()
        .strip_prefix("{{")?
        .strip_suffix("}}")?
        .trim();
    name.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        .then(|| name.to_string())
}

/// Starts a local Redis when the app needs one and none is configured; `None` otherwise.
///
/// # Errors
/// When `redis-server` is missing and cannot be installed, or does not answer within 10 s.
pub(crate) fn start(manifest: &Manifest, state_dir: &Path) -> Result<Option<LocalRedis>> {
    let Some(variable) = address_variable(manifest) else {
        return Ok(None);
    };
    if std::env::var_os(format!("SPIN_VARIABLE_{}", variable.to_ascii_uppercase())).is_some() {
        return Ok(None);
    }
    ensure_installed()?;
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("finding a free port for the local Redis")?
        .port();
    let dir = state_dir.join("redis");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let args = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--dir",
        &dir.to_string_lossy(),
        // Events in the stream survive a restart of `up`, like a real deployment's Redis.
        "--appendonly",
        "yes",
        "--save",
        "",
    ]
    .map(str::to_string);
    let child = spawn_tied_to_this_process(&args)?;
    let server = LocalRedis {
        child,
        variable: (variable, format!("redis://127.0.0.1:{port}")),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if answers_ping(port) {
            return Ok(Some(server));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("the local redis-server on port {port} did not answer within 10 s")
}

/// `redis-server`, under `setpriv --pdeathsig TERM` where available so a killed host does not
/// leave it running. Called from the main thread, which lives as long as the process (the
/// death signal follows the thread that spawned the child).
fn spawn_tied_to_this_process(args: &[String]) -> Result<Child> {
    let tied = Command::new("setpriv")
        .args(["--pdeathsig", "TERM", "--", "redis-server"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null())
        .spawn();
    match tied {
        Ok(child) => Ok(child),
        Err(_) => Command::new("redis-server")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .context("starting redis-server"),
    }
}

fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// Installs Debian's `redis-server` when it is missing, as `up` adds the `wasm32-wasip2`
/// target: the README's run command must work on a fresh machine.
fn ensure_installed() -> Result<()> {
    if which("redis-server") {
        return Ok(());
    }
    eprintln!(
        "==> installing redis-server (the app's Redis trigger needs a server and none is configured)"
    );
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let apt = |args: &[&str]| -> bool {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    if !(apt(&["install", "-y", "-qq", "redis-server"])
        || (apt(&["update", "-qq"]) && apt(&["install", "-y", "-qq", "redis-server"])))
        || !which("redis-server")
    {
        bail!(
            "the app's Redis trigger needs a Redis server: install redis-server, or set \
             SPIN_VARIABLE_REDIS_URL to a reachable one"
        );
    }
    Ok(())
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(trigger_address: &str) -> Manifest {
        Manifest::parse(
            &format!(
                r#"
spin_manifest_version = 2
[application]
name = "t"
[application.trigger.redis]
address = "{trigger_address}"
[variables]
redis_url = {{ default = "redis://127.0.0.1:6379" }}
[[trigger.redis]]
channel = "c"
component = "l"
[component.l]
source = "l.wasm"
"#
            ),
            "/".into(),
        )
        .unwrap()
    }

    #[test]
    fn the_address_variable_is_found_only_for_a_single_variable_reference() {
        assert_eq!(
            address_variable(&manifest("{{ redis_url }}")).as_deref(),
            Some("redis_url")
        );
        assert_eq!(
            address_variable(&manifest("{{redis_url}}")).as_deref(),
            Some("redis_url")
        );
        assert_eq!(address_variable(&manifest("redis://127.0.0.1:6379")), None);
        assert_eq!(address_variable(&manifest("redis://{{ host }}:6379")), None);
    }
}
