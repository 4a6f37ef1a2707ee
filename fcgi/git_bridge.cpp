#include "fcgi/git_bridge.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string_view>

#include "lib/core/log.h"
#include "lib/proc/spawn.h"

namespace kod::fcgi {
namespace {

constexpr size_t kChunk = 64 * 1024;            // body and output read size
constexpr size_t kMaxHeldOutput = 1024 * 1024;  // child stdout held back while the body flows
constexpr size_t kMaxHeaderScan = 8 * 1024;     // how much of the CGI header block we look at
constexpr size_t kMaxStderrLine = 1024;         // per logged stderr line
constexpr size_t kMaxStderrLogged = 16 * 1024;  // per request; the rest is counted, not logged
constexpr size_t kMaxGitProtocol = 256;
constexpr auto kKillGrace = std::chrono::milliseconds(1000);
constexpr int kPollFallbackMs = 200;  // only without pidfd (kernels before 5.3)
constexpr const char* kDefaultPath = "/usr/bin:/bin";

using Env = std::vector<std::pair<std::string, std::string>>;

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

bool AllDigits(const std::string& s) {
  return !s.empty() && s.size() <= 20 &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= '0' && c <= '9'; });
}

// Git-Protocol carries colon-separated key=value pairs ("version=2"); keep it to a charset that
// cannot smuggle anything into the environment or git's parser.
bool ValidGitProtocol(const std::string& v) {
  if (v.empty() || v.size() > kMaxGitProtocol) return false;
  return std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '=' || c == ':' || c == '.' || c == '_' || c == '-';
  });
}

// Names the bridge derives from the request or from git_config; extra_env may not set them.
bool ReservedName(const std::string& name) {
  static const char* const kNames[] = {"GIT_PROJECT_ROOT", "GIT_HTTP_EXPORT_ALL", "REQUEST_METHOD",
                                       "PATH_INFO",        "QUERY_STRING",        "CONTENT_TYPE",
                                       "CONTENT_LENGTH",   "GIT_PROTOCOL",        "REMOTE_USER",
                                       "REMOTE_ADDR",      "GIT_CONFIG_COUNT",    "GIT_CONFIG_PARAMETERS"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return name.starts_with("HTTP_") || name.starts_with("GIT_CONFIG_KEY_") ||
         name.starts_with("GIT_CONFIG_VALUE_");
}

// write(2) to a pipe whose reader may be gone, without dying of SIGPIPE whatever its
// disposition: block it for this thread, and consume the one our write raised (EPIPE's SIGPIPE
// is thread-directed) unless one was already pending before.
ssize_t WriteNoSigpipe(int fd, const char* p, size_t n) {
  sigset_t pipe_only, old, pending;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  sigemptyset(&pending);
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t r = ::write(fd, p, n);
  const int saved = errno;
  if (r < 0 && saved == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = saved;
  return r;
}

// Watches the start of the child's stdout for the end of the CGI header block and remembers
// its Status (for the log only; the bytes pass through untouched).
class StatusSniffer {
 public:
  void Feed(const char* p, size_t n) {
    if (done_) return;
    buf_.append(p, std::min(n, kMaxHeaderScan - buf_.size()));
    size_t end = buf_.find("\r\n\r\n");
    if (end == std::string::npos) end = buf_.find("\n\n");
    if (end != std::string::npos) {
      Parse(std::string_view(buf_).substr(0, end));
    } else if (buf_.size() >= kMaxHeaderScan) {
      status_ = "? (no header block end in the first 8 KiB)";
      Done();
    }
  }
  std::string status() const { return done_ ? status_ : "? (incomplete header block)"; }

 private:
  void Parse(std::string_view block) {
    while (!block.empty()) {
      size_t nl = block.find('\n');
      std::string_view line = block.substr(0, nl);
      block = nl == std::string_view::npos ? std::string_view() : block.substr(nl + 1);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() >= 7 && strncasecmp(line.data(), "status:", 7) == 0) {
        line.remove_prefix(7);
        while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
        status_ = std::string(line);
      }
    }
    Done();
  }
  void Done() {
    done_ = true;
    std::string().swap(buf_);
  }
  bool done_ = false;
  std::string buf_;
  std::string status_ = "200";  // CGI: no Status header means 200
};

// Child stderr → the log, line by line, bounded per line and per request.
class StderrLog {
 public:
  void Feed(const char* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      if (p[i] == '\n') {
        Emit();
      } else if (line_.size() < kMaxStderrLine) {
        line_ += p[i];
      } else {
        truncated_ = true;
      }
    }
  }
  void Finish() {
    if (!line_.empty()) Emit();
    if (dropped_ > 0)
      log::Warn("git http-backend: " + std::to_string(dropped_) + " more stderr lines not logged");
  }

 private:
  void Emit() {
    if (logged_ >= kMaxStderrLogged) {
      ++dropped_;
    } else {
      logged_ += line_.size();
      log::Warn("git http-backend: " + line_ + (truncated_ ? " [truncated]" : ""));
    }
    line_.clear();
    truncated_ = false;
  }
  std::string line_;
  bool truncated_ = false;
  size_t logged_ = 0;
  size_t dropped_ = 0;
};

// The poll loop of one request. Invariant: memory is bounded by two kChunk buffers plus
// kMaxHeldOutput plus the small header/stderr buffers, whatever flows through.
class Exchange {
 public:
  Exchange(const CgiRequest& rq, proc::Child& child, BridgeIo& io, std::chrono::milliseconds idle_timeout)
      : child_(child), io_(io), idle_timeout_(idle_timeout), body_(kChunk), out_buf_(kChunk) {
    if (rq.method != "POST") EndBody();  // GET: no body, and git may answer at once
  }

  void Run() {
    while (!client_gone_ && !failed_ && !idle_) {
      struct pollfd fds[5];
      int n = 0, in_i = -1, out_i = -1, err_i = -1, exit_i = -1, client_i = -1;
      if (child_.in()) fds[in_i = n++] = {child_.in().get(), POLLOUT, 0};
      if (!out_eof_) fds[out_i = n++] = {child_.out().get(), POLLIN, 0};
      if (!err_eof_) fds[err_i = n++] = {child_.err().get(), POLLIN, 0};
      if (child_.exit_fd() >= 0) fds[exit_i = n++] = {child_.exit_fd(), POLLIN, 0};
      // Only hang-ups: body bytes waiting there are read when git wants them, not here.
      if (io_.ClientFd() >= 0) fds[client_i = n++] = {io_.ClientFd(), POLLRDHUP, 0};

      int r = ::poll(fds, static_cast<nfds_t>(n), PollTimeoutMs(exit_i >= 0));
      if (r < 0) {
        if (errno == EINTR) continue;
        log::Error(std::string("git bridge: poll failed: ") + std::strerror(errno));
        failed_ = true;
        break;
      }
      if (client_i >= 0 && (fds[client_i].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
        client_gone_ = true;  // nginx closed the connection: its client went away
        break;
      }
      // stderr and stdout first, so a child blocked on writing them moves on.
      if (err_i >= 0 && fds[err_i].revents) ReadStderr();
      if (out_i >= 0 && fds[out_i].revents) ReadStdout();
      if (in_i >= 0 && fds[in_i].revents && !client_gone_) {
        if (fds[in_i].revents & (POLLERR | POLLHUP)) {
          ChildRefusedBody();
        } else {
          PumpBody();
        }
      }
      bool exited = exit_i >= 0 ? fds[exit_i].revents != 0 : (r == 0 && child_.Exited());
      if (exited && !client_gone_) {
        DrainAfterExit();
        break;
      }
      if (Clock::now() - last_progress_ >= idle_timeout_) idle_ = true;
    }
    if (!client_gone_ && !failed_ && !idle_) FlushHeld();
    stderr_log_.Finish();
  }

  bool client_gone() const { return client_gone_; }
  bool failed() const { return failed_; }
  bool idle() const { return idle_; }
  size_t bytes_in() const { return bytes_in_; }
  size_t bytes_out() const { return bytes_out_; }
  std::string status() const { return sniffer_.status(); }

 private:
  using Clock = std::chrono::steady_clock;

  // Until the idle deadline (and, without a pidfd, at most kPollFallbackMs to ask Exited()).
  int PollTimeoutMs(bool have_exit_fd) const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(last_progress_ + idle_timeout_ - Clock::now());
    long ms = std::max<long>(0, static_cast<long>(left.count()) + 1);
    if (!have_exit_fd) ms = std::min<long>(ms, kPollFallbackMs);
    return static_cast<int>(std::min<long>(ms, 1 << 30));
  }

  void Progress() { last_progress_ = Clock::now(); }

  // Passes child output to the client.
  void Forward(const char* p, size_t n) {
    if (client_gone_ || n == 0) return;
    if (!io_.WriteOut(p, n) || !io_.FlushOut()) {
      client_gone_ = true;
      return;
    }
    bytes_out_ += n;
  }

  void FlushHeld() {
    passthrough_ = true;
    Forward(held_.data(), held_.size());
    std::string().swap(held_);
  }

  // No more body goes to the child: close its stdin (EOF for git) and stop holding output.
  void EndBody() {
    child_.in().Reset();
    FlushHeld();
  }

  void ChildRefusedBody() {
    // e.g. http-backend answering 403 to a push before reading it; nginx discards the rest.
    log::Debug("git bridge: child closed stdin after " + std::to_string(bytes_in_) + " body bytes");
    EndBody();
  }

  // Called when the child's stdin is writable: get the next chunk if the last one is written
  // (blocking in ReadBody is fine: we only read when git can take it), then write what we can.
  void PumpBody() {
    if (body_off_ == body_len_) {
      long n = io_.ReadBody(body_.data(), body_.size());
      if (n < 0) {
        // The read waits at most the idle timeout (BridgeIo::ReadBody): a read that failed after
        // that long met a silent client, else the client is gone.
        if (Clock::now() - last_progress_ >= idle_timeout_) {
          idle_ = true;
        } else {
          client_gone_ = true;
        }
        return;
      }
      if (n == 0) {
        EndBody();
        return;
      }
      body_off_ = 0;
      body_len_ = static_cast<size_t>(n);
      bytes_in_ += body_len_;
      Progress();
    }
    ssize_t w = WriteNoSigpipe(child_.in().get(), body_.data() + body_off_, body_len_ - body_off_);
    if (w > 0) {
      body_off_ += static_cast<size_t>(w);
      Progress();
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
      ChildRefusedBody();  // EPIPE: git stopped reading
    }
  }

  void OnStdout(const char* p, size_t n) {
    sniffer_.Feed(p, n);
    if (passthrough_) {
      Forward(p, n);
      return;
    }
    if (held_.size() + n > kMaxHeldOutput) {
      // git answers at length before taking the whole body: pass it on rather than stall both
      // sides (git blocked writing stdout would stop reading the body we wait to send).
      log::Debug("git bridge: child output before body end exceeds 1 MiB, streaming it");
      FlushHeld();
      Forward(p, n);
      return;
    }
    if (held_.capacity() < kMaxHeldOutput) held_.reserve(kMaxHeldOutput);  // no doubling past the cap
    held_.append(p, n);
  }

  // One read per readiness; returns false at EOF/error or when nothing is left (EAGAIN).
  bool ReadStdout() {
    ssize_t n = ::read(child_.out().get(), out_buf_.data(), out_buf_.size());
    if (n > 0) {
      Progress();
      OnStdout(out_buf_.data(), static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n < 0) log::Warn(std::string("git bridge: reading child stdout: ") + std::strerror(errno));
    out_eof_ = true;
    return false;
  }

  bool ReadStderr() {
    char buf[4096];
    ssize_t n = ::read(child_.err().get(), buf, sizeof buf);
    if (n > 0) {
      stderr_log_.Feed(buf, static_cast<size_t>(n));
      return true;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    err_eof_ = true;
    return false;
  }

  // The leader exited: everything it wrote is in the pipes now. Take it without waiting for
  // EOF, which a stray descendant holding the pipes could delay forever.
  void DrainAfterExit() {
    if (child_.in()) EndBody();
    while (!out_eof_ && !client_gone_ && ReadStdout()) {
    }
    while (!err_eof_ && ReadStderr()) {
    }
  }

  proc::Child& child_;
  BridgeIo& io_;
  const std::chrono::milliseconds idle_timeout_;
  Clock::time_point last_progress_ = Clock::now();
  std::vector<char> body_;
  size_t body_off_ = 0, body_len_ = 0;
  std::vector<char> out_buf_;
  std::string held_;
  bool passthrough_ = false;
  bool out_eof_ = false, err_eof_ = false;
  bool client_gone_ = false, failed_ = false, idle_ = false;
  size_t bytes_in_ = 0, bytes_out_ = 0;
  StatusSniffer sniffer_;
  StderrLog stderr_log_;
};

}  // namespace

Result<Env> GitHttpBackendEnv(const CgiRequest& rq, const BridgeConfig& cfg) {
  if (rq.method != "GET" && rq.method != "POST")
    return InvalidArgument("Unsupported method for git: " + rq.method);
  if (rq.path_info.empty() || rq.path_info[0] != '/') return InvalidArgument("Invalid git path");
  if (!rq.content_length.empty() && !AllDigits(rq.content_length))
    return InvalidArgument("Invalid Content-Length");
  for (const std::string* f : {&rq.path_info, &rq.query_string, &rq.content_type, &rq.content_encoding,
                               &rq.git_protocol, &rq.remote_user, &rq.remote_addr}) {
    if (HasNul(*f)) return InvalidArgument("Invalid request header");
  }
  if (cfg.project_root.empty() || HasNul(cfg.project_root))
    return Internal("git bridge: project_root not set");

  Env env = {{"GIT_PROJECT_ROOT", cfg.project_root},
             {"GIT_HTTP_EXPORT_ALL", "1"},
             {"PATH", kDefaultPath},
             {"REQUEST_METHOD", rq.method},
             {"PATH_INFO", rq.path_info},
             {"QUERY_STRING", rq.query_string}};
  auto add_if = [&env](const char* name, const std::string& value) {
    if (!value.empty()) env.emplace_back(name, value);
  };
  add_if("CONTENT_TYPE", rq.content_type);
  // Absent: git reads stdin to EOF (chunked push). Never for a GET: its body is not sent, and
  // http-backend then waited for it at 100% CPU.
  if (rq.method == "POST") add_if("CONTENT_LENGTH", rq.content_length);
  add_if("HTTP_CONTENT_ENCODING", rq.content_encoding);
  if (ValidGitProtocol(rq.git_protocol)) {
    env.emplace_back("GIT_PROTOCOL", rq.git_protocol);
  } else if (!rq.git_protocol.empty()) {
    log::Info("git bridge: ignoring invalid Git-Protocol header");
  }
  add_if("REMOTE_USER", rq.remote_user);
  add_if("REMOTE_ADDR", rq.remote_addr);

  if (!cfg.git_config.empty()) {
    env.emplace_back("GIT_CONFIG_COUNT", std::to_string(cfg.git_config.size()));
    for (size_t i = 0; i < cfg.git_config.size(); ++i) {
      const auto& [key, value] = cfg.git_config[i];
      if (key.empty() || HasNul(key) || HasNul(value))
        return Internal("git bridge: invalid git_config entry " + key);
      env.emplace_back("GIT_CONFIG_KEY_" + std::to_string(i), key);
      env.emplace_back("GIT_CONFIG_VALUE_" + std::to_string(i), value);
    }
  }
  for (const auto& [name, value] : cfg.extra_env) {
    if (name.empty() || name.find('=') != std::string::npos || HasNul(name) || HasNul(value)) {
      return Internal("git bridge: invalid extra_env entry " + name);
    }
    if (ReservedName(name)) return Internal("git bridge: extra_env may not set " + name);
    auto it = std::find_if(env.begin(), env.end(), [&](const auto& kv) { return kv.first == name; });
    if (it != env.end()) {
      it->second = value;
    } else {
      env.emplace_back(name, value);
    }
  }
  return env;
}

Status ServeGitHttp(const CgiRequest& rq, const BridgeConfig& cfg, BridgeIo& io) {
  auto env = GitHttpBackendEnv(rq, cfg);
  if (!env) return env.status();
  const auto t0 = std::chrono::steady_clock::now();
  proc::SpawnSpec spec;
  spec.exe = cfg.git_exe;
  spec.args = {"http-backend"};
  spec.env = std::move(*env);
  auto spawned = proc::SpawnPiped(std::move(spec));
  if (!spawned) {
    log::Error("git bridge: " + spawned.status().message);
    return spawned.status();
  }
  proc::Child child = std::move(*spawned);

  Exchange ex(rq, child, io, cfg.idle_timeout);
  ex.Run();
  int wait_status;
  if (ex.client_gone() || ex.failed() || ex.idle()) {
    wait_status = child.Terminate(kKillGrace);  // the whole group: upload-pack, pack-objects, hooks
  } else {
    child.SignalGroup(SIGKILL);  // the leader has exited: nothing it started outlives the request
    wait_status = child.Reap();
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  std::string what = "git " + rq.method + " " + rq.path_info + ": " + ex.status() + ", " +
                     proc::DescribeWaitStatus(wait_status) + ", in " + std::to_string(ex.bytes_in()) + " B, out " +
                     std::to_string(ex.bytes_out()) + " B, " + std::to_string(ms) + " ms";
  if (ex.client_gone()) {
    log::Warn(what + ", client gone (group killed)");
    return Status::Ok();
  }
  if (ex.idle()) {
    const std::string idle = "no progress for " + std::to_string(cfg.idle_timeout.count()) + " ms";
    log::Warn(what + ", " + idle + " (group killed)");
    if (ex.bytes_out() == 0) return Unavailable("git request ended: " + idle);
    io.Abort();
    return Status::Ok();
  }
  if (ex.bytes_out() == 0) {
    log::Error(what);
    return Internal("git http-backend failed (" + proc::DescribeWaitStatus(wait_status) + ")");
  }
  if (ex.failed()) {
    log::Error(what + ", bridge failed (group killed)");
    io.Abort();
  } else {
    log::Info(what);
  }
  return Status::Ok();
}

}  // namespace kod::fcgi
