-- Cancel and re-run (docs/workflows.md#cancel-and-re-run): a running run's cancel is asked through
-- cancel_requested (its runner is woken and stops it); a re-run names the run it repeats.
ALTER TABLE workflow_runs
  ADD COLUMN cancel_requested TINYINT NOT NULL DEFAULT 0,
  ADD COLUMN rerun_of CHAR(12) NULL;
