// kod.ini (INI, read with inih's INIReader) plus one environment variable per key; env wins.
#pragma once

#include <string>
#include <vector>

#include "lib/core/status.h"

namespace kod {

/// Every setting of kod-fcgi, kod-runner and kod-hook. docs/configuration.md documents each key.
struct Config {
  std::string path;  // the file read ("" when none)

  std::string socket = "/run/kod/fcgi.sock";   // server.socket      KOD_SOCKET
  int socket_mode = 0660;                      // server.socket_mode KOD_SOCKET_MODE (octal)
  int workers = 0;                             // server.workers     KOD_WORKERS (0 → 2 × cores)
  // server.base_path KOD_SERVER_BASE_PATH: the path prefix Kod is served under ("" or e.g.
  // "/git": starts with "/", no trailing "/"); see docs/nginx.md.
  std::string base_path;

  std::string db_host = "127.0.0.1";           // database.host      KOD_DB_HOST
  int db_port = 3306;                          // database.port      KOD_DB_PORT
  std::string db_socket;                       // database.socket    KOD_DB_SOCKET
  std::string db_user = "kod";                 // database.user      KOD_DB_USER
  std::string db_password;                     // database.password  KOD_DB_PASSWORD
  std::string db_name = "kod";                 // database.name      KOD_DB_NAME
  int db_connect_timeout_s = 2;                // database.connect_timeout_s KOD_DATABASE_CONNECT_TIMEOUT_S
  int db_timeout_s = 3;                        // database.timeout_s  KOD_DATABASE_TIMEOUT_S

  std::string repos_dir = "/var/lib/kod/repos";  // storage.repos_dir      KOD_REPOS_DIR
  std::string default_branch = "main";           // storage.default_branch KOD_DEFAULT_BRANCH
  std::string hooks_dir;                         // git.hooks_dir          KOD_HOOKS_DIR ("" → <exe dir>/hooks)
  // git.idle_timeout_s KOD_GIT_IDLE_TIMEOUT_S: a git request during which no byte moved either way
  // for this long is ended and its processes killed.
  int git_idle_timeout_s = 60;

  std::string admin_token;                     // auth.admin_token   KOD_ADMIN_TOKEN

  std::string encryption_key;                  // secrets.encryption_key KOD_ENCRYPTION_KEY
  std::string encryption_key_file;             // secrets.key_file       KOD_ENCRYPTION_KEY_FILE

  int runner_concurrency = 2;                  // runner.concurrency   KOD_RUNNER_CONCURRENCY
  std::string workspace_dir = "/var/lib/kod/work";  // runner.workspace_dir KOD_WORKSPACE_DIR
  std::string wake_dir = "/run/kod/runner";    // runner.wake_dir      KOD_RUNNER_WAKE_DIR
  // runner.step_uid_base KOD_RUNNER_STEP_UID_BASE: steps of executor slot i run as uid/gid
  // base + i, never as the runner's own user (which can read every repository and the keys).
  // 0 runs steps as the runner's user (only for a runner that cannot switch users).
  int step_uid_base = 60100;
  int runner_keep_runs = 1000;                 // runner.keep_runs     KOD_RUNNER_KEEP_RUNS (per repository)

  int jobs_concurrency = 4;                    // jobs.concurrency     KOD_JOBS_CONCURRENCY (kod-jobs threads)
  std::string jobs_wake_dir = "/run/kod/jobs";  // jobs.wake_dir       KOD_JOBS_WAKE_DIR
  // webhooks.allowed_hosts KOD_WEBHOOKS_ALLOWED_HOSTS: comma-separated host names, addresses and
  // CIDRs that webhooks and imports may reach although their addresses are loopback, private,
  // link-local, CGNAT, multicast or unspecified (lib/net/outbound.h).
  std::string webhooks_allowed_hosts;
  int webhooks_keep_days = 14;                 // webhooks.keep_days   KOD_WEBHOOKS_KEEP_DAYS
  int import_timeout_s = 600;                  // import.timeout_s     KOD_IMPORT_TIMEOUT_S

  std::string log_level = "info";              // log.level            KOD_LOG_LEVEL
};

/// The config path from argv (`--config PATH` or `--config=PATH`), else $KOD_CONFIG, else
/// /etc/kod/kod.ini. `explicit_path` (may be null) is set when the path came from argv or the
/// environment.
std::string ConfigPath(int argc, char** argv, bool* explicit_path);

/// Loads the file at `path` (a missing file is an error only when `must_exist`), applies the
/// environment overrides, fills derived defaults (workers, hooks_dir from `exe_dir`) and validates.
/// Errors: InvalidArgument with one line naming the key, e.g. "server.workers: must be 1-256".
/// The encryption key file, when set, is read here (its contents become `encryption_key`).
Result<Config> LoadConfig(const std::string& path, bool must_exist, const std::string& exe_dir);

/// The directory holding the running executable (from /proc/self/exe).
std::string ExecutableDir();

}  // namespace kod
