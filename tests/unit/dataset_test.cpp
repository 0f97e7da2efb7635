// Datasets: the names and paths admins may lend, the admin API, what a group member's
// session is handed, and the read-only mount the agent makes of it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/session_container.hpp"
#include "api_fixture.hpp"
#include "model/dataset.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

TEST(DatasetChecks, PlainAbsolutePathsOutsideTheHostsOwnDirectories) {
  for (const char* good : {"/srv/datasets/imagenet", "/mnt/nfs/coco-2017", "/data",
                           "/var/lib/datasets", "/home2/shared"}) {
    EXPECT_TRUE(check_dataset_path(good).ok()) << good;
  }
  for (const char* bad :
       {"", "/", "relative/path", "/srv/../etc", "/srv/./x", "/srv//x", "/srv/x/", "/etc",
        "/etc/ssl", "/proc/1", "/var/lib/docker/volumes", "/var/run/docker.sock", "/root/.ssh",
        "/home/alice", "/var/lib/gpupool", "/run/secrets", "/srv/a\nb"}) {
    EXPECT_FALSE(check_dataset_path(bad).ok()) << bad;
  }
  EXPECT_TRUE(check_dataset_name("imagenet-1k_v2.0").ok());
  for (const char* bad : {"", "ImageNet", "-x", "../x", "a/b", "x y"}) {
    EXPECT_FALSE(check_dataset_name(bad).ok()) << bad;
  }
}

TEST_F(Api, AdminsLendDatasetsToGroupsAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"vision"})").status, 201);
  const std::string body = R"({"path":"/srv/datasets/imagenet","groups":["vision"]})";
  EXPECT_EQ(as(alice, "PUT", "/api/v1/datasets/imagenet", body).status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/datasets").status, 403);
  auto put = as(admin, "PUT", "/api/v1/datasets/imagenet", body);
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(json::parse(put.body)["mounted_at"], "/datasets/imagenet");
  EXPECT_EQ(as(admin, "PUT", "/api/v1/datasets/coco", R"({"path":"/etc","groups":[]})").status,
            400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/datasets/Bad", body).status, 400);
  EXPECT_EQ(
      as(admin, "PUT", "/api/v1/datasets/coco", R"({"path":"/srv/coco","groups":["nope"]})").status,
      400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/datasets/coco", R"({"path":"/srv/coco"})").status, 400);
  auto listed = json::parse(as(admin, "GET", "/api/v1/datasets").body)["datasets"];
  ASSERT_EQ(listed.size(), 1U) << listed;
  EXPECT_EQ(listed[0]["groups"], json::array({"vision"}));
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/datasets/imagenet").status, 200);
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/datasets/imagenet").status, 404);
}

using Datasets = ServiceFixture;

TEST_F(Datasets, AGroupMembersSessionIsHandedTheDatasetsLentToItsGroups) {
  auto vision = store_->create_group("vision", clock_.now());
  ASSERT_TRUE(vision.ok());
  ASSERT_TRUE(store_->set_group_members(vision->id, {alice_.id}).ok());
  ASSERT_TRUE(store_->put_dataset({"imagenet", "/srv/imagenet", {}, 1}, {vision->id}).ok());
  ASSERT_TRUE(store_->put_dataset({"private", "/srv/private", {}, 1}, {}).ok());
  auto alices = request(alice_, 1);
  auto bobs = request(bob_, 1);
  for (const auto& desired : sync({}).desired) {
    if (desired.session_id == alices.id) {
      ASSERT_EQ(desired.datasets.size(), 1U);
      EXPECT_EQ(desired.datasets[0].name, "imagenet");
      EXPECT_EQ(desired.datasets[0].host_path, "/srv/imagenet");
    } else {
      EXPECT_EQ(desired.session_id, bobs.id);
      EXPECT_TRUE(desired.datasets.empty()) << "bob is in no group it is lent to";
    }
  }
}

TEST(DatasetMounts, AreReadOnlyBindsUnderDatasetsAndCheckedOnTheWire) {
  DesiredSession session;
  session.session_id = "s1";
  session.username = "alice";
  session.uid = 20001;
  session.image_reference = "gpupool/session:test";
  session.datasets = {{"imagenet", "/srv/imagenet"}};
  auto spec = agent::make_session_container(session, {});
  ASSERT_EQ(spec.mounts.size(), 2U);
  EXPECT_EQ(spec.mounts[1].host_path, "/srv/imagenet");
  EXPECT_EQ(spec.mounts[1].target, "/datasets/imagenet");
  EXPECT_TRUE(spec.mounts[1].read_only);

  // A server (or a man in the middle it is not) cannot have a node mount its own /etc.
  SyncResponse response;
  response.desired = {session};
  response.desired[0].datasets[0].host_path = "/etc";
  EXPECT_FALSE(protocol::sync_response_from_json(protocol::sync_response_to_json(response)).ok());
  response.desired[0].datasets[0] = {"../x", "/srv/x"};
  EXPECT_FALSE(protocol::sync_response_from_json(protocol::sync_response_to_json(response)).ok());
}

}  // namespace
}  // namespace gpupool::testing
