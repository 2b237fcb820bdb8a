//! Child processes the tests own (`redis-server`, `sqld`, `order-host`): killed with SIGKILL
//! and reaped on drop, and restartable with the same command, so an outage is a kill and the
//! recovery a [`start`](ChildProcess::start) again at the same address.

use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

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
            if ready() {
                return Ok(());
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
