#include <gtest/gtest.h>

#include "auth/names.hpp"
#include "auth/password.hpp"
#include "auth/ssh_key.hpp"
#include "core/random.hpp"

namespace gpupool::auth {
namespace {

constexpr const char* kEd25519 =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs root@vm";

TEST(Usernames, AreLowerCasedAndChecked) {
  EXPECT_EQ(*canonical_username("Alice"), "alice");
  EXPECT_EQ(*canonical_username("lab-7"), "lab-7");
  EXPECT_FALSE(canonical_username("").ok());
  EXPECT_FALSE(canonical_username("7lab").ok());
  EXPECT_FALSE(canonical_username("a--b").ok());
  EXPECT_FALSE(canonical_username("ab-").ok());
  EXPECT_FALSE(canonical_username("a_b").ok());
  EXPECT_FALSE(canonical_username("a b").ok());
  EXPECT_FALSE(canonical_username(std::string(33, 'a')).ok());
}

TEST(Usernames, RefuseUnicodeLookAlikesInsteadOfFoldingThem) {
  EXPECT_FALSE(canonical_username("\xd0\xb0"
                                  "dmin")
                   .ok());                                     // Cyrillic a
  EXPECT_FALSE(canonical_username("admin\xe2\x80\x8b").ok());  // zero-width space
}

TEST(Passwords, HashWithArgon2idAndVerify) {
  init_crypto();
  auto hash = hash_password("correct horse");
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_TRUE(verify_password(*hash, "correct horse"));
  EXPECT_FALSE(verify_password(*hash, "correct horsE"));
  EXPECT_NE(*hash, *hash_password("correct horse"));  // salted
}

TEST(Passwords, RulesRejectShortAndHugePasswords) {
  EXPECT_FALSE(check_password_rules("short").ok());
  EXPECT_FALSE(check_password_rules(std::string(300, 'x')).ok());
  EXPECT_TRUE(check_password_rules("long enough").ok());
}

TEST(SshKeys, AcceptsAValidKeyAndNormalizesWhitespace) {
  auto key = normalize_ssh_public_key(std::string("  ") + kEd25519 + "\n");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(*key, kEd25519);
}

TEST(SshKeys, FingerprintMatchesSshKeygen) {
  // ssh-keygen -lf prints: 256 SHA256:FylJdAj+HQetj7dwRRPsUxwffv7b5iSXFfVwBtTWd2Y root@vm (ED25519)
  EXPECT_EQ(ssh_key_fingerprint(kEd25519), "SHA256:FylJdAj+HQetj7dwRRPsUxwffv7b5iSXFfVwBtTWd2Y");
}

TEST(SshKeys, RejectsOptionsUnknownTypesAndInjectedLines) {
  EXPECT_FALSE(normalize_ssh_public_key(std::string("command=\"sh\" ") + kEd25519).ok());
  EXPECT_FALSE(normalize_ssh_public_key("ssh-foo AAAA").ok());
  EXPECT_FALSE(normalize_ssh_public_key(std::string(kEd25519) + "\nssh-rsa AAAA other").ok());
  EXPECT_FALSE(normalize_ssh_public_key("ssh-ed25519").ok());
  EXPECT_FALSE(normalize_ssh_public_key("ssh-ed25519 not-base64!!").ok());
  EXPECT_FALSE(normalize_ssh_public_key("ecdsa-sha2-nistp384   d").ok())
      << "an empty body (fuzzing)";
}

TEST(SshKeys, RejectsABodyOfAnotherType) {
  // An ed25519 body announced as ssh-rsa.
  std::string mismatched = kEd25519;
  mismatched.replace(0, 11, "ssh-rsa");
  EXPECT_FALSE(normalize_ssh_public_key(mismatched).ok());
}

TEST(SshKeys, RejectsATruncatedBody) {
  EXPECT_FALSE(normalize_ssh_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5").ok());
}

}  // namespace
}  // namespace gpupool::auth
