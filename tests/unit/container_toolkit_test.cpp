#include "agent/container_toolkit.hpp"

#include <gtest/gtest.h>

namespace gpupool::agent {
namespace {

TEST(ContainerToolkit, ReadsTheVersionBothToolsPrint) {
  auto ctk =
      parse_toolkit_version("NVIDIA Container Toolkit CLI version 1.17.8\ncommit: 0e8ef5e\n");
  ASSERT_TRUE(ctk);
  EXPECT_EQ(ctk->major, 1);
  EXPECT_EQ(ctk->minor, 17);
  EXPECT_EQ(ctk->patch, 8);
  auto cli = parse_toolkit_version("cli-version: 1.16.1\nlib-version: 1.16.1\nbuild date: …");
  ASSERT_TRUE(cli);
  EXPECT_EQ(cli->minor, 16);
  EXPECT_FALSE(parse_toolkit_version("command not found"));
}

TEST(ContainerToolkit, VersionsWithKnownEscapesAreRefusedByName) {
  auto old = check_toolkit_version({1, 16, 1});
  ASSERT_FALSE(old);
  EXPECT_NE(old.error().message.find("CVE-2024-0132, CVE-2025-23266"), std::string::npos);
  EXPECT_NE(old.error().message.find("upgrade it to 1.17.8"), std::string::npos);
  auto between = check_toolkit_version({1, 17, 7});
  ASSERT_FALSE(between);
  EXPECT_EQ(between.error().message.find("CVE-2024-0132"), std::string::npos);
  EXPECT_NE(between.error().message.find("CVE-2025-23266"), std::string::npos);
  EXPECT_TRUE(check_toolkit_version({1, 17, 8}));
  EXPECT_TRUE(check_toolkit_version({1, 18, 0}));
  EXPECT_TRUE(check_toolkit_version({2, 0, 0}));
  EXPECT_EQ(toolkit_advisories({0, 9, 0}).size(), 2u);
}

}  // namespace
}  // namespace gpupool::agent
