#include "gateway/replies.hpp"

#include "core/log.hpp"

namespace gpupool::gateway {

using nlohmann::json;

int status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::quota_exceeded:
      return 403;
    case ErrorCode::balance_exhausted:
      return 402;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::conflict:
      return 409;
    case ErrorCode::payload_too_large:
      return 413;
    case ErrorCode::rate_limited:
      return 429;
    case ErrorCode::unavailable:
      return 503;
    case ErrorCode::internal:
      return 500;
  }
  return 500;
}

HttpReply json_reply(int status, const json& body) {
  HttpReply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return reply;
}

HttpReply error_reply(const Error& error) {
  if (error.code == ErrorCode::internal || error.code == ErrorCode::unavailable) {
    spdlog::warn("api: {}: {}", error_code_name(error.code), error.message);
  }
  return json_reply(
      status_for(error.code),
      {{"error", {{"code", error_code_name(error.code)}, {"message", error.message}}}});
}

HttpReply error_reply(ErrorCode code, std::string message) {
  return error_reply(make_error(code, std::move(message)));
}

std::string html_escape(std::string_view text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '\'':
        escaped += "&#39;";
        break;
      case '<':
        escaped += "&lt;";
        break;
      case '>':
        escaped += "&gt;";
        break;
      case '&':
        escaped += "&amp;";
        break;
      case '"':
        escaped += "&quot;";
        break;
      default:
        escaped += c;
    }
  }
  return escaped;
}

}  // namespace gpupool::gateway
