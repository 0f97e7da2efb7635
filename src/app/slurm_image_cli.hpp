// `gpupool slurm-image TAG=REFERENCE --slurm-images DIR`: a catalog image unpacked as the root
// filesystem Slurm jobs run sessions from (DIR/TAG), with skopeo (from a registry, or from this
// host's Docker engine for a local name) and umoci. Kept apart from main.cpp, as
// image_cli.hpp is.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace gpupool::app {

class SlurmImageCli {
 public:
  explicit SlurmImageCli(CLI::App& app);

  // After parsing: the exit code of the chosen command, or nullopt when none was.
  std::optional<int> run() const;

 private:
  CLI::App* command_ = nullptr;
  std::string image_;
  std::string images_dir_ = "/var/lib/gpupool/rootfs";
  std::string registry_auth_;
  std::vector<std::string> insecure_registries_;
};

}  // namespace gpupool::app
