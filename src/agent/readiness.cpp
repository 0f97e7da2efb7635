#include "agent/readiness.hpp"

#include <chrono>

#include <fmt/format.h>

#include "net/http_client.hpp"

namespace gpupool::agent {

bool HttpReadinessCheck::jupyter_answers(const DesiredSession& session) {
  using namespace std::chrono_literals;
  net::HttpEndpoint endpoint;
  endpoint.host = host_;
  endpoint.port = static_cast<std::uint16_t>(session.jupyter_port);
  net::HttpRequest request{"GET", fmt::format("/s/{}/api", session.session_id), "", {}};
  auto response = net::http_call(endpoint, request, 2s);
  return response && response->status == 200;
}

}  // namespace gpupool::agent
