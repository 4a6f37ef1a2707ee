// kod-fcgi: the FastCGI server behind nginx (README "How the pieces fit").
#include <fcgiapp.h>

#include <cstdio>
#include <cstring>

#include "fcgi/server.h"
#include "lib/core/log.h"

int main(int argc, char** argv) {
  kod::log::SetProgram("kod-fcgi");
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::printf("usage: kod-fcgi [--config PATH]   (default $KOD_CONFIG, else /etc/kod/kod.ini)\n");
      return 0;
    }
  bool explicit_path = false;
  std::string path = kod::ConfigPath(argc, argv, &explicit_path);
  auto config = kod::LoadConfig(path, explicit_path, kod::ExecutableDir());
  if (!config.ok()) {
    std::fprintf(stderr, "kod-fcgi: %s\n", config.status().message.c_str());
    return 2;
  }
  kod::log::SetLevel(config->log_level);
  if (FCGX_Init() != 0) {
    std::fprintf(stderr, "kod-fcgi: FCGX_Init failed\n");
    return 1;
  }
  kod::fcgi::WorkerSetup setup;
  if (std::string err = kod::fcgi::PrepareStartup(*config, setup, 30); !err.empty()) {
    std::fprintf(stderr, "kod-fcgi: %s\n", err.c_str());
    return 1;
  }
  std::string error;
  int fd = kod::fcgi::OpenListenSocket(*config, error);
  if (fd < 0) {
    std::fprintf(stderr, "kod-fcgi: %s\n", error.c_str());
    return 1;
  }
  return kod::fcgi::RunMaster(fd, setup, path, explicit_path);
}
