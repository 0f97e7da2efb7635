// A user's own images from the command line: `gpupool save-image SESSION NAME [--wait]` saves
// a running session as "<user>/<name>", `gpupool my-images` lists them (and saves under way or
// failed), `gpupool my-images rm NAME` removes one. Each returns the exit code.
#pragma once

#include <string>

namespace gpupool::cli {

int save_image(const std::string& session_id, const std::string& name, bool wait);
int my_images();
int remove_my_image(const std::string& name);

}  // namespace gpupool::cli
