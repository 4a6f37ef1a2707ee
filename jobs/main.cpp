// kod-jobs: Kod's background daemon (docs/jobs.md): webhook deliveries, imports and repository
// maintenance, claimed from the database exactly once, never run in an API worker.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "jobs/daemon.h"
#include "lib/core/config.h"
#include "lib/core/log.h"
#include "lib/crypto/secret_box.h"
#include "lib/service/env.h"
#include "lib/service/secrets.h"

namespace {
constexpr int kStartupWaitS = 30;  // how long to wait for the database at start
}  // namespace

int main(int argc, char** argv) {
  kod::log::SetProgram("kod-jobs");
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("usage: kod-jobs [--config PATH]   (default $KOD_CONFIG, else /etc/kod/kod.ini)\n");
      return 0;
    }
  bool explicit_path = false;
  std::string path = kod::ConfigPath(argc, argv, &explicit_path);
  auto config = kod::LoadConfig(path, explicit_path, kod::ExecutableDir());
  if (!config.ok()) {
    std::fprintf(stderr, "kod-jobs: %s\n", config.status().message.c_str());
    return 2;
  }
  kod::log::SetLevel(config->log_level);
  std::shared_ptr<kod::crypto::SecretKey> key;
  {
    kod::service::OwnedEnv start(*config, nullptr);
    if (kod::Status s = kod::service::PrepareDatabase(start.env(), kStartupWaitS); !s.ok()) {
      std::fprintf(stderr, "kod-jobs: %s\n", s.message.c_str());
      return 1;
    }
    auto loaded = kod::service::LoadSecretKey(start.env());
    if (!loaded.ok()) {
      std::fprintf(stderr, "kod-jobs: %s\n", loaded.status().message.c_str());
      return 1;
    }
    key = *loaded;
  }
  std::fill(config->encryption_key.begin(), config->encryption_key.end(), '\0');
  config->encryption_key.clear();
  return kod::jobs::RunDaemon(*config, key.get());
}
