#include "fcgi/http.h"

#include "lib/core/utf8.h"

#include <cstdlib>
#include <memory>
#include <sstream>

namespace kod::fcgi {

int HttpStatusFor(Code code) {
  switch (code) {
    case Code::Ok: return 200;
    case Code::InvalidArgument: return 400;
    case Code::Unauthenticated: return 401;
    case Code::PermissionDenied: return 403;
    case Code::NotFound: return 404;
    case Code::MethodNotAllowed: return 405;
    case Code::Conflict: return 409;
    case Code::PayloadTooLarge: return 413;
    case Code::Unavailable: return 503;
    case Code::Internal: return 500;
  }
  return 500;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string WithoutBasePath(const std::string& path, const std::string& base) {
  if (base.empty()) return path;
  if (path.compare(0, base.size(), base) != 0) return "";
  if (path.size() == base.size()) return "/";
  if (path[base.size()] != '/') return "";
  return path.substr(base.size());
}

Request::Request(FCGX_Request* raw, service::Env& env) : raw_(raw), env_(env) {
  method_ = Param("REQUEST_METHOD");
  std::string uri = Param("REQUEST_URI");
  if (uri.empty()) uri = Param("DOCUMENT_URI");
  size_t q = uri.find('?');
  path_ = WithoutBasePath(uri.substr(0, q), env.config.base_path);
  query_ = q == std::string::npos ? Param("QUERY_STRING") : uri.substr(q + 1);
}

std::string Request::Param(const char* name) const {
  const char* v = FCGX_GetParam(name, raw_->envp);
  return v ? v : "";
}

std::optional<std::string> Request::QueryValue(const std::string& key) const {
  size_t pos = 0;
  while (pos <= query_.size()) {
    size_t amp = query_.find('&', pos);
    std::string part = query_.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = part.find('=');
    if (part.substr(0, eq) == key) {
      auto v = PercentDecode(eq == std::string::npos ? "" : part.substr(eq + 1));
      return v ? *v : std::string();
    }
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}

const std::string& Request::Arg(const std::string& key) const {
  static const std::string kEmpty;
  auto it = args_.find(key);
  return it == args_.end() ? kEmpty : it->second;
}

Result<std::string> Request::Body() {
  if (body_) return *body_;
  std::string len = Param("CONTENT_LENGTH");
  if (!len.empty()) {
    char* end = nullptr;
    unsigned long long n = std::strtoull(len.c_str(), &end, 10);
    if (*end != '\0') return InvalidArgument("Invalid Content-Length");
    if (n > kMaxApiBody) return Status{Code::PayloadTooLarge, "Request body too large (limit 1 MiB)"};
  }
  std::string body;
  char buf[16384];
  while (true) {
    int n = FCGX_GetStr(buf, sizeof buf, raw_->in);
    if (n <= 0) break;
    body.append(buf, static_cast<size_t>(n));
    if (body.size() > kMaxApiBody) return Status{Code::PayloadTooLarge, "Request body too large (limit 1 MiB)"};
  }
  body_ = std::move(body);
  return *body_;
}

namespace {

// Every string in `v` (keys too) is well-formed UTF-8: jsoncpp turns an unpaired \uD800 escape
// into bytes that the database would refuse.
bool StringsAreUtf8(const Json::Value& v) {
  if (v.isString()) return utf8::IsValid(v.asString());
  if (v.isArray())
    for (const auto& item : v)
      if (!StringsAreUtf8(item)) return false;
  if (v.isObject())
    for (const auto& key : v.getMemberNames())
      if (!utf8::IsValid(key) || !StringsAreUtf8(v[key])) return false;
  return true;
}

}  // namespace

Result<Json::Value> Request::JsonBody() {
  auto body = Body();
  if (!body.ok()) return body.status();
  if (body->find_first_not_of(" \t\r\n") == std::string::npos) return Json::Value(Json::objectValue);
  // RFC 8259: UTF-8 text, control characters only as escapes (jsoncpp accepts both).
  if (!utf8::IsValid(*body)) return InvalidArgument("Invalid JSON body");
  for (unsigned char c : *body)
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return InvalidArgument("Invalid JSON body");
  Json::CharReaderBuilder b;
  Json::CharReaderBuilder::strictMode(&b.settings_);
  b["strictRoot"] = false;
  b["stackLimit"] = 100;
  std::unique_ptr<Json::CharReader> reader(b.newCharReader());
  Json::Value v;
  std::string errs;
  try {
    if (!reader->parse(body->data(), body->data() + body->size(), &v, &errs)) return InvalidArgument("Invalid JSON body");
  } catch (const Json::Exception&) {  // e.g. nesting deeper than stackLimit throws instead of failing
    return InvalidArgument("Invalid JSON body");
  }
  if (!StringsAreUtf8(v)) return InvalidArgument("Invalid JSON body");
  return v;
}

void Response::Json(int code, const Json::Value& value) {
  status = code;
  // One writer per process (workers are single-threaded): building it per response was a
  // measurable share of list requests (bench/api).
  static const std::unique_ptr<Json::StreamWriter> writer = [] {
    Json::StreamWriterBuilder b;
    b["indentation"] = "";
    b["emitUTF8"] = true;
    return std::unique_ptr<Json::StreamWriter>(b.newStreamWriter());
  }();
  std::ostringstream out;
  writer->write(value, &out);
  body = std::move(out).str();
  headers.emplace_back("Content-Type", "application/json");
}

void Response::RawJson(int code, std::string json) {
  status = code;
  body = std::move(json);
  headers.emplace_back("Content-Type", "application/json");
}

void Response::Empty(int code) {
  status = code;
  body.clear();
}

void Response::Error(const Status& s) {
  Json::Value v(Json::objectValue);
  v["error"] = utf8::Sanitize(s.message);  // messages may quote user bytes (e.g. a workflow file)
  Json(HttpStatusFor(s.code), v);
  if (s.code == Code::Unauthenticated) headers.emplace_back("WWW-Authenticate", "Basic realm=\"Kod\"");
}

bool WriteResponse(FCGX_Stream* out, const Response& rs) {
  std::string head = "Status: " + std::to_string(rs.status) + " " + ReasonPhrase(rs.status) + "\r\n";
  head += "Access-Control-Allow-Origin: *\r\n";
  for (const auto& [k, v] : rs.headers) head += k + ": " + v + "\r\n";
  if (rs.status != 204) head += "Content-Length: " + std::to_string(rs.body.size()) + "\r\n";
  head += "\r\n";
  if (FCGX_PutStr(head.data(), static_cast<int>(head.size()), out) < 0) return false;
  // No flush here: FCGX_Finish_r sends the buffered output and the end record in one write.
  return rs.body.empty() || rs.head || FCGX_PutStr(rs.body.data(), static_cast<int>(rs.body.size()), out) >= 0;
}

}  // namespace kod::fcgi
