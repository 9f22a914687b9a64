//! The memory budget: one number that bounds the engine's anonymous memory (sort buffers,
//! tiles, merge buffers) and its resident mapped window.
//!
//! Kernels reserve what they allocate; a reservation that does not fit fails with
//! [`ErrorKind::Budget`] so that a job which truly cannot run inside its budget says so up
//! front instead of being killed by the OOM killer half-way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use crate::error::{Error, ErrorKind, Result};

/// The smallest budget outcore accepts; below this even one chunk per thread does not fit.
pub const MIN_BUDGET: usize = 256 << 10;

#[derive(Debug)]
struct Inner {
    limit: usize,
    used: AtomicUsize,
}

/// A shared memory budget (cheap to clone; clones share the accounting).
#[derive(Debug, Clone)]
pub struct Budget {
    inner: Arc<Inner>,
}

impl Budget {
    /// A budget of `limit` bytes; an error below the smallest budget a job can run in.
    pub fn new(limit: usize) -> Result<Budget> {
        if limit < MIN_BUDGET {
            return Err(Error::new(
                ErrorKind::Budget,
                format!("memory budget {limit} bytes is below the minimum of {MIN_BUDGET} bytes"),
            ));
        }
        Ok(Budget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicUsize::new(0),
            }),
        })
    }

    /// A quarter of the memory available to this process, cgroup limits included.
    pub fn default_limit() -> usize {
        (available_memory() / 4).max(MIN_BUDGET)
    }

    /// The budget in bytes.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.inner.used.load(Ordering::Relaxed)
    }

    /// Bytes that can still be reserved.
    pub fn available(&self) -> usize {
        self.limit().saturating_sub(self.used())
    }

    /// Reserves `bytes` of the budget until the returned guard is dropped.
    pub fn reserve(&self, bytes: usize, what: &str) -> Result<Reservation> {
        let mut cur = self.inner.used.load(Ordering::Relaxed);
        loop {
            let next = cur
                .checked_add(bytes)
                .filter(|&n| n <= self.inner.limit)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Budget,
                        format!(
                        "{what} needs {} but only {} of the {} memory budget is free (raise the budget)",
                        format_bytes(bytes as u64),
                        format_bytes(self.limit().saturating_sub(cur) as u64),
                        format_bytes(self.limit() as u64)
                    ),
                    )
                })?;
            match self.inner.used.compare_exchange_weak(
                cur,
                next,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    return Ok(Reservation {
                        budget: self.clone(),
                        bytes,
                    })
                }
                Err(actual) => cur = actual,
            }
        }
    }
}

/// A part of the budget held until drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Budget,
    bytes: usize,
}

impl Reservation {
    /// The bytes this reservation holds.
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget
            .inner
            .used
            .fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// Memory this process may use: `MemAvailable`, capped by every memory cgroup limit on the
/// path of this process (v1 `memory.limit_in_bytes` or v2 `memory.max`, minus what the
/// cgroup already uses).
pub fn available_memory() -> usize {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mut avail = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(1 << 30);
    if let Some(limit) = cgroup_headroom() {
        avail = avail.min(limit);
    }
    usize::try_from(avail).unwrap_or(usize::MAX)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The smallest `limit - usage` over the memory cgroups this process belongs to (and their
/// ancestors), or `None` where no limit is set or cgroups cannot be read.
fn cgroup_headroom() -> Option<u64> {
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mut best: Option<u64> = None;
    let mut consider = |limit: Option<u64>, usage: Option<u64>| {
        if let Some(limit) = limit {
            if limit < (1u64 << 60) {
                let room = limit.saturating_sub(usage.unwrap_or(0));
                best = Some(best.map_or(room, |b| b.min(room)));
            }
        }
    };
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let (root, limit_file, usage_file) = if controllers.split(',').any(|c| c == "memory") {
            (
                "/sys/fs/cgroup/memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        } else if controllers.is_empty() {
            ("/sys/fs/cgroup", "memory.max", "memory.current")
        } else {
            continue;
        };
        // Walk from the process's cgroup up to the root: any ancestor's limit applies too.
        let mut p = std::path::PathBuf::from(path);
        loop {
            let dir = format!("{root}{}", p.display());
            consider(
                read_u64(&format!("{dir}/{limit_file}")),
                read_u64(&format!("{dir}/{usage_file}")),
            );
            if !p.pop() {
                break;
            }
        }
    }
    best
}

/// Parses a byte count: `1048576`, `512K`, `512M`, `4G`, `4GiB`, `1.5GB`, `64k`. Binary
/// multiples (K = 1024) whatever the spelling, as memory sizes usually are.
pub fn parse_bytes(text: &str) -> Result<usize> {
    let bad = || {
        Error::new(
            ErrorKind::InvalidArgument,
            format!("invalid size {text:?} (expected e.g. 1048576, 512K, 512M, 4GiB)"),
        )
    };
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        _ => return Err(bad()),
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > usize::MAX as f64 / 2.0 {
        return Err(bad());
    }
    Ok(bytes.round() as usize)
}

/// Formats a byte count for people: `1.5 GiB`, `512 KiB`, `17 B`.
pub fn format_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_bytes("1048576").unwrap(), 1 << 20);
        assert_eq!(parse_bytes("512M").unwrap(), 512 << 20);
        assert_eq!(parse_bytes("4GiB").unwrap(), 4 << 30);
        assert_eq!(parse_bytes("1.5k").unwrap(), 1536);
        for bad in ["", "M", "-1M", "1X", "1e9"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reservations_are_bounded_and_released() {
        let b = Budget::new(1 << 20).unwrap();
        let r1 = b.reserve(600 << 10, "test").unwrap();
        let e = b.reserve(600 << 10, "second buffer").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Budget);
        assert!(e.to_string().contains("second buffer"));
        drop(r1);
        assert!(b.reserve(600 << 10, "test").is_ok());
        assert!(Budget::new(1000).is_err());
    }

    #[test]
    fn default_is_positive() {
        assert!(Budget::default_limit() >= MIN_BUDGET);
        assert!(available_memory() > 0);
    }
}
