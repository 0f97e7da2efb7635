#include "app/webhook_post.hpp"

#include <chrono>

#include "net/http_client.hpp"
#include "net/webhook_target.hpp"

namespace gpupool::app {

services::WebhookPost make_webhook_post(std::vector<Ipv4Block> allowed) {
  return [allowed = std::move(allowed)](const std::string& url, const services::Headers& headers,
                                        const std::string& body) -> Result<int> {
    using namespace std::chrono_literals;
    auto target = net::parse_webhook_url(url);
    if (!target) return target.error();
    auto addresses = net::resolve_webhook_host(target->host, allowed);
    if (!addresses) return addresses.error();
    net::HttpEndpoint endpoint;
    endpoint.port = target->port;
    endpoint.tls = target->tls;
    endpoint.host = target->tls ? target->host : ipv4_to_string(addresses->front());
    net::HttpRequest request{"POST", target->target, body, headers};
    if (!target->tls) {
      bool default_port = target->port == 80;
      request.headers.emplace_back(
          "Host", default_port ? target->host : target->host + ":" + std::to_string(target->port));
    }
    auto response = net::http_call(endpoint, request, 10s);
    if (!response) return response.error();
    return response->status;
  };
}

std::function<Status(const std::string& url)> make_webhook_check(std::vector<Ipv4Block> allowed) {
  return [allowed = std::move(allowed)](const std::string& url) -> Status {
    auto target = net::parse_webhook_url(url);
    if (!target) return target.error();
    auto addresses = net::resolve_webhook_host(target->host, allowed);
    if (addresses) return {};
    Error error = addresses.error();
    if (error.code == ErrorCode::unavailable) error.code = ErrorCode::invalid_argument;
    return error;
  };
}

}  // namespace gpupool::app
