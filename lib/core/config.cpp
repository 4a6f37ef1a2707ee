#include "lib/core/config.h"

#include <INIReader.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace kod {
namespace {

// One table drives file keys, environment names and validation, so they cannot drift apart.
enum class Kind { Text, Int, Octal, Path };
struct Key {
  const char* section;
  const char* name;
  const char* env;
  Kind kind;
  void* field;
  int min = 0, max = 0;
};

std::vector<Key> Keys(Config& c) {
  return {
      {"server", "socket", "KOD_SOCKET", Kind::Path, &c.socket},
      {"server", "socket_mode", "KOD_SOCKET_MODE", Kind::Octal, &c.socket_mode, 0, 0777},
      {"server", "workers", "KOD_WORKERS", Kind::Int, &c.workers, 1, 256},
      {"server", "base_path", "KOD_SERVER_BASE_PATH", Kind::Text, &c.base_path},
      {"database", "host", "KOD_DB_HOST", Kind::Text, &c.db_host},
      {"database", "port", "KOD_DB_PORT", Kind::Int, &c.db_port, 1, 65535},
      {"database", "socket", "KOD_DB_SOCKET", Kind::Text, &c.db_socket},
      {"database", "user", "KOD_DB_USER", Kind::Text, &c.db_user},
      {"database", "password", "KOD_DB_PASSWORD", Kind::Text, &c.db_password},
      {"database", "name", "KOD_DB_NAME", Kind::Text, &c.db_name},
      {"database", "connect_timeout_s", "KOD_DATABASE_CONNECT_TIMEOUT_S", Kind::Int, &c.db_connect_timeout_s, 1, 60},
      {"database", "timeout_s", "KOD_DATABASE_TIMEOUT_S", Kind::Int, &c.db_timeout_s, 1, 3600},
      {"storage", "repos_dir", "KOD_REPOS_DIR", Kind::Path, &c.repos_dir},
      {"storage", "default_branch", "KOD_DEFAULT_BRANCH", Kind::Text, &c.default_branch},
      {"git", "hooks_dir", "KOD_HOOKS_DIR", Kind::Path, &c.hooks_dir},
      {"git", "idle_timeout_s", "KOD_GIT_IDLE_TIMEOUT_S", Kind::Int, &c.git_idle_timeout_s, 1, 86400},
      {"auth", "admin_token", "KOD_ADMIN_TOKEN", Kind::Text, &c.admin_token},
      {"secrets", "encryption_key", "KOD_ENCRYPTION_KEY", Kind::Text, &c.encryption_key},
      {"secrets", "key_file", "KOD_ENCRYPTION_KEY_FILE", Kind::Path, &c.encryption_key_file},
      {"runner", "concurrency", "KOD_RUNNER_CONCURRENCY", Kind::Int, &c.runner_concurrency, 1, 64},
      {"runner", "workspace_dir", "KOD_WORKSPACE_DIR", Kind::Path, &c.workspace_dir},
      {"runner", "wake_dir", "KOD_RUNNER_WAKE_DIR", Kind::Path, &c.wake_dir},
      {"runner", "step_uid_base", "KOD_RUNNER_STEP_UID_BASE", Kind::Int, &c.step_uid_base, 0, 2000000000},
      {"runner", "keep_runs", "KOD_RUNNER_KEEP_RUNS", Kind::Int, &c.runner_keep_runs, 1, 1000000},
      {"jobs", "concurrency", "KOD_JOBS_CONCURRENCY", Kind::Int, &c.jobs_concurrency, 1, 64},
      {"jobs", "wake_dir", "KOD_JOBS_WAKE_DIR", Kind::Path, &c.jobs_wake_dir},
      {"webhooks", "allowed_hosts", "KOD_WEBHOOKS_ALLOWED_HOSTS", Kind::Text, &c.webhooks_allowed_hosts},
      {"webhooks", "keep_days", "KOD_WEBHOOKS_KEEP_DAYS", Kind::Int, &c.webhooks_keep_days, 1, 3650},
      {"import", "timeout_s", "KOD_IMPORT_TIMEOUT_S", Kind::Int, &c.import_timeout_s, 1, 86400},
      {"log", "level", "KOD_LOG_LEVEL", Kind::Text, &c.log_level},
  };
}

Status Assign(const Key& k, const std::string& value, const std::string& origin) {
  std::string where = std::string(k.section) + "." + k.name + " (" + origin + ")";
  switch (k.kind) {
    case Kind::Text:
      *static_cast<std::string*>(k.field) = value;
      return Status::Ok();
    case Kind::Path:
      if (!value.empty() && value[0] != '/') return InvalidArgument(where + ": must be an absolute path");
      *static_cast<std::string*>(k.field) = value;
      return Status::Ok();
    case Kind::Int:
    case Kind::Octal: {
      int base = k.kind == Kind::Octal ? 8 : 10;
      char* end = nullptr;
      errno = 0;
      long v = std::strtol(value.c_str(), &end, base);
      if (value.empty() || *end != '\0' || errno != 0 || v < k.min || v > k.max) {
        std::ostringstream m;
        m << where << ": '" << value << "' is not " << (base == 8 ? "an octal mode" : "a whole number")
          << " from " << (base == 8 ? "0" : std::to_string(k.min)) << " to "
          << (base == 8 ? "0777" : std::to_string(k.max));
        return InvalidArgument(m.str());
      }
      *static_cast<int*>(k.field) = static_cast<int>(v);
      return Status::Ok();
    }
  }
  return Status::Ok();
}

bool IsValidBasePath(const std::string& p) {
  if (p.empty()) return true;
  if (p[0] != '/' || p.back() == '/' || p.size() > 200) return false;
  size_t start = 1;
  while (start <= p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string::npos) end = p.size();
    std::string seg = p.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char ch : seg)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-') return false;
    start = end + 1;
  }
  return true;
}

std::string Trim(std::string s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  size_t e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

std::string ConfigPath(int argc, char** argv, bool* explicit_path) {
  bool ignored = false;
  bool& is_explicit = explicit_path ? *explicit_path : ignored;
  is_explicit = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--config=", 0) == 0) return a.substr(9);
  }
  if (const char* env = std::getenv("KOD_CONFIG"); env && *env) return env;
  is_explicit = false;
  return "/etc/kod/kod.ini";
}

std::string ExecutableDir() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string(".") : p.parent_path().string();
}

Result<Config> LoadConfig(const std::string& path, bool must_exist, const std::string& exe_dir) {
  Config c;
  std::vector<Key> keys = Keys(c);
  if (!path.empty() && (must_exist || access(path.c_str(), F_OK) == 0)) {
    INIReader ini(path);
    if (ini.ParseError() < 0) return InvalidArgument("config " + path + ": cannot be read");
    if (ini.ParseError() > 0)
      return InvalidArgument("config " + path + ": syntax error on line " + std::to_string(ini.ParseError()));
    c.path = path;
    for (const Key& k : keys) {
      if (!ini.HasValue(k.section, k.name)) continue;
      Status s = Assign(k, Trim(ini.Get(k.section, k.name, "")), path);
      if (!s.ok()) return s;
    }
  }
  for (const Key& k : keys) {
    const char* v = std::getenv(k.env);
    if (v == nullptr) continue;
    Status s = Assign(k, v, k.env);
    if (!s.ok()) return s;
  }
  if (c.workers == 0) {
    unsigned n = std::thread::hardware_concurrency();
    c.workers = static_cast<int>(n == 0 ? 2 : 2 * n);
  }
  if (c.hooks_dir.empty()) c.hooks_dir = exe_dir + "/hooks";
  if (c.socket.empty()) return InvalidArgument("server.socket: must not be empty");
  if (!IsValidBasePath(c.base_path))
    return InvalidArgument("server.base_path: '" + c.base_path +
                           "' must be empty or a path like /git (starting with /, no trailing /, "
                           "segments of letters, digits, '.', '_', '-', no '.' or '..' segment)");
  if (c.repos_dir.empty()) return InvalidArgument("storage.repos_dir: must not be empty");
  if (c.default_branch.empty() || c.default_branch.find_first_of(" ~^:?*[\\") != std::string::npos)
    return InvalidArgument("storage.default_branch: '" + c.default_branch + "' is not a valid branch name");
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    return InvalidArgument("log.level: must be debug, info, warn or error");
  if (!c.admin_token.empty() && c.admin_token.size() < 16)
    return InvalidArgument("auth.admin_token: must be at least 16 characters (docs/api.md#authentication)");
  if (c.encryption_key.empty() && !c.encryption_key_file.empty()) {
    std::ifstream in(c.encryption_key_file, std::ios::binary);
    if (!in) return InvalidArgument("secrets.key_file: cannot read " + c.encryption_key_file);
    std::stringstream ss;
    ss << in.rdbuf();
    c.encryption_key = Trim(ss.str());
    if (c.encryption_key.empty()) return InvalidArgument("secrets.key_file: " + c.encryption_key_file + " is empty");
  }
  return c;
}

}  // namespace kod
