// The catalog part of the command line: `gpupool images`, `gpupool admin image-add|image-set|
// image-check` and `gpupool admin rollout-ls|rollout-set|rollout-promote|rollout-halt`. Kept
// apart from main.cpp, as notify_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace gpupool::app {

class ImageCli {
 public:
  ImageCli(CLI::App& app, CLI::App& admin);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* list_ = nullptr;
  CLI::App* save_ = nullptr;
  CLI::App* mine_ = nullptr;
  CLI::App* mine_remove_ = nullptr;
  std::string session_id_;
  std::string name_;
  bool wait_ = false;
  CLI::App* add_ = nullptr;
  CLI::App* set_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::App* rollout_list_ = nullptr;
  CLI::App* rollout_set_ = nullptr;
  CLI::App* rollout_promote_ = nullptr;
  CLI::App* rollout_halt_ = nullptr;
  std::string family_;
  std::string stable_;
  std::string canary_;
  int percent_ = 0;
  std::vector<std::string> groups_;
  int promote_after_ = 0;
  int halt_failures_ = 0;
  double halt_slowdown_ = 0;
  // Which of rollout-set's options were given: only those change.
  CLI::Option* stable_option_ = nullptr;
  CLI::Option* canary_option_ = nullptr;
  CLI::Option* percent_option_ = nullptr;
  CLI::Option* groups_option_ = nullptr;
  CLI::Option* promote_option_ = nullptr;
  CLI::Option* failures_option_ = nullptr;
  CLI::Option* slowdown_option_ = nullptr;
  CLI::Option* prepull_option_ = nullptr;
  CLI::Option* state_option_ = nullptr;
  std::string reference_;
  std::string tag_;
  std::string state_;
  bool prepull_ = false;
  bool make_default_ = false;
};

}  // namespace gpupool::app
