#include <gtest/gtest.h>

#include "catalog/image_tag.hpp"

namespace gpupool::catalog {
namespace {

TEST(ImageTags, ParseACudaRuntimeTag) {
  auto tag = parse_image_tag("pytorch2.7-cuda11.8-cudnn8-runtime");
  ASSERT_TRUE(tag.ok()) << tag.error().message;
  EXPECT_EQ(tag->framework, "pytorch");
  EXPECT_EQ(tag->framework_version, "2.7");
  EXPECT_EQ(tag->cuda, "11.8");
  EXPECT_EQ(tag->cudnn, "8");
  EXPECT_EQ(tag->flavor, "runtime");
}

TEST(ImageTags, ParseACpuTagWithAnOs) {
  auto tag = parse_image_tag("pytorch1.13-cpu-debian12-runtime");
  ASSERT_TRUE(tag.ok()) << tag.error().message;
  EXPECT_EQ(tag->cuda, "");
  EXPECT_EQ(tag->os, "debian12");
}

TEST(ImageTags, RefuseMalformedTags) {
  for (const char* bad :
       {"", "pytorch", "pytorch2.7-runtime", "pytorch-cuda11.8-runtime",
        "pytorch2.7-cuda11.8-nightly", "pytorch2.7-cudnn8-cpu-runtime",
        "pytorch2.7-cuda..8-runtime", "docker.io/evil/pytorch2.7-cuda11.8-runtime",
        "pytorch2.7-cpu-cudnn8-runtime"}) {
    EXPECT_FALSE(parse_image_tag(bad).ok()) << bad;
  }
}

TEST(CudaCompatibility, DriverMustSupportTheImagesCuda) {
  EXPECT_TRUE(driver_supports("12.4", "11.8"));
  EXPECT_TRUE(driver_supports("12.4", "12.4"));
  EXPECT_FALSE(driver_supports("12.2", "12.4"));
  EXPECT_TRUE(driver_supports("12.10", "12.9"));
  EXPECT_TRUE(driver_supports("", ""));
  EXPECT_FALSE(driver_supports("", "11.8"));
}

}  // namespace
}  // namespace gpupool::catalog
