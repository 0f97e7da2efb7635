// The Prometheus text exposition (format 0.0.4) of GET /metrics: per GPU its readings and
// whether a session holds it, per node whether it is up, and sessions by state. Pure: it
// formats the admins' nodes document (node_handlers.cpp) and counts it is given.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace gpupool::api {

// A label value with backslash, double quote and newline escaped, as the format requires.
std::string prometheus_label(std::string_view value);

std::string prometheus_exposition(const nlohmann::json& nodes_document,
                                  const std::map<std::string, int>& sessions_by_state,
                                  int queue_length);

}  // namespace gpupool::api
