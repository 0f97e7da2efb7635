// A container's output as the engine's logs endpoint sends it: without a TTY, each piece
// framed by stream (stdout or stderr) and length. Pure.
#pragma once

#include <string>
#include <string_view>

namespace gpupool::docker_api {

// The pieces' text, in order, stdout and stderr interleaved as they were written; a stream
// with no frames (a container with a TTY) as it is. A frame cut short keeps what arrived.
std::string demultiplexed_log(std::string_view raw);

}  // namespace gpupool::docker_api
