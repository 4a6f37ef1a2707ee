-- Webhooks of a repository and the log of their deliveries (docs/webhooks.md). The secret is
-- sealed like repository secrets (AES-256-GCM; associated data "webhook:<id>"). A delivery keeps
-- the exact body it sends (the signature is over those bytes); its attempts are kod-jobs jobs of
-- kind "webhook-delivery" (sql/020_jobs.sql).
CREATE TABLE webhooks (
  id          CHAR(12)      NOT NULL PRIMARY KEY,
  repo_id     BIGINT        NOT NULL,
  url         VARCHAR(2048) NOT NULL,
  events      VARCHAR(64)   NOT NULL,
  secret      VARBINARY(1024) NULL,
  created_at  BIGINT        NOT NULL,
  KEY webhooks_repo (repo_id),
  CONSTRAINT webhooks_repo FOREIGN KEY (repo_id) REFERENCES repos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_deliveries (
  seq              BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id               CHAR(12)      NOT NULL,
  webhook_id       CHAR(12)      NOT NULL,
  event            VARCHAR(16)   NOT NULL,
  url              VARCHAR(2048) NOT NULL,
  body             MEDIUMTEXT    NOT NULL,
  status           VARCHAR(10)   NOT NULL,
  attempts         INT           NOT NULL DEFAULT 0,
  created_at       BIGINT        NOT NULL,
  last_attempt_at  BIGINT        NULL,
  next_attempt_at  BIGINT        NULL,
  response_status  INT           NULL,
  error            VARCHAR(512)  NULL,
  duration_ms      BIGINT        NULL,
  UNIQUE KEY webhook_deliveries_id (id),
  KEY webhook_deliveries_hook (webhook_id, seq),
  KEY webhook_deliveries_created (created_at),
  CONSTRAINT webhook_deliveries_hook FOREIGN KEY (webhook_id) REFERENCES webhooks (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
