#include "cli/usage_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"
#include "core/random.hpp"

namespace gpupool::cli {

int prices() {
  auto result = call("GET", "/api/v1/prices");
  if (!result) return 1;
  if ((*result)["prices"].empty()) std::cout << "every GPU is free of charge\n";
  for (const auto& price : (*result)["prices"]) {
    std::cout << fmt::format("{:<20} {:>10.4f} credits per GPU-hour\n",
                             price["gpu_model"].get<std::string>(),
                             price["per_gpu_hour"].get<double>());
  }
  return 0;
}

int usage(bool everyone) {
  auto result = call("GET", everyone ? "/api/v1/usage?all=true" : "/api/v1/usage");
  if (!result) return 1;
  std::cout << fmt::format("{:<15} {:<12} {:<10} {:>6} {:<16} {:>10} {:>10} {:>12}\n", "SESSION",
                           "USER", "STATE", "GPUS", "MODEL", "SECONDS", "RATE/H", "COST");
  for (const auto& line : (*result)["sessions"]) {
    std::cout << fmt::format("{:<15} {:<12} {:<10} {:>6g} {:<16} {:>10} {:>10.4f} {:>12.4f}\n",
                             line["id"].get<std::string>(), line["user"].get<std::string>(),
                             line["state"].get<std::string>(), line["gpus"].get<double>(),
                             line["gpu_model"].get<std::string>(),
                             line["billed_seconds"].get<std::int64_t>(),
                             line["hourly_rate"].get<double>(), line["cost"].get<double>());
  }
  for (const auto& model : (*result)["by_model"]) {
    std::cout << fmt::format("{}: {:.3f} GPU-hours, {:.4f} credits\n",
                             model["gpu_model"].get<std::string>(),
                             model["gpu_hours"].get<double>(), model["cost"].get<double>());
  }
  std::cout << fmt::format("total: {:.4f} credits\n", (*result)["total_cost"].get<double>());
  return 0;
}

int balance() {
  auto result = call("GET", "/api/v1/balance");
  if (!result) return 1;
  std::cout << fmt::format("balance: {:.4f} credits ({:.4f} used by running sessions so far){}\n",
                           (*result)["balance"].get<double>(),
                           (*result)["running_cost"].get<double>(),
                           (*result)["prepaid"].get<bool>() ? "" : "  (postpaid)");
  for (const auto& entry : (*result)["entries"]) {
    std::string what = entry["session"].is_null() ? entry["note"].get<std::string>()
                                                  : entry["session"].get<std::string>();
    std::cout << fmt::format("{:<26} {:<10} {:>12.4f}  {}\n", entry["at"].get<std::string>(),
                             entry["kind"].get<std::string>(), entry["amount"].get<double>(), what);
  }
  return 0;
}

int top_up(const std::string& user, double credits, std::string key) {
  if (key.empty()) key = random_hex(16);
  auto result = call("POST", "/api/v1/users/" + user + "/balance",
                     {{"amount", credits}, {"idempotency_key", key}});
  if (!result) return 1;
  std::cout << fmt::format("{}: {:+.4f} credits (key {}); balance now {:.4f}\n", user,
                           (*result)["amount"].get<double>(), key,
                           (*result)["balance"].get<double>());
  return 0;
}

int set_price(const std::string& gpu_model, double credits_per_gpu_hour) {
  auto result =
      call("PUT", "/api/v1/prices/" + gpu_model, {{"per_gpu_hour", credits_per_gpu_hour}});
  if (!result) return 1;
  std::cout << fmt::format(
      "{}: {:.4f} credits per GPU-hour from now on (sessions already placed "
      "keep their rate)\n",
      gpu_model, (*result)["per_gpu_hour"].get<double>());
  return 0;
}

}  // namespace gpupool::cli
