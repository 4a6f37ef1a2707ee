#include "lib/core/log.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

namespace kod::log {
namespace {
Level g_level = Level::Info;
std::string g_program = "kod";
}  // namespace

bool SetLevel(std::string_view name) {
  if (name == "debug") g_level = Level::Debug;
  else if (name == "info") g_level = Level::Info;
  else if (name == "warn") g_level = Level::Warn;
  else if (name == "error") g_level = Level::Error;
  else return false;
  return true;
}

void SetProgram(std::string_view program) { g_program = program; }

void Write(Level level, std::string_view message) {
  if (level < g_level) return;
  static const char* kNames[] = {"debug", "info", "warn", "error"};
  char stamp[32];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  // One fprintf per line so lines from several processes do not interleave mid-line.
  std::fprintf(stderr, "%s %s[%d] %s: %.*s\n", stamp, g_program.c_str(), static_cast<int>(getpid()),
               kNames[static_cast<int>(level)], static_cast<int>(message.size()), message.data());
}

}  // namespace kod::log
