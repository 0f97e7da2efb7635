// ID token checks (auth/jwt.hpp) with keys made here: what a provider signs passes; anything
// changed, signed otherwise, or meant for another party, time or sign-in is refused.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "auth/jwt.hpp"
#include "core/base64.hpp"

namespace gpupool::auth {
namespace {

using Json = nlohmann::json;
constexpr std::int64_t kNow = 1'800'000'000;

std::string bignum_bytes(const EVP_PKEY* key, const char* name, int width = 0) {
  BIGNUM* number = nullptr;
  EVP_PKEY_get_bn_param(key, name, &number);
  std::string bytes(static_cast<std::size_t>(std::max(BN_num_bytes(number), width)), '\0');
  BN_bn2binpad(number, reinterpret_cast<unsigned char*>(bytes.data()),
               static_cast<int>(bytes.size()));
  BN_free(number);
  return bytes;
}

std::string b64(const std::string& bytes) {
  return base64url_encode_unpadded(bytes);
}

class IdTokens : public ::testing::Test {
 protected:
  IdTokens() {
    rsa_.reset(EVP_RSA_gen(2048));
    ec_.reset(EVP_EC_gen("P-256"));
    Json keys = Json::array();
    keys.push_back({{"kty", "RSA"},
                    {"kid", "rsa-1"},
                    {"use", "sig"},
                    {"n", b64(bignum_bytes(rsa_.get(), OSSL_PKEY_PARAM_RSA_N))},
                    {"e", b64(bignum_bytes(rsa_.get(), OSSL_PKEY_PARAM_RSA_E))}});
    keys.push_back({{"kty", "EC"},
                    {"kid", "ec-1"},
                    {"crv", "P-256"},
                    {"x", b64(bignum_bytes(ec_.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32))},
                    {"y", b64(bignum_bytes(ec_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32))}});
    keys.push_back({{"kty", "RSA"}, {"kid", "enc-1"}, {"use", "enc"}});  // not for signing
    auto parsed = parse_json_web_keys(Json{{"keys", keys}}.dump());
    EXPECT_TRUE(parsed.ok());
    keys_ = *parsed;
  }

  Json claims() const {
    return {{"iss", "https://id.example.org"},
            {"sub", "subject-1"},
            {"aud", "gpupool"},
            {"exp", kNow + 300},
            {"iat", kNow},
            {"nonce", "nonce-1"},
            {"preferred_username", "alice"}};
  }

  std::string sign(const Json& header, const Json& payload, EVP_PKEY* key) const {
    std::string signed_part = b64(header.dump()) + "." + b64(payload.dump());
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    std::size_t length = 0;
    EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(context, nullptr, &length,
                   reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
    std::string signature(length, '\0');
    EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size());
    EVP_MD_CTX_free(context);
    signature.resize(length);
    if (key == ec_.get()) signature = raw_ecdsa(signature);
    return signed_part + "." + b64(signature);
  }

  // DER to JWS's r || s.
  static std::string raw_ecdsa(const std::string& der) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* signature = d2i_ECDSA_SIG(nullptr, &bytes, static_cast<long>(der.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(signature), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(signature), reinterpret_cast<unsigned char*>(raw.data()) + 32,
                 32);
    ECDSA_SIG_free(signature);
    return raw;
  }

  std::string rsa_token(const Json& payload) const {
    return sign({{"alg", "RS256"}, {"kid", "rsa-1"}}, payload, rsa_.get());
  }

  Result<Json> verify(const std::string& token) const {
    return verify_id_token(token, keys_, {"https://id.example.org", "gpupool", "nonce-1", kNow});
  }

  void expect_refused(const std::string& token, const std::string& why) const {
    auto result = verify(token);
    ASSERT_FALSE(result.ok()) << "accepted, though " << why;
    EXPECT_EQ(result.error().code, ErrorCode::unauthorized) << result.error().message;
    EXPECT_NE(result.error().message.find(why), std::string::npos) << result.error().message;
  }

  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> rsa_{nullptr, EVP_PKEY_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ec_{nullptr, EVP_PKEY_free};
  JsonWebKeys keys_;
};

TEST_F(IdTokens, ATokenTheProviderSignedPassesWithItsClaims) {
  auto rsa = verify(rsa_token(claims()));
  ASSERT_TRUE(rsa.ok()) << rsa.error().message;
  EXPECT_EQ((*rsa)["preferred_username"], "alice");
  EXPECT_EQ(keys_.count("enc-1"), 0U);
  auto ec = verify(sign({{"alg", "ES256"}, {"kid", "ec-1"}}, claims(), ec_.get()));
  ASSERT_TRUE(ec.ok()) << ec.error().message;
  Json several = claims();
  several["aud"] = {"gpupool", "other"};
  several["azp"] = "gpupool";
  EXPECT_TRUE(verify(rsa_token(several)).ok());
}

TEST_F(IdTokens, AChangedOrOtherwiseSignedTokenIsRefused) {
  std::string token = rsa_token(claims());
  Json changed = claims();
  changed["preferred_username"] = "admin";
  std::string forged =
      token.substr(0, token.find('.') + 1) + b64(changed.dump()) + token.substr(token.rfind('.'));
  expect_refused(forged, "signature does not hold");
  std::string unsigned_token = b64(Json{{"alg", "none"}}.dump()) + "." + b64(claims().dump()) + ".";
  expect_refused(unsigned_token, "\"none\" is not accepted");
  expect_refused(sign({{"alg", "HS256"}, {"kid", "rsa-1"}}, claims(), rsa_.get()),
                 "\"HS256\" is not accepted");
  // An RSA key's token said to be ES256: the algorithm must fit the key.
  expect_refused(sign({{"alg", "ES256"}, {"kid", "rsa-1"}}, claims(), rsa_.get()),
                 "does not fit its key");
  expect_refused(
      sign({{"alg", "RS256"}, {"kid", "rsa-1"}, {"crit", {"exp"}}}, claims(), rsa_.get()),
      "critical");
  expect_refused("not-a-token", "not a signed JWT");
  auto unknown = verify(sign({{"alg", "RS256"}, {"kid", "rsa-2"}}, claims(), rsa_.get()));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::not_found);  // the caller fetches the keys again
}

TEST_F(IdTokens, ATokenForAnotherPartyTimeOrSignInIsRefused) {
  auto with = [&](const char* name, const Json& value) {
    Json changed = claims();
    if (value.is_null()) {
      changed.erase(name);
    } else {
      changed[name] = value;
    }
    return rsa_token(changed);
  };
  expect_refused(with("iss", "https://evil.example.org"), "another issuer");
  expect_refused(with("aud", "another-client"), "another audience");
  expect_refused(with("aud", Json{"another-client", "gpupool"}), "another party");
  expect_refused(with("azp", "another-client"), "another party");
  expect_refused(with("exp", kNow - 61), "expired");
  expect_refused(with("exp", nullptr), "expired");
  expect_refused(with("exp", 1e300), "expired");  // no number to trust, nor to convert
  expect_refused(with("iat", kNow + 120), "in the future");
  expect_refused(with("nonce", "nonce-2"), "nonce");
  expect_refused(with("nonce", nullptr), "nonce");
  expect_refused(with("sub", nullptr), "no subject");
  // Claims of the wrong type are refused like wrong values, not thrown on.
  expect_refused(with("iss", 7), "another issuer");
  expect_refused(with("azp", Json{{"id", "gpupool"}}), "another party");
  expect_refused(with("nonce", Json{"nonce-1"}), "nonce");
  expect_refused(with("sub", 42), "no subject");
  EXPECT_TRUE(verify(with("exp", kNow - 30)).ok());  // within the leeway
}

TEST_F(IdTokens, ARenewedTokenMayLeaveTheNonceOutButNotChangeIt) {
  IdTokenExpectations renewal{.issuer = "https://id.example.org",
                              .client_id = "gpupool",
                              .nonce = "nonce-1",
                              .now_seconds = kNow,
                              .nonce_optional = true};
  Json without = claims();
  without.erase("nonce");
  EXPECT_TRUE(verify_id_token(rsa_token(without), keys_, renewal).ok());
  EXPECT_TRUE(verify_id_token(rsa_token(claims()), keys_, renewal).ok());
  Json other = claims();
  other["nonce"] = "nonce-2";
  auto refused = verify_id_token(rsa_token(other), keys_, renewal);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("nonce"), std::string::npos);
}

}  // namespace
}  // namespace gpupool::auth
