#include "fcgi/handlers/fields.h"

namespace kod::fcgi {

Status RequireObject(const Json::Value& body) {
  return body.isObject() ? Status::Ok() : InvalidArgument("Request body must be a JSON object");
}

Result<std::optional<std::string>> StringField(const Json::Value& body, const char* key) {
  if (!body.isMember(key)) return std::optional<std::string>();
  const Json::Value& v = body[key];
  if (!v.isString()) return InvalidArgument(std::string(key) + " must be a string");
  return std::optional<std::string>(v.asString());
}

Result<std::optional<int64_t>> IntegerField(const Json::Value& body, const char* key) {
  if (!body.isMember(key)) return std::optional<int64_t>();
  const Json::Value& v = body[key];
  if (v.type() != Json::intValue && v.type() != Json::uintValue)
    return InvalidArgument(std::string(key) + " must be an integer");
  if (v.type() == Json::uintValue && v.asUInt64() > static_cast<uint64_t>(INT64_MAX))
    return InvalidArgument(std::string(key) + " is out of range");
  return std::optional<int64_t>(v.asInt64());
}

Result<std::optional<std::vector<std::string>>> StringArrayField(const Json::Value& body, const char* key) {
  if (!body.isMember(key)) return std::optional<std::vector<std::string>>();
  const Json::Value& v = body[key];
  if (!v.isArray()) return InvalidArgument(std::string(key) + " must be an array of strings");
  std::vector<std::string> out;
  for (const Json::Value& item : v) {
    if (!item.isString()) return InvalidArgument(std::string(key) + " must be an array of strings");
    out.push_back(item.asString());
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

}  // namespace kod::fcgi
