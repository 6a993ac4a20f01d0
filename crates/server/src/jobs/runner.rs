//! The job runner: takes queued jobs in creation order, runs up to `job_workers` at once,
//! resumes jobs a crash interrupted, and expires old job data.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use userbridge_model::{JobKind, JobStatus, time};
use userbridge_store::AuditEvent;

use super::{export, import};
use crate::state::{AppState, SharedState};

/// Puts back in the queue every job a previous process left `processing`.
/// Exports are rewritten from the start, so a resumed job equals an uninterrupted one.
pub fn requeue_interrupted(state: &AppState) -> userbridge_store::Result<usize> {
    let interrupted = state.store.jobs_with_status(JobStatus::Processing)?;
    for mut job in interrupted.iter().cloned() {
        tracing::info!(job = %job.id, "resuming a job interrupted by a restart");
        job.status = JobStatus::Pending;
        state.store.update_job(&job)?;
    }
    Ok(interrupted.len())
}

/// Runs forever: picks pending jobs whenever one is queued (or every second).
pub async fn run(state: SharedState) {
    let workers = Arc::new(Semaphore::new(state.config.job_workers.max(1)));
    loop {
        let store = state.store.clone();
        let pending =
            tokio::task::spawn_blocking(move || store.jobs_with_status(JobStatus::Pending))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
        for mut job in pending {
            let Ok(permit) = workers.clone().acquire_owned().await else {
                return;
            };
            job.status = JobStatus::Processing;
            let state = state.clone();
            tokio::task::spawn_blocking(move || {
                let _permit = permit;
                if let Err(e) = state.store.update_job(&job) {
                    tracing::error!(job = %job.id, error = %e, "cannot start job");
                    return;
                }
                execute(&state, job);
            });
        }
        tokio::select! {
            _ = state.jobs_queued.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn execute(state: &AppState, mut job: userbridge_model::Job) {
    tracing::info!(job = %job.id, kind = job.kind.as_str(), "job started");
    let outcome = match job.kind {
        JobKind::UsersExport => export::run(state, &job).map(|records| (records, None)),
        JobKind::UsersImport => import::run(state, &job)
            .map(|summary| (summary.total, Some(serde_json::json!(summary)))),
    };
    state.set_live_progress(&job.id, None);
    // The import saved its checkpoint (processed, summary) batch by batch.
    if let Ok(Some(saved)) = state.store.job(&job.id) {
        job.processed = saved.processed;
        job.total = saved.total;
        job.result = saved.result;
    }
    job.finished_at = Some(time::now());
    match outcome {
        Ok((records, summary)) => {
            job.status = JobStatus::Completed;
            job.processed = records;
            job.total = records;
            if summary.is_some() {
                job.result = summary;
            }
            tracing::info!(job = %job.id, records, "job completed");
        }
        Err(details) => {
            tracing::warn!(job = %job.id, details = %details, "job failed");
            job.status = JobStatus::Failed;
            job.status_details = Some(details);
        }
    }
    if let Err(e) = state.store.update_job(&job) {
        tracing::error!(job = %job.id, error = %e, "cannot save job outcome");
    }
    // Counts only: `status_details` may quote the file.
    let detail = serde_json::json!({
        "status": job.status.as_str(),
        "processed": job.processed,
        "summary": job.result,
    });
    crate::audit::record(
        state.store.as_ref(),
        AuditEvent::new(
            job.created_by.as_deref().unwrap_or("server"),
            format!("{}.finished", job.kind.as_str()),
            &job.id,
            detail,
        ),
    );
}

/// Every minute: finished jobs past retention lose their files and become `expired`;
/// campaign import processes past theirs are forgotten with their reject files; expired
/// dashboard sessions are deleted.
pub async fn expire_loop(state: SharedState) {
    loop {
        let s = state.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let jobs = expire_old(&s);
            let processes = crate::campaign_imports::forget_old_processes(&s);
            let sessions = s.store.delete_expired_web_sessions(time::unix_seconds());
            if let Err(e) = jobs.and(processes).and(sessions) {
                tracing::warn!(error = %e, "cannot expire old jobs, processes and sessions");
            }
            if let Err(e) = retire_keys(&s) {
                tracing::warn!(error = %e, "cannot prune retired signing keys");
            }
        })
        .await;
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// Deletes signing keys retired longer than a token lifetime ago, then re-reads the key list
/// (a rotation by the CLI, or by another server on this directory, is seen within a minute).
fn retire_keys(state: &AppState) -> Result<(), crate::ServerError> {
    let store = state.store.as_ref();
    let lifetime = state.config.token_lifetime_seconds();
    for kid in crate::auth::keys::prune(
        store,
        &state.config.data_dir,
        lifetime,
        time::unix_seconds(),
    )? {
        tracing::info!(kid, "retired signing key deleted");
    }
    state.keys.refresh(store)?;
    Ok(())
}

pub fn expire_old(state: &AppState) -> userbridge_store::Result<usize> {
    let retention = state.config.job_retention.as_millis() as i64;
    let cutoff = time::format_millis(chrono::Utc::now().timestamp_millis() - retention);
    let mut expired = 0;
    for status in [JobStatus::Completed, JobStatus::Failed] {
        for mut job in state.store.jobs_with_status(status)? {
            if job
                .finished_at
                .as_deref()
                .is_some_and(|f| f < cutoff.as_str())
            {
                let _ = std::fs::remove_dir_all(export::job_dir(state, &job.id));
                state.store.delete_job_errors(&job.id)?;
                job.status = JobStatus::Expired;
                state.store.update_job(&job)?;
                expired += 1;
            }
        }
    }
    Ok(expired)
}
