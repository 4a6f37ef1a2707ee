// Logging to stderr: one line per event, with level and process id. Never pass secret values here.
#pragma once

#include <string>
#include <string_view>

namespace kod::log {

enum class Level { Debug = 0, Info = 1, Warn = 2, Error = 3 };

/// Sets the minimum level printed; `name` is "debug", "info", "warn" or "error".
/// Returns false for an unknown name (the level is then unchanged).
bool SetLevel(std::string_view name);

/// Sets the program name printed at the start of every line (e.g. "kod-fcgi").
void SetProgram(std::string_view program);

void Write(Level level, std::string_view message);
inline void Debug(std::string_view m) { Write(Level::Debug, m); }
inline void Info(std::string_view m) { Write(Level::Info, m); }
inline void Warn(std::string_view m) { Write(Level::Warn, m); }
inline void Error(std::string_view m) { Write(Level::Error, m); }

}  // namespace kod::log
