#include "auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <fmt/format.h>

#include "core/base64.hpp"
#include "core/json_input.hpp"

namespace gpupool::auth {

namespace {

using Json = nlohmann::json;

Error refused(const std::string& why) {
  return make_error(ErrorCode::unauthorized, "the ID token is refused: " + why);
}

std::shared_ptr<EVP_PKEY> owned(EVP_PKEY* key) {
  return {key, EVP_PKEY_free};
}

struct Bignum {
  BIGNUM* value = nullptr;
  ~Bignum() { BN_free(value); }
};

std::optional<std::string> member_bytes(const Json& key, const char* name) {
  auto found = key.find(name);
  if (found == key.end() || !found->is_string()) return std::nullopt;
  return base64url_decode(found->get<std::string>());
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* builder) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(builder);
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (params != nullptr && context != nullptr && EVP_PKEY_fromdata_init(context) > 0)
    EVP_PKEY_fromdata(context, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(context);
  OSSL_PARAM_free(params);
  return key != nullptr ? owned(key) : nullptr;
}

std::shared_ptr<EVP_PKEY> rsa_key(const Json& key) {
  auto n = member_bytes(key, "n");
  auto e = member_bytes(key, "e");
  if (!n || !e || n->size() < 256) return nullptr;  // RSA below 2048 bits is not a key to trust
  Bignum modulus{BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()),
                           static_cast<int>(n->size()), nullptr)};
  Bignum exponent{BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()),
                            static_cast<int>(e->size()), nullptr)};
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> made;
  if (builder != nullptr && modulus.value != nullptr && exponent.value != nullptr &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_N, modulus.value) > 0 &&
      OSSL_PARAM_BLD_push_BN(builder, OSSL_PKEY_PARAM_RSA_E, exponent.value) > 0) {
    made = from_params("RSA", builder);
  }
  OSSL_PARAM_BLD_free(builder);
  return made;
}

std::shared_ptr<EVP_PKEY> ec_key(const Json& key) {
  if (string_member(key, "crv") != "P-256") return nullptr;
  auto x = member_bytes(key, "x");
  auto y = member_bytes(key, "y");
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  std::string point = "\x04" + *x + *y;  // uncompressed
  OSSL_PARAM_BLD* builder = OSSL_PARAM_BLD_new();
  std::shared_ptr<EVP_PKEY> made;
  if (builder != nullptr &&
      OSSL_PARAM_BLD_push_utf8_string(builder, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) > 0 &&
      OSSL_PARAM_BLD_push_octet_string(builder, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) > 0) {
    made = from_params("EC", builder);
  }
  OSSL_PARAM_BLD_free(builder);
  return made;
}

// JWS's ES256 signature is r and s side by side; OpenSSL verifies their DER form.
std::optional<std::string> ecdsa_der(const std::string& raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* signature = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  if (signature == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(signature, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(signature);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(signature, &der);
  ECDSA_SIG_free(signature);
  if (length <= 0) return std::nullopt;
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(length));
  OPENSSL_free(der);
  return bytes;
}

bool signature_holds(const PublicKey& key, const EVP_MD* digest, const std::string& signed_part,
                     const std::string& signature) {
  std::string checked = signature;
  if (key.kty == "EC") {
    auto der = ecdsa_der(signature);
    if (!der) return false;
    checked = *der;
  }
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool valid =
      context != nullptr &&
      EVP_DigestVerifyInit(context, nullptr, digest, nullptr, key.key.get()) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(checked.data()),
                       checked.size(), reinterpret_cast<const unsigned char*>(signed_part.data()),
                       signed_part.size()) == 1;
  EVP_MD_CTX_free(context);
  return valid;
}

std::optional<Json> json_part(const std::string& part) {
  auto bytes = base64url_decode(part);
  if (!bytes) return std::nullopt;
  auto parsed = Json::parse(*bytes, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return std::nullopt;
  return parsed;
}

std::optional<std::int64_t> seconds_claim(const Json& claims, const char* name) {
  auto found = claims.find(name);
  if (found == claims.end() || !found->is_number()) return std::nullopt;
  double seconds = found->get<double>();
  if (!(seconds > -1e12 && seconds < 1e12)) return std::nullopt;  // no time of ours (or NaN)
  return static_cast<std::int64_t>(seconds);
}

Status check_claims(const Json& claims, const IdTokenExpectations& expected) {
  if (string_member(claims, "iss") != expected.issuer) return refused("it is from another issuer");
  if (!claims.contains("sub") || !claims["sub"].is_string() ||
      claims["sub"].get<std::string>().empty())
    return refused("it names no subject");
  const Json& audience = claims.value("aud", Json());
  bool ours = audience.is_string() ? audience.get<std::string>() == expected.client_id : false;
  if (audience.is_array()) {
    for (const auto& entry : audience) ours = ours || entry == expected.client_id;
    if (audience.size() > 1 && string_member(claims, "azp") != expected.client_id)
      return refused("it was issued to another party (azp)");
  }
  if (!ours) return refused("it is for another audience");
  if (claims.contains("azp") && string_member(claims, "azp") != expected.client_id)
    return refused("it was issued to another party (azp)");
  auto expires = seconds_claim(claims, "exp");
  if (!expires || *expires + expected.leeway_seconds <= expected.now_seconds)
    return refused("it has expired");
  auto issued = seconds_claim(claims, "iat");
  if (!issued || *issued - expected.leeway_seconds > expected.now_seconds)
    return refused("it was issued in the future");
  bool nonce_left_out = expected.nonce_optional && !claims.contains("nonce");
  if (!nonce_left_out &&
      (expected.nonce.empty() || string_member(claims, "nonce") != expected.nonce))
    return refused("its nonce is not this sign-in's");
  return {};
}

}  // namespace

Result<JsonWebKeys> parse_json_web_keys(const std::string& document) {
  auto parsed = Json::parse(document, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("keys") ||
      !parsed["keys"].is_array()) {
    return make_error(ErrorCode::unavailable, "the provider's JWKS is not a key set");
  }
  JsonWebKeys keys;
  for (const auto& key : parsed["keys"]) {
    if (!key.is_object() || string_member(key, "use", "sig") != "sig") continue;
    std::string kty = string_member(key, "kty");
    std::shared_ptr<EVP_PKEY> made = kty == "RSA"  ? rsa_key(key)
                                     : kty == "EC" ? ec_key(key)
                                                   : nullptr;
    if (made) keys[string_member(key, "kid")] = {kty, made};
  }
  if (keys.empty())
    return make_error(ErrorCode::unavailable, "the provider's JWKS has no signing key");
  return keys;
}

Result<nlohmann::json> verify_id_token(const std::string& token, const JsonWebKeys& keys,
                                       const IdTokenExpectations& expected) {
  auto first_dot = token.find('.');
  auto second_dot = first_dot == std::string::npos ? first_dot : token.find('.', first_dot + 1);
  if (second_dot == std::string::npos || token.find('.', second_dot + 1) != std::string::npos)
    return refused("it is not a signed JWT");
  auto header = json_part(token.substr(0, first_dot));
  auto claims = json_part(token.substr(first_dot + 1, second_dot - first_dot - 1));
  auto signature = base64url_decode(token.substr(second_dot + 1));
  if (!header || !claims || !signature) return refused("it is not a signed JWT");
  if (header->contains("crit")) return refused("it has critical extensions");
  std::string algorithm = header->value("alg", "");
  const EVP_MD* digest = algorithm == "RS256" || algorithm == "ES256" ? EVP_sha256()
                         : algorithm == "RS384"                       ? EVP_sha384()
                         : algorithm == "RS512"                       ? EVP_sha512()
                                                                      : nullptr;
  if (digest == nullptr)
    return refused(fmt::format("its algorithm \"{}\" is not accepted", algorithm));
  std::string kty = algorithm.starts_with("ES") ? "EC" : "RSA";
  const PublicKey* key = nullptr;
  if (header->contains("kid")) {
    auto found = keys.find(header->value("kid", ""));
    if (found == keys.end())
      return make_error(ErrorCode::not_found, "the ID token's key is not among the provider's");
    key = &found->second;
  } else if (keys.size() == 1) {
    key = &keys.begin()->second;
  } else {
    return refused("it names no key");
  }
  if (key->kty != kty) return refused("its algorithm does not fit its key");
  if (!signature_holds(*key, digest, token.substr(0, second_dot), *signature))
    return refused("its signature does not hold");
  GPUPOOL_TRY(check_claims(*claims, expected));
  return *claims;
}

}  // namespace gpupool::auth
