// Typed reads of JSON body fields: a field of the wrong JSON type is a 400 naming the field
// (docs/api.md#conventions); unknown fields are ignored.
#pragma once

#include <json/json.h>

#include <optional>
#include <string>
#include <vector>

#include "lib/core/status.h"

namespace kod::fcgi {

/// 400 unless `body` is a JSON object.
Status RequireObject(const Json::Value& body);
/// `key` as a string: nullopt when absent; 400 "<key> must be a string" for another type (null too).
Result<std::optional<std::string>> StringField(const Json::Value& body, const char* key);
/// `key` as an integer (JSON integer type only: 1.5, "30", true, null are 400).
Result<std::optional<int64_t>> IntegerField(const Json::Value& body, const char* key);
/// `key` as an array of strings.
Result<std::optional<std::vector<std::string>>> StringArrayField(const Json::Value& body, const char* key);

}  // namespace kod::fcgi
