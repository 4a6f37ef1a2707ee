-- Live step output and per-step resources (docs/workflows.md#output-and-results).
-- A step's row is inserted when it starts (running = 1) and its output grows by appends that
-- name the offset they continue (idempotent); the run's log is its steps' outputs, in order.
ALTER TABLE workflow_steps
  ADD COLUMN running       TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN output_bytes  BIGINT  NULL,
  ADD COLUMN cpu_ms        BIGINT  NULL,
  ADD COLUMN max_rss_kb    BIGINT  NULL;
