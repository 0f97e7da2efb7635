#include "app/app_relay.hpp"

#include "gateway/app_preamble.hpp"

namespace gpupool::app {

std::unique_ptr<gateway::TcpRelay> make_app_relay(AppAddressOf address_of) {
  auto route = [address_of = std::move(address_of)](
                   const std::string& line) -> Result<gateway::RelayTarget> {
    auto preamble = gateway::parse_app_preamble(line);
    if (!preamble) return preamble.error();
    auto address = address_of(preamble->session_id, preamble->token);
    if (!address) return address.error();
    return gateway::RelayTarget{*address, static_cast<std::uint16_t>(preamble->port)};
  };
  return gateway::TcpRelay::by_preamble(std::move(route));
}

}  // namespace gpupool::app
