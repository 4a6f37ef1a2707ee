#include "fcgi/server.h"

#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <thread>

#include "fcgi/http.h"
#include "fcgi/log_follow.h"
#include "fcgi/router.h"
#include "lib/cache/cache.h"
#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/crypto/secret_box.h"
#include "lib/service/env.h"
#include "lib/service/repos.h"
#include "lib/service/secrets.h"
#include "lib/service/tokens.h"

namespace kod::fcgi {
namespace {

// ---- worker

volatile sig_atomic_t g_worker_stop = 0;
int g_listen_fd = -1;
int g_devnull = -1;

void OnWorkerTerm(int) {
  g_worker_stop = 1;
  // Replace the listening socket with /dev/null so a blocked or about-to-block accept fails at
  // once: the worker finishes its in-flight request and exits (drain), and never takes another.
  if (g_listen_fd >= 0 && g_devnull >= 0) dup2(g_devnull, g_listen_fd);
}

void InstallWorkerSignals() {
  struct sigaction sa{};
  sa.sa_handler = OnWorkerTerm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: accept must return EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGHUP, SIG_IGN);
  signal(SIGCHLD, SIG_DFL);  // the git bridge waits for its children
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
}

[[noreturn]] void WorkerMain(int listen_fd, const WorkerSetup& setup, pid_t master) {
  // A master killed with SIGKILL cannot stop its workers: they drain and exit on their own.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != master) _exit(0);
  g_listen_fd = listen_fd;
  g_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  InstallWorkerSignals();
  service::OwnedEnv own(setup.config, setup.key.get());
  service::Env& env = own.env();
  LogFollowers followers(setup.config, setup.key.get());  // threads of this worker, not workers
  auto req = std::make_unique<FCGX_Request>();
  FCGX_InitRequest(req.get(), listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
  while (!g_worker_stop) {
    if (FCGX_Accept_r(req.get()) < 0) {
      if (g_worker_stop) break;
      continue;
    }
    fcntl(req->ipcFd, F_SETFD, FD_CLOEXEC);  // never leak the connection into git or hooks
    int64_t started = MonotonicMs();
    Request rq(req.get(), env);
    Response rs;
    Dispatch(rq, rs);
    if (!rs.streamed && !rs.follow) WriteResponse(req->out, rs);
    // client: nginx's REMOTE_ADDR (never a forwarded-for header a client can write); id: nginx's
    // $request_id, which nginx logs too (docs/nginx.md#logs).
    const std::string client = rq.Param("REMOTE_ADDR"), request_id = rq.Param("REQUEST_ID");
    char line[640];
    std::snprintf(line, sizeof line, "%s %.300s %d %ldms token=%s client=%.64s id=%.64s%s", rq.method().c_str(),
                  rq.path().c_str(), rs.status, static_cast<long>(MonotonicMs() - started),
                  rq.principal().token_id.empty() ? "-" : rq.principal().token_id.c_str(),
                  client.empty() ? "-" : client.c_str(), request_id.empty() ? "-" : request_id.c_str(),
                  rs.follow ? " follow" : "");
    log::Info(line);
    if (rs.follow) {
      followers.Start(std::move(req), std::move(*rs.follow));
      req = std::make_unique<FCGX_Request>();
      FCGX_InitRequest(req.get(), listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
      continue;
    }
    FCGX_Finish_r(req.get());
  }
  followers.StopAll();  // their clients ask again from their offset
  _exit(0);
}

// ---- master

pid_t SpawnWorker(int listen_fd, const WorkerSetup& setup) {
  const pid_t master = getpid();
  pid_t pid = fork();
  if (pid == 0) WorkerMain(listen_fd, setup, master);
  if (pid < 0) log::Error(std::string("fork failed: ") + std::strerror(errno));
  return pid;
}

// A listening socket (spawn-fcgi passes one on fd 0); a connected socket on stdin is not one.
bool IsListeningSocket(int fd) {
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return false;
  int listening = 0;
  socklen_t len = sizeof listening;
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0 && listening != 0;
}

}  // namespace

std::string PrepareStartup(const Config& config, WorkerSetup& setup, int wait_s) {
  service::OwnedEnv own(config, nullptr);
  service::Env& env = own.env();
  if (Status s = service::PrepareDatabase(env, wait_s); !s.ok()) return s.message;
  if (Status s = service::BootstrapAdmin(env); !s.ok()) return "bootstrap admin token: " + s.message;
  auto key = service::LoadSecretKey(env);
  if (!key.ok()) return key.status().message;
  setup.config = config;
  setup.key = *key;
  // The passphrase is no longer needed once the key is derived: workers inherit only the key.
  std::fill(setup.config.encryption_key.begin(), setup.config.encryption_key.end(), '\0');
  setup.config.encryption_key.clear();
  std::error_code ec;
  std::filesystem::create_directories(config.repos_dir, ec);
  if (ec) return "storage.repos_dir: cannot create " + config.repos_dir + ": " + ec.message();
  // Only Kod's own user may read repositories (workflow steps run as other uids).
  chmod(config.repos_dir.c_str(), 0700);
  service::RecoverTrash(env);
  if (access((config.hooks_dir + "/post-receive").c_str(), X_OK) != 0)
    log::Warn("git.hooks_dir: no executable post-receive in " + config.hooks_dir + "; pushes will not queue runs");
  return "";
}

int OpenListenSocket(const Config& config, std::string& error) {
  int fd = -1;
  const char* listen_pid = std::getenv("LISTEN_PID");
  const char* listen_fds = std::getenv("LISTEN_FDS");
  if (listen_pid && listen_fds && std::atoi(listen_pid) == getpid() && std::atoi(listen_fds) >= 1) {
    fd = 3;  // systemd socket activation (sd_listen_fds(3))
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
  } else if (IsListeningSocket(0)) {
    fd = 0;  // spawn-fcgi style: the listening socket is stdin
  } else {
    // FCGX_OpenSocket unlinks the path first: make sure no running server owns it.
    sockaddr_un addr{};
    if (config.socket.size() >= sizeof addr.sun_path) {
      error = "server.socket: path too long";
      return -1;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, config.socket.c_str(), config.socket.size() + 1);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) close(probe);
    if (live) {
      error = "server.socket: " + config.socket + " is in use by a running server";
      return -1;
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(config.socket).parent_path(), ec);
    fd = FCGX_OpenSocket(config.socket.c_str(), 1024);
    if (fd < 0) {
      error = "server.socket: cannot listen on " + config.socket + ": " + std::strerror(errno);
      return -1;
    }
    chmod(config.socket.c_str(), static_cast<mode_t>(config.socket_mode));
  }
  fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

int RunMaster(int listen_fd, WorkerSetup setup, const std::string& config_path, bool explicit_path) {
  // Before any fork: the workers share the caches' generations (lib/cache/cache.h).
  cache::Enable();
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  std::map<pid_t, bool> workers;  // pid → retiring (will not be replaced)
  auto fill = [&] {
    int active = 0;
    for (auto& [pid, retiring] : workers) active += retiring ? 0 : 1;
    for (; active < setup.config.workers; ++active) {
      pid_t pid = SpawnWorker(listen_fd, setup);
      if (pid > 0) workers[pid] = false;
    }
  };
  fill();
  log::Info("serving with " + std::to_string(setup.config.workers) + " workers");
  std::deque<pid_t> to_retire;  // old workers still to replace after a SIGHUP
  auto retire_next = [&] {
    for (auto& [pid, r] : workers)
      if (r) return;  // one is still draining
    while (!to_retire.empty()) {
      pid_t old = to_retire.front();
      to_retire.pop_front();
      if (!workers.count(old)) continue;  // it died meanwhile (and was replaced)
      pid_t n = SpawnWorker(listen_fd, setup);
      if (n > 0) workers[n] = false;
      workers[old] = true;
      kill(old, SIGTERM);
      return;
    }
  };
  bool stopping = false;
  int64_t stop_deadline = 0;
  int64_t last_respawn = 0;
  while (!workers.empty() || !stopping) {
    timespec tick{0, 200 * 1000 * 1000};
    siginfo_t info{};
    int sig = sigtimedwait(&set, &info, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      if (!stopping) log::Info("draining workers");
      stopping = true;
      to_retire.clear();
      stop_deadline = MonotonicMs() + 60'000;
      for (auto& [pid, r] : workers) kill(pid, SIGTERM);
    } else if (sig == SIGHUP && !stopping) {
      auto fresh = LoadConfig(config_path, explicit_path, ExecutableDir());
      if (!fresh.ok()) {
        log::Error("reload refused: " + fresh.status().message);
        continue;
      }
      WorkerSetup next;
      if (std::string err = PrepareStartup(*fresh, next, 5); !err.empty()) {
        log::Error("reload refused: " + err);
        continue;
      }
      log::SetLevel(fresh->log_level);
      setup = next;
      // Rolling replacement, one worker at a time: start a new worker, retire one old one, and
      // only when it has drained move on to the next. The pool never shrinks and the listening
      // socket stays open, so no request is refused.
      to_retire.clear();
      for (auto& [pid, r] : workers)
        if (!r) to_retire.push_back(pid);
      retire_next();
      log::Info("reloaded configuration");
    }
    // Reap whatever ended (SIGCHLD or not: signals coalesce).
    while (true) {
      int status = 0;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) break;
      auto it = workers.find(pid);
      if (it == workers.end()) continue;
      bool retiring = it->second;
      workers.erase(it);
      if (retiring) retire_next();
      if (!stopping && !retiring)
        log::Warn("worker " + std::to_string(pid) + " died (" +
                  (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status)) : "exit " + std::to_string(WEXITSTATUS(status))) +
                  "); replacing it");
    }
    if (stopping) {
      if (MonotonicMs() > stop_deadline)
        for (auto& [pid, r] : workers) kill(pid, SIGKILL);
      continue;
    }
    int64_t now = MonotonicMs();
    if (now - last_respawn < 100) continue;  // a crash loop must not become a fork bomb
    size_t before = workers.size();
    fill();
    if (workers.size() != before) last_respawn = now;
  }
  log::Info("stopped");
  return 0;
}

}  // namespace kod::fcgi
