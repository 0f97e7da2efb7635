// The CLI's metering commands: prices, the caller's usage and balance, and (admins) setting a
// price and topping up a balance.
// Thin over the REST API; each returns a process exit code.
#pragma once

#include <string>

namespace gpupool::cli {

int prices();
int usage(bool everyone);  // everyone: all users' sessions (admins)
int balance();
int set_price(const std::string& gpu_model, double credits_per_gpu_hour);
// `key`: the idempotency key (a retry with the same key tops up once); empty: a fresh one.
int top_up(const std::string& user, double credits, std::string key);

}  // namespace gpupool::cli
