#include "auth/ldap_directory.hpp"

#include <ldap.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

#include <fmt/format.h>

namespace gpupool::auth {

namespace {

std::string replaced(std::string text, const std::string& placeholder, const std::string& value) {
  for (auto at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
  return text;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// DNs compare without regard to case or the spaces after commas (close enough for the
// directories' own spelling of their bases).
std::string dn_key(const std::string& dn) {
  std::string key;
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == ' ' && i > 0 && dn[i - 1] == ',') continue;
    key += static_cast<char>(std::tolower(static_cast<unsigned char>(dn[i])));
  }
  return key;
}

bool under_base(const std::string& dn, const std::string& base) {
  if (base.empty()) return true;
  std::string entry = dn_key(dn);
  std::string suffix = dn_key(base);
  return entry.size() > suffix.size() && entry.ends_with(suffix) &&
         entry[entry.size() - suffix.size() - 1] == ',';
}

class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (handle_ != nullptr) ldap_unbind_ext_s(handle_, nullptr, nullptr);
  }

  Status open(const LdapSettings& settings) {
    if (ldap_initialize(&handle_, settings.url.c_str()) != LDAP_SUCCESS || handle_ == nullptr) {
      return make_error(ErrorCode::unavailable, "the LDAP URL is not valid");
    }
    int version = LDAP_VERSION3;
    timeval timeout{settings.timeout_s, 0};
    int demand = LDAP_OPT_X_TLS_DEMAND;
    int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    int new_context = 0;
    bool set = ldap_set_option(handle_, LDAP_OPT_PROTOCOL_VERSION, &version) == LDAP_SUCCESS &&
               ldap_set_option(handle_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) == LDAP_SUCCESS &&
               ldap_set_option(handle_, LDAP_OPT_NETWORK_TIMEOUT, &timeout) == LDAP_SUCCESS &&
               ldap_set_option(handle_, LDAP_OPT_TIMEOUT, &timeout) == LDAP_SUCCESS &&
               ldap_set_option(handle_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) == LDAP_SUCCESS &&
               ldap_set_option(handle_, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) == LDAP_SUCCESS;
    if (set && !settings.ca_file.empty()) {
      set = ldap_set_option(handle_, LDAP_OPT_X_TLS_CACERTFILE, settings.ca_file.c_str()) ==
            LDAP_SUCCESS;
    }
    // The TLS options above apply to this connection only once it has a context of its own.
    if (set) set = ldap_set_option(handle_, LDAP_OPT_X_TLS_NEWCTX, &new_context) == LDAP_SUCCESS;
    if (!set) return make_error(ErrorCode::internal, "could not set the LDAP connection's options");
    if (settings.start_tls) {
      int code = ldap_start_tls_s(handle_, nullptr, nullptr);
      if (code != LDAP_SUCCESS) return failure("StartTLS", code);
    }
    return {};
  }

  // A simple bind; an empty password would be an unauthenticated bind that "succeeds".
  Status bind(const std::string& dn, const std::string& password) {
    if (password.empty() && !dn.empty()) {
      return make_error(ErrorCode::unauthorized, "invalid username or password");
    }
    berval credential{password.size(), const_cast<char*>(password.data())};
    int code = ldap_sasl_bind_s(handle_, dn.empty() ? nullptr : dn.c_str(), LDAP_SASL_SIMPLE,
                                &credential, nullptr, nullptr, nullptr);
    if (code == LDAP_INVALID_CREDENTIALS) {
      return make_error(ErrorCode::unauthorized, "invalid username or password");
    }
    if (code != LDAP_SUCCESS) return failure("bind", code);
    return {};
  }

  struct Entry {
    std::string dn;
    std::map<std::string, std::vector<std::string>> values;  // by lower-cased attribute
  };

  Result<std::vector<Entry>> search(const std::string& base, int scope, const std::string& filter,
                                    const std::vector<std::string>& attributes, int timeout_s) {
    std::vector<char*> names;
    for (const auto& attribute : attributes) names.push_back(const_cast<char*>(attribute.c_str()));
    names.push_back(nullptr);
    timeval timeout{timeout_s, 0};
    LDAPMessage* answer = nullptr;
    int code = ldap_search_ext_s(handle_, base.c_str(), scope, filter.c_str(), names.data(), 0,
                                 nullptr, nullptr, &timeout, 1000, &answer);
    std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> owned(answer, ldap_msgfree);
    if (code == LDAP_NO_SUCH_OBJECT) return std::vector<Entry>{};
    if (code != LDAP_SUCCESS) return failure("search", code);
    std::vector<Entry> entries;
    for (LDAPMessage* entry = ldap_first_entry(handle_, answer); entry != nullptr;
         entry = ldap_next_entry(handle_, entry)) {
      Entry read;
      char* dn = ldap_get_dn(handle_, entry);
      if (dn != nullptr) {
        read.dn = dn;
        ldap_memfree(dn);
      }
      for (const auto& attribute : attributes) {
        berval** values = ldap_get_values_len(handle_, entry, attribute.c_str());
        if (values == nullptr) continue;
        auto& list = read.values[lower(attribute)];
        for (int i = 0; values[i] != nullptr; ++i)
          list.emplace_back(values[i]->bv_val, values[i]->bv_len);
        ldap_value_free_len(values);
      }
      entries.push_back(std::move(read));
    }
    return entries;
  }

 private:
  Error failure(const char* what, int code) {
    char* diagnostic = nullptr;
    ldap_get_option(handle_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic);
    std::string detail = diagnostic != nullptr && *diagnostic != '\0'
                             ? fmt::format(" ({})", diagnostic)
                             : std::string();
    if (diagnostic != nullptr) ldap_memfree(diagnostic);
    bool unreachable = code == LDAP_SERVER_DOWN || code == LDAP_CONNECT_ERROR ||
                       code == LDAP_TIMEOUT || code == LDAP_UNAVAILABLE || code == LDAP_BUSY;
    return make_error(
        unreachable ? ErrorCode::unavailable : ErrorCode::internal,
        fmt::format("the LDAP directory's {} failed: {}{}", what, ldap_err2string(code), detail));
  }

  LDAP* handle_ = nullptr;
};

std::optional<int> number_of(const Connection::Entry& entry, const std::string& attribute) {
  auto found = entry.values.find(lower(attribute));
  if (attribute.empty() || found == entry.values.end() || found->second.empty()) {
    return std::nullopt;
  }
  const std::string& text = found->second.front();
  int value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The value of a DN's first RDN when its attribute is `attribute` ("cn=ml-lab,ou=…" →
// "ml-lab"), unescaped.
std::optional<std::string> first_rdn_value(const std::string& dn, const std::string& attribute) {
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
      parsed == nullptr) {
    return std::nullopt;
  }
  std::optional<std::string> value;
  LDAPRDN rdn = parsed[0];
  if (rdn != nullptr && rdn[0] != nullptr) {
    std::string type(rdn[0]->la_attr.bv_val, rdn[0]->la_attr.bv_len);
    if (lower(type) == lower(attribute))
      value = std::string(rdn[0]->la_value.bv_val, rdn[0]->la_value.bv_len);
  }
  ldap_dnfree(parsed);
  return value;
}

class Reader {
 public:
  Reader(const LdapSettings& settings, Connection& connection)
      : settings_(settings), connection_(connection) {}

  std::vector<std::string> user_attributes() const {
    std::vector<std::string> attributes;
    for (const auto* name :
         {&settings_.uid_attribute, &settings_.gid_attribute, &settings_.groups_attribute}) {
      if (!name->empty()) attributes.push_back(*name);
    }
    if (attributes.empty()) attributes.emplace_back("1.1");  // RFC 4511: no attributes
    return attributes;
  }

  // The user's entry by the filter; nullopt when there is none. Several are a directory
  // that names two people alike: refused rather than guessed.
  Result<std::optional<Connection::Entry>> find_user(const std::string& username) {
    std::string filter =
        replaced(settings_.user_filter, "{username}", escape_filter_value(username));
    auto entries = connection_.search(settings_.user_base, LDAP_SCOPE_SUBTREE, filter,
                                      user_attributes(), settings_.timeout_s);
    if (!entries) return entries.error();
    if (entries->empty()) return std::optional<Connection::Entry>{};
    if (entries->size() > 1) {
      return make_error(
          ErrorCode::conflict,
          fmt::format("the LDAP directory has {} entries for \"{}\"", entries->size(), username));
    }
    return std::optional<Connection::Entry>{std::move(entries->front())};
  }

  Result<std::optional<Connection::Entry>> read_entry(const std::string& dn) {
    auto filter = settings_.user_filter.find("{username}") == std::string::npos
                      ? std::string("(objectClass=*)")
                      : settings_.user_filter;
    return find_in(dn, filter);
  }

  Result<DirectoryAccount> account(const std::string& username, const Connection::Entry& entry) {
    DirectoryAccount account{username,
                             entry.dn,
                             number_of(entry, settings_.uid_attribute),
                             number_of(entry, settings_.gid_attribute),
                             {}};
    auto groups = group_names(username, entry);
    if (!groups) return groups.error();
    account.groups = std::move(*groups);
    return account;
  }

 private:
  // The entry at `dn` when the user filter (applied to it alone) still matches it.
  Result<std::optional<Connection::Entry>> find_in(const std::string& dn,
                                                   const std::string& filter) {
    auto username_free = replaced(filter, "{username}", "*");
    auto entries = connection_.search(dn, LDAP_SCOPE_BASE, username_free, user_attributes(),
                                      settings_.timeout_s);
    if (!entries) return entries.error();
    if (entries->empty()) return std::optional<Connection::Entry>{};
    return std::optional<Connection::Entry>{std::move(entries->front())};
  }

  Result<std::vector<std::string>> group_names(const std::string& username,
                                               const Connection::Entry& entry) {
    std::vector<std::string> names;
    auto keep = [&](std::string name) {
      if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
        names.push_back(std::move(name));
    };
    if (!settings_.groups_attribute.empty()) {
      auto found = entry.values.find(lower(settings_.groups_attribute));
      if (found == entry.values.end()) return names;
      for (const auto& group_dn : found->second) {
        if (!under_base(group_dn, settings_.group_base)) continue;
        if (auto name = first_rdn_value(group_dn, settings_.group_name_attribute))
          keep(std::move(*name));
      }
      return names;
    }
    if (settings_.group_base.empty()) return names;
    std::string filter =
        replaced(replaced(settings_.group_filter, "{username}", escape_filter_value(username)),
                 "{dn}", escape_filter_value(entry.dn));
    auto groups = connection_.search(settings_.group_base, LDAP_SCOPE_SUBTREE, filter,
                                     {settings_.group_name_attribute}, settings_.timeout_s);
    if (!groups) return groups.error();
    for (const auto& group : *groups) {
      auto value = group.values.find(lower(settings_.group_name_attribute));
      if (value != group.values.end() && !value->second.empty()) keep(value->second.front());
    }
    return names;
  }

  const LdapSettings& settings_;
  Connection& connection_;
};

}  // namespace

std::string escape_filter_value(const std::string& value) {
  std::string escaped;
  for (char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      escaped += fmt::format("\\{:02x}", static_cast<unsigned char>(c));
    } else {
      escaped += c;
    }
  }
  return escaped;
}

std::string escape_dn_value(const std::string& value) {
  std::string escaped;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' ||
                   c == ';' || c == '=' || (i == 0 && (c == '#' || c == ' ')) ||
                   (i + 1 == value.size() && c == ' ');
    if (c == '\0') {
      escaped += "\\00";
    } else {
      if (special) escaped += '\\';
      escaped += c;
    }
  }
  return escaped;
}

Status check_ldap_settings(const LdapSettings& settings) {
  auto invalid = [](std::string message) {
    return make_error(ErrorCode::invalid_argument, "[auth.ldap] " + std::move(message));
  };
  if (settings.url.empty()) return invalid("needs url (ldaps://HOST or ldap://HOST)");
  if (ldap_is_ldap_url(settings.url.c_str()) == 0 && ldap_is_ldaps_url(settings.url.c_str()) == 0)
    return invalid(fmt::format("url \"{}\" is not an ldap:// or ldaps:// URL", settings.url));
  bool ldaps = settings.url.starts_with("ldaps://");
  if (ldaps && settings.start_tls) return invalid("start_tls is for ldap:// URLs, not ldaps://");
  if (!ldaps && !settings.start_tls && !settings.insecure_plaintext) {
    return invalid(
        "an ldap:// URL needs start_tls = true (or insecure_plaintext = true, which sends "
        "passwords unencrypted)");
  }
  if (settings.user_dn_template.empty() && settings.user_base.empty())
    return invalid("needs user_base (to search users in) or user_dn_template");
  if (!settings.user_dn_template.empty() &&
      settings.user_dn_template.find("{username}") == std::string::npos)
    return invalid("user_dn_template must contain {username}");
  if (settings.user_dn_template.empty() &&
      settings.user_filter.find("{username}") == std::string::npos)
    return invalid("user_filter must contain {username}");
  if (!settings.bind_dn.empty() && settings.bind_password.empty())
    return invalid("bind_dn needs bind_password (or bind_password_file)");
  if (settings.timeout_s < 1 || settings.timeout_s > 120)
    return invalid("timeout must be 1 to 120 seconds");
  return {};
}

Result<DirectoryAccount> LdapDirectory::sign_in(const std::string& username,
                                                const std::string& password) const {
  auto refused = make_error(ErrorCode::unauthorized, "invalid username or password");
  if (password.empty()) return refused;
  Connection connection;
  GPUPOOL_TRY(connection.open(settings_));
  Reader reader(settings_, connection);
  if (settings_.user_dn_template.empty()) {
    // Found and read as the service account, which may read what users may not (groups);
    // the password is tried last, on the entry found.
    GPUPOOL_TRY(connection.bind(settings_.bind_dn, settings_.bind_password));
    auto entry = reader.find_user(username);
    if (!entry) return entry.error();
    if (!*entry) return refused;
    auto account = reader.account(username, **entry);
    if (!account) return account.error();
    GPUPOOL_TRY(connection.bind(account->dn, password));
    return account;
  }
  // Bound to directly, then read as the user (the filter checked on their entry).
  std::string dn = replaced(settings_.user_dn_template, "{username}", escape_dn_value(username));
  GPUPOOL_TRY(connection.bind(dn, password));
  auto entry = reader.read_entry(dn);
  if (!entry) return entry.error();
  if (!*entry) return refused;
  return reader.account(username, **entry);
}

Result<std::map<std::string, DirectoryAccount>> LdapDirectory::look_up(
    const std::vector<std::string>& usernames) const {
  std::map<std::string, DirectoryAccount> found;
  if (usernames.empty()) return found;
  Connection connection;
  GPUPOOL_TRY(connection.open(settings_));
  GPUPOOL_TRY(connection.bind(settings_.bind_dn, settings_.bind_password));
  Reader reader(settings_, connection);
  for (const auto& username : usernames) {
    Result<std::optional<Connection::Entry>> entry =
        settings_.user_dn_template.empty()
            ? reader.find_user(username)
            : reader.read_entry(
                  replaced(settings_.user_dn_template, "{username}", escape_dn_value(username)));
    if (!entry) return entry.error();
    if (!*entry) continue;
    auto account = reader.account(username, **entry);
    if (!account) return account.error();
    found.emplace(username, std::move(*account));
  }
  return found;
}

}  // namespace gpupool::auth
