//! Figures read off the host for the metrics: `/proc` for CPU and memory (the host's and a
//! QEMU process's), `statvfs` for a filesystem, `/proc/net/dev` for taps' counters. Each reader
//! answers None (or nothing) when its source is missing, never an error: a scrape reports
//! what it can.

use std::path::Path;

/// What a VM used, as its driver reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VmStats {
    pub id: String,
    /// User and system CPU time of its QEMU process.
    pub cpu_seconds: f64,
    pub rss_bytes: u64,
    pub disks: Vec<DiskStats>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiskStats {
    pub device: String,
    pub rd_bytes: u64,
    pub wr_bytes: u64,
    pub rd_ops: u64,
    pub wr_ops: u64,
}

/// Clock ticks per second of `/proc`'s CPU times.
fn ticks_per_second() -> f64 {
    #[allow(unsafe_code)]
    // SAFETY: sysconf reads a constant of the system; no memory is passed.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// The host's CPU time by mode (`/proc/stat`'s first line), in seconds.
pub fn host_cpu() -> Vec<(&'static str, f64)> {
    let Ok(text) = std::fs::read_to_string("/proc/stat") else {
        return vec![];
    };
    parse_host_cpu(&text, ticks_per_second())
}

fn parse_host_cpu(text: &str, hz: f64) -> Vec<(&'static str, f64)> {
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return vec![];
    };
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    let at = |i: usize| v.get(i).copied().unwrap_or(0.0) / hz;
    // user nice system idle iowait irq softirq steal
    vec![
        ("user", at(0) + at(1)),
        ("system", at(2)),
        ("idle", at(3)),
        ("iowait", at(4)),
        ("other", at(5) + at(6) + at(7)),
    ]
}

/// (total, available) memory of the host in bytes (`/proc/meminfo`).
pub fn host_memory() -> Option<(u64, u64)> {
    parse_meminfo(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let kb = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    Some((kb("MemTotal:")?, kb("MemAvailable:")?))
}

/// (size, free) in bytes of the filesystem holding `path`.
pub fn filesystem(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    #[allow(unsafe_code)]
    // SAFETY: `c` is a NUL-terminated path and `s` points to a statvfs the call fills.
    let rc = unsafe { libc::statvfs(c.as_ptr(), s.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    #[allow(unsafe_code)]
    // SAFETY: statvfs returned 0, so it filled `s`.
    let s = unsafe { s.assume_init() };
    Some((s.f_blocks * s.f_frsize, s.f_bavail * s.f_frsize))
}

/// (CPU seconds, resident bytes) of process `pid`.
pub fn process(pid: u32) -> Option<(f64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    Some((
        parse_process_cpu(&stat, ticks_per_second())?,
        parse_meminfo_key(&status, "VmRSS:")?,
    ))
}

/// utime + stime of a `/proc/<pid>/stat` line (fields 14 and 15; the command in field 2 is
/// in parentheses and may hold spaces, so fields are counted after its closing one).
fn parse_process_cpu(stat: &str, hz: f64) -> Option<f64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state): utime is field 14, index 11 here.
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / hz)
}

fn parse_meminfo_key(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|k| k * 1024)
}

/// A network device's counters, as the host sees them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkCounters {
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_packets: u64,
    pub tx_packets: u64,
}

/// Every network device's counters in this process's network namespace (`/proc/net/dev`:
/// sysfs would show the namespace it was mounted in, which need not be the agent's).
pub fn link_counters() -> std::collections::HashMap<String, LinkCounters> {
    std::fs::read_to_string("/proc/self/net/dev")
        .map(|t| parse_net_dev(&t))
        .unwrap_or_default()
}

fn parse_net_dev(text: &str) -> std::collections::HashMap<String, LinkCounters> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            let v: Vec<u64> = rest.split_whitespace().filter_map(|x| x.parse().ok()).collect();
            // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes packets ...
            (v.len() >= 10).then(|| {
                (
                    name.trim().to_string(),
                    LinkCounters {
                        rx_bytes: v[0],
                        rx_packets: v[1],
                        tx_bytes: v[8],
                        tx_packets: v[9],
                    },
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_cpu_is_read_by_mode() {
        let text = "cpu  100 20 30 400 5 6 7 8 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        let got = parse_host_cpu(text, 100.0);
        let want = [
            ("user", 1.2),
            ("system", 0.3),
            ("idle", 4.0),
            ("iowait", 0.05),
            ("other", 0.21),
        ];
        assert_eq!(got.len(), want.len());
        for ((mode, secs), (w_mode, w_secs)) in got.iter().zip(want) {
            assert_eq!(*mode, w_mode);
            assert!((secs - w_secs).abs() < 1e-9, "{mode}: {secs} != {w_secs}");
        }
    }

    #[test]
    fn a_process_name_with_spaces_and_parentheses_is_skipped() {
        let stat = "4242 (qemu (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_process_cpu(stat, 100.0), Some(3.0));
    }

    #[test]
    fn net_dev_is_read_by_device() {
        let text = "Inter-|   Receive                            |  Transmit\n \
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n \
             ctp1234: 1000 10 0 0 0 0 0 0 2000 20 0 0 0 0 0 0\n";
        let got = parse_net_dev(text);
        assert_eq!(
            got.get("ctp1234"),
            Some(&LinkCounters {
                rx_bytes: 1000,
                rx_packets: 10,
                tx_bytes: 2000,
                tx_packets: 20
            })
        );
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn memory_is_read_in_bytes() {
        let text = "MemTotal:       16384 kB\nMemFree:     100 kB\nMemAvailable:    8192 kB\n";
        assert_eq!(parse_meminfo(text), Some((16384 * 1024, 8192 * 1024)));
        assert_eq!(parse_meminfo_key("VmRSS:\t  2048 kB\n", "VmRSS:"), Some(2048 * 1024));
    }

    #[test]
    fn this_process_and_filesystem_are_read() {
        let (cpu, rss) = process(std::process::id()).expect("own process readable");
        assert!(cpu >= 0.0 && rss > 0);
        let (size, free) = filesystem(Path::new("/")).expect("root filesystem");
        assert!(size > 0 && free <= size);
        assert!(link_counters().contains_key("lo"));
    }
}
