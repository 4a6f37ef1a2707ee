// kod-runner: executes queued workflow runs (README "How the pieces fit"; docs/api.md#workflow-runs, docs/workflows.md).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/crypto/secret_box.h"
#include "lib/service/env.h"
#include "lib/service/secrets.h"
#include "runner/daemon.h"
#include "runner/executor.h"

int main(int argc, char** argv) {
  kod::log::SetProgram("kod-runner");
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("usage: kod-runner [--config PATH]   (default $KOD_CONFIG, else /etc/kod/kod.ini)\n");
      return 0;
    }
  bool explicit_path = false;
  std::string path = kod::ConfigPath(argc, argv, &explicit_path);
  auto config = kod::LoadConfig(path, explicit_path, kod::ExecutableDir());
  if (!config.ok()) {
    std::fprintf(stderr, "kod-runner: %s\n", config.status().message.c_str());
    return 2;
  }
  kod::log::SetLevel(config->log_level);
  kod::runner::BecomeSubreaper();
  if (config->step_uid_base > 0) {
    const int last = config->step_uid_base + config->runner_concurrency - 1;
    if (!kod::runner::CanRunAs(config->step_uid_base, config->step_uid_base) || !kod::runner::CanRunAs(last, last)) {
      std::fprintf(stderr,
                   "kod-runner: runner.step_uid_base: cannot run steps as uid %d-%d (needs root or "
                   "CAP_SETUID/CAP_SETGID); set runner.step_uid_base = 0 to run them as the runner's own user\n",
                   config->step_uid_base, last);
      return 2;
    }
  }

  std::shared_ptr<kod::crypto::SecretKey> key;
  {
    // This connection is only for start-up: the daemon's threads open their own.
    kod::service::OwnedEnv start(*config, nullptr);
    if (kod::Status s = kod::service::PrepareDatabase(start.env(), 30); !s.ok()) {
      std::fprintf(stderr, "kod-runner: %s\n", s.message.c_str());
      return 1;
    }
    auto loaded = kod::service::LoadSecretKey(start.env());
    if (!loaded.ok()) {
      std::fprintf(stderr, "kod-runner: %s\n", loaded.status().message.c_str());
      return 1;
    }
    key = *loaded;
  }
  // Only the derived key is kept; the passphrase never reaches a step (docs/workflows.md).
  std::fill(config->encryption_key.begin(), config->encryption_key.end(), '\0');
  config->encryption_key.clear();
  return kod::runner::RunDaemon(*config, key.get());
}
