#include "auth/names.hpp"

#include <set>

namespace gpupool::auth {

Result<std::string> canonical_username(std::string_view input) {
  auto refuse = [] {
    return make_error(ErrorCode::invalid_argument,
                      "username must be 1-32 characters: a-z, 0-9 and single hyphens, "
                      "starting with a letter and not ending with a hyphen");
  };
  if (input.empty() || input.size() > kMaxUsernameLength) return refuse();
  std::string name;
  for (char c : input) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    if (!allowed) return refuse();
    if (c == '-' && !name.empty() && name.back() == '-') return refuse();
    name += c;
  }
  if (!(name.front() >= 'a' && name.front() <= 'z') || name.back() == '-') return refuse();
  return name;
}

Status check_not_reserved(const std::string& canonical_name) {
  // Debian's base system users and groups, those of the packages a session image or a GPU
  // server carries (OpenSSH, Docker, Slurm, munge, PostgreSQL), and gpupool's own.
  static const std::set<std::string, std::less<>> reserved_names = {
      "root",       "daemon",  "bin",     "sys",
      "sync",       "games",   "man",     "lp",
      "mail",       "news",    "uucp",    "proxy",
      "www-data",   "backup",  "list",    "irc",
      "gnats",      "nobody",  "nogroup", "sshd",
      "messagebus", "syslog",  "adm",     "tty",
      "disk",       "kmem",    "dialout", "fax",
      "voice",      "cdrom",   "floppy",  "tape",
      "sudo",       "audio",   "dip",     "operator",
      "src",        "shadow",  "utmp",    "video",
      "sasl",       "plugdev", "staff",   "users",
      "input",      "render",  "sgx",     "kvm",
      "netdev",     "docker",  "slurm",   "munge",
      "postgres",   "polkitd", "tss",     "uuidd",
      "crontab",    "ssh",     "jupyter", "gpupool",
      "systemd",    "ntp",     "avahi",   "nvidia-persistenced",
      "dnsmasq",    "lxd",     "ubuntu",  "debian",
  };
  if (reserved_names.contains(canonical_name) || canonical_name.starts_with("systemd-"))
    return make_error(ErrorCode::invalid_argument,
                      "\"" + canonical_name + "\" is reserved for the system; choose another name");
  return {};
}

}  // namespace gpupool::auth
