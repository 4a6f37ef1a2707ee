-- The runners' liveness for GET /workflows/status: each runner's heartbeat upserts its row.
CREATE TABLE runners (
  id            VARCHAR(64)  NOT NULL PRIMARY KEY,
  host          VARCHAR(255) NOT NULL,
  started_at    BIGINT       NOT NULL,
  last_seen_at  BIGINT       NOT NULL,
  capacity      INT          NOT NULL,
  busy          INT          NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
