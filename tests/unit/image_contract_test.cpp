// The contract check's verdicts, the roll-out steps allowed, and the agent's reading of what
// the check container wrote.
#include <gtest/gtest.h>

#include "agent/image_check.hpp"
#include "catalog/image_contract.hpp"

namespace gpupool::catalog {
namespace {

ImageTag tag(const std::string& text) {
  return *parse_image_tag(text);
}

// What a good CPU PyTorch image holds.
ImageCheckReport complete() {
  ImageCheckReport found{"t", "r"};
  found.python = "3.11.2";
  found.notebook = "6.4.12";
  found.torch = "1.13.1";
  found.sshd = true;
  found.setpriv = true;
  return found;
}

TEST(ImageContract, AnImageWithEverythingItsTagPromisesPasses) {
  auto verdict = judge_contract(tag("pytorch1.13-cpu-debian12-runtime"), complete());
  EXPECT_EQ(verdict.check.state, CheckState::passed);
  EXPECT_TRUE(verdict.ssh);
  EXPECT_EQ(verdict.check.message, "Python 3.11.2, Jupyter Notebook 6.4.12, torch 1.13.1 (CPU)");
  EXPECT_EQ(verdict.check.torch, "1.13.1");
}

TEST(ImageContract, ACudaBuildOfTorchMatchesItsTagByVersionParts) {
  auto found = complete();
  found.torch = "2.7.0+cu118";
  found.torch_cuda = "11.8";
  EXPECT_EQ(judge_contract(tag("pytorch2.7-cuda11.8-cudnn8-runtime"), found).check.state,
            CheckState::passed);
  found.torch = "2.70.1";  // not 2.7
  auto verdict = judge_contract(tag("pytorch2.7-cuda11.8-cudnn8-runtime"), found);
  EXPECT_EQ(verdict.check.state, CheckState::failed);
  EXPECT_EQ(verdict.check.message, "tagged pytorch2.7 but the image has torch 2.70.1");
}

TEST(ImageContract, WhatIsMissingOrWrongIsSaid) {
  struct Row {
    const char* tag;
    std::function<void(ImageCheckReport&)> spoil;
    const char* message;
  };
  std::vector<Row> rows{
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.python.clear(); }, "no python3"},
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.notebook.clear(); }, "no Jupyter"},
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.setpriv = false; }, "no setpriv"},
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.torch.clear(); },
       "tagged pytorch1.13 but python3 cannot import torch"},
      {"pytorch2.7-cpu-runtime", [](auto&) {}, "tagged pytorch2.7 but the image has torch 1.13.1"},
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.torch_cuda = "11.7"; },
       "tagged cpu but torch is built for CUDA 11.7"},
      {"pytorch1.13-cuda11.7-runtime", [](auto&) {},
       "tagged cuda11.7 but torch is built without CUDA"},
      {"pytorch1.13-cuda11.8-runtime", [](auto& found) { found.torch_cuda = "11.7"; },
       "tagged cuda11.8 but torch is built for CUDA 11.7"},
      {"pytorch1.13-cpu-runtime", [](auto& found) { found.error = "cannot pull the image: 401"; },
       "cannot pull the image: 401"},
  };
  for (const auto& row : rows) {
    auto found = complete();
    row.spoil(found);
    auto verdict = judge_contract(tag(row.tag), found);
    EXPECT_EQ(verdict.check.state, CheckState::failed) << row.message;
    EXPECT_NE(verdict.check.message.find(row.message), std::string::npos)
        << verdict.check.message << " / " << row.message;
    EXPECT_FALSE(verdict.ssh);
  }
}

TEST(ImageContract, WithoutSshdAnImagePassesWithSshOff) {
  auto found = complete();
  found.sshd = false;
  auto verdict = judge_contract(tag("pytorch1.13-cpu-runtime"), found);
  EXPECT_EQ(verdict.check.state, CheckState::passed);
  EXPECT_FALSE(verdict.ssh);
  EXPECT_NE(verdict.check.message.find("its sessions have no SSH"), std::string::npos);
}

// JupyterLab without the classic notebook is enough; code-server is kept and shown.
TEST(ImageContract, WhatAnImageOffersBesidesTheNotebookIsKeptAndShown) {
  auto found = complete();
  found.notebook.clear();
  found.jupyterlab = "4.2.5";
  found.code_server = "4.89.1";
  auto verdict = judge_contract(tag("pytorch1.13-cpu-runtime"), found);
  EXPECT_EQ(verdict.check.state, CheckState::passed) << verdict.check.message;
  EXPECT_EQ(verdict.check.jupyterlab, "4.2.5");
  EXPECT_EQ(verdict.check.code_server, "4.89.1");
  for (const char* shown : {"JupyterLab 4.2.5", "code-server 4.89.1"})
    EXPECT_NE(verdict.check.message.find(shown), std::string::npos) << verdict.check.message;
}

TEST(ImageContract, OtherFrameworksAreNotedAsUnverified) {
  auto found = complete();
  found.torch.clear();
  auto verdict = judge_contract(tag("jax0.4-cuda12.4-runtime"), found);
  EXPECT_EQ(verdict.check.state, CheckState::passed);
  EXPECT_NE(verdict.check.message.find("jax 0.4 not verified"), std::string::npos);
}

Image in_state(ImageState state, CheckState check = CheckState::passed) {
  Image image{"pytorch2.7-cuda11.8-runtime"};
  image.state = state;
  image.check.state = check;
  return image;
}

TEST(ImageStates, RollOutStepsForwardAndBackWhereItMakesSense) {
  using enum ImageState;
  struct Step {
    ImageState from;
    ImageState to;
    bool allowed;
  };
  for (auto [from, to, allowed] : std::vector<Step>{{testing, canary, true},
                                                    {testing, stable, true},
                                                    {testing, retired, true},
                                                    {testing, deprecated, false},
                                                    {canary, stable, true},
                                                    {canary, testing, true},
                                                    {canary, deprecated, true},
                                                    {stable, deprecated, true},
                                                    {stable, canary, false},
                                                    {stable, testing, false},
                                                    {deprecated, stable, true},
                                                    {deprecated, retired, true},
                                                    {deprecated, canary, false},
                                                    {retired, stable, false},
                                                    {retired, testing, false},
                                                    {stable, stable, true}}) {
    EXPECT_EQ(check_state_change(in_state(from), to).ok(), allowed)
        << to_string(from) << " → " << to_string(to);
  }
}

TEST(ImageStates, UsersGetOnlyImagesThatPassedOrWereConfigured) {
  auto pending =
      check_state_change(in_state(ImageState::testing, CheckState::pending), ImageState::canary);
  ASSERT_FALSE(pending.ok());
  EXPECT_NE(pending.error().message.find("has not run yet"), std::string::npos);
  auto failed = in_state(ImageState::testing, CheckState::failed);
  failed.check.message = "no Jupyter";
  auto refused = check_state_change(failed, ImageState::stable);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("failed its contract check (no Jupyter)"),
            std::string::npos);
  EXPECT_TRUE(check_state_change(failed, ImageState::retired).ok());
  EXPECT_TRUE(
      check_state_change(in_state(ImageState::testing, CheckState::configured), ImageState::stable)
          .ok());
}

TEST(ImageCheckOutput, VersionsAreReadAndAnythingElseDropped) {
  ImageCheckOrder order{"pytorch2.7-cuda11.8-runtime", {"registry/x@sha256:1"}};
  auto report = agent::parse_image_check_output(
      order,
      "python=3.10.12\nnotebook=6.5.4\njupyterlab=4.2.5\ncode_server=4.89.1\n"
      "torch=2.7.0+cu118 11.8\nsshd=yes\nsetpriv=yes\nother=1\n");
  EXPECT_EQ(report.tag, order.tag);
  EXPECT_EQ(report.reference, order.image.reference);
  EXPECT_EQ(report.python, "3.10.12");
  EXPECT_EQ(report.notebook, "6.5.4");
  EXPECT_EQ(report.jupyterlab, "4.2.5");
  EXPECT_EQ(report.code_server, "4.89.1");
  EXPECT_EQ(report.torch, "2.7.0+cu118");
  EXPECT_EQ(report.torch_cuda, "11.8");
  EXPECT_TRUE(report.sshd && report.setpriv);

  // What an image controls is text: nothing but version characters gets through.
  auto hostile = agent::parse_image_check_output(
      order, "python=3.11 <script>\nnotebook=" + std::string(100, '6') +
                 "\ntorch=1.13.1 \nsshd=maybe\nsetpriv\n");
  EXPECT_EQ(hostile.python, "");
  EXPECT_EQ(hostile.notebook, "");
  EXPECT_EQ(hostile.torch, "1.13.1");
  EXPECT_EQ(hostile.torch_cuda, "");
  EXPECT_FALSE(hostile.sshd || hostile.setpriv);
}

}  // namespace
}  // namespace gpupool::catalog
