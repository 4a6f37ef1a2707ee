#include "lib/core/names.h"

#include "lib/core/limits.h"

namespace kod::names {
namespace {
bool Alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
}  // namespace

bool IsValidRepoName(std::string_view n) {
  if (n.empty() || n.size() > limits::kRepoNameMaxLength) return false;
  if (!(Alnum(n[0]) || n[0] == '_')) return false;
  for (char c : n)
    if (!(Alnum(c) || c == '_' || c == '-')) return false;
  return true;
}

bool IsReservedRepoName(std::string_view n) { return n == "import"; }

bool IsValidUsername(std::string_view n) {
  if (n.empty() || n.size() > limits::kUsernameMaxLength) return false;
  for (char c : n)
    if (!(Alnum(c) || c == '_' || c == '-')) return false;
  return true;
}

bool IsValidSecretName(std::string_view n) {
  if (n.empty() || n.size() > limits::kSecretNameMaxLength) return false;
  if (n[0] >= '0' && n[0] <= '9') return false;
  for (char c : n)
    if (!(Alnum(c) || c == '_')) return false;
  return true;
}

bool IsReservedSecretName(std::string_view n) {
  if (n.size() < 4) return false;
  auto up = [](char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; };
  return up(n[0]) == 'K' && up(n[1]) == 'O' && up(n[2]) == 'D' && n[3] == '_';
}

bool IsValidId(std::string_view id) {
  if (id.size() != 12) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

bool IsValidBranchName(std::string_view n) {
  if (n.empty() || n.size() > 255 || n[0] == '-' || n[0] == '/' || n.back() == '/' || n.back() == '.') return false;
  if (n.find("..") != std::string_view::npos || n.find("//") != std::string_view::npos ||
      n.find("@{") != std::string_view::npos || n.find("/.") != std::string_view::npos || n[0] == '.')
    return false;
  if (n.size() >= 5 && n.substr(n.size() - 5) == ".lock") return false;
  for (unsigned char c : n)
    if (c < 0x20 || c == 0x7f || c == ' ' || c == '~' || c == '^' || c == ':' || c == '?' || c == '*' ||
        c == '[' || c == '\\')
      return false;
  return true;
}

}  // namespace kod::names
