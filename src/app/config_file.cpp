#include "app/config_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace gpupool::app {

namespace {

class Reader {
 public:
  Reader(std::string path, bool private_file) : path_(std::move(path)), private_(private_file) {}

  Error error(const std::string& where, const std::string& what) const {
    return make_error(ErrorCode::invalid_argument, fmt::format("{}: {}: {}", path_, where, what));
  }

  // Reads a key's value; `where` names it in errors ("[auth.ldap] url").
  using KeyReader = std::function<Status(const std::string& where, const toml::node&)>;

  // Reads each key of `table` with the reader named for it; any other key is an error.
  Status read_table(const toml::table& table, const std::string& section,
                    const std::map<std::string, KeyReader>& keys) {
    for (auto&& [key, node] : table) {
      std::string name(key.str());
      auto reader = keys.find(name);
      if (reader == keys.end()) {
        return error(section, fmt::format("unknown key \"{}\"", name));
      }
      GPUPOOL_TRY(reader->second(fmt::format("{} {}", section, name), node));
    }
    return {};
  }

  auto text(std::string& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      auto value = node.value<std::string>();
      if (!node.is_string() || !value) return error(where, "must be a string");
      into = *value;
      return {};
    };
  }
  auto flag(bool& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      if (!node.is_boolean()) return error(where, "must be true or false");
      into = *node.value<bool>();
      return {};
    };
  }
  auto number(int& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      auto value = node.value<std::int64_t>();
      if (!node.is_integer() || !value || *value < 0 || *value > 1'000'000'000)
        return error(where, "must be a whole number");
      into = static_cast<int>(*value);
      return {};
    };
  }
  // A secret inline: only in a file no one else may read.
  auto secret(std::string& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      if (!private_) {
        return error(where,
                     "a password in a file others can read; chmod 600 the file, or use "
                     "bind_password_file");
      }
      return text(into)(where, node);
    };
  }
  auto secret_file(std::string& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      std::string file;
      GPUPOOL_TRY(text(file)(where, node));
      std::ifstream in(file);
      std::stringstream content;
      content << in.rdbuf();
      if (!in) return error(where, fmt::format("cannot read {}", file));
      into = content.str();
      while (!into.empty() && (into.back() == '\n' || into.back() == '\r')) into.pop_back();
      return {};
    };
  }

  Status read_ldap(const toml::table& table, auth::LdapSettings& ldap) {
    return read_table(table, "[auth.ldap]",
                      {{"url", text(ldap.url)},
                       {"start_tls", flag(ldap.start_tls)},
                       {"insecure_plaintext", flag(ldap.insecure_plaintext)},
                       {"ca_file", text(ldap.ca_file)},
                       {"bind_dn", text(ldap.bind_dn)},
                       {"bind_password", secret(ldap.bind_password)},
                       {"bind_password_file", secret_file(ldap.bind_password)},
                       {"user_dn_template", text(ldap.user_dn_template)},
                       {"user_base", text(ldap.user_base)},
                       {"user_filter", text(ldap.user_filter)},
                       {"uid_attribute", text(ldap.uid_attribute)},
                       {"gid_attribute", text(ldap.gid_attribute)},
                       {"groups_attribute", text(ldap.groups_attribute)},
                       {"group_base", text(ldap.group_base)},
                       {"group_filter", text(ldap.group_filter)},
                       {"group_name_attribute", text(ldap.group_name_attribute)},
                       {"timeout_seconds", number(ldap.timeout_s)}});
  }

  auto texts(std::vector<std::string>& into) {
    return [this, &into](const std::string& where, const toml::node& node) -> Status {
      const auto* list = node.as_array();
      if (list == nullptr) return error(where, "must be a list of strings");
      into.clear();
      for (const auto& element : *list) {
        auto value = element.value_exact<std::string>();
        if (!value) return error(where, "must be a list of strings");
        into.push_back(*value);
      }
      return {};
    };
  }

  Status read_oidc(const toml::table& table, auth::OidcSettings& oidc) {
    return read_table(table, "[auth.oidc]",
                      {{"name", text(oidc.name)},
                       {"issuer", text(oidc.issuer)},
                       {"client_id", text(oidc.client_id)},
                       {"client_secret", secret(oidc.client_secret)},
                       {"client_secret_file", secret_file(oidc.client_secret)},
                       {"scopes", texts(oidc.scopes)},
                       {"username_claim", text(oidc.username_claim)},
                       {"groups_claim", text(oidc.groups_claim)},
                       {"uid_claim", text(oidc.uid_claim)},
                       {"gid_claim", text(oidc.gid_claim)},
                       {"ca_file", text(oidc.ca_file)},
                       {"timeout_seconds", number(oidc.timeout_s)}});
  }

  Status read_auth(const toml::table& table, AuthConfig& auth) {
    auto ldap = [&](const std::string& where, const toml::node& node) -> Status {
      if (!node.is_table()) return error(where, "must be a table ([auth.ldap])");
      auth.ldap.emplace();
      return read_ldap(*node.as_table(), *auth.ldap);
    };
    auto oidc = [&](const std::string& where, const toml::node& node) -> Status {
      if (!node.is_table()) return error(where, "must be a table ([auth.oidc])");
      auth.oidc.emplace();
      return read_oidc(*node.as_table(), *auth.oidc);
    };
    return read_table(table, "[auth]",
                      {{"local_accounts", flag(auth.local_accounts)},
                       {"admin_group", text(auth.accounts.admin_group)},
                       {"min_uid", number(auth.accounts.min_uid)},
                       {"adopt_local_accounts", flag(auth.accounts.adopt_local_accounts)},
                       {"check_interval", text(auth.check_interval)},
                       {"ldap", ldap},
                       {"oidc", oidc}});
  }

 private:
  std::string path_;
  bool private_;
};

// A command-line value for a TOML scalar; nullopt for anything else.
std::optional<std::string> scalar_text(const toml::node& node) {
  if (auto text = node.value_exact<std::string>()) return *text;
  if (auto whole = node.value_exact<std::int64_t>()) return std::to_string(*whole);
  if (auto real = node.value_exact<double>()) return fmt::format("{}", *real);
  return std::nullopt;
}

bool given_on_command_line(const std::vector<std::string>& given, const std::string& option) {
  return std::any_of(given.begin(), given.end(), [&](const std::string& argument) {
    return argument == option || argument.starts_with(option + "=");
  });
}

}  // namespace

Result<std::vector<std::string>> options_from_config(const std::string& text,
                                                     const std::string& path, bool private_file,
                                                     const CLI::App& command,
                                                     const std::vector<std::string>& given,
                                                     AuthConfig& auth) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& failure) {
    return make_error(
        ErrorCode::invalid_argument,
        fmt::format("{}:{}: {}", path, failure.source().begin.line, failure.description()));
  }
  Reader reader(path, private_file);
  std::vector<std::string> options;
  for (auto&& [key, node] : table) {
    std::string name(key.str());
    if (name == "auth") {
      if (!node.is_table()) return reader.error("auth", "must be a table ([auth])");
      GPUPOOL_TRY(reader.read_auth(*node.as_table(), auth));
      continue;
    }
    std::string option = "--" + name;
    std::replace(option.begin(), option.end(), '_', '-');
    const CLI::Option* known = name == "config" ? nullptr : command.get_option_no_throw(option);
    if (known == nullptr) {
      return reader.error(
          name, fmt::format("unknown setting (gpupool {} has no {})", command.get_name(), option));
    }
    if (given_on_command_line(given, option)) continue;
    if (known->get_expected_max() == 0) {  // a flag
      if (!node.is_boolean()) return reader.error(name, "must be true or false");
      if (*node.value<bool>()) options.push_back(option);
      continue;
    }
    std::vector<const toml::node*> values;
    if (const auto* list = node.as_array()) {
      for (const auto& element : *list) values.push_back(&element);
    } else {
      values.push_back(&node);
    }
    for (const auto* value : values) {
      auto written = scalar_text(*value);
      if (!written) return reader.error(name, "must be a string, a number or a list of them");
      options.push_back(option);
      options.push_back(*written);
    }
  }
  return options;
}

Result<std::vector<std::string>> with_config_file(const std::vector<std::string>& arguments,
                                                  const CLI::App& command, AuthConfig& auth) {
  std::string path;
  for (std::size_t i = 0; i < arguments.size(); ++i) {
    if (arguments[i] == "--config" && i + 1 < arguments.size()) path = arguments[i + 1];
    if (arguments[i].starts_with("--config=")) path = arguments[i].substr(9);
  }
  if (path.empty()) return arguments;
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  struct stat status {};
  if (!in || stat(path.c_str(), &status) != 0) {
    return make_error(ErrorCode::invalid_argument, fmt::format("cannot read {}", path));
  }
  bool private_file = (status.st_mode & 077) == 0;
  auto options = options_from_config(content.str(), path, private_file, command, arguments, auth);
  if (!options) return options.error();
  // After the subcommand's name: the file's options, then the command line's own.
  std::vector<std::string> combined(arguments.begin(), arguments.begin() + 1);
  combined.insert(combined.end(), options->begin(), options->end());
  combined.insert(combined.end(), arguments.begin() + 1, arguments.end());
  return combined;
}

Result<std::vector<std::string>> command_line_with_config(
    int argc, char** argv, const std::vector<std::pair<const CLI::App*, AuthConfig*>>& commands) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  for (const auto& [command, auth] : commands) {
    if (arguments.empty() || arguments.front() != command->get_name()) continue;
    auto combined = with_config_file(arguments, *command, *auth);
    if (!combined) return combined.error();
    arguments = std::move(*combined);
    break;
  }
  std::reverse(arguments.begin(), arguments.end());
  return arguments;
}

}  // namespace gpupool::app
