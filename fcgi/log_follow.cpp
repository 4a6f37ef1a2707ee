// Followers of run logs that do not hold a worker (see log_follow.h).
#include "fcgi/log_follow.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "lib/core/clock.h"
#include "lib/core/log.h"
#include "lib/service/env.h"
#include "lib/service/runs.h"

namespace kod::fcgi {
namespace {

constexpr uint64_t kReadBytes = 1 << 20;       // one poll or catch-up read at most
constexpr uint64_t kWindowBytes = 4 << 20;     // the newest log bytes kept per followed run
constexpr std::size_t kPieceBytes = 256 << 10;  // one write to a follower at most

// One followed run: the newest part of its log, shared by its followers.
struct Feed {
  int64_t repo_id = 0;
  std::string run_id;
  uint64_t size = 0;   // log bytes the poller has seen; the window ends here
  uint64_t wbase = 0;  // window = log bytes [wbase, size)
  std::string window;
  bool finished = false;  // the run has finished and `size` is its whole log
  int followers = 0;
};

bool Write(FCGX_Request* req, std::string_view bytes) {
  if (!bytes.empty() && FCGX_PutStr(bytes.data(), static_cast<int>(bytes.size()), req->out) < 0) return false;
  return FCGX_FFlush(req->out) >= 0;
}

}  // namespace

struct LogFollowers::State {
  Config config;
  const crypto::SecretKey* key;
  std::mutex mu;  // guards everything below but the database
  std::condition_variable cv;
  std::map<std::string, std::shared_ptr<Feed>> feeds;  // by run id
  bool stop = false;
  int active = 0;
  std::thread poller;
  std::mutex db_mu;  // the poller's connection, shared with followers behind the window
  std::unique_ptr<service::OwnedEnv> env;

  // Reads the log of `feed` from `offset` through the shared connection.
  Result<service::RunLogChunk> Read(const Feed& feed, uint64_t offset) {
    std::lock_guard<std::mutex> lock(db_mu);
    if (!env) env = std::make_unique<service::OwnedEnv>(config, key);
    return service::ReadRunLog(env->env(), feed.repo_id, feed.run_id, offset, kReadBytes);
  }

  void Poll() {
    std::unique_lock<std::mutex> lock(mu);
    while (!stop) {
      cv.wait_for(lock, std::chrono::milliseconds(kFollowPollMs));
      if (stop) break;
      std::vector<std::shared_ptr<Feed>> followed;
      for (auto it = feeds.begin(); it != feeds.end();) {
        if (it->second->followers == 0) {
          it = feeds.erase(it);
        } else {
          if (!it->second->finished) followed.push_back(it->second);
          ++it;
        }
      }
      lock.unlock();
      for (const auto& feed : followed) {
        auto chunk = Read(*feed, feed->size);  // only this thread moves `size`
        std::lock_guard<std::mutex> g(mu);
        if (!chunk.ok()) continue;  // tried again next time
        feed->window += chunk->text;
        feed->size += chunk->text.size();
        feed->finished = domain::IsFinished(chunk->status) && feed->size >= chunk->size;
        if (feed->window.size() > kWindowBytes) {
          const uint64_t drop = feed->window.size() - kWindowBytes;
          feed->window.erase(0, drop);
          feed->wbase += drop;
        }
      }
      lock.lock();
      cv.notify_all();
    }
  }

  std::shared_ptr<Feed> Attach(const LogFollow& f, uint64_t offset) {
    std::lock_guard<std::mutex> lock(mu);
    auto& feed = feeds[f.run_id];
    if (!feed) {
      feed = std::make_shared<Feed>();
      feed->repo_id = f.repo_id;
      feed->run_id = f.run_id;
      feed->size = feed->wbase = offset;
      feed->finished = domain::IsFinished(f.status) && offset >= f.size;
    }
    ++feed->followers;
    if (!poller.joinable()) poller = std::thread([this] { Poll(); });
    return feed;
  }

  // Streams one follower until the run's log is all sent, the client is gone, the time is up or
  // the worker stops.
  void Serve(FCGX_Request* req, const LogFollow& f) {
    uint64_t offset = f.offset + f.text.size();
    const std::string head = std::string("Status: 200 OK\r\nAccess-Control-Allow-Origin: *\r\n") +
                             "Content-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n" +
                             "X-Accel-Buffering: no\r\nX-Kod-Log-Size: " + std::to_string(f.size) +
                             "\r\nX-Kod-Run-Status: " + domain::RunStatusName(f.status) + "\r\n\r\n";
    if (!Write(req, head) || !Write(req, f.text)) return;
    std::shared_ptr<Feed> feed = Attach(f, offset);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kFollowMaxMs);
    for (;;) {
      std::string piece;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_until(lock, deadline, [&] { return stop || feed->size > offset || feed->finished; });
        if (stop || feed->size <= offset) break;  // stopping, timed out, or finished and all sent
        if (offset >= feed->wbase) piece = feed->window.substr(offset - feed->wbase, kPieceBytes);
      }
      if (piece.empty()) {  // behind the window: read it ourselves
        auto chunk = Read(*feed, offset);
        if (!chunk.ok() || chunk->text.empty()) break;
        piece = std::move(chunk->text);
      }
      if (!Write(req, piece)) break;  // the client is gone
      offset += piece.size();
    }
    std::lock_guard<std::mutex> lock(mu);
    --feed->followers;
  }
};

LogFollowers::LogFollowers(const Config& config, const crypto::SecretKey* key) : s_(std::make_unique<State>()) {
  s_->config = config;
  s_->key = key;
}

LogFollowers::~LogFollowers() { StopAll(); }

void LogFollowers::Start(std::unique_ptr<FCGX_Request> req, LogFollow follow) {
  {
    std::lock_guard<std::mutex> lock(s_->mu);
    if (s_->stop) {
      FCGX_Finish_r(req.get());
      return;
    }
    ++s_->active;
  }
  std::thread([state = s_.get(), req = std::move(req), follow = std::move(follow)]() mutable {
    state->Serve(req.get(), follow);
    FCGX_Finish_r(req.get());
    req.reset();
    std::lock_guard<std::mutex> lock(state->mu);
    --state->active;
    state->cv.notify_all();
  }).detach();
}

void LogFollowers::StopAll() {
  std::unique_lock<std::mutex> lock(s_->mu);
  s_->stop = true;
  s_->cv.notify_all();
  s_->cv.wait(lock, [&] { return s_->active == 0; });
  lock.unlock();
  if (s_->poller.joinable()) s_->poller.join();
}

int LogFollowers::active() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  return s_->active;
}

}  // namespace kod::fcgi
