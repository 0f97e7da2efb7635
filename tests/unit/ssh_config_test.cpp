// The CLI's edits of ~/.ssh/config and of its own known_hosts: its section only, the user's
// lines kept as they were, one entry and one host key per session.
#include <gtest/gtest.h>

#include "cli/ssh_config.hpp"

namespace gpupool::cli {
namespace {

SshEntry entry(const std::string& id, int port) {
  return {id, "gpu-1.lab", port, "ada", "/home/ada/.config/gpupool/known_hosts"};
}

bool keep_all(const std::string&) {
  return true;
}

TEST(SshConfig, AnEntryNamesTheSessionAndPinsItsHostKeyUnderItsAlias) {
  EXPECT_EQ(ssh_config_entry(entry("s1", 30001)),
            "Host gpupool-s1\n  HostName gpu-1.lab\n  Port 30001\n  User ada\n"
            "  HostKeyAlias gpupool-s1\n"
            "  UserKnownHostsFile \"/home/ada/.config/gpupool/known_hosts\"\n"
            "  StrictHostKeyChecking yes\n");
}

TEST(SshConfig, TheSectionGoesFirstAndEndsInHostStarSoTheUsersGlobalLinesStillApplyToAll) {
  std::string mine = "User someone\nHost build\n  HostName build.lab\n";
  std::string written = with_ssh_entry(mine, entry("s1", 30001), keep_all);
  EXPECT_EQ(written.find("# >>> gpupool"), 0U);
  auto end = written.find("Host *\n# <<< gpupool\n");
  ASSERT_NE(end, std::string::npos);
  EXPECT_EQ(written.substr(end + std::string("Host *\n# <<< gpupool\n").size()), mine);
}

TEST(SshConfig, WritingASessionAgainReplacesItsEntryAndKeepsTheOthers) {
  std::string once = with_ssh_entry("", entry("s1", 30001), keep_all);
  std::string twice = with_ssh_entry(once, entry("s2", 30002), keep_all);
  std::string again = with_ssh_entry(twice, entry("s1", 30009), keep_all);
  EXPECT_EQ(again.find("Port 30001"), std::string::npos);
  EXPECT_NE(again.find("Port 30009"), std::string::npos);
  EXPECT_NE(again.find("Host gpupool-s2\n"), std::string::npos);
  EXPECT_EQ(again.find("# >>> gpupool"), again.rfind("# >>> gpupool"));  // one section
}

TEST(SshConfig, EntriesOfSessionsNotKeptGoAndAnEmptySectionLeavesTheFileAsTheUsersWas) {
  std::string mine = "Host *\n  ServerAliveInterval 30\n";
  std::string two =
      with_ssh_entry(with_ssh_entry(mine, entry("s1", 1), keep_all), entry("s2", 2), keep_all);
  auto only_s2 = [](const std::string& id) { return id == "s2"; };
  std::string one = with_ssh_entry(two, std::nullopt, only_s2);
  EXPECT_EQ(one.find("gpupool-s1"), std::string::npos);
  EXPECT_NE(one.find("gpupool-s2"), std::string::npos);
  EXPECT_EQ(with_ssh_entry(one, std::nullopt, [](const std::string&) { return false; }), mine);
}

TEST(SshConfig, AUsersHostNamedLikeOursOutsideTheSectionIsNotTouched) {
  std::string mine = "Host gpupool-s1\n  HostName elsewhere\n";
  std::string written = with_ssh_entry(mine, entry("s1", 30001), keep_all);
  EXPECT_NE(written.find("HostName elsewhere"), std::string::npos);
  EXPECT_NE(written.find("HostName gpu-1.lab"), std::string::npos);
}

TEST(KnownHosts, OneLinePerAliasReplacedInPlaceOfTheOld) {
  std::string file = with_known_host("", "gpupool-s1", "ssh-ed25519 AAAA1");
  file = with_known_host(file, "gpupool-s10", "ssh-ed25519 AAAA10");
  file = with_known_host(file, "gpupool-s1", "ssh-ed25519 BBBB1");
  EXPECT_EQ(file, "gpupool-s10 ssh-ed25519 AAAA10\ngpupool-s1 ssh-ed25519 BBBB1\n");
}

}  // namespace
}  // namespace gpupool::cli

namespace gpupool::cli {
namespace {

TEST(SshWords, WhatTheServerSaysIsOneWordOrRefusedBeforeAnyFileIsWritten) {
  for (const char* fine : {"gpus.lab.example", "10.0.0.7", "alice_1", "fe80::1", "s1abc"})
    EXPECT_TRUE(is_ssh_word(fine)) << fine;
  for (const char* bad :
       {"", "host\nProxyCommand sh -c evil", "a b", "host\r", "\"x\"", "x#y", "%h", "a;b"}) {
    EXPECT_FALSE(is_ssh_word(bad)) << bad;
  }
  EXPECT_FALSE(is_ssh_word(std::string(256, 'a')));
  EXPECT_TRUE(is_plain_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB+/="));
  for (const char* bad :
       {"", "ssh-ed25519", "ssh-ed25519 AAAA\nHost *", "ssh-ed25519 AA$A", "ssh-ed25519 AAAA\r"}) {
    EXPECT_FALSE(is_plain_public_key(bad)) << bad;
  }
}

}  // namespace
}  // namespace gpupool::cli
