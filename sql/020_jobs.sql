-- Background jobs of kod-jobs (webhook deliveries, imports, repository maintenance): a queue in
-- the database so pending work survives restarts, claimed by a conditional UPDATE (exactly once).
-- kind: a name of jobs/kinds.cpp; subject: the kind's own record (a delivery id, a repository id);
-- status: pending (waiting for due_at) or running (claimed by claimed_by until lease_until).
-- Finished jobs are deleted: their outcome lives in the kind's own records.
CREATE TABLE jobs (
  id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind         VARCHAR(32)  NOT NULL,
  subject      VARCHAR(64)  NOT NULL,
  repo_id      BIGINT       NULL,
  status       VARCHAR(10)  NOT NULL,
  attempts     INT          NOT NULL DEFAULT 0,
  due_at       BIGINT       NOT NULL,
  claimed_by   VARCHAR(128) NULL,
  lease_until  BIGINT       NULL,
  created_at   BIGINT       NOT NULL,
  KEY jobs_due (status, due_at),
  KEY jobs_subject (kind, subject),
  CONSTRAINT jobs_repo FOREIGN KEY (repo_id) REFERENCES repos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
