// Accounts from the organisation's directory: LDAP escaping and settings, and how
// ExternalAccounts makes and keeps up to date the gpupool users for directory accounts.
#include <gtest/gtest.h>

#include "auth/ldap_directory.hpp"
#include "auth/password.hpp"
#include "auth/token_seal.hpp"
#include "core/random.hpp"
#include "services/auth_service.hpp"
#include "services/external_accounts.hpp"
#include "services/provider_tokens.hpp"
#include "test_store.hpp"

namespace gpupool {
namespace {

using auth::DirectoryAccount;
using auth::LdapSettings;
using services::ExternalAccounts;

TEST(LdapEscaping, FilterValuesCannotWidenTheFilter) {
  EXPECT_EQ(auth::escape_filter_value("alice"), "alice");
  EXPECT_EQ(auth::escape_filter_value("*"), "\\2a");
  EXPECT_EQ(auth::escape_filter_value("a)(uid=*"), "a\\29\\28uid=\\2a");
  EXPECT_EQ(auth::escape_filter_value(std::string("a\\b\0", 4)), "a\\5cb\\00");
}

TEST(LdapEscaping, DnValuesCannotAddComponents) {
  EXPECT_EQ(auth::escape_dn_value("alice"), "alice");
  EXPECT_EQ(auth::escape_dn_value("a,ou=admins"), "a\\,ou\\=admins");
  EXPECT_EQ(auth::escape_dn_value("#a "), "\\#a\\ ");
}

TEST(LdapSettingsCheck, RefusesPlaintextAndIncompleteSettings) {
  LdapSettings settings;
  EXPECT_FALSE(auth::check_ldap_settings(settings).ok());  // no URL
  settings.url = "ldap://ldap.example.org";
  settings.user_base = "ou=people,dc=example,dc=org";
  auto plaintext = auth::check_ldap_settings(settings);
  ASSERT_FALSE(plaintext.ok());
  EXPECT_NE(plaintext.error().message.find("start_tls"), std::string::npos);
  settings.start_tls = true;
  EXPECT_TRUE(auth::check_ldap_settings(settings).ok());
  settings.url = "ldaps://ldap.example.org";
  EXPECT_FALSE(auth::check_ldap_settings(settings).ok());  // StartTLS inside TLS
  settings.start_tls = false;
  EXPECT_TRUE(auth::check_ldap_settings(settings).ok());
  settings.user_filter = "(objectClass=posixAccount)";  // would match anyone
  EXPECT_FALSE(auth::check_ldap_settings(settings).ok());
  settings.user_filter = "(uid={username})";
  settings.bind_dn = "cn=reader,dc=example,dc=org";  // without its password
  EXPECT_FALSE(auth::check_ldap_settings(settings).ok());
  settings.url = "https://ldap.example.org";
  EXPECT_FALSE(auth::check_ldap_settings(settings).ok());
}

TEST(LdapDirectory, RefusesAnEmptyPasswordWithoutAskingTheDirectory) {
  LdapSettings settings;
  settings.url = "ldaps://127.0.0.1:1";  // nothing listens: any attempt would be unavailable
  settings.user_base = "dc=example,dc=org";
  auto signed_in = auth::LdapDirectory(settings).sign_in("alice", "");
  ASSERT_FALSE(signed_in.ok());
  EXPECT_EQ(signed_in.error().code, ErrorCode::unauthorized);
  auto unreachable = auth::LdapDirectory(settings).sign_in("alice", "secret");
  ASSERT_FALSE(unreachable.ok());
  EXPECT_EQ(unreachable.error().code, ErrorCode::unavailable);
}

class ExternalAccountsTest : public ::testing::Test {
 protected:
  ExternalAccountsTest() : clock_(1'800'000'000'000) { init_crypto(); }

  std::vector<std::string> groups_of(std::int64_t user_id) {
    std::vector<std::string> names;
    auto groups = store_->groups_of(user_id);
    EXPECT_TRUE(groups.ok());
    if (groups) {
      for (const auto& group : *groups) names.push_back(group.name);
    }
    return names;
  }

  testing::TestStore store_;
  ManualClock clock_;
  ExternalAccounts accounts_{*store_, clock_, {.admin_group = "GPU-Admins"}};
};

TEST_F(ExternalAccountsTest, TheFirstSignInCreatesTheUserWithTheDirectorysIdentity) {
  DirectoryAccount alice{"Alice",
                         "uid=alice,ou=people,dc=example,dc=org",
                         5001,
                         5000,
                         {"ml-lab", "gpu-admins", "Not A Valid Name"}};
  auto user = accounts_.provision(AccountSource::ldap, alice);
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ(user->username, "alice");
  EXPECT_EQ(user->source, AccountSource::ldap);
  EXPECT_EQ(user->external_id, alice.dn);
  EXPECT_EQ(user->uid, 5001);
  EXPECT_EQ(user->gid, 5000);
  EXPECT_TRUE(user->admin);  // gpu-admins is the admin group, whatever its case
  EXPECT_EQ(groups_of(user->id), (std::vector<std::string>{"gpu-admins", "ml-lab"}));
  EXPECT_TRUE((*store_->find_group("ml-lab"))->from_directory);
  // No password of its own: a local sign-in with any password fails.
  EXPECT_TRUE((*store_->find_user_by_name("alice"))->password_hash.empty());
}

TEST_F(ExternalAccountsTest, LaterSignInsFollowTheDirectoryAndKeepGroupsGpupoolKeeps) {
  DirectoryAccount alice{
      "alice", "uid=alice,dc=example,dc=org", 5001, std::nullopt, {"ml-lab", "gpu-admins"}};
  auto user = accounts_.provision(AccountSource::ldap, alice);
  ASSERT_TRUE(user.ok());
  auto local_group = store_->create_group("reviewers", clock_.now());
  ASSERT_TRUE(local_group.ok());
  ASSERT_TRUE(store_->set_group_members(local_group->id, {user->id}).ok());
  alice.groups = {"physics"};
  alice.uid = 5101;
  user = accounts_.provision(AccountSource::ldap, alice);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->uid, 5101);
  EXPECT_FALSE(user->admin);
  EXPECT_EQ(groups_of(user->id), (std::vector<std::string>{"physics", "reviewers"}));
}

TEST_F(ExternalAccountsTest, RefusesLocalNamesUnusableNamesLowUidsAndTakenUids) {
  auto local =
      store_->create_user("carol", *auth::hash_password("carol-password"), false, clock_.now());
  ASSERT_TRUE(local.ok());
  auto taken = accounts_.provision(AccountSource::ldap, {"carol", "uid=carol", 5003, {}, {}});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::forbidden);
  EXPECT_EQ(accounts_.provision(AccountSource::ldap, {"j.smith", "uid=j.smith", 5004, {}, {}})
                .error()
                .code,
            ErrorCode::forbidden);
  auto root = accounts_.provision(AccountSource::ldap, {"dave", "uid=dave", 0, {}, {}});
  ASSERT_FALSE(root.ok());
  EXPECT_NE(root.error().message.find("uid 0"), std::string::npos);
  EXPECT_FALSE(store_->find_user_by_name("dave")->has_value());  // nothing half made
  auto clash = accounts_.provision(AccountSource::ldap, {"erin", "uid=erin", local->uid, {}, {}});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::conflict);
  EXPECT_FALSE(store_->find_user_by_name("erin")->has_value());
}

TEST_F(ExternalAccountsTest, AdoptsALocalAccountOnlyWhenToldTo) {
  auto local =
      store_->create_user("carol", *auth::hash_password("carol-password"), false, clock_.now());
  ASSERT_TRUE(local.ok());
  ExternalAccounts adopting(*store_, clock_, {.adopt_local_accounts = true});
  auto user = adopting.provision(AccountSource::ldap, {"carol", "uid=carol", 5003, {}, {}});
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ(user->id, local->id);
  EXPECT_EQ(user->source, AccountSource::ldap);
  EXPECT_TRUE((*store_->find_user_by_name("carol"))->password_hash.empty());
}

TEST_F(ExternalAccountsTest, AnIdentityProvidersNameCannotChangeHandsToAnotherSubject) {
  ASSERT_TRUE(
      accounts_
          .provision(AccountSource::oidc, {"alice", "https://id.example.org subject-1", {}, {}, {}})
          .ok());
  auto taken = accounts_.provision(AccountSource::oidc,
                                   {"alice", "https://id.example.org subject-2", {}, {}, {}});
  ASSERT_FALSE(taken.ok());
  EXPECT_EQ(taken.error().code, ErrorCode::forbidden);
  // Nor is a directory's account an identity provider's, or the other way round.
  EXPECT_FALSE(accounts_.provision(AccountSource::ldap, {"alice", "uid=alice", {}, {}, {}}).ok());
}

TEST_F(ExternalAccountsTest, ASignInAttemptIsTakenOnceAndNotAfterItExpires) {
  UnixMillis now = clock_.now();
  ASSERT_TRUE(store_->put_sign_in_attempt("digest-1", R"({"nonce":"n"})", now + 1000, now).ok());
  ASSERT_TRUE(store_->put_sign_in_attempt("digest-2", "{}", now + 1000, now).ok());
  EXPECT_FALSE(store_->put_sign_in_attempt("digest-1", "{}", now + 1000, now).ok());  // taken
  auto taken = store_->take_sign_in_attempt("digest-1", now);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->value_or(""), R"({"nonce":"n"})");
  EXPECT_FALSE(store_->take_sign_in_attempt("digest-1", now)->has_value());         // once
  EXPECT_FALSE(store_->take_sign_in_attempt("digest-2", now + 1000)->has_value());  // expired
  EXPECT_FALSE(store_->take_sign_in_attempt("digest-3", now)->has_value());
}

TEST(TokenSealing, ASealedTokenOpensOnlyWithItsSecretAndContext) {
  init_crypto();
  auth::TokenSeal seal("client-secret", "refresh tokens");
  std::string sealed = seal.seal("refresh-token-1", "7");
  EXPECT_EQ(sealed.find("refresh-token-1"), std::string::npos);
  EXPECT_NE(seal.seal("refresh-token-1", "7"), sealed);  // a fresh nonce each time
  EXPECT_EQ(seal.open(sealed, "7").value_or(""), "refresh-token-1");
  EXPECT_FALSE(seal.open(sealed, "8").has_value());  // moved to another user's row
  EXPECT_FALSE(auth::TokenSeal("another-secret", "refresh tokens").open(sealed, "7").has_value());
  EXPECT_FALSE(auth::TokenSeal("client-secret", "other use").open(sealed, "7").has_value());
  std::string changed = sealed;
  changed[changed.size() - 2] = changed[changed.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(seal.open(changed, "7").has_value());
  EXPECT_FALSE(seal.open("v1.", "7").has_value());
  EXPECT_FALSE(seal.open("v1.!!!", "7").has_value());
  EXPECT_FALSE(seal.open("refresh-token-1", "7").has_value());
}

TEST_F(ExternalAccountsTest, AProviderTokenIsKeptSealedAndARenewalLosesToANewerSignIn) {
  auto user = accounts_.provision(AccountSource::oidc,
                                  {"alice", "https://id.example.org subject-1", {}, {}, {}});
  ASSERT_TRUE(user.ok());
  services::ProviderTokens tokens(*store_, clock_, "client-secret");
  EXPECT_FALSE(tokens.find(user->id)->has_value());
  ASSERT_TRUE(tokens.keep(user->id, {{}, "refresh-1", "nonce-1"}).ok());
  auto stored = store_->find_provider_token(user->id);
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->find("refresh-1"), std::string::npos);  // sealed
  auto kept = tokens.find(user->id);
  ASSERT_TRUE(kept.ok() && kept->has_value());
  EXPECT_EQ((*kept)->refresh_token, "refresh-1");
  EXPECT_EQ((*kept)->nonce, "nonce-1");
  // A sign-in without a refresh token leaves the older one be.
  ASSERT_TRUE(tokens.keep(user->id, {{}, "", "nonce-2"}).ok());
  EXPECT_EQ((*tokens.find(user->id))->refresh_token, "refresh-1");
  // A check's renewal replaces what it renewed...
  ASSERT_TRUE(tokens.renewed(user->id, **kept, "refresh-2").ok());
  auto renewed = tokens.find(user->id);
  EXPECT_EQ((*renewed)->refresh_token, "refresh-2");
  EXPECT_EQ((*renewed)->nonce, "nonce-1");
  // ...but not a newer sign-in's token.
  ASSERT_TRUE(tokens.keep(user->id, {{}, "refresh-3", "nonce-3"}).ok());
  ASSERT_TRUE(tokens.renewed(user->id, **renewed, "refresh-4").ok());
  EXPECT_EQ((*tokens.find(user->id))->refresh_token, "refresh-3");
  // Another client secret (changed since) opens none: as if none were kept.
  EXPECT_FALSE(services::ProviderTokens(*store_, clock_, "new-secret").find(user->id)->has_value());
  ASSERT_TRUE(tokens.drop(user->id).ok());
  EXPECT_FALSE(tokens.find(user->id)->has_value());
}

TEST_F(ExternalAccountsTest, TurnedOffLocalAccountsNeitherSignInNorKeepTheirTokens) {
  auto admin =
      store_->create_user("admin", *auth::hash_password("admin-password"), true, clock_.now());
  ASSERT_TRUE(admin.ok());
  services::AuthService with_local(*store_, clock_);
  auto login = with_local.login("admin", "admin-password", "10.0.0.1");
  ASSERT_TRUE(login.ok());
  LdapSettings unreachable;
  unreachable.url = "ldaps://127.0.0.1:1";
  unreachable.user_base = "dc=example,dc=org";
  auth::LdapDirectory ldap(unreachable);
  services::AuthService without_local(*store_, clock_, {}, {false, &ldap, &accounts_});
  EXPECT_EQ(without_local.login("admin", "admin-password", "10.0.0.1").error().code,
            ErrorCode::unauthorized);
  EXPECT_FALSE(without_local.authenticate(login->cookie_secret, CredentialKind::login).ok());
  // A name the directory would have to check, while it cannot be reached: said so.
  EXPECT_EQ(without_local.login("alice", "alice-password", "10.0.0.1").error().code,
            ErrorCode::unavailable);
}

}  // namespace
}  // namespace gpupool
