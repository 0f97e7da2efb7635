// The CLI's client commands, thin over the REST API. Each returns a process exit code and
// writes readable output to stdout, errors to stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.hpp"

namespace gpupool::cli {

struct RunOptions {
  int gpus = 1;
  std::string image;
  std::string gpu_model;
  std::optional<double> gpu_memory_gb;  // a share of one GPU instead of whole GPUs
  std::optional<double> cpus;
  std::optional<double> memory_gb;
  std::optional<double> max_hours;
  bool preemptible = false;
  bool wait = true;
  int wait_seconds = 300;
};

int login(const std::string& url, std::string username, bool password_from_stdin);
int run(const RunOptions& options);
// `quiet`: only the ids of sessions not ended, one a line (for shell completion).
int list(bool everyone, bool quiet);
int stop(const std::string& id);
// The session's changes of state with their reasons, and what its container printed last
// when it failed.
int logs(const std::string& id);
// Prints the session's Jupyter link (through the gateway) and opens it in a desktop browser
// ($BROWSER, or xdg-open under X11/Wayland).
int open(const std::string& id, bool vscode);
int pool();

// The session's `links` ("ssh" or "jupyter"), which only running sessions have.
Result<nlohmann::json> running_session_links(const std::string& id, const std::string& links);

}  // namespace gpupool::cli
