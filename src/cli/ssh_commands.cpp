#include "cli/ssh_commands.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli/client.hpp"
#include "cli/commands.hpp"
#include "cli/ssh_config.hpp"

namespace gpupool::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ssh-keygen's default names, in the order ssh itself offers them.
constexpr std::string_view kDefaultKeyNames[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
constexpr int kKeyArrivalTries = 30;  // one a second: the agent's next sync brings the key

fs::path home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') return home;
  const passwd* entry = getpwuid(getuid());
  return entry != nullptr ? entry->pw_dir : ".";
}

fs::path ssh_directory() {
  return home_directory() / ".ssh";
}

std::optional<std::string> read_text(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs a program to its end; `quiet`: no terminal for it (stdin, stdout and stderr on
// /dev/null). Its exit status, or -1 when it could not start.
int run_program(const std::vector<std::string>& arguments, bool quiet) {
  std::vector<char*> argv;
  for (const auto& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    for (int descriptor : {0, 1, 2})
      posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0);
  }
  pid_t child = 0;
  int spawned = posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

[[noreturn]] void exec_program(std::vector<std::string> arguments) {
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  std::exit(report(
      make_error(ErrorCode::unavailable,
                 fmt::format("cannot run {}: is openssh-client installed?", arguments.front()))));
}

bool ask(const std::string& question, const KeyChoice& choice) {
  if (choice.assume_yes) return true;
  std::cerr << question << " [Y/n] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << "\n";
    return false;
  }
  return answer.empty() || answer.front() == 'y' || answer.front() == 'Y';
}

std::optional<fs::path> default_public_key() {
  for (auto name : kDefaultKeyNames) {
    fs::path candidate = ssh_directory() / (std::string(name) + ".pub");
    if (fs::exists(candidate)) return candidate;
  }
  return std::nullopt;
}

// The key in a .pub file, one line; never a private key given by mistake.
Result<std::string> read_public_key(const fs::path& path) {
  auto text = read_text(path);
  if (!text) return make_error(ErrorCode::not_found, "cannot read " + path.string());
  std::string key = text->substr(0, text->find('\n'));
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (text->find("PRIVATE KEY") != std::string::npos) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{} is a private key, which never leaves this machine; give "
                                  "its public half ({}.pub)",
                                  path.string(), path.string()));
  }
  if (key.empty())
    return make_error(ErrorCode::invalid_argument, path.string() + " holds no public key");
  return key;
}

std::vector<std::string> registered_keys(const json& me) {
  std::vector<std::string> keys;
  for (const auto& key : me["ssh_keys"]) keys.push_back(key["key"].get<std::string>());
  return keys;
}

Status put_keys(const ClientConfig& config, const std::vector<std::string>& keys) {
  auto put = api_call(config, "PUT", "/api/v1/me/ssh-keys", {{"keys", keys}});
  if (!put) return put.error();
  return {};
}

// The key's type and body, which say whether two lines are the same key whatever the comments.
std::string key_material(const std::string& key) {
  std::istringstream words(key);
  std::string type;
  std::string body;
  words >> type >> body;
  return type + " " + body;
}

// Registers the key in `path` (kept once). False when it was registered already.
Result<bool> register_key(const ClientConfig& config, const fs::path& path) {
  auto key = read_public_key(path);
  if (!key) return key.error();
  auto me = api_call(config, "GET", "/api/v1/me");
  if (!me) return me.error();
  auto keys = registered_keys(*me);
  for (const auto& known : keys) {
    if (key_material(known) == key_material(*key)) return false;
  }
  keys.push_back(*key);
  if (auto put = put_keys(config, keys); !put) return put.error();
  return true;
}

struct RegisteredKeys {
  std::vector<std::string> keys;
  bool added_now = false;  // the session learns of it at the agent's next sync
};

// The user's registered keys. With none, offers their default key (or a new pair) first,
// where a first `ssh` would otherwise end in "Permission denied (publickey)".
Result<RegisteredKeys> ensure_registered_key(const ClientConfig& config, const KeyChoice& choice) {
  auto me = api_call(config, "GET", "/api/v1/me");
  if (!me) return me.error();
  if (!(*me)["ssh_keys"].empty()) return RegisteredKeys{registered_keys(*me), false};
  std::cerr << "No SSH public key of yours is registered with gpupool, and sessions take only "
               "those.\n";
  const Error declined{ErrorCode::conflict,
                       "no SSH key registered: add one with `gpupool keys add [FILE]`"};
  auto public_key = default_public_key();
  if (!public_key) {
    fs::path private_key = ssh_directory() / "id_ed25519";
    if (!ask(fmt::format("Create a key pair ({}) with ssh-keygen and register its public half?",
                         private_key.string()),
             choice)) {
      return declined;
    }
    std::error_code ec;
    fs::create_directories(ssh_directory(), ec);
    fs::permissions(ssh_directory(), fs::perms::owner_all, ec);
    std::vector<std::string> keygen = {"ssh-keygen", "-q", "-t",
                                       "ed25519",    "-f", private_key.string()};
    // On a terminal ssh-keygen asks for a passphrase; a script gets a key without one.
    if (isatty(STDIN_FILENO) == 0) keygen.insert(keygen.end(), {"-N", ""});
    if (run_program(keygen, false) != 0)
      return make_error(ErrorCode::unavailable, "ssh-keygen failed; is openssh-client installed?");
    public_key = private_key.string() + ".pub";
  } else if (!ask(fmt::format("Register {}?", public_key->string()), choice)) {
    return declined;
  }
  auto registered = register_key(config, *public_key);
  if (!registered) return registered.error();
  std::cerr << "registered " << public_key->string() << "\n";
  auto key = read_public_key(*public_key);
  if (!key) return key.error();
  return RegisteredKeys{{*key}, true};
}

// The user's default private keys whose public halves are registered: named to ssh, which
// would otherwise look in the account's home (not $HOME) and offer keys sshd would refuse.
std::vector<std::string> registered_identities(const std::vector<std::string>& registered) {
  std::vector<std::string> identities;
  for (auto name : kDefaultKeyNames) {
    fs::path private_key = ssh_directory() / name;
    auto key = read_public_key(private_key.string() + ".pub");
    if (!key || !fs::exists(private_key)) continue;
    bool known = std::any_of(registered.begin(), registered.end(), [&](const std::string& known) {
      return key_material(known) == key_material(*key);
    });
    if (known) identities.push_back(private_key.string());
  }
  return identities;
}

// How ssh and scp reach one session, with the host key the server vouches for.
struct SessionSsh {
  std::string session_id;
  std::string host;
  int port = 0;
  std::string user;
  std::string known_hosts_file;
  bool host_key_known = false;
  std::vector<std::string> identities;

  std::string destination() const {
    // scp and ssh read an IPv6 address in brackets.
    bool v6 = host.find(':') != std::string::npos;
    return user + "@" + (v6 ? "[" + host + "]" : host);
  }

  // Options for ssh and scp alike: the session's key under its alias, checked strictly.
  std::vector<std::string> options() const {
    std::vector<std::string> options = {
        "-o", "HostKeyAlias=" + ssh_host_alias(session_id),
        "-o", "UserKnownHostsFile=\"" + known_hosts_file + "\"",
        "-o", host_key_known ? "StrictHostKeyChecking=yes" : "StrictHostKeyChecking=accept-new"};
    for (const auto& identity : identities)
      options.insert(options.end(), {"-o", "IdentityFile=\"" + identity + "\""});
    return options;
  }
};

Result<SessionSsh> session_ssh(const std::string& id, const RegisteredKeys& keys) {
  auto links = running_session_links(id, "ssh");
  if (!links) return links.error();
  const auto& info = *links;
  const Error odd{ErrorCode::internal, "the server's SSH details for this session are malformed"};
  if (!is_ssh_word(id) || !info["host"].is_string() ||
      !is_ssh_word(info["host"].get<std::string>()) || !info["user"].is_string() ||
      !is_ssh_word(info["user"].get<std::string>()) || !info["port"].is_number_integer()) {
    return odd;
  }
  SessionSsh target{id,
                    info["host"].get<std::string>(),
                    info["port"].get<int>(),
                    info["user"].get<std::string>(),
                    (fs::path(config_path()).parent_path() / "known_hosts").string(),
                    false,
                    registered_identities(keys.keys)};
  // The server read the key from the session when it started; without it (rare: the agent
  // could not read it), the first connection's key is kept under the alias.
  if (info["host_key"].is_object()) {
    if (!info["host_key"]["key"].is_string() ||
        !is_plain_public_key(info["host_key"]["key"].get<std::string>())) {
      return odd;
    }
    std::error_code ec;
    fs::create_directories(fs::path(target.known_hosts_file).parent_path(), ec);
    std::string known = read_text(target.known_hosts_file).value_or("");
    auto written = write_file_atomically(
        target.known_hosts_file,
        with_known_host(known, ssh_host_alias(id), info["host_key"]["key"].get<std::string>()),
        fs::perms::owner_read | fs::perms::owner_write);
    if (!written) return written.error();
    target.host_key_known = true;
  }
  return target;
}

// A key registered just now reaches the session with the agent's next sync; until then its
// sshd refuses it, so the first real login waits for a quiet one to pass.
void wait_for_key(const SessionSsh& target) {
  std::cerr << "waiting for the session to take the key" << std::flush;
  for (int attempt = 0; attempt < kKeyArrivalTries; ++attempt) {
    std::vector<std::string> probe = {"ssh", "-p", std::to_string(target.port)};
    auto options = target.options();
    probe.insert(probe.end(), options.begin(), options.end());
    probe.insert(probe.end(),
                 {"-o", "BatchMode=yes", "-o", "ConnectTimeout=5", target.destination(), "true"});
    if (run_program(probe, true) == 0) {
      std::cerr << "\n";
      return;
    }
    std::cerr << "." << std::flush;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::cerr << "\n";
}

// The session to reach: its address with the key the user has registered (offered now
// when they have none).
Result<SessionSsh> reach_session(const std::string& id, const KeyChoice& choice) {
  auto config = load_config();
  if (!config) return config.error();
  auto keys = ensure_registered_key(*config, choice);
  if (!keys) return keys.error();
  auto target = session_ssh(id, *keys);
  if (target && keys->added_now) wait_for_key(*target);
  return target;
}

// "<id>:<path>" names a path in a session (ids are lower-case letters and digits); anything
// else is local (write ./a:b for a local name with a colon).
std::optional<std::pair<std::string, std::string>> session_path(const std::string& path) {
  auto colon = path.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 32) return std::nullopt;
  std::string id = path.substr(0, colon);
  bool plain = std::all_of(id.begin(), id.end(),
                           [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
  if (!plain) return std::nullopt;
  return std::make_pair(id, path.substr(colon + 1));
}

}  // namespace

int ssh(const std::string& id, const std::vector<std::string>& extra, const KeyChoice& choice) {
  auto target = reach_session(id, choice);
  if (!target) return report(target.error());
  // Arguments before "--" are ssh options and go before the destination; the rest is the
  // remote command.
  auto separator = std::find(extra.begin(), extra.end(), "--");
  auto command_start = separator == extra.end() ? extra.begin() : std::next(separator);
  std::vector<std::string> arguments = {"ssh", "-p", std::to_string(target->port)};
  // ssh takes the first value of each option, so the user's own options win.
  if (separator != extra.end()) arguments.insert(arguments.end(), extra.begin(), separator);
  auto options = target->options();
  arguments.insert(arguments.end(), options.begin(), options.end());
  arguments.push_back(target->destination());
  arguments.insert(arguments.end(), command_start, extra.end());
  exec_program(std::move(arguments));
}

int ssh_config(const std::string& id, const KeyChoice& choice) {
  auto config = load_config();
  if (!config) return report(config.error());
  auto keys = ensure_registered_key(*config, choice);
  if (!keys) return report(keys.error());
  auto target = session_ssh(id, *keys);
  if (!target) return report(target.error());
  // Entries of the user's sessions that are over go as this one is written.
  auto sessions = api_call(*config, "GET", "/api/v1/sessions");
  if (!sessions) return report(sessions.error());
  std::set<std::string> open;
  for (const auto& session : (*sessions)["sessions"]) {
    if (session.value("state", "") != "ended") open.insert(session.value("id", ""));
  }
  fs::path path = ssh_directory() / "config";
  std::error_code ec;
  if (!fs::exists(ssh_directory(), ec)) {
    fs::create_directories(ssh_directory(), ec);
    fs::permissions(ssh_directory(), fs::perms::owner_all, ec);
  }
  std::string text =
      with_ssh_entry(read_text(path).value_or(""),
                     SshEntry{id, target->host, target->port, target->user,
                              target->known_hosts_file, target->identities},
                     [&](const std::string& session_id) { return open.contains(session_id); });
  if (auto written =
          write_file_atomically(path, text, fs::perms::owner_read | fs::perms::owner_write);
      !written) {
    return report(written.error());
  }
  std::string alias = ssh_host_alias(id);
  std::cout << fmt::format(
      "wrote Host {0} into {1}\n  ssh {0}\n  VS Code: Remote-SSH: Connect to Host… → {0}\n", alias,
      path.string());
  return 0;
}

int copy(const std::vector<std::string>& paths, bool recursive, const KeyChoice& choice) {
  std::string id;
  for (const auto& path : paths) {
    auto remote = session_path(path);
    if (!remote) continue;
    if (!id.empty() && remote->first != id) {
      return report(
          make_error(ErrorCode::invalid_argument, "copy between here and one session at a time"));
    }
    id = remote->first;
  }
  if (id.empty()) {
    return report(make_error(ErrorCode::invalid_argument,
                             "name the session's side as ID:PATH, e.g. `gpupool cp data.csv "
                             "ID:` or `gpupool cp ID:results/model.pt .`"));
  }
  auto target = reach_session(id, choice);
  if (!target) return report(target.error());
  std::vector<std::string> arguments = {"scp", "-P", std::to_string(target->port)};
  if (recursive) arguments.push_back("-r");
  auto options = target->options();
  arguments.insert(arguments.end(), options.begin(), options.end());
  arguments.push_back("--");  // a local name that starts with '-' is a name
  for (const auto& path : paths) {
    auto remote = session_path(path);
    arguments.push_back(remote ? target->destination() + ":" + remote->second : path);
  }
  exec_program(std::move(arguments));
}

int list_keys() {
  auto me = call("GET", "/api/v1/me");
  if (!me) return 1;
  if ((*me)["ssh_keys"].empty()) {
    std::cout << "no SSH keys registered; add one with `gpupool keys add [FILE]`\n";
    return 0;
  }
  std::cout << fmt::format("{:<52} {:<12} {}\n", "FINGERPRINT", "TYPE", "COMMENT");
  for (const auto& key : (*me)["ssh_keys"]) {
    std::istringstream words(key["key"].get<std::string>());
    std::string type;
    std::string body;
    std::string comment;
    words >> type >> body;
    std::getline(words >> std::ws, comment);
    std::cout << fmt::format("{:<52} {:<12} {}\n", key["fingerprint"].get<std::string>(), type,
                             comment);
  }
  return 0;
}

int add_key(const std::string& file) {
  auto config = load_config();
  if (!config) return report(config.error());
  std::optional<fs::path> path = file.empty() ? default_public_key() : fs::path(file);
  if (!path) {
    return report(make_error(ErrorCode::not_found,
                             "no public key in ~/.ssh (id_ed25519.pub, id_ecdsa.pub, id_rsa.pub): "
                             "make one with `ssh-keygen -t ed25519`, or name a file"));
  }
  auto registered = register_key(*config, *path);
  if (!registered) return report(registered.error());
  std::cout << (*registered ? "registered " : "already registered: ") << path->string() << "\n";
  return 0;
}

int remove_key(const std::string& which) {
  auto config = load_config();
  if (!config) return report(config.error());
  auto me = api_call(*config, "GET", "/api/v1/me");
  if (!me) return report(me.error());
  std::vector<std::string> kept;
  int removed = 0;
  for (const auto& key : (*me)["ssh_keys"]) {
    std::string text = key["key"].get<std::string>();
    auto comment_at = text.find(' ', text.find(' ') + 1);
    std::string comment = comment_at == std::string::npos ? "" : text.substr(comment_at + 1);
    if (key["fingerprint"] == which || (!comment.empty() && comment == which)) {
      ++removed;
    } else {
      kept.push_back(text);
    }
  }
  if (removed == 0) {
    return report(make_error(
        ErrorCode::not_found,
        fmt::format("no registered key has the fingerprint or comment \"{}\" (see `gpupool keys "
                    "ls`)",
                    which)));
  }
  if (removed > 1) {
    return report(make_error(ErrorCode::invalid_argument,
                             fmt::format("{} keys have the comment \"{}\": name one by its "
                                         "fingerprint (see `gpupool keys ls`)",
                                         removed, which)));
  }
  if (auto put = put_keys(*config, kept); !put) return report(put.error());
  std::cout << "removed; running sessions refuse it from their next sync on\n";
  return 0;
}

}  // namespace gpupool::cli
