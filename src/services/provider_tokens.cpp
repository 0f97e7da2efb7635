#include "services/provider_tokens.hpp"

#include <nlohmann/json.hpp>

namespace gpupool::services {

std::string ProviderTokens::sealed(std::int64_t user_id, const std::string& refresh_token,
                                   const std::string& nonce) const {
  nlohmann::json plain = {{"refresh_token", refresh_token}, {"nonce", nonce}};
  return seal_.seal(plain.dump(), std::to_string(user_id));
}

Status ProviderTokens::keep(std::int64_t user_id, const auth::OidcSignIn& sign_in) {
  if (sign_in.refresh_token.empty()) return {};
  return store_.put_provider_token(user_id, sealed(user_id, sign_in.refresh_token, sign_in.nonce),
                                   clock_.now());
}

Result<std::optional<ProviderToken>> ProviderTokens::find(std::int64_t user_id) {
  auto stored = store_.find_provider_token(user_id);
  if (!stored) return stored.error();
  if (!stored->has_value()) return std::optional<ProviderToken>{};
  auto opened = seal_.open(**stored, std::to_string(user_id));
  if (!opened) return std::optional<ProviderToken>{};
  auto plain = nlohmann::json::parse(*opened, nullptr, false);
  if (!plain.is_object()) return std::optional<ProviderToken>{};
  return std::optional<ProviderToken>{
      ProviderToken{plain.value("refresh_token", ""), plain.value("nonce", ""), **stored}};
}

Status ProviderTokens::renewed(std::int64_t user_id, const ProviderToken& kept,
                               const std::string& refresh_token) {
  if (refresh_token == kept.refresh_token) return {};
  return store_.replace_provider_token(user_id, kept.sealed,
                                       sealed(user_id, refresh_token, kept.nonce), clock_.now());
}

}  // namespace gpupool::services
