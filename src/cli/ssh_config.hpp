// What the CLI keeps in the user's SSH files for their sessions. Pure text in, text out.
//
// ~/.ssh/config: one `Host gpupool-<id>` entry per session written by `gpupool ssh --config`
// (so that `ssh gpupool-<id>` and VS Code's Remote-SSH reach it by name), all inside one
// marked section that the CLI alone edits; the user's own lines are kept as they are.
//
// The CLI's known_hosts: one line per session under the entry's HostKeyAlias, so that host
// ports that later sessions reuse (with other host keys) never clash, and strict checking
// holds with the key the server vouches for.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gpupool::cli {

// The name a session goes by in the user's SSH files: "gpupool-<id>".
std::string ssh_host_alias(const std::string& session_id);

struct SshEntry {
  std::string session_id;
  std::string host;
  int port = 0;
  std::string user;
  std::string known_hosts_file;             // the CLI's, holding the session's key under its alias
  std::vector<std::string> identity_files;  // private keys whose public halves are registered
};

// The entry's lines, from "Host gpupool-<id>" on.
std::string ssh_config_entry(const SshEntry& entry);

// `config` with its gpupool section holding `entry` (replacing an entry of the same session)
// and only those other entries for which `keep(session_id)` holds. The section goes first in
// the file, since ssh takes the first value it reads for each option (a `Host *` of the
// user's must not override the session's port or user), and ends in `Host *`, so that lines
// of the user's that come before any Host line of theirs still apply to every host.
// With no entry and nothing kept, the section is removed.
std::string with_ssh_entry(const std::string& config, const std::optional<SshEntry>& entry,
                           const std::function<bool(const std::string& session_id)>& keep);

// `known_hosts` with the one line for `alias` set to `key` ("ssh-ed25519 AAAA…"), other
// aliases' lines kept.
std::string with_known_host(const std::string& known_hosts, const std::string& alias,
                            const std::string& key);

// What the server says goes into the user's SSH files, checked first: one word each (a line
// break in a host name would be a config line of the server's choosing, e.g. a ProxyCommand),
// and a host key of a type word and base64, nothing after a line break.
bool is_ssh_word(const std::string& text);
bool is_plain_public_key(const std::string& key);

}  // namespace gpupool::cli
