// Account sources by name, as the store and the API spell them.
#include "model/user.hpp"

namespace gpupool {

std::string_view to_string(AccountSource source) {
  switch (source) {
    case AccountSource::ldap:
      return "ldap";
    case AccountSource::oidc:
      return "oidc";
    case AccountSource::local:
      break;
  }
  return "local";
}

AccountSource account_source_from(std::string_view name) {
  if (name == "ldap") return AccountSource::ldap;
  if (name == "oidc") return AccountSource::oidc;
  return AccountSource::local;
}

}  // namespace gpupool
