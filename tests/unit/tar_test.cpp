#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "engine/docker_api/tar.hpp"

namespace gpupool::docker_api {
namespace {

std::string archive_of(const std::string& content, char type = '0') {
  std::string header(512, '\0');
  header.replace(0, 7, "key.pub");
  char size[12];
  std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(content.size()));
  header.replace(124, 11, size, 11);
  header[156] = type;
  std::string padded = content + std::string((512 - content.size() % 512) % 512, '\0');
  return header + padded + std::string(1024, '\0');
}

TEST(Tar, ExtractsTheFirstRegularFile) {
  auto content = single_file_from_tar(archive_of("ssh-ed25519 AAAA host\n"), 1024);
  ASSERT_TRUE(content.ok()) << content.error().message;
  EXPECT_EQ(*content, "ssh-ed25519 AAAA host\n");
}

TEST(Tar, RefusesDirectoriesOversizedAndTruncatedArchives) {
  EXPECT_FALSE(single_file_from_tar(archive_of("x", '5'), 1024).ok());
  EXPECT_FALSE(single_file_from_tar(archive_of(std::string(2000, 'x')), 1024).ok());
  EXPECT_FALSE(single_file_from_tar(archive_of("abc").substr(0, 514), 1024).ok());
  EXPECT_FALSE(single_file_from_tar("short", 1024).ok());
}

TEST(Tar, WritesAFileThatReadsBackAndThatTarAccepts) {
  std::string keys = "ssh-ed25519 AAAA one\nssh-ed25519 BBBB two\n";
  auto archive = tar_of_single_file("authorized_keys", keys, 0644);
  EXPECT_EQ(archive.size() % 512, 0u);
  EXPECT_EQ(*single_file_from_tar(archive, 1024), keys);
  // GNU tar, the reference reader, verifies the checksum and lists owner and mode.
  std::string path = ::testing::TempDir() + "gpupool-keys.tar";
  FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fwrite(archive.data(), 1, archive.size(), file);
  std::fclose(file);
  FILE* listing = popen(("tar -tvf " + path + " --numeric-owner 2>&1").c_str(), "r");
  ASSERT_NE(listing, nullptr);
  char line[256] = {};
  std::string listed = std::fgets(line, sizeof line, listing) ? line : "";
  EXPECT_EQ(pclose(listing), 0) << listed;
  EXPECT_TRUE(listed.starts_with("-rw-r--r-- 0/0")) << listed;
  EXPECT_NE(listed.find("authorized_keys"), std::string::npos) << listed;
}

}  // namespace
}  // namespace gpupool::docker_api
