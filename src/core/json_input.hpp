// Reading untrusted JSON: parsing with limits and typed field access with clear errors.
//
// Every function here returns an invalid_argument Error naming the offending field, so an API
// handler can pass the Error straight to the client. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace gpupool {

using Json = nlohmann::json;

inline constexpr int kMaxJsonDepth = 32;

// Parses `text` as a JSON object: rejects invalid syntax or UTF-8, nesting deeper than
// kMaxJsonDepth, and anything that is not an object at the top.
Result<Json> parse_json_object(std::string_view text);

// Untrusted bytes (a program's output) made fit for a JSON string: invalid UTF-8 becomes
// U+FFFD, and at most `limit` bytes are kept, from the end, cut between characters.
std::string utf8_tail(std::string_view bytes, std::size_t limit);

// A string member of JSON from a party we do not control (a provider, a cluster, a session's
// own code): `fallback` when `object` is no object or the member is absent or not a string.
// Never throws, where nlohmann's value() does on a member of another type.
std::string string_member(const Json& object, std::string_view key, std::string fallback = {});

// Rejects members not in `known`, so a misspelt field is an error rather than ignored.
Status reject_unknown_fields(const Json& object, std::initializer_list<std::string_view> known);

Result<std::optional<std::string>> optional_string(const Json& object, std::string_view key,
                                                   std::size_t max_length);
Result<std::string> required_string(const Json& object, std::string_view key,
                                    std::size_t max_length);
Result<std::optional<std::int64_t>> optional_integer(const Json& object, std::string_view key,
                                                     std::int64_t min, std::int64_t max);
Result<std::optional<double>> optional_number(const Json& object, std::string_view key, double min,
                                              double max);
Result<std::optional<bool>> optional_bool(const Json& object, std::string_view key);
// The value held, or JSON null for an empty optional (or a null pointer).
Json optional_json(const auto& value) {
  return value ? Json(*value) : Json(nullptr);
}

Result<std::vector<std::string>> required_string_array(const Json& object, std::string_view key,
                                                       std::size_t max_items,
                                                       std::size_t max_length);

}  // namespace gpupool
