// The catalog admins run: adding pins and parses, checks are ordered to nodes through sync and
// judged from their reports, roll-out states decide who may start what, and the API keeps
// catalog changes to admins.
#include <gtest/gtest.h>

#include "api_fixture.hpp"
#include "services/image_catalog.hpp"
#include "services/image_checks.hpp"

namespace gpupool::testing {
namespace {

constexpr const char* kDigest =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kTag = "pytorch2.7-cuda11.8-cudnn8-runtime";

class ImageCatalog : public ServiceFixture {
 protected:
  ImageCatalog()
      : catalog_(*store_, clock_, [this](const catalog::ImageReference& reference) {
          asked_.push_back(reference.registry + "/" + reference.repository + ":" + reference.tag);
          return resolved_;
        }) {}

  Image add(const std::string& tag = kTag) {
    auto image = catalog_.add("root-admin", {"gpus.lab:5000/team/pytorch:" + tag, "", false});
    EXPECT_TRUE(image.ok()) << image.error().message;
    return image.ok() ? *image : Image{};
  }

  Image stored(const std::string& tag = kTag) {
    auto images = store_->list_images();
    for (const auto& image : *images)
      if (image.tag == tag) return image;
    ADD_FAILURE() << "no image " << tag;
    return {};
  }

  // The fixture's node, with a driver that supports CUDA 12.4.
  Node sync_node(const std::string& name = "node-1") const {
    Node other = node();
    other.name = name;
    other.driver_cuda = "12.4";
    return other;
  }

  SyncResponse sync_as(const std::string& name, std::vector<ImageCheckReport> reports = {}) {
    SyncRequest request{sync_node(name), {}};
    request.image_checks = std::move(reports);
    auto response = sessions_->sync(request);
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : SyncResponse{};
  }

  static ImageCheckReport good(const Image& image) {
    ImageCheckReport found{image.tag, image.reference};
    found.python = "3.11.2";
    found.notebook = "6.4.12";
    found.torch = "2.7.0";
    found.torch_cuda = "11.8";
    found.sshd = true;
    found.setpriv = true;
    found.code_server = "4.89.1";
    return found;
  }

  Result<std::string> resolved_ = std::string(kDigest);
  std::vector<std::string> asked_;
  services::ImageCatalog catalog_;
};

TEST_F(ImageCatalog, AnAddedImageIsPinnedParsedAndWaitsInTestingForItsCheck) {
  Image image = add();
  EXPECT_EQ(asked_, std::vector<std::string>{"gpus.lab:5000/team/pytorch:" + std::string(kTag)});
  EXPECT_EQ(image.reference, std::string("gpus.lab:5000/team/pytorch@") + kDigest);
  EXPECT_EQ(image.framework, "pytorch");
  EXPECT_EQ(image.framework_version, "2.7");
  EXPECT_EQ(image.cuda, "11.8");
  EXPECT_EQ(image.cudnn, "8");
  EXPECT_EQ(image.state, ImageState::testing);
  EXPECT_EQ(image.check.state, CheckState::pending);
  EXPECT_EQ(image.added_by, "root-admin");
  EXPECT_EQ(image.added_at, clock_.now());
  EXPECT_EQ(stored().reference, image.reference);
}

TEST_F(ImageCatalog, WhatCannotBeAddedIsRefusedWithTheReason) {
  auto bad_tag = catalog_.add("root-admin", {"gpus.lab:5000/team/pytorch:latest", "", false});
  ASSERT_FALSE(bad_tag.ok());
  EXPECT_EQ(bad_tag.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(bad_tag.error().message.find("image tag \"latest\" is not valid"), std::string::npos);
  auto no_tag = catalog_.add("root-admin", {std::string("gpus.lab:5000/x@") + kDigest, "", false});
  ASSERT_FALSE(no_tag.ok());
  EXPECT_NE(no_tag.error().message.find("give a semantic \"tag\""), std::string::npos);
  auto bad_reference = catalog_.add("root-admin", {"Not A Reference", kTag, false});
  ASSERT_FALSE(bad_reference.ok());
  EXPECT_EQ(bad_reference.error().code, ErrorCode::invalid_argument);

  resolved_ = make_error(ErrorCode::not_found, "manifest unknown");
  auto absent = catalog_.add("root-admin", {"gpus.lab:5000/team/gone:" + std::string(kTag)});
  ASSERT_FALSE(absent.ok());
  EXPECT_EQ(absent.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(absent.error().message.find("the registry has no image"), std::string::npos);
  resolved_ = make_error(ErrorCode::unavailable, "connection refused");
  auto down = catalog_.add("root-admin", {"gpus.lab:5000/team/pytorch:" + std::string(kTag)});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().code, ErrorCode::unavailable);

  resolved_ = std::string(kDigest);
  add();
  auto again = catalog_.add("root-admin", {"gpus.lab:5000/other:" + std::string(kTag)});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::conflict);
}

TEST_F(ImageCatalog, TheFirstNodeToSyncRunsTheCheckAndItsReportIsJudged) {
  std::string before = sync_as("node-1").state;
  Image image = add();
  auto response = sync_as("node-1");
  ASSERT_EQ(response.image_checks.size(), 1u);
  EXPECT_EQ(response.image_checks[0].tag, kTag);
  EXPECT_EQ(response.image_checks[0].image.reference, image.reference);
  EXPECT_NE(response.state, before) << "a held sync must hear of the order";
  EXPECT_EQ(stored().check.node, "node-1");
  EXPECT_TRUE(sync_as("node-2").image_checks.empty()) << "one node checks it";

  // A report from another node, or of other content, changes nothing.
  auto stale = good(image);
  stale.reference = "gpus.lab:5000/team/pytorch@sha256:other";
  sync_as("node-2", {good(image)});
  sync_as("node-1");
  EXPECT_EQ(stored().check.state, CheckState::pending);

  clock_.advance(4000);
  SyncRequest request{sync_node(), {}};
  request.image_checks = {stale, good(image)};
  ASSERT_TRUE(sessions_->sync(request).ok());
  Image checked = stored();
  EXPECT_EQ(checked.check.state, CheckState::passed);
  EXPECT_EQ(checked.check.torch, "2.7.0");
  EXPECT_EQ(checked.check.code_server, "4.89.1") << "kept by the store";
  EXPECT_EQ(checked.check.checked_at, clock_.now());
  EXPECT_TRUE(checked.ssh);
  EXPECT_TRUE(sync_as("node-1").image_checks.empty());
  EXPECT_EQ(sync_as("node-1").state, before);
}

TEST_F(ImageCatalog, ACheckANodeDoesNotReportGoesToAnotherNode) {
  add();
  sync_as("node-1");
  clock_.advance(services::kCheckReassignAfter - 1);
  EXPECT_TRUE(sync_as("node-2").image_checks.empty());
  clock_.advance(1);
  EXPECT_EQ(sync_as("node-2").image_checks.size(), 1u);
  EXPECT_EQ(stored().check.node, "node-2");
  EXPECT_TRUE(sync_as("node-1").image_checks.empty());
}

TEST_F(ImageCatalog, RollOutStatesDecideWhoMayStartSessions) {
  Image image = add();
  SessionRequest request;
  request.gpus = 1;
  request.image_tag = kTag;
  // In testing: admins only; users are told there is no such image.
  auto hidden = sessions_->request_session(alice_, request);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code, ErrorCode::not_found);
  EXPECT_FALSE(catalog_.change(kTag, {ImageState::canary, {}, {}}).ok()) << "check pending";

  sync_as("node-1");
  auto failing = good(image);
  failing.notebook.clear();
  SyncRequest report{sync_node(), {}};
  report.image_checks = {failing};
  ASSERT_TRUE(sessions_->sync(report).ok());
  auto refused = sessions_->request_session(admin_, request);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("failed its contract check: no Jupyter"),
            std::string::npos);

  // Fixed and checked again: it passes, and goes out to users.
  ASSERT_TRUE(catalog_.recheck(kTag).ok());
  sync_as("node-1");
  report.image_checks = {good(image)};
  ASSERT_TRUE(sessions_->sync(report).ok());
  ASSERT_TRUE(catalog_.change(kTag, {ImageState::canary, {}, {}}).ok());
  // The pool's simulated driver supports CUDA 12.4, enough for 11.8.
  EXPECT_TRUE(sessions_->request_session(alice_, request).ok());
  ASSERT_TRUE(catalog_.change(kTag, {ImageState::stable, {}, {}}).ok());
  ASSERT_TRUE(catalog_.change(kTag, {ImageState::deprecated, {}, {}}).ok());
  auto deprecated = sessions_->request_session(bob_, request);
  ASSERT_FALSE(deprecated.ok());
  EXPECT_NE(deprecated.error().message.find("is deprecated"), std::string::npos);
  EXPECT_EQ((*catalog_.list(bob_)).size(), 2u) << "users still see a deprecated image";
  ASSERT_TRUE(catalog_.change(kTag, {ImageState::retired, {}, {}}).ok());
  EXPECT_EQ((*catalog_.list(bob_)).size(), 1u);
  EXPECT_EQ((*catalog_.list(admin_)).size(), 2u);
}

TEST_F(ImageCatalog, TheDefaultMovesOnlyToAStableImageAndKeepsTheCatalogWithOne) {
  const std::string original = "pytorch1.13-cpu-debian12-runtime";
  add();
  auto not_stable = catalog_.change(kTag, {{}, {}, true});
  ASSERT_FALSE(not_stable.ok());
  EXPECT_NE(not_stable.error().message.find("only a stable image"), std::string::npos);
  EXPECT_FALSE(catalog_.change(original, {{}, {}, false}).ok());
  auto leaving = catalog_.change(original, {ImageState::deprecated, {}, {}});
  ASSERT_FALSE(leaving.ok());
  EXPECT_NE(leaving.error().message.find("is the default image"), std::string::npos);

  SyncRequest report{sync_node(), {}};
  sync_as("node-1");
  report.image_checks = {good(stored())};
  ASSERT_TRUE(sessions_->sync(report).ok());
  ASSERT_TRUE(catalog_.change(kTag, {ImageState::stable, {}, true}).ok());
  EXPECT_TRUE(stored().is_default);
  EXPECT_FALSE(stored(original).is_default);
}

TEST_F(ImageCatalog, ImagesMarkedForPrepullGoToEveryNodeUntilDeprecated) {
  Image image = add();
  EXPECT_TRUE(sync_as("node-1").prepull.empty());
  ASSERT_TRUE(catalog_.change(kTag, {{}, true, {}}).ok());
  auto prepull = sync_as("node-1").prepull;
  ASSERT_EQ(prepull.size(), 1u);
  EXPECT_EQ(prepull[0].reference, image.reference);
}

TEST_F(ImageCatalog, EachImageSaysWhichNodesDriversCanRunIt) {
  Node old_driver = sync_node();
  old_driver.name = "old";
  old_driver.driver_cuda = "11.4";
  Node cpu_only = node();
  cpu_only.name = "cpu";
  cpu_only.driver_cuda = "";
  cpu_only.gpus.clear();
  Node gone = node();
  gone.removed = true;
  Image image = add();
  auto fits = services::image_fits(image, {sync_node(), old_driver, cpu_only, gone});
  ASSERT_EQ(fits.size(), 3u);
  EXPECT_TRUE(fits[0].able);
  EXPECT_EQ(fits[0].gpu_models, std::vector<std::string>{"A100-80GB"});
  EXPECT_FALSE(fits[1].able);
  EXPECT_FALSE(fits[2].able);
  EXPECT_TRUE(services::image_fits(stored("pytorch1.13-cpu-debian12-runtime"), {cpu_only})[0].able);
}

class ImageApi : public Api {};

TEST_F(ImageApi, OnlyAdminsRunTheCatalogAndUsersSeeWhatIsOpenToThem) {
  auto alice = token_for("alice");
  auto admin = token_for("root-admin");
  const std::string body =
      std::string(R"({"reference":"gpus.lab:5000/t@)") + kDigest + R"(","tag":")" + kTag + R"("})";
  EXPECT_EQ(as(alice, "POST", "/api/v1/images", body).status, 403);
  auto added = as(admin, "POST", "/api/v1/images", body);
  ASSERT_EQ(added.status, 201) << added.body;
  auto view = nlohmann::json::parse(added.body);
  EXPECT_EQ(view["state"], "testing");
  EXPECT_EQ(view["digest"], kDigest);
  EXPECT_EQ(view["check"]["state"], "pending");
  EXPECT_EQ(view["added_by"], "root-admin");

  auto listed = nlohmann::json::parse(as(alice, "GET", "/api/v1/images").body)["images"];
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]["tag"], "pytorch1.13-cpu-debian12-runtime");
  EXPECT_FALSE(listed[0].contains("added_by"));
  EXPECT_EQ(listed[0]["runnable"], true);
  EXPECT_EQ(nlohmann::json::parse(as(admin, "GET", "/api/v1/images").body)["images"].size(), 2u);

  EXPECT_EQ(
      as(alice, "PATCH", std::string("/api/v1/images/") + kTag, R"({"state":"retired"})").status,
      403);
  EXPECT_EQ(as(alice, "POST", std::string("/api/v1/images/") + kTag + "/check").status, 403);
  auto bad_state = as(admin, "PATCH", std::string("/api/v1/images/") + kTag, R"({"state":"gold"})");
  EXPECT_EQ(bad_state.status, 400);
  EXPECT_EQ(as(admin, "PATCH", std::string("/api/v1/images/") + kTag, R"({"colour":"red"})").status,
            400);
  EXPECT_EQ(as(admin, "PATCH", "/api/v1/images/nope-cpu-runtime", R"({"state":"stable"})").status,
            404);
  EXPECT_EQ(as(admin, "POST", "/api/v1/images", R"({"reference":"gpus.lab:5000/t:latest"})").status,
            400);
  auto retired =
      as(admin, "PATCH", std::string("/api/v1/images/") + kTag, R"({"state":"retired"})");
  EXPECT_EQ(retired.status, 200) << retired.body;
  EXPECT_EQ(as(admin, "POST", std::string("/api/v1/images/") + kTag + "/check").status, 400);
}

}  // namespace
}  // namespace gpupool::testing
