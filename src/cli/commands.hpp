// The CLI's client commands, thin over the REST API. Each returns a process exit code and
// writes readable output to stdout, errors to stderr.
#pragma once

#include <optional>
#include <string>
#include <vector>

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
int list(bool everyone);
int stop(const std::string& id);
int ssh(const std::string& id, const std::vector<std::string>& extra);
// Prints the session's Jupyter link (through the gateway) and opens it in a desktop browser
// ($BROWSER, or xdg-open under X11/Wayland).
int open(const std::string& id);
int pool();

}  // namespace gpupool::cli
