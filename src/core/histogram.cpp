#include "core/histogram.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace gpupool {

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  auto bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

std::string Histogram::exposition(std::string_view name, std::string_view help) const {
  std::string out = fmt::format("# HELP {0} {1}\n# TYPE {0} histogram\n", name, help);
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    std::string bound = i < bounds_.size() ? fmt::format("{}", bounds_[i]) : "+Inf";
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, bound, cumulative);
  }
  // The count is the +Inf bucket's, as the format requires; a concurrent observe() may be in
  // the sum and not in a bucket yet, which is off by one observation for one scrape.
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, sum_.load(std::memory_order_relaxed), name,
                     cumulative);
  return out;
}

}  // namespace gpupool
