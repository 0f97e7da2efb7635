// Sessions saved as their owners' images: who may save what (owner, running, name, quota),
// the save ordered to the session's node through sync, its report turned into the owner's
// image, checked on the session contract and started from by its owner alone; the sync
// messages that carry it; the saved image's configuration and the engine's JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "agent/image_save.hpp"
#include "api_fixture.hpp"
#include "engine/docker_api/image_body.hpp"
#include "protocol/sync_json.hpp"
#include "services/image_saves.hpp"

namespace gpupool::testing {
namespace {

constexpr const char* kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class ImageSaves : public ServiceFixture {
 protected:
  ImageSaves() : saves_(*store_, clock_, {"gpus.lab:5000/saved", 2}) {}

  // A session of alice's, running on node-1.
  Session running() {
    Session session = request(alice_, 1);
    sync({});
    sync({observed(session.id, ObservedPhase::running)});
    EXPECT_EQ(fetch(session.id).state, SessionState::running);
    return session;
  }

  SyncResponse sync_with(std::vector<ImageSaveReport> saves,
                         std::vector<ImageCheckReport> checks = {}) {
    SyncRequest request{node(), {}};
    for (const auto& id : running_ids_)
      request.observed.push_back(observed(id, ObservedPhase::running));
    request.image_saves = std::move(saves);
    request.image_checks = std::move(checks);
    auto response = sessions_->sync(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : SyncResponse{};
  }

  services::ImageSaves saves_;
  std::vector<std::string> running_ids_;
};

TEST_F(ImageSaves, OnlyTheOwnerOfARunningSessionSavesItUnderAWellFormedName) {
  Session session = running();
  running_ids_ = {session.id};
  services::ImageSaves off(*store_, clock_, {});
  auto refused = off.save(alice_, session.id, "env");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::conflict);
  EXPECT_NE(refused.error().message.find("--saved-images-registry"), std::string::npos);

  for (const char* bad : {"", "Env", "env-", "a..b", "../x", "env/x"}) {
    auto named = saves_.save(alice_, session.id, bad);
    ASSERT_FALSE(named.ok()) << bad;
    EXPECT_EQ(named.error().code, ErrorCode::invalid_argument) << bad;
  }
  auto others = saves_.save(bob_, session.id, "env");
  ASSERT_FALSE(others.ok());
  EXPECT_EQ(others.error().code, ErrorCode::not_found) << "bob learns nothing of alice's session";

  Session queued = request(alice_, 4);  // no room left on the node's 4 GPUs
  auto waiting = saves_.save(alice_, queued.id, "env");
  ASSERT_FALSE(waiting.ok());
  EXPECT_NE(waiting.error().message.find("only a running session"), std::string::npos);
}

TEST_F(ImageSaves, ASaveGoesToTheSessionsNodeAndItsReportBecomesTheOwnersCheckedImage) {
  Session session = running();
  running_ids_ = {session.id};
  std::string before = sync_with({}).state;
  auto save = saves_.save(alice_, session.id, "torch-env");
  ASSERT_TRUE(save.ok()) << save.error().message;
  EXPECT_EQ(save->repository, "gpus.lab:5000/saved/alice/torch-env");
  EXPECT_EQ(save->base_tag, "pytorch1.13-cpu-debian12-runtime");

  SyncResponse ordered = sync_with({});
  ASSERT_EQ(ordered.image_saves.size(), 1u);
  EXPECT_NE(ordered.state, before) << "a held sync answers when a save is ordered";
  const ImageSaveOrder& order = ordered.image_saves.front();
  EXPECT_EQ(order.session_id, session.id);
  EXPECT_EQ(order.base.reference, "gpupool/session:test");
  EXPECT_EQ(order.max_bytes, services::ImageSaveSettings{}.max_bytes);
  EXPECT_FALSE(saves_.save(alice_, session.id, "other").ok()) << "one save of a session at a time";

  // Another node's word counts for nothing; the session's node's does.
  SyncRequest stranger{node(), {}};
  stranger.node.name = "node-2";
  stranger.image_saves = {{order.id, "", kDigest, 1234}};
  ASSERT_TRUE(sessions_->sync(stranger).ok());
  EXPECT_EQ(saves_.mine("alice")->images.size(), 0u);

  SyncResponse reported = sync_with({{order.id, "", kDigest, 1234}});
  EXPECT_TRUE(reported.image_saves.empty());
  auto mine = saves_.mine("alice");
  ASSERT_EQ(mine->images.size(), 1u);
  const Image& image = mine->images.front();
  EXPECT_EQ(image.tag, "alice/torch-env");
  EXPECT_EQ(image.reference, std::string("gpus.lab:5000/saved/alice/torch-env@") + kDigest);
  EXPECT_EQ(image.owner, "alice");
  EXPECT_EQ(image.size_bytes, 1234);
  EXPECT_EQ(image.framework, "pytorch") << "it shows what it was saved from";
  EXPECT_EQ(image.check.state, CheckState::pending);
  EXPECT_TRUE(mine->saves.empty()) << "saved: listed as an image, not a save";
  EXPECT_TRUE(saves_.mine("bob")->images.empty());

  SessionRequest from_it;
  from_it.gpus = 1;
  from_it.image_tag = "alice/torch-env";
  auto unchecked = sessions_->request_session(alice_, from_it);
  ASSERT_FALSE(unchecked.ok());
  EXPECT_NE(unchecked.error().message.find("still being checked"), std::string::npos);

  // Checked on the session contract alone: no torch in it is no failure.
  SyncResponse check = sync_with({});
  ASSERT_EQ(check.image_checks.size(), 1u);
  ImageCheckReport found{"alice/torch-env", image.reference};
  found.python = "3.11.2";
  found.notebook = "6.4.12";
  found.sshd = true;
  found.setpriv = true;
  sync_with({}, {found});
  EXPECT_EQ(saves_.mine("alice")->images.front().check.state, CheckState::passed);
  EXPECT_TRUE(sessions_->request_session(alice_, from_it).ok());
  auto bobs = sessions_->request_session(bob_, from_it);
  ASSERT_FALSE(bobs.ok());
  EXPECT_EQ(bobs.error().code, ErrorCode::not_found);
  auto admins = sessions_->request_session(admin_, from_it);
  ASSERT_FALSE(admins.ok()) << "a user's image is theirs alone";

  EXPECT_EQ(saves_.remove("bob", "torch-env").error().code, ErrorCode::not_found);
  ASSERT_TRUE(saves_.remove("alice", "torch-env").ok());
  EXPECT_TRUE(saves_.mine("alice")->images.empty());
}

TEST_F(ImageSaves, FailuresAreKeptWithTheirReasonAndQuotaCountsWhatIsHeld) {
  Session session = running();
  running_ids_ = {session.id};
  auto first = saves_.save(alice_, session.id, "one");
  ASSERT_TRUE(first.ok());
  sync_with({{first->id, "the session's changes come to 30 GB, more than the 20 GB"}});
  auto mine = saves_.mine("alice");
  ASSERT_EQ(mine->saves.size(), 1u);
  EXPECT_EQ(mine->saves.front().state, SaveState::failed);
  EXPECT_NE(mine->saves.front().message.find("30 GB"), std::string::npos);

  ASSERT_TRUE(saves_.save(alice_, session.id, "two").ok());
  sync_with({{first->id + 1, "", kDigest, 1}});
  ASSERT_TRUE(saves_.save(alice_, session.id, "three").ok()) << "a failed save holds nothing";
  auto over = saves_.save(alice_, session.id, "four");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code, ErrorCode::conflict);
  auto taken = saves_.save(alice_, session.id, "two");
  ASSERT_FALSE(taken.ok());

  // A session that ends before its node saved it: the save fails at the node's next sync.
  running_ids_.clear();
  ASSERT_TRUE(sessions_->stop_session(alice_, session.id).ok());
  sync_with({});
  sync_with({});
  bool ended_failed = false;
  auto listed = store_->list_image_saves(false);
  for (const auto& save : *listed)
    if (save.name == "three") ended_failed = save.state == SaveState::failed;
  EXPECT_TRUE(ended_failed);
}

class MyImagesApi : public Api {};

TEST_F(MyImagesApi, EachUserSeesTheirOwnAndAdminsAnyones) {
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  auto admin = token_for("root-admin");
  auto mine = as(alice, "GET", "/api/v1/my-images");
  ASSERT_EQ(mine.status, 200) << mine.body;
  auto view = nlohmann::json::parse(mine.body);
  EXPECT_EQ(view["saving_enabled"], false) << "no registry named for saved images";
  EXPECT_EQ(view["images"], nlohmann::json::array());
  EXPECT_EQ(as(bob, "GET", "/api/v1/my-images?user=alice").status, 403);
  EXPECT_EQ(as(bob, "DELETE", "/api/v1/my-images/env?user=alice").status, 403);
  EXPECT_EQ(as(admin, "GET", "/api/v1/my-images?user=alice").status, 200);
  EXPECT_EQ(as(admin, "GET", "/api/v1/my-images?user=nobody").status, 404);
  EXPECT_EQ(as(alice, "DELETE", "/api/v1/my-images/env").status, 404);

  Session session = request(alice_, 1);
  auto off = as(alice, "POST", "/api/v1/sessions/" + session.id + "/image", R"({"name":"env"})");
  EXPECT_EQ(off.status, 409) << off.body;
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions/" + session.id + "/image", R"({"name":7})").status,
            400);
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions/" + session.id + "/image", R"({"nom":"x"})").status,
            400);
}

TEST(ImageSaveMessages, OrdersAndReportsCrossTheWireWhole) {
  SyncResponse response;
  ImageSaveOrder order{7, "s1", "reg:5000/saved/alice/env", "20261205-213500", 5'000'000'000};
  order.base = {"reg:5000/lab/session@sha256:ab", "pusher", "secret"};
  response.image_saves = {order};
  auto decoded = protocol::sync_response_from_json(protocol::sync_response_to_json(response, 2));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  ASSERT_EQ(decoded->image_saves.size(), 1u);
  EXPECT_EQ(decoded->image_saves[0].repository, order.repository);
  EXPECT_EQ(decoded->image_saves[0].max_bytes, order.max_bytes);
  EXPECT_EQ(decoded->image_saves[0].base.registry_password, "secret");

  SyncRequest request;
  request.node.name = "n1";
  request.image_saves = {{7, "", kDigest, 99}};
  auto read = protocol::sync_request_from_json(protocol::sync_request_to_json(request, 2));
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_EQ(read->image_saves.size(), 1u);
  EXPECT_EQ(read->image_saves[0].digest, kDigest);
  EXPECT_EQ(read->image_saves[0].size_bytes, 99);

  auto message = nlohmann::json::parse(protocol::sync_request_to_json(request, 2));
  message["image_saves"][0]["size_bytes"] = -1;
  EXPECT_FALSE(protocol::sync_request_from_json(message.dump()).ok());
  message["image_saves"][0]["size_bytes"] = 1;
  message["image_saves"][0]["extra"] = 1;
  EXPECT_FALSE(protocol::sync_request_from_json(message.dump()).ok());
}

TEST(SavedImageConfig, KeepsTheImagesOwnSettingsWithoutGpupoolsLabels) {
  ImageDetails base;
  base.env = {"PATH=/usr/bin"};
  base.labels = {{"io.gpupool.image.tag", "pytorch1.13-cpu-debian12-runtime"}, {"vendor", "lab"}};
  ImageDetails saved = agent::saved_image_config(base, "lab/session:1");
  EXPECT_EQ(saved.env, base.env);
  EXPECT_FALSE(saved.labels.contains("io.gpupool.image.tag"))
      << "the engine's catalog would take it for the catalog image";
  EXPECT_EQ(saved.labels.at("vendor"), "lab");
  EXPECT_EQ(saved.labels.at("io.gpupool.saved-from"), "lab/session:1");

  // Every field set, so the engine takes none from the container that made it.
  auto body = docker_api::commit_body(saved);
  EXPECT_EQ(body["Cmd"], nlohmann::json::array({"/bin/sh"}));
  EXPECT_EQ(body["User"], "0");
  EXPECT_EQ(body["Env"], nlohmann::json::array({"PATH=/usr/bin"}));
}

TEST(SavedImageConfig, TheCopyRunsAsAnythingUntrustedWithTheSessionsChangesReadOnly) {
  ImageSaveOrder order{7, "s1", "reg:5000/saved/alice/env", "1", 0};
  order.base = {"reg:5000/saved/alice/old@sha256:ab"};  // a user's own image, saved before
  ContainerSpec spec = agent::copy_container_spec(order, "/var/lib/docker/overlay2/x/diff", "n1");
  EXPECT_EQ(spec.image, order.base.reference);
  EXPECT_EQ(spec.network, "none");
  EXPECT_EQ(spec.cap_add, (std::vector<std::string>{"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"}))
      << "never DAC_READ_SEARCH (open_by_handle_at on the host-backed mount), nothing more";
  ASSERT_EQ(spec.mounts.size(), 1u);
  EXPECT_EQ(spec.mounts[0].host_path, "/var/lib/docker/overlay2/x/diff");
  EXPECT_TRUE(spec.mounts[0].read_only);
  EXPECT_TRUE(spec.labels.empty()) << "the engine would carry labels into the image";
  EXPECT_GT(spec.memory_bytes, 0);
  EXPECT_GT(spec.pids_limit, 0);
  EXPECT_TRUE(spec.gpu_uuids.empty());
}

TEST(SavedImageConfig, TheWritableLayerIsFoundOnOverlayOnly) {
  auto overlay = nlohmann::json::parse(
      R"({"GraphDriver": {"Name": "overlay2", "Data": {"UpperDir": "/var/lib/docker/overlay2/x/diff"}}})");
  EXPECT_EQ(*docker_api::upper_dir(overlay), "/var/lib/docker/overlay2/x/diff");
  auto vfs = nlohmann::json::parse(R"({"GraphDriver": {"Name": "vfs", "Data": null}})");
  auto refused = docker_api::upper_dir(vfs);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("overlay2"), std::string::npos);
  auto relative = nlohmann::json::parse(
      R"({"GraphDriver": {"Name": "overlay2", "Data": {"UpperDir": "diff"}}})");
  EXPECT_FALSE(docker_api::upper_dir(relative).ok());
}

}  // namespace
}  // namespace gpupool::testing
