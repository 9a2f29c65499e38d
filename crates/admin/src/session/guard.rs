//! Log-in rate limiting, in memory: at most [`MAX_FAILURES_PER_EMAIL`] failed log-ins per email
//! and [`MAX_FAILURES_PER_IP`] per client address in a [`WINDOW_MS`] window; past that, log-ins
//! for that email or from that address are refused (429) until the window ends. A successful
//! log-in clears its email's count.

use std::collections::HashMap;
use std::sync::Mutex;

pub const WINDOW_MS: i64 = 15 * 60 * 1000;
pub const MAX_FAILURES_PER_EMAIL: u32 = 5;
pub const MAX_FAILURES_PER_IP: u32 = 30;
/// Entries kept before expired ones are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    start_ms: i64,
    failures: u32,
}

/// Failed log-ins by email and by address.
#[derive(Debug, Default)]
pub struct LoginGuard {
    windows: Mutex<HashMap<String, Window>>,
}

fn keys(email: &str, ip: Option<&str>) -> [(String, u32); 2] {
    [
        (format!("email:{}", email.to_lowercase()), MAX_FAILURES_PER_EMAIL),
        (format!("ip:{}", ip.unwrap_or("-")), MAX_FAILURES_PER_IP),
    ]
}

impl LoginGuard {
    /// `Err(seconds to wait)` when log-ins for `email` or from `ip` are refused now.
    pub fn check(&self, email: &str, ip: Option<&str>, now_ms: i64) -> Result<(), u64> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait_ms = 0;
        for (key, max) in keys(email, ip) {
            if let Some(w) = windows.get(&key) {
                let ends = w.start_ms + WINDOW_MS;
                if w.failures >= max && ends > now_ms {
                    wait_ms = wait_ms.max(ends - now_ms);
                }
            }
        }
        if wait_ms > 0 {
            Err(u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000))
        } else {
            Ok(())
        }
    }

    /// Counts a failed log-in.
    pub fn failed(&self, email: &str, ip: Option<&str>, now_ms: i64) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            windows.retain(|_, w| w.start_ms + WINDOW_MS > now_ms);
        }
        for (key, _) in keys(email, ip) {
            let w = windows.entry(key).or_insert(Window { start_ms: now_ms, failures: 0 });
            if w.start_ms + WINDOW_MS <= now_ms {
                *w = Window { start_ms: now_ms, failures: 0 };
            }
            w.failures += 1;
        }
    }

    /// A log-in for `email` succeeded: its failures are forgotten.
    pub fn succeeded(&self, email: &str) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.remove(&format!("email:{}", email.to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_failures_block_the_email_until_the_window_ends() {
        let g = LoginGuard::default();
        for _ in 0..MAX_FAILURES_PER_EMAIL {
            assert!(g.check("A@x.io", Some("1.2.3.4"), 0).is_ok());
            g.failed("a@x.io", Some("1.2.3.4"), 0);
        }
        assert_eq!(g.check("a@X.io", Some("5.6.7.8"), 1000), Err(899));
        assert!(g.check("b@x.io", Some("1.2.3.4"), 1000).is_ok());
        assert!(g.check("a@x.io", None, WINDOW_MS).is_ok());
        g.succeeded("a@x.io");
        assert!(g.check("a@x.io", None, 1).is_ok());
    }

    #[test]
    fn too_many_failures_from_one_address_block_it() {
        let g = LoginGuard::default();
        for i in 0..MAX_FAILURES_PER_IP {
            g.failed(&format!("u{i}@x.io"), Some("9.9.9.9"), 0);
        }
        assert!(g.check("new@x.io", Some("9.9.9.9"), 0).is_err());
        assert!(g.check("new@x.io", Some("8.8.8.8"), 0).is_ok());
    }
}
