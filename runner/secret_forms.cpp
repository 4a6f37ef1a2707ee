// The byte strings that step-output masking replaces (see secret_forms.h).
#include "runner/secret_forms.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <string_view>

#include "lib/core/limits.h"
#include "lib/core/utf8.h"
#include "lib/crypto/digest.h"

namespace kod::runner {
namespace {

constexpr char kHexLower[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string Hex(std::string_view v, const char* digits) {
  std::string out;
  out.reserve(v.size() * 2);
  for (unsigned char c : v) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string Percent(std::string_view v, const char* digits) {
  std::string out;
  for (unsigned char c : v) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 15];
    }
  }
  return out;
}

void AppendU(std::string& out, unsigned cp) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\u%04x", cp);
  out += buf;
}

// A JSON string's contents for `v`; `ascii`: every code point above 0x7F as \uXXXX (v is valid
// UTF-8 then).
std::string JsonEscape(std::string_view v, bool ascii) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    auto c = static_cast<unsigned char>(v[i]);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (c < 0x20) {
      AppendU(out, c);
    } else if (c < 0x80 || !ascii) {
      out += static_cast<char>(c);
    } else {
      const int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      unsigned cp = c & (0x7F >> n);
      for (int k = 1; k < n && i + 1 < v.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(v[++i]) & 0x3F);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        AppendU(out, 0xD800 + (cp >> 10));
        AppendU(out, 0xDC00 + (cp & 0x3FF));
      } else {
        AppendU(out, cp);
      }
    }
  }
  return out;
}

std::string UrlSafe(std::string s) {
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

std::string Unpadded(std::string s) {
  while (!s.empty() && s.back() == '=') s.pop_back();
  return s;
}

void AddBase64(std::string_view v, std::vector<std::string>& out) {
  std::vector<std::string> std_forms;
  const std::string whole = crypto::Base64Encode(v);
  std_forms.push_back(whole);
  std_forms.push_back(Unpadded(whole));
  for (size_t align = 0; align < 3; ++align) {
    // The value starts `align` bytes into a group: its first whole group begins (3-align)%3 in.
    const size_t skip = (3 - align) % 3;
    if (v.size() <= skip) continue;
    const size_t whole_groups = (v.size() - skip) / 3 * 3;
    if (whole_groups == 0) continue;
    std_forms.push_back(crypto::Base64Encode(v.substr(skip, whole_groups)));
  }
  for (const std::string& f : std_forms) {
    out.push_back(f);
    out.push_back(UrlSafe(f));
  }
}

void AddForms(std::string_view v, std::vector<std::string>& out) {
  out.emplace_back(v);
  out.push_back(JsonEscape(v, false));
  if (utf8::IsValid(v)) out.push_back(JsonEscape(v, true));
  out.push_back(Percent(v, kHexUpper));
  out.push_back(Percent(v, kHexLower));
  out.push_back(Hex(v, kHexLower));
  out.push_back(Hex(v, kHexUpper));
  AddBase64(v, out);
}

bool Blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; });
}

}  // namespace

std::vector<std::string> MaskPatterns(const std::vector<std::string>& values) {
  std::vector<std::string> all;
  for (const std::string& s : values) {
    if (s.size() < limits::kMinMaskedSecretBytes) continue;
    AddForms(s, all);
    if (s.find('\n') == std::string::npos) continue;
    size_t begin = 0;
    while (begin <= s.size()) {
      size_t end = s.find('\n', begin);
      if (end == std::string::npos) end = s.size();
      std::string_view line = std::string_view(s).substr(begin, end - begin);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() >= limits::kMinMaskedSecretBytes && !Blank(line)) AddForms(line, all);
      begin = end + 1;
    }
  }
  std::vector<std::string> out;
  std::set<std::string_view> seen;
  for (const std::string& p : all)
    if (!p.empty() && seen.insert(p).second) out.push_back(p);
  return out;
}

}  // namespace kod::runner
