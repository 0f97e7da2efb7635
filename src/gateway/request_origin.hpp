// Where a browser says a request comes from (Origin, Fetch Metadata), read for what it means
// to cookies. A browser attaches cookies to requests that other pages start — and with
// sessions on ports of the gateway's host, "other pages" include every session's content,
// since cookies are kept per host, not per port — so a request that rides on a cookie must
// come from the page's own origin unless it is a plain top-level navigation. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/http_server.hpp"

namespace gpupool::gateway {

bool is_safe_method(std::string_view method);

// Whether `origin` ("http://host:port") names the authority the request was sent to (Host).
bool origin_matches_host(std::string_view origin, std::string_view host);

// Whether a page of another origin started this request and it is not a top-level GET
// navigation (Sec-Fetch-Site same-site or cross-site, any mode but navigate or a framed
// document). Requests without Fetch Metadata (older browsers, non-browsers) are not judged
// here: Origin checks and CSRF tokens still hold for them.
bool started_by_another_origin(const HttpExchange& exchange);

// Whether a write or WebSocket upgrade may ride on a cookie: its Origin, when sent, is the
// Host it was sent to; with `origin_required`, it must be sent (browsers always send it on
// such requests).
bool cookie_write_allowed(const HttpExchange& exchange, bool origin_required);

// Set-Cookie values that expire cookie `name` at every path a request to `path` carries
// cookies from: a page that planted a second cookie of that name (at a longer path) cannot
// keep it there by planting it again unseen.
std::vector<std::string> expire_at_every_path(std::string_view name, std::string_view path);

}  // namespace gpupool::gateway
