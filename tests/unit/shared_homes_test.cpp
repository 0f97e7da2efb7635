#include "agent/shared_homes.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace gpupool::agent {
namespace {

namespace fs = std::filesystem;

class SharedHomes : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "making homes for other users needs root";
    root_ = fs::temp_directory_path() / ("gpupool-homes-" + std::to_string(::getpid()));
    fs::create_directory(root_);
    fs::permissions(root_, fs::perms(0755));
  }
  void TearDown() override {
    if (!root_.empty()) fs::remove_all(root_);
  }
  fs::path root_;
};

struct stat stat_of(const fs::path& path) {
  struct stat info {};
  EXPECT_EQ(::lstat(path.c_str(), &info), 0) << path;
  return info;
}

TEST_F(SharedHomes, MakesTheHomeOnFirstUseOwnedByTheUserAndPrivate) {
  ASSERT_TRUE(check_home_root(root_.string()));
  ASSERT_TRUE(ensure_shared_home(root_.string(), "alice", 20001));
  auto info = stat_of(root_ / "alice");
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_EQ(info.st_uid, 20001u);
  EXPECT_EQ(info.st_gid, 20001u);
  EXPECT_EQ(info.st_mode & 07777, 0700u);
}

TEST_F(SharedHomes, KeepsAHomeThatIsAlreadyThereAsItIs) {
  fs::create_directory(root_ / "alice");
  ASSERT_EQ(::chown((root_ / "alice").c_str(), 20001, 20001), 0);
  std::ofstream(root_ / "alice" / "notes.txt") << "kept";
  ASSERT_TRUE(ensure_shared_home(root_.string(), "alice", 20001));
  EXPECT_TRUE(fs::exists(root_ / "alice" / "notes.txt"));
}

TEST_F(SharedHomes, RefusesALinkOrAFileInPlaceOfAHome) {
  fs::create_directory(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / "alice");
  auto linked = ensure_shared_home(root_.string(), "alice", 20001);
  ASSERT_FALSE(linked);
  EXPECT_NE(linked.error().message.find("not a directory"), std::string::npos);
  EXPECT_EQ(stat_of(root_ / "elsewhere").st_uid, 0u) << "the link was not followed";

  std::ofstream(root_ / "bob") << "a file";
  EXPECT_FALSE(ensure_shared_home(root_.string(), "bob", 20002));
}

TEST_F(SharedHomes, RefusesNamesThatWouldLeaveTheRoot) {
  for (const char* name : {"", "..", ".hidden", "a/b", "../etc"}) {
    EXPECT_FALSE(ensure_shared_home(root_.string(), name, 20001)) << name;
  }
  EXPECT_FALSE(fs::exists(root_.parent_path() / "etc" / "x"));
}

TEST_F(SharedHomes, TheRootMustBeAnAbsoluteDirectoryOnlyRootWrites) {
  EXPECT_FALSE(check_home_root("relative/homes"));
  EXPECT_FALSE(check_home_root((root_ / "missing").string()));
  std::ofstream(root_ / "file") << "x";
  EXPECT_FALSE(check_home_root((root_ / "file").string()));

  fs::permissions(root_, fs::perms(01777));  // like /tmp: anyone could plant a home
  auto writable = check_home_root(root_.string());
  ASSERT_FALSE(writable);
  EXPECT_NE(writable.error().message.find("root only"), std::string::npos);

  fs::permissions(root_, fs::perms(0755));
  ASSERT_EQ(::chown(root_.c_str(), 1000, 0), 0);
  EXPECT_FALSE(check_home_root(root_.string())) << "owned by someone else";
}

}  // namespace
}  // namespace gpupool::agent
