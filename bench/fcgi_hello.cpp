// fcgi-hello: the FastCGI ceiling for bench/api (bench/README.md).
//
// The most trivial libfcgi program with kod-fcgi's prefork shape: a master opens the FastCGI
// socket named on the command line, forks N workers, and each worker loops
// FCGX_Accept_r → write a fixed JSON answer → FCGX_Finish_r. No routing, no database, no log line.
// Whatever nginx → FastCGI → prefork costs on this machine, this program costs exactly that and
// nothing more, so Kod's req/s divided by this program's req/s is Kod's own efficiency.
//
//   usage: fcgi-hello SOCKET [WORKERS]   (WORKERS defaults to 2 × cores, like kod-fcgi)
//
// SOCKET is a unix socket path (made 0666 so nginx's workers can connect) or HOST:PORT.
// SIGTERM/SIGINT to the master stops the workers and exits; a worker that dies is replaced.
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace {

volatile sig_atomic_t g_stop = 0;

void OnStop(int) { g_stop = 1; }

void InstallHandler(int sig, void (*fn)(int)) {
  struct sigaction sa{};
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked accept/wait must return EINTR
  sigaction(sig, &sa, nullptr);
}

const char kResponse[] = "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n{\"status\":\"ok\"}";

[[noreturn]] void WorkerMain(int listen_fd) {
  InstallHandler(SIGTERM, OnStop);
  InstallHandler(SIGINT, OnStop);
  signal(SIGPIPE, SIG_IGN);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  FCGX_Request req;
  FCGX_InitRequest(&req, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR);
  while (!g_stop) {
    if (FCGX_Accept_r(&req) < 0) continue;
    FCGX_PutStr(kResponse, static_cast<int>(sizeof kResponse - 1), req.out);
    FCGX_Finish_r(&req);
  }
  _exit(0);
}

pid_t Spawn(int listen_fd) {
  pid_t pid = fork();
  if (pid == 0) WorkerMain(listen_fd);
  if (pid < 0) std::perror("fcgi-hello: fork");
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::fprintf(argc < 2 || argc > 3 ? stderr : stdout,
                 "usage: fcgi-hello SOCKET [WORKERS]   (WORKERS: default 2 x cores, like kod-fcgi)\n");
    return argc == 2 ? 0 : 2;
  }
  long workers = 2 * sysconf(_SC_NPROCESSORS_ONLN);
  if (argc == 3) {
    char* end = nullptr;
    workers = std::strtol(argv[2], &end, 10);
    if (!end || *end || workers < 1 || workers > 1024) {
      std::fprintf(stderr, "fcgi-hello: WORKERS must be 1..1024\n");
      return 2;
    }
  }
  if (workers < 1) workers = 2;
  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "fcgi-hello: FCGX_Init failed\n");
    return 1;
  }
  int fd = FCGX_OpenSocket(argv[1], 1024);  // same backlog as kod-fcgi
  if (fd < 0) {
    std::fprintf(stderr, "fcgi-hello: cannot listen on %s: %s\n", argv[1], std::strerror(errno));
    return 1;
  }
  if (argv[1][0] == '/') chmod(argv[1], 0666);
  fcntl(fd, F_SETFD, FD_CLOEXEC);

  // The master: SIGTERM/SIGINT/SIGCHLD are handled synchronously, as kod-fcgi's master does.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGCHLD}) sigaddset(&set, s);
  sigprocmask(SIG_BLOCK, &set, nullptr);

  std::set<pid_t> pool;
  for (long i = 0; i < workers; ++i)
    if (pid_t pid = Spawn(fd); pid > 0) pool.insert(pid);
  bool stopping = false;
  while (!pool.empty()) {
    timespec tick{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
      stopping = true;
      for (pid_t pid : pool) kill(pid, SIGTERM);
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) pool.erase(pid);
    if (!stopping)
      while (static_cast<long>(pool.size()) < workers) {
        pid_t fresh = Spawn(fd);
        if (fresh <= 0) break;
        pool.insert(fresh);
      }
  }
  if (argv[1][0] == '/') unlink(argv[1]);
  return 0;
}
