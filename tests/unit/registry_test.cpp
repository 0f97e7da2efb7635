// Image references, registry logins and challenges, and what the engine is asked for a pull:
// the pieces that decide which registry is asked for what, with whose credentials.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "catalog/image_reference.hpp"
#include "catalog/registry_client.hpp"
#include "catalog/registry_logins.hpp"
#include "core/base64.hpp"
#include "engine/docker_api/registry_auth.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::testing {
namespace {

using catalog::parse_image_reference;

const std::string kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

TEST(ImageReference, ARegistryIsAFirstComponentWithADotAPortOrLocalhost) {
  auto lab = parse_image_reference("gpus.lab:5000/pytorch/session:2.7-cuda11.8");
  ASSERT_TRUE(lab.ok()) << lab.error().message;
  EXPECT_EQ(lab->registry, "gpus.lab:5000");
  EXPECT_EQ(lab->repository, "pytorch/session");
  EXPECT_EQ(lab->tag, "2.7-cuda11.8");
  EXPECT_TRUE(lab->names_registry);
  EXPECT_EQ(lab->name(), "gpus.lab:5000/pytorch/session");
  EXPECT_EQ(lab->with_digest(kDigest), "gpus.lab:5000/pytorch/session@" + kDigest);

  auto local = parse_image_reference("localhost/session");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->registry, "localhost");
  EXPECT_EQ(local->tag, "");

  auto hub = parse_image_reference("gpupool/session:e2e-slim");
  ASSERT_TRUE(hub.ok());
  EXPECT_EQ(hub->registry, "docker.io");
  EXPECT_FALSE(hub->names_registry) << "a local image, or one of Docker Hub's";
  EXPECT_EQ(hub->name(), "gpupool/session");

  auto official = parse_image_reference("ubuntu:22.04");
  ASSERT_TRUE(official.ok());
  EXPECT_EQ(official->repository, "library/ubuntu");
  EXPECT_EQ(official->name(), "ubuntu");
  EXPECT_EQ(official->api_host(), "registry-1.docker.io");
}

TEST(ImageReference, ADigestPinsItAndMustBeSha256) {
  auto pinned = parse_image_reference("ghcr.io/org/image:1.0@" + kDigest);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(pinned->digest, kDigest);
  EXPECT_EQ(pinned->tag, "1.0");
  for (const std::string& bad : std::vector<std::string>{
           "", "UPPER/case", "a//b", "x@sha256:short", "x@md5:0123", "host:99999999/x",
           "x:", "x:-tag", "-x", "x/", "x y", std::string(600, 'a')}) {
    EXPECT_FALSE(parse_image_reference(bad).ok()) << bad;
  }
}

TEST(RegistryLogins, ReadDockersConfigFormatBothWays) {
  std::string encoded = base64_encode("ci:s3cret:with:colons");
  auto logins = catalog::parse_registry_logins(
      R"({"auths": {"gpus.lab:5000": {"auth": ")" + encoded +
      R"("}, "https://index.docker.io/v1/": {"username": "me", "password": "pw"}}})");
  ASSERT_TRUE(logins.ok()) << logins.error().message;
  EXPECT_EQ(logins->at("gpus.lab:5000").username, "ci");
  EXPECT_EQ(logins->at("gpus.lab:5000").password, "s3cret:with:colons");
  EXPECT_EQ(logins->at("docker.io").username, "me") << "Hub's old key means docker.io";

  auto lab = catalog::login_for(*logins, "gpus.lab:5000/pytorch/session:2.7");
  ASSERT_TRUE(lab.has_value());
  EXPECT_EQ(lab->username, "ci");
  EXPECT_FALSE(catalog::login_for(*logins, "other.lab/pytorch/session:2.7").has_value())
      << "a login goes to its own registry only";
}

TEST(RegistryLogins, RefuseWhatTheyCannotRead) {
  for (const std::string bad : {"", "[]", "{}", R"({"auths": []})", R"({"auths": {"h": "x"}})",
                                R"({"auths": {"h": {"auth": "not base64!"}}})",
                                R"({"auths": {"h": {"auth": "bm9jb2xvbg=="}}})",
                                R"({"auths": {"h": {"username": "only"}}})"}) {
    EXPECT_FALSE(catalog::parse_registry_logins(bad).ok()) << bad;
  }
}

TEST(RegistryChallenge, ReadsBearerRealmServiceAndScope) {
  auto challenge = catalog::parse_auth_challenge(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull")");
  EXPECT_EQ(challenge.scheme, "bearer");
  EXPECT_EQ(challenge.realm, "https://auth.docker.io/token");
  EXPECT_EQ(challenge.service, "registry.docker.io");
  EXPECT_EQ(challenge.scope, "repository:library/ubuntu:pull");
  EXPECT_EQ(catalog::parse_auth_challenge(R"(Basic realm="Registry Realm")").scheme, "basic");
  EXPECT_EQ(catalog::parse_auth_challenge("").scheme, "");
  EXPECT_EQ(catalog::parse_auth_challenge(R"(Bearer realm="unterminated)").realm, "unterminated");
}

TEST(EnginePull, AsksForTheNameAndTheTagOrDigestApart) {
  using docker_api::pull_target;
  EXPECT_EQ(pull_target("gpus.lab:5000/session:1.0"),
            "/images/create?fromImage=gpus.lab%3A5000%2Fsession&tag=1.0");
  EXPECT_EQ(pull_target("gpus.lab:5000/session"),
            "/images/create?fromImage=gpus.lab%3A5000%2Fsession&tag=latest")
      << "the registry's port is not a tag";
  EXPECT_EQ(pull_target("session:1.0@" + kDigest),
            "/images/create?fromImage=session&tag=sha256%3A" + kDigest.substr(7));
  EXPECT_EQ(docker_api::registry_of("gpus.lab:5000/session:1.0"), "gpus.lab:5000");
  EXPECT_EQ(docker_api::registry_of("gpupool/session:1.0"), "docker.io");
}

TEST(EnginePull, SendsCredentialsOnlyWhenThereAreSome) {
  EXPECT_EQ(docker_api::registry_auth_header({}, "gpus.lab:5000"), "");
  std::string header = docker_api::registry_auth_header({"ci", "pw/+?"}, "gpus.lab:5000");
  EXPECT_EQ(header.find_first_of("+/"), std::string::npos) << "base64url: " << header;
  std::string standard = header;
  for (auto& c : standard) c = c == '-' ? '+' : c == '_' ? '/' : c;
  auto decoded = base64_decode(standard);
  ASSERT_TRUE(decoded.has_value());
  auto auth = nlohmann::json::parse(*decoded);
  EXPECT_EQ(auth["username"], "ci");
  EXPECT_EQ(auth["password"], "pw/+?");
  EXPECT_EQ(auth["serveraddress"], "gpus.lab:5000");
}

TEST(SyncProtocol, CarriesImagesToPullAheadWithTheirLoginsOnlyWhereThereAreSome) {
  SyncResponse response;
  response.prepull = {{"gpus.lab:5000/a@" + kDigest, "ci", "pw"}, {"ubuntu:22.04"}};
  std::string text = protocol::sync_response_to_json(response);
  EXPECT_EQ(nlohmann::json::parse(text)["prepull"][1].size(), 1U) << text;
  auto read = protocol::sync_response_from_json(text);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->prepull.size(), 2U);
  EXPECT_EQ(read->prepull[0].reference, "gpus.lab:5000/a@" + kDigest);
  EXPECT_EQ(read->prepull[0].registry_password, "pw");
  EXPECT_EQ(read->prepull[1].registry_username, "");
  for (const std::string bad : {R"({"prepull": [1]})", R"({"prepull": [{"reference": 2}]})",
                                R"({"prepull": [{}]})", R"({"prepull": {}})"}) {
    EXPECT_FALSE(protocol::sync_response_from_json(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace gpupool::testing
