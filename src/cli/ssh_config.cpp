#include "cli/ssh_config.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace gpupool::cli {

bool is_ssh_word(const std::string& text) {
  return !text.empty() && text.size() <= 255 && std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':';
  });
}

bool is_plain_public_key(const std::string& key) {
  std::istringstream words(key);
  std::string type;
  std::string body;
  words >> type >> body;
  return is_ssh_word(type) && !body.empty() && key.find_first_of("\r\n") == std::string::npos &&
         std::all_of(body.begin(), body.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || c == '=';
         });
}

namespace {

constexpr std::string_view kSectionBegin =
    "# >>> gpupool: sessions written by `gpupool ssh --config` (it edits this section only)";
constexpr std::string_view kSectionEnd = "# <<< gpupool";
constexpr std::string_view kHostPrefix = "Host gpupool-";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// ssh's config reads a path with spaces only in quotes.
std::string quoted(const std::string& path) {
  return "\"" + path + "\"";
}

}  // namespace

std::string ssh_host_alias(const std::string& session_id) {
  return "gpupool-" + session_id;
}

std::string ssh_config_entry(const SshEntry& entry) {
  std::string alias = ssh_host_alias(entry.session_id);
  std::string text = fmt::format(
      "Host {0}\n  HostName {1}\n  Port {2}\n  User {3}\n  HostKeyAlias {0}\n"
      "  UserKnownHostsFile {4}\n  StrictHostKeyChecking yes\n",
      alias, entry.host, entry.port, entry.user, quoted(entry.known_hosts_file));
  for (const auto& identity : entry.identity_files)
    text += "  IdentityFile " + quoted(identity) + "\n";
  return text;
}

std::string with_ssh_entry(const std::string& config, const std::optional<SshEntry>& entry,
                           const std::function<bool(const std::string& session_id)>& keep) {
  std::map<std::string, std::string> entries;  // by session id, in the section's order
  std::vector<std::string> rest;               // the user's lines
  std::string current;                         // the session whose entry is being read
  bool inside = false;
  for (const auto& line : lines_of(config)) {
    if (line == kSectionBegin) {
      inside = true;
      continue;
    }
    if (!inside) {
      rest.push_back(line);
      continue;
    }
    if (line == kSectionEnd) {
      inside = false;
      current.clear();
      continue;
    }
    if (line.starts_with(kHostPrefix)) {
      current = line.substr(kHostPrefix.size());
      entries[current] = line + "\n";
    } else if (!current.empty() && line.starts_with("  ")) {
      entries[current] += line + "\n";
    } else {
      current.clear();  // the closing `Host *`, or a line that belongs to no entry
    }
  }
  std::erase_if(entries, [&](const auto& kept) { return !keep(kept.first); });
  if (entry) entries[entry->session_id] = ssh_config_entry(*entry);

  std::string result;
  if (!entries.empty()) {
    result += std::string(kSectionBegin) + "\n";
    for (const auto& [id, text] : entries) result += text;
    result += "Host *\n" + std::string(kSectionEnd) + "\n";
  }
  for (const auto& line : rest) result += line + "\n";
  return result;
}

std::string with_known_host(const std::string& known_hosts, const std::string& alias,
                            const std::string& key) {
  std::string result;
  for (const auto& line : lines_of(known_hosts)) {
    if (line.starts_with(alias + " ") || line.empty()) continue;
    result += line + "\n";
  }
  return result + alias + " " + key + "\n";
}

}  // namespace gpupool::cli
