//! What the kernel says a process (or one of its threads) has used so far, from
//! `/proc/{pid}/stat` (Linux; `proc(5)`): CPU time, for host CPU per request, and minor page
//! faults, for what new instances cost in memory. Zero elsewhere or when the file is gone.

use std::path::Path;
use std::time::Duration;

/// CPU time (user + system) process `pid` has used so far, from `/proc` (Linux); zero
/// elsewhere.
pub(crate) fn process_cpu(pid: u32) -> Duration {
    stat_cpu(Path::new(&format!("/proc/{pid}/stat")))
}

/// User + system CPU time from a `/proc/…/stat` file (a process's or a thread's); zero if it
/// cannot be read.
pub(crate) fn stat_cpu(path: &Path) -> Duration {
    // utime and stime; Linux reports them in USER_HZ ticks: 100 per second on every mainstream
    // build.
    let ticks = stat_field(path, 14).unwrap_or(0) + stat_field(path, 15).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Minor page faults process `pid` has taken so far (`minflt`, the 10th field of
/// `/proc/{pid}/stat`; Linux); zero if it cannot be read. A fresh instance's linear memory is
/// faulted in page by page, so beside the host's own allocations this counts what new
/// instances cost in memory, in pages rather than time.
pub(crate) fn minor_faults(pid: u32) -> u64 {
    stat_field(Path::new(&format!("/proc/{pid}/stat")), 10).unwrap_or(0)
}

/// Field `number` (1-based, as `proc(5)` numbers them; 3 or more) of a `/proc/…/stat` file,
/// counted after the parenthesised command name (which may hold spaces); `None` if the file
/// cannot be read or the field is not a number.
fn stat_field(path: &Path, number: usize) -> Option<u64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let (_, after) = stat.rsplit_once(')')?;
    after.split_whitespace().nth(number - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::stat_field;

    #[test]
    fn stat_fields_are_counted_after_the_command_name_whatever_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        // pid, (comm with a space and a parenthesis), state, ppid … minflt (10th), … utime
        // (14th), stime (15th), as proc(5) numbers them.
        std::fs::write(
            &path,
            "4242 (order host) x) S 1 4242 4242 0 -1 4194560 777 0 3 0 250 40 0 0 20 0",
        )
        .unwrap();
        assert_eq!(stat_field(&path, 3), None, "the state is not a number");
        assert_eq!(stat_field(&path, 10), Some(777));
        assert_eq!(stat_field(&path, 14), Some(250));
        assert_eq!(stat_field(&path, 15), Some(40));
        assert_eq!(stat_field(&path, 40), None, "past the last field");
        assert_eq!(stat_field(&dir.path().join("missing"), 10), None);
        assert_eq!(
            super::stat_cpu(&path),
            std::time::Duration::from_millis(2_900)
        );
    }
}
