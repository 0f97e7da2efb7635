// The NVIDIA container toolkit's version, checked before a node with real GPUs takes
// sessions: versions with known container escapes are refused. Pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace gpupool::agent {

struct ToolkitVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
};

// The first "X.Y.Z" in what `nvidia-ctk --version` or `nvidia-container-cli --version`
// printed; an error when there is none.
Result<ToolkitVersion> parse_toolkit_version(std::string_view output);

// The published advisories that let a container escape to the host in this version; empty
// when none is known.
std::vector<std::string> toolkit_advisories(const ToolkitVersion& version);

// Ok for a version without known escapes; otherwise an error naming the advisories and the
// version to upgrade to.
Status check_toolkit_version(const ToolkitVersion& version);

}  // namespace gpupool::agent
