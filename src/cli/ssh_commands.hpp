// The CLI's SSH side: a shell or a command in a session, its entry in ~/.ssh/config (for
// `ssh gpupool-<id>` and VS Code's Remote-SSH), files copied in and out with scp, and the
// user's registered public keys. The session's host key is the one the server vouches for,
// checked strictly. A user with no key registered is offered their default public key (or a
// new one) instead of ending in "Permission denied (publickey)".
#pragma once

#include <string>
#include <vector>

namespace gpupool::cli {

struct KeyChoice {
  bool assume_yes = false;  // upload (or create) the default key without asking
};

// `extra`: ssh options, then "--", then the remote command; or only the remote command.
int ssh(const std::string& id, const std::vector<std::string>& extra, const KeyChoice& choice);
// Writes the session's entry into ~/.ssh/config (dropping entries of sessions no longer open).
int ssh_config(const std::string& id, const KeyChoice& choice);
// scp between here and one session: paths are local, or "<id>:<path>" in the session.
int copy(const std::vector<std::string>& paths, bool recursive, const KeyChoice& choice);

int list_keys();
// `file`: a public key file; empty for the default one (~/.ssh/id_ed25519.pub, …).
int add_key(const std::string& file);
// `which`: a key's fingerprint ("SHA256:…") or its comment.
int remove_key(const std::string& which);

}  // namespace gpupool::cli
