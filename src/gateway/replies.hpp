// JSON replies for the REST API: the body, and errors as {"error":{"code","message"}} with
// the status that fits the error code; HTML escaping for error pages. Pure.
#pragma once

#include <nlohmann/json.hpp>

#include "core/result.hpp"
#include "gateway/http_server.hpp"

namespace gpupool::gateway {

int status_for(ErrorCode code);
HttpReply json_reply(int status, const nlohmann::json& body);
HttpReply error_reply(const Error& error);
HttpReply error_reply(ErrorCode code, std::string message);

// Text made safe to put into an HTML page (error pages echo what they were given).
std::string html_escape(std::string_view text);

}  // namespace gpupool::gateway
