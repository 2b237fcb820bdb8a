//! Child processes the tests own (`redis-server`, `sqld`, `order-host`): killed with SIGKILL
//! and reaped on drop, and restartable with the same command, so an outage is a kill and the
//! recovery a [`start`](ChildProcess::start) again at the same address.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// How many ports [`on_free_port`] tries.
const START_ATTEMPTS: usize = 3;

/// What a server's output says when its port is taken (the OS error text of `EADDRINUSE`;
/// redis-server and sqld both quote it).
const ADDRESS_IN_USE: &str = "Address already in use";

/// How much of a child's output a start-up failure quotes, in characters.
const LOG_TAIL_CHARS: usize = 2_000;

/// Starts server `what` on a free loopback port: `start(port)` with a port from
/// [`crate::free_port`], and again with another while its error (the server's output) says
/// [`ADDRESS_IN_USE`] (another process took the port between choosing and binding it:
/// parallel tests' client connections come from the same ephemeral range), [`START_ATTEMPTS`]
/// times at most. Panics with the last error otherwise.
pub fn on_free_port(what: &str, start: impl FnMut(u16) -> Result<(), String>) {
    if let Err(output) = retry_taken_port(start, |output| output.contains(ADDRESS_IN_USE)) {
        panic!("{what} exited at start-up: {output}");
    }
}

/// [`on_free_port`]'s attempts: the last error once `taken` refuses it or the attempts are
/// used up.
fn retry_taken_port<E>(
    mut start: impl FnMut(u16) -> Result<(), E>,
    taken: impl Fn(&E) -> bool,
) -> Result<(), E> {
    let mut attempt = 1;
    loop {
        match start(crate::free_port()) {
            Ok(()) => return Ok(()),
            Err(error) if attempt < START_ATTEMPTS && taken(&error) => attempt += 1,
            Err(error) => return Err(error),
        }
    }
}

/// A child's stdout and stderr, appended to one file across its restarts, so a start-up
/// failure can quote what the child said.
pub struct OutputLog {
    path: PathBuf,
}

impl OutputLog {
    /// Output to `path` (created on first use).
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
        }
    }

    /// Points `command`'s stdout and stderr at the log; where this run's output starts.
    pub fn attach(&self, command: &mut Command) -> u64 {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .expect("child output log");
        let start = log.metadata().map(|m| m.len()).unwrap_or(0);
        command
            .stdout(log.try_clone().expect("child output log"))
            .stderr(log);
        start
    }

    /// The last [`LOG_TAIL_CHARS`] characters written since `start`.
    pub fn tail(&self, start: u64) -> String {
        let text = std::fs::read(&self.path).unwrap_or_default();
        let since = usize::try_from(start).unwrap_or(usize::MAX).min(text.len());
        let run = String::from_utf8_lossy(&text[since..]);
        let skip = run.chars().count().saturating_sub(LOG_TAIL_CHARS);
        run.chars().skip(skip).collect()
    }
}

/// One child process slot: empty, or a running (or exited, not yet reaped) process.
#[derive(Default)]
pub struct ChildProcess {
    child: Option<Child>,
}

impl ChildProcess {
    /// A slot holding `child` (started elsewhere, e.g. with piped output).
    pub fn new(child: Child) -> Self {
        Self { child: Some(child) }
    }

    /// Kills what runs in the slot, spawns `command` and polls `ready` every 20 ms until it
    /// holds. If the process exits first, its exit status is the error (the caller knows where
    /// its output went and whether another attempt makes sense); panics naming `what` if it
    /// cannot be spawned or `timeout` passes.
    pub fn start(
        &mut self,
        what: &str,
        command: &mut Command,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), ExitStatus> {
        self.kill();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{what} cannot start ({e}): run the README's test command (bash scripts/test.sh), which installs it"));
        self.child = Some(child);
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.try_wait() {
                self.child = None;
                return Err(status);
            }
            // Ready, and still ours: a server of another test on a port this one could not
            // bind also answers, and this child then exits.
            if ready() {
                return match self.try_wait() {
                    None => Ok(()),
                    Some(status) => {
                        self.child = None;
                        Err(status)
                    }
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        panic!("{what} did not start within {timeout:?}");
    }

    /// Kills the process with SIGKILL (no shutdown work of any kind) and reaps it.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The process id while the slot holds a process.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The exit status once the process has exited; `None` while it runs (or the slot is empty).
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Whether the slot holds a process that still runs.
    pub fn is_running(&mut self) -> bool {
        self.child.is_some() && self.try_wait().is_none()
    }

    /// The process itself (to take its pipes).
    pub fn child_mut(&mut self) -> Option<&mut Child> {
        self.child.as_mut()
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::{OutputLog, START_ATTEMPTS, retry_taken_port};

    #[test]
    fn a_taken_port_means_another_port_and_any_other_failure_stops_at_once() {
        let mut tried = Vec::new();
        let started = retry_taken_port(
            |port| {
                tried.push(port);
                if tried.len() < START_ATTEMPTS {
                    Err("taken")
                } else {
                    Ok(())
                }
            },
            |error| *error == "taken",
        );
        assert_eq!(started, Ok(()));
        assert_eq!(tried.len(), START_ATTEMPTS);

        let mut attempts = 0;
        let failed = retry_taken_port(
            |_| {
                attempts += 1;
                Err("bad flag")
            },
            |error| *error == "taken",
        );
        assert_eq!((failed, attempts), (Err("bad flag"), 1));

        let mut attempts = 0;
        let gave_up = retry_taken_port(
            |_| {
                attempts += 1;
                Err::<(), _>("taken")
            },
            |error| *error == "taken",
        );
        assert_eq!((gave_up, attempts), (Err("taken"), START_ATTEMPTS));
    }

    #[test]
    fn the_log_tail_quotes_only_the_latest_run() {
        let dir = tempfile::tempdir().unwrap();
        let log = OutputLog::new(&dir.path().join("child.log"));
        for word in ["first", "second"] {
            let mut command = Command::new("sh");
            command.args(["-c", &format!("echo {word}; echo {word}-err >&2")]);
            let start = log.attach(&mut command);
            command.status().unwrap();
            let tail = log.tail(start);
            assert!(
                tail.contains(word) && tail.contains(&format!("{word}-err")),
                "{tail}"
            );
            if word == "second" {
                assert!(!tail.contains("first"), "{tail}");
            }
        }
    }
}
