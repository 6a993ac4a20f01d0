//! What a caller holds of a running import: a cancel switch and live progress (RUN-4, RUN-5).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// Rows per second are measured over this window (RUN-4).
const RATE_WINDOW: Duration = Duration::from_secs(10);

/// The phase of a run (RUN-2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Decoding, parsing, converting, keying, staging.
    #[default]
    Reading,
    /// Resolving duplicates and applying the staged rows in one transaction.
    Applying,
    /// Writing the report and the reject file.
    Finishing,
}

/// A snapshot of a run's progress.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    pub phase: Phase,
    /// Data records read so far.
    pub rows_read: u64,
    /// Records rejected while reading so far.
    pub rows_rejected: u64,
    /// Input bytes consumed (compressed bytes for gzip input).
    pub bytes_read: u64,
    /// The document's size.
    pub bytes_total: u64,
    /// Reading: bytes consumed ÷ size; applying and after: 100.
    pub percent: f64,
    /// Rows read per second over the last ten seconds.
    pub rows_per_second: f64,
    /// Seconds left for reading, at that rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
}

/// Shared between a run and whoever watches it (the server's process table, the CLI's bar).
#[derive(Debug, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    progress: Progress,
    samples: VecDeque<(Instant, u64)>,
}

impl RunControl {
    pub fn new() -> Arc<RunControl> {
        Arc::new(RunControl::default())
    }

    /// Asks the run to stop; it rolls back and ends with [`crate::CampaignError::Cancelled`].
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The flag itself, for the store's statement interrupt.
    pub(crate) fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    pub fn progress(&self) -> Progress {
        self.lock().progress.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere cannot leave progress half-written in a harmful way.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn set_phase(&self, phase: Phase) {
        let mut state = self.lock();
        state.progress.phase = phase;
        if phase != Phase::Reading {
            state.progress.percent = 100.0;
            state.progress.eta_seconds = None;
        }
    }

    pub(crate) fn reading(&self, rows: u64, rejected: u64, bytes: u64, total: u64) {
        let now = Instant::now();
        let mut state = self.lock();
        state.samples.push_back((now, rows));
        while state
            .samples
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) > RATE_WINDOW)
        {
            state.samples.pop_front();
        }
        let rate = match (state.samples.front(), state.samples.back()) {
            (Some((t0, r0)), Some((t1, r1))) if t1 > t0 => {
                (r1 - r0) as f64 / t1.duration_since(*t0).as_secs_f64()
            }
            _ => 0.0,
        };
        let p = &mut state.progress;
        p.rows_read = rows;
        p.rows_rejected = rejected;
        p.bytes_read = bytes;
        p.bytes_total = total;
        p.percent = if total > 0 {
            ((bytes as f64 * 100.0 / total as f64).min(100.0) * 10.0).round() / 10.0
        } else {
            0.0
        };
        p.rows_per_second = rate.round();
        p.eta_seconds = (rate > 0.0 && rows > 0 && bytes > 0).then(|| {
            let bytes_per_row = bytes as f64 / rows as f64;
            let rows_left = total.saturating_sub(bytes) as f64 / bytes_per_row;
            (rows_left / rate).ceil() as u64
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reports_percent_and_phase() {
        let control = RunControl::new();
        control.reading(10, 1, 50, 200);
        let p = control.progress();
        assert_eq!((p.rows_read, p.rows_rejected, p.percent), (10, 1, 25.0));
        control.set_phase(Phase::Applying);
        assert_eq!(control.progress().percent, 100.0);
        assert!(!control.is_cancelled());
        control.cancel();
        assert!(control.is_cancelled());
    }
}
