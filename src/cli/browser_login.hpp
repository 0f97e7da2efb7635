// `gpupool login URL --browser`: signing in through the organisation's identity provider,
// in a browser, for an API token (RFC 8252's loopback redirect). The CLI listens on a port of
// 127.0.0.1, sends the browser to the server's sign-in with that port, a state and a PKCE
// challenge; the server sends the browser back there with a one-time code, which the CLI
// trades, with its verifier, for an API token. Another program on the machine that sees the
// code cannot trade it: it lacks the verifier.
#pragma once

#include <string>

namespace gpupool::cli {

int browser_login(const std::string& url);

}  // namespace gpupool::cli
