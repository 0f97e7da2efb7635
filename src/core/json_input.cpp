#include "core/json_input.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include <fmt/format.h>

namespace gpupool {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

const Json* find_member(const Json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

Result<Json> parse_json_object(std::string_view text) {
  bool too_deep = false;
  auto limit_depth = [&too_deep](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxJsonDepth) too_deep = true;
    return !too_deep;
  };
  Json parsed = Json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/false);
  if (too_deep) return invalid(fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  if (parsed.is_discarded()) return invalid("body is not valid JSON (or not valid UTF-8)");
  if (!parsed.is_object()) return invalid("body must be a JSON object");
  return parsed;
}

std::string utf8_tail(std::string_view bytes, std::size_t limit) {
  std::string text =
      Json::parse(Json(std::string(bytes)).dump(-1, ' ', false, Json::error_handler_t::replace))
          .get<std::string>();
  if (text.size() <= limit) return text;
  std::size_t start = text.size() - limit;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

Status reject_unknown_fields(const Json& object, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid(fmt::format(
          "unknown field {}",
          Json(key.substr(0, 64)).dump(-1, ' ', false, Json::error_handler_t::replace)));
    }
  }
  return {};
}

Result<std::optional<std::string>> optional_string(const Json& object, std::string_view key,
                                                   std::size_t max_length) {
  const Json* member = find_member(object, key);
  if (member == nullptr) return std::optional<std::string>{};
  if (!member->is_string()) return invalid(fmt::format("\"{}\" must be a string", key));
  const auto& text = member->get_ref<const std::string&>();
  if (text.size() > max_length) {
    return invalid(fmt::format("\"{}\" is longer than {} characters", key, max_length));
  }
  return std::optional<std::string>{text};
}

Result<std::string> required_string(const Json& object, std::string_view key,
                                    std::size_t max_length) {
  auto text = optional_string(object, key, max_length);
  if (!text) return text.error();
  if (!text->has_value()) return invalid(fmt::format("\"{}\" is required", key));
  return std::move(**text);
}

Result<std::optional<std::int64_t>> optional_integer(const Json& object, std::string_view key,
                                                     std::int64_t min, std::int64_t max) {
  const Json* member = find_member(object, key);
  if (member == nullptr) return std::optional<std::int64_t>{};
  if (!member->is_number_integer()) {
    return invalid(fmt::format("\"{}\" must be a whole number", key));
  }
  // Non-negative numbers parse as unsigned and may exceed int64: compare them as unsigned.
  bool out_of_range = false;
  if (member->is_number_unsigned()) {
    auto value = member->get<std::uint64_t>();
    out_of_range = value > static_cast<std::uint64_t>(max) ||
                   (min > 0 && value < static_cast<std::uint64_t>(min));
  } else {
    auto value = member->get<std::int64_t>();
    out_of_range = value < min || value > max;
  }
  if (out_of_range) return invalid(fmt::format("\"{}\" must be between {} and {}", key, min, max));
  return std::optional<std::int64_t>{member->get<std::int64_t>()};
}

Result<std::optional<double>> optional_number(const Json& object, std::string_view key, double min,
                                              double max) {
  const Json* member = find_member(object, key);
  if (member == nullptr) return std::optional<double>{};
  if (!member->is_number()) return invalid(fmt::format("\"{}\" must be a number", key));
  double value = member->get<double>();
  if (!std::isfinite(value) || value < min || value > max) {
    return invalid(fmt::format("\"{}\" must be between {} and {}", key, min, max));
  }
  return std::optional<double>{value};
}

std::string string_member(const Json& object, std::string_view key, std::string fallback) {
  const Json* member = find_member(object, key);
  return member != nullptr && member->is_string() ? member->get<std::string>()
                                                  : std::move(fallback);
}

Result<std::optional<bool>> optional_bool(const Json& object, std::string_view key) {
  const Json* member = find_member(object, key);
  if (member == nullptr) return std::optional<bool>{};
  if (!member->is_boolean()) return invalid(fmt::format("\"{}\" must be true or false", key));
  return std::optional<bool>{member->get<bool>()};
}

Result<std::vector<std::string>> required_string_array(const Json& object, std::string_view key,
                                                       std::size_t max_items,
                                                       std::size_t max_length) {
  const Json* member = find_member(object, key);
  if (member == nullptr || !member->is_array()) {
    return invalid(fmt::format("\"{}\" must be an array of strings", key));
  }
  if (member->size() > max_items) {
    return invalid(fmt::format("\"{}\" has more than {} items", key, max_items));
  }
  std::vector<std::string> items;
  for (const auto& item : *member) {
    if (!item.is_string()) return invalid(fmt::format("\"{}\" must be an array of strings", key));
    const auto& text = item.get_ref<const std::string&>();
    if (text.size() > max_length) {
      return invalid(
          fmt::format("an item of \"{}\" is longer than {} characters", key, max_length));
    }
    items.push_back(text);
  }
  return items;
}

}  // namespace gpupool
