#include "catalog/image_tag.hpp"

#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace gpupool::catalog {

namespace {

bool is_version(std::string_view text) {
  if (text.empty() || text.front() == '.' || text.back() == '.') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '.' ? text[i - 1] == '.' : !std::isdigit(static_cast<unsigned char>(text[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// Splits "pytorch2.7" into ("pytorch", "2.7"); empty parts when the shape is wrong.
std::pair<std::string_view, std::string_view> split_name_version(std::string_view part) {
  std::size_t i = 0;
  while (i < part.size() && std::islower(static_cast<unsigned char>(part[i]))) ++i;
  return {part.substr(0, i), part.substr(i)};
}

Error bad_tag(std::string_view tag, std::string_view why) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("image tag \"{}\" is not valid: {}", tag.substr(0, 128), why));
}

}  // namespace

Result<ImageTag> parse_image_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return bad_tag(tag, "must be 1 to 128 characters");
  auto parts = split(tag, '-');
  if (parts.size() < 3)
    return bad_tag(tag, "expected <framework><version>-<cudaX.Y|cpu>-…-<flavor>");

  ImageTag parsed;
  auto [framework, version] = split_name_version(parts.front());
  if (framework.empty() || !is_version(version)) {
    return bad_tag(tag, "must start with a framework and its version, e.g. pytorch2.7");
  }
  parsed.framework = framework;
  parsed.framework_version = version;

  parsed.flavor = parts.back();
  if (parsed.flavor != "runtime" && parsed.flavor != "devel" && parsed.flavor != "base") {
    return bad_tag(tag, "must end with runtime, devel or base");
  }

  bool saw_accelerator = false;
  for (std::size_t i = 1; i + 1 < parts.size(); ++i) {
    auto [name, number] = split_name_version(parts[i]);
    if (name == "cpu" && number.empty() && !saw_accelerator) {
      saw_accelerator = true;
    } else if (name == "cuda" && is_version(number) && !saw_accelerator) {
      parsed.cuda = number;
      saw_accelerator = true;
    } else if (name == "cudnn" && is_version(number) && parsed.cudnn.empty()) {
      parsed.cudnn = number;
    } else if (!name.empty() && is_version(number) && parsed.os.empty()) {
      parsed.os = parts[i];
    } else {
      return bad_tag(tag, fmt::format("unexpected part \"{}\"", parts[i]));
    }
  }
  if (!saw_accelerator) return bad_tag(tag, "must name cudaX.Y or cpu");
  if (!parsed.cudnn.empty() && parsed.cuda.empty())
    return bad_tag(tag, "cudnn needs a cuda version");
  return parsed;
}

int compare_versions(std::string_view left, std::string_view right) {
  auto left_parts = split(left, '.');
  auto right_parts = split(right, '.');
  for (std::size_t i = 0; i < std::max(left_parts.size(), right_parts.size()); ++i) {
    auto number = [](const std::vector<std::string_view>& parts, std::size_t index) {
      long value = 0;
      if (index < parts.size()) {
        std::from_chars(parts[index].data(), parts[index].data() + parts[index].size(), value);
      }
      return value;
    };
    long a = number(left_parts, i);
    long b = number(right_parts, i);
    if (a != b) return a < b ? -1 : 1;
  }
  return 0;
}

bool driver_supports(std::string_view driver_cuda, std::string_view image_cuda) {
  if (image_cuda.empty()) return true;
  if (driver_cuda.empty()) return false;
  return compare_versions(driver_cuda, image_cuda) >= 0;
}

}  // namespace gpupool::catalog
