// LdapDirectory: checks a user's password against the organisation's LDAP directory
// (OpenLDAP, Active Directory, FreeIPA …) and reads who they are there: their entry, uid and
// gid, and groups.
//
// Search, then bind: the user's entry is found with `user_filter` (as the service account,
// or anonymously), then bound to with the password; or, with `user_dn_template`, bound to
// directly. A user the filter does not find — gone, or excluded by it, which is how a
// disabled account is named (AD's userAccountControl bit, OpenLDAP's ppolicy lock) — cannot
// sign in, and look_up reports them gone. Every connection is TLS (LDAPS or StartTLS) with
// the server's certificate checked, unless `insecure_plaintext` says otherwise. Blocking;
// each call its own connection, so it is thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace gpupool::auth {

struct LdapSettings {
  std::string url;  // ldaps://host[:636] or ldap://host[:389] (with start_tls); several: failover
  bool start_tls = false;
  bool insecure_plaintext = false;  // ldap:// without StartTLS: passwords cross the network bare
  std::string ca_file;              // PEM CAs the server's certificate must chain to; "": system's
  std::string bind_dn;              // the service account searching; "": anonymous
  std::string bind_password;
  std::string user_dn_template;  // "uid={username},ou=people,…": bind directly, no search
  std::string user_base;         // where users are searched
  std::string user_filter = "(&(objectClass=posixAccount)(uid={username}))";
  std::string uid_attribute = "uidNumber";
  std::string gid_attribute = "gidNumber";
  // Groups: the user entry's attribute naming the groups' DNs (memberOf), or else a search
  // under group_base with group_filter ({username}, {dn}). Only groups under group_base count.
  std::string groups_attribute;
  std::string group_base;
  std::string group_filter = "(&(objectClass=posixGroup)(memberUid={username}))";
  std::string group_name_attribute = "cn";
  int timeout_s = 10;
};

// Whether the settings make sense together (a URL, TLS or the insecure flag, a base or a
// template …): invalid_argument naming what is wrong.
Status check_ldap_settings(const LdapSettings& settings);

struct DirectoryAccount {
  std::string username;  // as asked for
  std::string dn;
  std::optional<int> uid;
  std::optional<int> gid;
  std::vector<std::string>
      groups;  // their names (group_name_attribute), as the directory spells them
};

class LdapDirectory {
 public:
  explicit LdapDirectory(LdapSettings settings) : settings_(std::move(settings)) {}

  // The account, when `password` is its own. unauthorized: a wrong password, an empty one, or
  // a name the directory does not have (or has excluded); unavailable: it cannot be reached,
  // or its certificate is not trusted.
  Result<DirectoryAccount> sign_in(const std::string& username, const std::string& password) const;
  // Each of `usernames` as the directory has them now (one connection, as the service
  // account): absent from the answer when gone or excluded.
  Result<std::map<std::string, DirectoryAccount>> look_up(
      const std::vector<std::string>& usernames) const;

  const LdapSettings& settings() const { return settings_; }

 private:
  LdapSettings settings_;
};

// RFC 4515 and RFC 4514 escaping, for values put into filters and DNs.
std::string escape_filter_value(const std::string& value);
std::string escape_dn_value(const std::string& value);

}  // namespace gpupool::auth
