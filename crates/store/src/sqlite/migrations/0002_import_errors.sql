-- Per-record errors of import jobs (GET /api/v2/jobs/{id}/errors), in file order.
CREATE TABLE job_errors (
    job_id  TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) STRICT, WITHOUT ROWID;
