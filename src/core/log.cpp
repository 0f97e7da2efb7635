#include "core/log.hpp"

namespace gpupool {

void configure_logging(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  spdlog::set_level(parsed == spdlog::level::off ? spdlog::level::info : parsed);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
}

}  // namespace gpupool
