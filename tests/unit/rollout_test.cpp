// Image roll-outs: who gets the canary, when it halts or is promoted, and the service that
// keeps them — validation, choosing by family, and watch() over real sessions.
#include <gtest/gtest.h>

#include "catalog/rollout.hpp"
#include "service_fixture.hpp"
#include "services/rollouts.hpp"

namespace gpupool::testing {
namespace {

Rollout rolling() {
  Rollout rollout;
  rollout.family = "pytorch2.7-cuda11.8";
  rollout.stable_tag = "pytorch2.7-cuda11.8-cudnn8-runtime";
  rollout.canary_tag = "pytorch2.7-cuda11.8-cudnn9-runtime";
  rollout.state = RolloutState::rolling;
  return rollout;
}

catalog::ArmRecord arm(int sessions, int failed, std::vector<double> seconds = {}) {
  return {sessions, failed, std::move(seconds)};
}

TEST(RolloutRules, FamilyNamesAreNeverFullTags) {
  EXPECT_TRUE(catalog::check_family_name("pytorch2.7-cuda11.8").ok());
  EXPECT_TRUE(catalog::check_family_name("pytorch-latest").ok());
  for (const char* bad : {"", "Pytorch", "pytorch2.7-cuda11.8-runtime", "7up", "a/b", "a b"})
    EXPECT_FALSE(catalog::check_family_name(bad).ok()) << bad;
}

TEST(RolloutRules, TheCanaryGoesToItsGroupsAndItsShare) {
  Rollout rollout = rolling();
  rollout.canary_percent = 10;
  rollout.canary_groups = {"early"};
  EXPECT_TRUE(catalog::gets_canary(rollout, {"early"}, 99));
  EXPECT_TRUE(catalog::gets_canary(rollout, {}, 9));
  EXPECT_FALSE(catalog::gets_canary(rollout, {"others"}, 10));
  rollout.state = RolloutState::halted;
  EXPECT_FALSE(catalog::gets_canary(rollout, {"early"}, 0));
}

TEST(RolloutRules, ACanaryHaltsWhenItFailsMoreThanTheStableImage) {
  Rollout rollout = rolling();
  EXPECT_EQ(catalog::judge_rollout(rollout, arm(5, 0), arm(1, 1)).action,
            catalog::RolloutAction::keep)
      << "one failure is below the threshold of 2";
  auto verdict = catalog::judge_rollout(rollout, arm(5, 0), arm(3, 2));
  EXPECT_EQ(verdict.action, catalog::RolloutAction::halt);
  EXPECT_EQ(verdict.why,
            "pytorch2.7-cuda11.8-cudnn9-runtime failed to start 2 of 3 sessions; "
            "pytorch2.7-cuda11.8-cudnn8-runtime failed 0 of 5");
  EXPECT_EQ(catalog::judge_rollout(rollout, arm(4, 3), arm(4, 2)).action,
            catalog::RolloutAction::keep)
      << "no worse than the stable image (the cluster's fault, not the image's)";
}

TEST(RolloutRules, ACanaryHaltsWhenItIsMuchSlowerToStart) {
  Rollout rollout = rolling();
  auto stable = arm(3, 0, {2, 3, 4});
  EXPECT_EQ(catalog::judge_rollout(rollout, stable, arm(2, 0, {30, 30})).action,
            catalog::RolloutAction::keep)
      << "too few to judge";
  auto verdict = catalog::judge_rollout(rollout, stable, arm(3, 0, {9, 10, 40}));
  EXPECT_EQ(verdict.action, catalog::RolloutAction::halt);
  EXPECT_NE(verdict.why.find("took 10 s to running (median), 3.3 times"), std::string::npos)
      << verdict.why;
  EXPECT_EQ(catalog::judge_rollout(rollout, stable, arm(3, 0, {8, 9, 40})).action,
            catalog::RolloutAction::keep);
}

TEST(RolloutRules, AGoodCanaryIsPromotedOnlyWhenAskedTo) {
  Rollout rollout = rolling();
  EXPECT_EQ(catalog::judge_rollout(rollout, arm(1, 0), arm(50, 0)).action,
            catalog::RolloutAction::keep);
  rollout.promote_after = 5;
  EXPECT_EQ(catalog::judge_rollout(rollout, arm(1, 0), arm(5, 1)).action,
            catalog::RolloutAction::keep);
  EXPECT_EQ(catalog::judge_rollout(rollout, arm(1, 0), arm(6, 1)).action,
            catalog::RolloutAction::promote);
}

class Rollouts : public ServiceFixture {
 protected:
  static constexpr const char* kStable = "pytorch1.13-cpu-debian12-runtime";
  static constexpr const char* kCanary = "pytorch1.13-cpu-debian12-devel";

  Rollouts()
      : audit_(*store_, clock_, 365),
        rollouts_(*store_, clock_, &audit_, [this] { return dice_; }) {
    Image canary{kCanary,    "gpupool/session:devel", "pytorch", "1.13", "", "", "devel", false,
                 "available"};
    canary.state = ImageState::canary;
    EXPECT_TRUE(store_->add_image(canary).ok());
    services::SessionSettings settings;
    settings.rollout_dice = [this] { return dice_; };
    sessions_ = std::make_unique<services::SessionService>(*store_, clock_, settings);
    sync({});
  }

  Session request_family(const User& user) {
    SessionRequest request;
    request.gpus = 1;
    request.image_tag = "pytorch1.13";
    auto session = sessions_->request_session(user, request);
    EXPECT_TRUE(session.ok()) << session.error().message;
    return session.ok() ? *session : Session{};
  }

  // The session's start failed on its node.
  void fail(const Session& session) {
    sync({});
    sync({observed(session.id, ObservedPhase::failed, "Jupyter did not answer within 180 s")});
    sync({});
  }

  int dice_ = 0;
  services::AuditLog audit_;
  services::Rollouts rollouts_;
};

TEST_F(Rollouts, WhatARollOutNamesMustBeOpenToItsRole) {
  auto missing = rollouts_.set("pytorch1.13", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("needs its \"stable\" image"), std::string::npos);
  auto canary_as_stable = rollouts_.set("pytorch1.13", {std::string(kCanary)});
  ASSERT_FALSE(canary_as_stable.ok());
  EXPECT_NE(canary_as_stable.error().message.find("is canary; it must be stable"),
            std::string::npos);
  EXPECT_FALSE(
      rollouts_.set("pytorch1.13", {std::string(kStable), std::string("nope-cpu-base")}).ok());
  services::RolloutChange change{std::string(kStable), std::string(kCanary)};
  change.canary_groups = std::vector<std::string>{"no-such-group"};
  EXPECT_FALSE(rollouts_.set("pytorch1.13", change).ok());
  change.canary_groups.reset();
  change.canary_percent = 101;
  EXPECT_FALSE(rollouts_.set("pytorch1.13", change).ok());
  change.canary_percent = 50;
  auto set = rollouts_.set("pytorch1.13", change);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->state, RolloutState::rolling);
  EXPECT_EQ(set->started_at, clock_.now());
}

TEST_F(Rollouts, AFamilyRequestGetsTheCanaryByItsShareAndOtherwiseTheStableImage) {
  services::RolloutChange change{std::string(kStable), std::string(kCanary)};
  change.canary_percent = 30;
  ASSERT_TRUE(rollouts_.set("pytorch1.13", change).ok());
  dice_ = 29;
  Session canary = request_family(alice_);
  EXPECT_EQ(canary.request.image_tag, kCanary);
  EXPECT_EQ(canary.image_family, "pytorch1.13");
  EXPECT_EQ(canary.image_reference, "gpupool/session:devel");
  dice_ = 30;
  EXPECT_EQ(request_family(bob_).request.image_tag, kStable);
  // An exact tag is pinned: no roll-out applies.
  SessionRequest pinned;
  pinned.gpus = 1;
  pinned.image_tag = kStable;
  dice_ = 0;
  auto session = sessions_->request_session(alice_, pinned);
  ASSERT_TRUE(session.ok());
  EXPECT_EQ(session->request.image_tag, kStable);
  EXPECT_EQ(session->image_family, "");
}

TEST_F(Rollouts, WatchHaltsACanaryThatFailsToStartAndNewSessionsGetTheStableImage) {
  services::RolloutChange change{std::string(kStable), std::string(kCanary)};
  change.canary_percent = 100;
  ASSERT_TRUE(rollouts_.set("pytorch1.13", change).ok());
  clock_.advance(1000);
  Session first = request_family(alice_);
  fail(first);
  ASSERT_TRUE(rollouts_.watch().ok());
  EXPECT_EQ((*rollouts_.reports())[0].rollout.state, RolloutState::rolling);
  Session second = request_family(bob_);
  EXPECT_EQ(second.request.image_tag, kCanary);
  fail(second);
  ASSERT_TRUE(rollouts_.watch().ok());
  auto report = (*rollouts_.reports())[0];
  EXPECT_EQ(report.rollout.state, RolloutState::halted);
  EXPECT_EQ(report.canary.failed, 2);
  EXPECT_NE(report.rollout.note.find("failed to start 2 of 2 sessions"), std::string::npos);
  EXPECT_EQ(request_family(alice_).request.image_tag, kStable);
  auto audit = store_->list_audit({"gpupool"});
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit->size(), 1u);
  EXPECT_EQ((*audit)[0].action, "rollout halted");
  EXPECT_EQ((*audit)[0].target, "family=pytorch1.13");
}

TEST_F(Rollouts, WatchPromotesACanaryAfterEnoughGoodStarts) {
  services::RolloutChange change{std::string(kStable), std::string(kCanary)};
  change.canary_percent = 100;
  change.promote_after = 2;
  ASSERT_TRUE(rollouts_.set("pytorch1.13", change).ok());
  for (const User& user : {alice_, bob_}) {
    Session session = request_family(user);
    sync({});
    clock_.advance(2000);
    sync({observed(session.id, ObservedPhase::running)});
  }
  auto before = (*rollouts_.reports())[0];
  EXPECT_EQ(before.canary.seconds_to_running, (std::vector<double>{2, 2}));
  ASSERT_TRUE(rollouts_.watch().ok());
  auto report = (*rollouts_.reports())[0];
  EXPECT_EQ(report.rollout.state, RolloutState::steady);
  EXPECT_EQ(report.rollout.stable_tag, kCanary);
  EXPECT_EQ(report.rollout.canary_tag, "");
  EXPECT_EQ(report.stable.sessions, 0) << "records are kept only while a canary rolls out";
}

}  // namespace
}  // namespace gpupool::testing
