// Paths under /s/: which session a proxied request is for, read strictly, so that the path
// the gateway authorizes is the path Jupyter serves. Pure.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::server {

struct SessionPath {
  std::string session_id;
  bool bare = false;  // "/s/<id>" without the trailing slash Jupyter's base URL has
};

// Accepts /s/<id> and /s/<id>/…; refuses (invalid_argument) anything a decoder could read
// differently: dot segments, empty segments, backslashes, encoded '/', '\', '.', '%' (double
// encoding) or NUL, and ids that are not 1–32 lower-case letters and digits.
Result<SessionPath> parse_session_path(std::string_view path);

}  // namespace gpupool::server
