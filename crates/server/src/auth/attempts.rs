//! The failure budget of `POST /oauth/token`, against guessing secrets.
//!
//! Only failed attempts count (a wrong secret or an unknown client): per client and per
//! remote address, at most so many in a window. Once a budget is spent, requests are refused
//! with 429 *before* any argon2 work, so a flood of wrong secrets costs the server almost
//! nothing. An attempt is counted as failed while it runs (and refunded when it succeeds), so
//! concurrent guesses cannot overrun the budget.
//!
//! Client ids are not secret (they are in every token), so anyone could spend a client's
//! budget. To keep such a flood from locking the client itself out, an address that obtained
//! a token for a client in the last 24 hours may still try for that client while its budget
//! is spent (its own address budget still applies).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failed token requests a window allows; 0 turns that limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureBudget {
    /// Failures for one client id, from any address.
    pub per_client: u32,
    /// Failures from one remote address, for any client id.
    pub per_address: u32,
    pub window: Duration,
}

/// How long an address that obtained a token for a client may still try for it while the
/// client's budget is spent.
const TRUSTED_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// Past this many tracked entries, stale ones are swept (at most once a second).
const SWEEP_ABOVE: usize = 4096;

/// Failures counted since the window started.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl Window {
    fn is_live(&self, now: Instant, length: Duration) -> bool {
        now.saturating_duration_since(self.started) < length
    }
}

#[derive(Debug, Default)]
struct Tracked {
    clients: HashMap<String, Window>,
    addresses: HashMap<IpAddr, Window>,
    /// When an address last obtained a token for a client.
    trusted: HashMap<(String, IpAddr), Instant>,
    last_sweep: Option<Instant>,
}

/// An admitted attempt; it counts as a failure unless [`FailureLimiter::succeeded`] is told.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    client_id: Option<String>,
    address: IpAddr,
    at: Instant,
}

/// The counters of one server.
#[derive(Debug)]
pub struct FailureLimiter {
    budget: FailureBudget,
    tracked: Mutex<Tracked>,
}

/// A failure counter with `limit` failures per `length`: `Some(wait)` when it is spent.
fn spent(window: Option<&Window>, limit: u32, length: Duration, now: Instant) -> Option<Duration> {
    let window = window?;
    (limit > 0 && window.is_live(now, length) && window.failures >= limit)
        .then(|| (window.started + length).saturating_duration_since(now))
}

fn count<K: std::hash::Hash + Eq>(
    windows: &mut HashMap<K, Window>,
    key: K,
    length: Duration,
    now: Instant,
) {
    let window = windows.entry(key).or_insert(Window {
        started: now,
        failures: 0,
    });
    if !window.is_live(now, length) {
        *window = Window {
            started: now,
            failures: 0,
        };
    }
    window.failures = window.failures.saturating_add(1);
}

fn refund<K: std::hash::Hash + Eq>(windows: &mut HashMap<K, Window>, key: &K) {
    if let Some(window) = windows.get_mut(key) {
        window.failures = window.failures.saturating_sub(1);
    }
}

impl FailureLimiter {
    pub fn new(budget: FailureBudget) -> FailureLimiter {
        FailureLimiter {
            budget,
            tracked: Mutex::new(Tracked::default()),
        }
    }

    fn tracked(&self) -> std::sync::MutexGuard<'_, Tracked> {
        // Counters stay meaningful whatever a panicking holder left half done.
        self.tracked.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits an attempt for `client_id` (`None`: no such client) from `address`, or answers
    /// how long to wait (at least one second) when a budget is spent.
    pub fn admit(&self, client_id: Option<&str>, address: IpAddr) -> Result<Attempt, u64> {
        self.admit_at(client_id, address, Instant::now())
    }

    fn admit_at(
        &self,
        client_id: Option<&str>,
        address: IpAddr,
        now: Instant,
    ) -> Result<Attempt, u64> {
        let budget = self.budget;
        let mut tracked = self.tracked();
        let by_address = spent(
            tracked.addresses.get(&address),
            budget.per_address,
            budget.window,
            now,
        );
        let by_client = client_id.and_then(|id| {
            let trusted = tracked
                .trusted
                .get(&(id.to_string(), address))
                .is_some_and(|at| now.saturating_duration_since(*at) < TRUSTED_FOR);
            if trusted {
                return None;
            }
            spent(
                tracked.clients.get(id),
                budget.per_client,
                budget.window,
                now,
            )
        });
        if let Some(wait) = by_address.into_iter().chain(by_client).max() {
            return Err(wait.as_secs_f64().ceil().max(1.0) as u64);
        }
        count(&mut tracked.addresses, address, budget.window, now);
        if let Some(id) = client_id {
            count(&mut tracked.clients, id.to_string(), budget.window, now);
        }
        sweep(&mut tracked, budget.window, now);
        Ok(Attempt {
            client_id: client_id.map(str::to_string),
            address,
            at: now,
        })
    }

    /// The attempt presented the right secret: it is not a failure, and its address may go on
    /// asking for this client's tokens while someone else spends the client's budget.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut tracked = self.tracked();
        refund(&mut tracked.addresses, &attempt.address);
        if let Some(id) = attempt.client_id {
            refund(&mut tracked.clients, &id);
            tracked.trusted.insert((id, attempt.address), attempt.at);
        }
    }

    /// The attempt failed; it was counted when admitted.
    pub fn failed(&self, attempt: Attempt) {
        drop(attempt);
    }
}

/// Forgets windows that are over and trust that has lapsed, when there are many.
fn sweep(tracked: &mut Tracked, length: Duration, now: Instant) {
    let large = tracked.clients.len() + tracked.addresses.len() + tracked.trusted.len();
    let recently = tracked
        .last_sweep
        .is_some_and(|at| now.saturating_duration_since(at) < Duration::from_secs(1));
    if large <= SWEEP_ABOVE || recently {
        return;
    }
    tracked.last_sweep = Some(now);
    tracked.clients.retain(|_, w| w.is_live(now, length));
    tracked.addresses.retain(|_, w| w.is_live(now, length));
    tracked
        .trusted
        .retain(|_, at| now.saturating_duration_since(*at) < TRUSTED_FOR);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn limiter(per_client: u32, per_address: u32) -> FailureLimiter {
        FailureLimiter::new(FailureBudget {
            per_client,
            per_address,
            window: MINUTE,
        })
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn a_client_budget_is_spent_by_failures_from_any_address() {
        let limiter = limiter(3, 100);
        let start = Instant::now();
        for n in 0..3 {
            let attempt = limiter.admit_at(Some("c"), ip(n), start).unwrap();
            limiter.failed(attempt);
        }
        let later = start + Duration::from_secs(20);
        assert_eq!(limiter.admit_at(Some("c"), ip(9), later).unwrap_err(), 40);
        // Other clients and unknown ones are not concerned.
        limiter.failed(limiter.admit_at(Some("d"), ip(9), later).unwrap());
        limiter.failed(limiter.admit_at(None, ip(9), later).unwrap());
        // The window ends: the client may be tried again.
        assert!(limiter.admit_at(Some("c"), ip(9), start + MINUTE).is_ok());
    }

    #[test]
    fn an_address_budget_covers_every_client_id() {
        let limiter = limiter(100, 2);
        let now = Instant::now();
        limiter.failed(limiter.admit_at(Some("a"), ip(2), now).unwrap());
        limiter.failed(limiter.admit_at(None, ip(2), now).unwrap());
        assert_eq!(limiter.admit_at(Some("b"), ip(2), now).unwrap_err(), 60);
        assert!(limiter.admit_at(Some("b"), ip(1), now).is_ok());
    }

    #[test]
    fn successes_are_refunded_and_trusted_addresses_pass_a_spent_client_budget() {
        let limiter = limiter(2, 100);
        let now = Instant::now();
        for _ in 0..5 {
            let attempt = limiter.admit_at(Some("c"), ip(1), now).unwrap();
            limiter.succeeded(attempt);
        }
        limiter.failed(limiter.admit_at(Some("c"), ip(2), now).unwrap());
        limiter.failed(limiter.admit_at(Some("c"), ip(2), now).unwrap());
        assert!(limiter.admit_at(Some("c"), ip(2), now).is_err());
        assert!(limiter.admit_at(Some("c"), ip(3), now).is_err());
        // ip(1) obtained a token for "c": it may still try.
        limiter.succeeded(limiter.admit_at(Some("c"), ip(1), now).unwrap());
        assert!(
            limiter
                .admit_at(Some("c"), ip(1), now + TRUSTED_FOR)
                .is_ok()
        );
    }

    #[test]
    fn admitted_attempts_count_before_they_finish() {
        let limiter = limiter(2, 100);
        let now = Instant::now();
        let first = limiter.admit_at(Some("c"), ip(1), now).unwrap();
        let second = limiter.admit_at(Some("c"), ip(2), now).unwrap();
        assert!(limiter.admit_at(Some("c"), ip(3), now).is_err());
        limiter.succeeded(first);
        limiter.failed(second);
        assert!(limiter.admit_at(Some("c"), ip(3), now).is_ok());
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let limiter = limiter(0, 0);
        let now = Instant::now();
        for _ in 0..1000 {
            limiter.failed(limiter.admit_at(Some("c"), ip(1), now).unwrap());
        }
    }

    #[test]
    fn stale_entries_are_swept() {
        let limiter = limiter(10, 10);
        let start = Instant::now();
        for n in 0..=SWEEP_ABOVE as u32 {
            let address = IpAddr::from(n.to_be_bytes());
            limiter.failed(limiter.admit_at(None, address, start).unwrap());
        }
        limiter.failed(limiter.admit_at(None, ip(1), start + MINUTE).unwrap());
        assert_eq!(limiter.tracked().addresses.len(), 1);
    }
}
