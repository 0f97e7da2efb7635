// The CLI's metering commands: prices, the caller's usage, and (admins) setting a price.
// Thin over the REST API; each returns a process exit code.
#pragma once

#include <string>

namespace gpupool::cli {

int prices();
int usage(bool everyone);  // everyone: all users' sessions (admins)
int set_price(const std::string& gpu_model, double credits_per_gpu_hour);

}  // namespace gpupool::cli
