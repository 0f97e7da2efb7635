// Raw bytes as a client sends them, through what the gateway does with a request: the header
// block check, Beast's parser with the gateway's limits, then the API's routing and handlers
// (or the proxy's decision under /s/) on a pool in memory, signed in as a user or an admin
// when the first byte says so. No request may make a handler fail (500) or answer outside
// HTTP's statuses.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "fuzz_input.hpp"
#include "gateway/header_block.hpp"
#include "memory_pool.hpp"

namespace http = boost::beast::http;
using namespace gpupool;
using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& pool = fuzz::memory_pool();
  fuzz::ByteReader input(data, size);
  std::uint8_t who = input.byte();
  std::string_view bytes = input.rest();

  std::size_t header_length = gateway::header_block_length(bytes);
  if (header_length == 0 || gateway::ends_in_fold(bytes.substr(0, header_length))) return 0;
  http::request_parser<http::string_body> parser;
  parser.header_limit(gateway::kMaxRequestHeaders);
  parser.body_limit(gateway::kMaxRequestBody);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec && ec != http::error::need_more) return 0;
  if (!parser.is_header_done()) return 0;

  const auto& request = parser.get();
  gateway::HttpExchange exchange;
  exchange.method = std::string(request.method_string());
  exchange.target = std::string(request.target());
  auto question = exchange.target.find('?');
  exchange.path = exchange.target.substr(0, question);
  if (question != std::string::npos) exchange.query = exchange.target.substr(question + 1);
  for (const auto& field : request)
    exchange.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  if (who % 3 != 0) {
    const std::string& token = who % 3 == 1 ? pool.user_token : pool.admin_token;
    exchange.headers.emplace_back("Authorization", "Bearer " + token);
  }
  exchange.body = parser.is_done() ? request.body() : std::string();
  exchange.remote_address = "192.0.2.7";
  exchange.local_port = (who & 0x80) != 0 ? 9001 : 8080;

  int status = 0;
  if (exchange.path.starts_with("/s/") || exchange.path == "/s") {
    auto decision = pool.api->route_proxy(exchange);
    status = decision.reply ? decision.reply->status : 200;
  } else {
    status = pool.api->handle(exchange).status;
  }
  require(status >= 100 && status <= 599, "an HTTP status");
  require(status != 500, "no request makes a handler fail");
  pool.clock.advance(1000);
  return 0;
}
