// The catalog part of the command line: `gpupool images` and `gpupool admin image-add|
// image-set|image-check`. Kept apart from main.cpp, as notify_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

namespace gpupool::app {

class ImageCli {
 public:
  ImageCli(CLI::App& app, CLI::App& admin);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* list_ = nullptr;
  CLI::App* add_ = nullptr;
  CLI::App* set_ = nullptr;
  CLI::App* check_ = nullptr;
  CLI::Option* prepull_option_ = nullptr;
  CLI::Option* state_option_ = nullptr;
  std::string reference_;
  std::string tag_;
  std::string state_;
  bool prepull_ = false;
  bool make_default_ = false;
};

}  // namespace gpupool::app
