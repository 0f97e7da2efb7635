#include "services/directory_checks.hpp"

#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gpupool::services {

Result<int> DirectoryChecks::check_once() {
  auto users = store_.list_users();
  if (!users) return users.error();
  std::map<std::string, User> holders;  // LDAP users with a live credential, by name
  for (const auto& user : *users) {
    if (user.source != AccountSource::ldap || user.disabled) continue;
    auto credentials = store_.list_credentials(user.id, clock_.now());
    if (!credentials) return credentials.error();
    if (!credentials->empty()) holders.emplace(user.username, user);
  }
  if (holders.empty()) return 0;
  std::vector<std::string> names;
  for (const auto& [name, user] : holders) names.push_back(name);
  auto found = ldap_.look_up(names);
  if (!found) return found.error();
  int ended_users = 0;
  for (const auto& [name, user] : holders) {
    auto account = found->find(name);
    if (account == found->end()) {
      auto ended = auth_.end_credentials(user.id);
      if (!ended) return ended.error();
      ++ended_users;
      spdlog::warn(
          "{} is gone from the LDAP directory (or excluded by its filter): {} "
          "credential(s) ended",
          name, ended->size());
      audit_.record({.actor = "directory",
                     .source = "ldap",
                     .action = "user.directory_ended",
                     .target = name,
                     .outcome = 200,
                     .detail = fmt::format("{} credential(s) ended", ended->size())});
      continue;
    }
    if (auto refreshed = accounts_.refresh(user, account->second); !refreshed) {
      spdlog::warn("directory check of {}: {}", name, refreshed.error().message);
    }
  }
  return ended_users;
}

}  // namespace gpupool::services
