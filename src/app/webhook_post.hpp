// The network side of users' webhooks: a services::WebhookPost that POSTs only where
// net/webhook_target.hpp allows, checked at each posting. A plain-HTTP posting goes to the
// address that was checked (the Host header names the host); an HTTPS one connects by name
// for the certificate check, so a name that moves between the check and the connection is
// not caught there.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/ipv4.hpp"
#include "services/webhook_sender.hpp"

namespace gpupool::app {

services::WebhookPost make_webhook_post(std::vector<Ipv4Block> allowed);

// For the API: whether a user may set this URL (well-formed, its host resolves to allowed
// addresses only); invalid_argument or forbidden with the reason.
std::function<Status(const std::string& url)> make_webhook_check(std::vector<Ipv4Block> allowed);

}  // namespace gpupool::app
