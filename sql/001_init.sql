-- Kod schema v1: tokens, repositories, collaborators, secrets, workflow runs and steps.
-- utf8mb4_bin everywhere: names are case-sensitive (docs/api.md#repositories). Times are epoch milliseconds.
CREATE TABLE tokens (
  id            CHAR(12)     NOT NULL PRIMARY KEY,
  name          VARCHAR(100) NOT NULL,
  token_hash    CHAR(64)     NOT NULL,
  permissions   VARCHAR(255) NOT NULL,
  username      VARCHAR(64)  NULL,
  created_at    BIGINT       NOT NULL,
  expires_at    BIGINT       NULL,
  last_used_at  BIGINT       NULL,
  UNIQUE KEY tokens_hash (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE repos (
  id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name            VARCHAR(100) NOT NULL,
  owner_token_id  CHAR(12)     NOT NULL,
  created_at      BIGINT       NOT NULL,
  UNIQUE KEY repos_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE collaborators (
  repo_id     BIGINT      NOT NULL,
  username    VARCHAR(64) NOT NULL,
  created_at  BIGINT      NOT NULL,
  PRIMARY KEY (repo_id, username),
  KEY collaborators_username (username),
  CONSTRAINT collaborators_repo FOREIGN KEY (repo_id) REFERENCES repos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE secrets (
  repo_id     BIGINT       NOT NULL,
  name        VARCHAR(128) NOT NULL,
  ciphertext  MEDIUMBLOB   NOT NULL,
  created_at  BIGINT       NOT NULL,
  updated_at  BIGINT       NOT NULL,
  PRIMARY KEY (repo_id, name),
  CONSTRAINT secrets_repo FOREIGN KEY (repo_id) REFERENCES repos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The key check value of the encryption key (one row): detects a missing or different key at start.
CREATE TABLE secret_key_check (
  id           TINYINT       NOT NULL PRIMARY KEY,
  salt         VARBINARY(64) NOT NULL,
  check_value  VARCHAR(128)  NOT NULL,
  created_at   BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE workflow_runs (
  seq           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
  id            CHAR(12)     NOT NULL,
  repo_id       BIGINT       NOT NULL,
  branch        VARCHAR(255) NOT NULL,
  commit_sha    CHAR(40)     NOT NULL,
  trigger_kind  VARCHAR(8)   NOT NULL,
  files         TEXT         NULL,
  status        VARCHAR(10)  NOT NULL,
  created_at    BIGINT       NOT NULL,
  started_at    BIGINT       NULL,
  completed_at  BIGINT       NULL,
  success       TINYINT      NULL,
  duration_ms   BIGINT       NULL,
  runner_id     VARCHAR(64)  NULL,
  heartbeat_at  BIGINT       NULL,
  UNIQUE KEY workflow_runs_id (id),
  KEY workflow_runs_repo (repo_id, seq),
  KEY workflow_runs_status (status, seq),
  CONSTRAINT workflow_runs_repo FOREIGN KEY (repo_id) REFERENCES repos (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE workflow_steps (
  run_seq      BIGINT        NOT NULL,
  idx          INT           NOT NULL,
  name         VARCHAR(255)  NOT NULL,
  success      TINYINT       NOT NULL,
  skipped      TINYINT       NOT NULL DEFAULT 0,
  output       MEDIUMTEXT    NOT NULL,
  error        TEXT          NULL,
  duration_ms  BIGINT        NOT NULL,
  PRIMARY KEY (run_seq, idx),
  CONSTRAINT workflow_steps_run FOREIGN KEY (run_seq) REFERENCES workflow_runs (seq) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
