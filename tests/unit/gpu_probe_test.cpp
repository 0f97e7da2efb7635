// The GPU probes' telemetry: simulated GPUs read idle; the NVML probe, against a stand-in
// libnvidia-ml (tests/fakes/fake_nvml.cpp), converts NVML's units and leaves unsupported
// readings empty.
#include <dlfcn.h>

#include <gtest/gtest.h>

#include "gpu/gpu_probe.hpp"

namespace gpupool {
namespace {

TEST(SimulatedGpus, ReadAsIdleGpusOfTheirModel) {
  auto probe = make_simulated_gpu_probe("1xH100-80GB,1xA100-40GB");
  ASSERT_TRUE(probe.ok());
  auto readings = (*probe)->read_telemetry();
  ASSERT_TRUE(readings.ok());
  ASSERT_EQ(readings->size(), 2u);
  for (const auto& reading : *readings) {
    EXPECT_EQ(reading.utilization_percent, 0);
    EXPECT_EQ(reading.memory_used_mb, 0);
    ASSERT_TRUE(reading.temperature_celsius && reading.power_watts && reading.power_limit_watts);
    EXPECT_LT(*reading.temperature_celsius, 40);
    EXPECT_LT(*reading.power_watts, *reading.power_limit_watts / 4) << "idle draw";
  }
  EXPECT_EQ((*readings)[1].index, 1);
  EXPECT_EQ((*readings)[0].power_limit_watts, 700);
  EXPECT_EQ((*readings)[1].power_limit_watts, 400);
}

using FakeSetter = void (*)(int, const char*, unsigned long long);

class NvmlProbe : public ::testing::Test {
 protected:
  void SetUp() override {
    auto probe = make_nvml_gpu_probe(GPUPOOL_FAKE_NVML);
    ASSERT_TRUE(probe.ok()) << probe.error().message;
    probe_ = std::move(*probe);
    // The probe opened the library RTLD_LOCAL; opening it again finds the same copy.
    library_ = dlopen(GPUPOOL_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(library_, nullptr);
    set_ = reinterpret_cast<FakeSetter>(dlsym(library_, "fake_nvml_set"));
    ASSERT_NE(set_, nullptr);
  }
  void TearDown() override {
    if (set_ != nullptr) {
      set_(0, "utilization", 73);
      set_(0, "temperature", 61);
      set_(0, "processes", 0);
    }
    if (library_ != nullptr) dlclose(library_);
  }

  std::unique_ptr<GpuProbe> probe_;
  void* library_ = nullptr;
  FakeSetter set_ = nullptr;
};

TEST_F(NvmlProbe, ReadsEachProcesssMemoryAndRecentShareOfTheGpu) {
  auto before = probe_->read_telemetry();
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE((*before)[0].processes.empty());
  using AddProcess = void (*)(unsigned int, unsigned long long, unsigned int);
  auto add = reinterpret_cast<AddProcess>(dlsym(library_, "fake_nvml_add_process"));
  ASSERT_NE(add, nullptr);
  add(4242, 3000, 55);
  add(4343, 512, 0);
  auto readings = probe_->read_telemetry();
  ASSERT_TRUE(readings.ok());
  const auto& processes = (*readings)[0].processes;
  ASSERT_EQ(processes.size(), 2u);
  EXPECT_EQ(processes[0].pid, 4242);
  EXPECT_EQ(processes[0].memory_used_mb, 3000);
  EXPECT_EQ(processes[0].utilization_percent, 55);
  EXPECT_EQ(processes[1].memory_used_mb, 512);
  EXPECT_EQ(processes[1].utilization_percent, 0);
  EXPECT_TRUE((*readings)[1].processes.empty()) << "GPU 1 runs nothing";
}

TEST_F(NvmlProbe, DiscoversTheGpusTheirMemoryAndTheDriversCuda) {
  auto inventory = probe_->discover();
  ASSERT_TRUE(inventory.ok()) << inventory.error().message;
  ASSERT_EQ(inventory->gpus.size(), 2u);
  EXPECT_FALSE(inventory->simulated);
  EXPECT_EQ(inventory->gpus[0].model, "H100-80GB-HBM3");
  EXPECT_EQ(inventory->gpus[0].memory_mb, 80 * 1024);
  EXPECT_EQ(inventory->gpus[1].uuid, "GPU-fake-0001");
  EXPECT_EQ(inventory->driver_cuda, "12.4");
  ASSERT_EQ(inventory->gpus[0].links.size(), 2u);
  EXPECT_EQ(inventory->gpus[0].links[1], GpuLink::nvlink);
}

TEST_F(NvmlProbe, ReadsUtilisationMemoryTemperatureAndPowerInOurUnits) {
  auto readings = probe_->read_telemetry();
  ASSERT_TRUE(readings.ok()) << readings.error().message;
  ASSERT_EQ(readings->size(), 2u);
  const GpuReading& first = (*readings)[0];
  EXPECT_EQ(first.index, 0);
  EXPECT_EQ(first.utilization_percent, 73);
  EXPECT_EQ(first.memory_used_mb, 10 * 1024);
  EXPECT_EQ(first.temperature_celsius, 61);
  EXPECT_DOUBLE_EQ(first.power_watts.value_or(0), 312.5) << "NVML speaks milliwatts";
  EXPECT_DOUBLE_EQ(first.power_limit_watts.value_or(0), 700);
  EXPECT_EQ(first.ecc_uncorrected_errors, 0);
}

TEST_F(NvmlProbe, LeavesReadingsTheBoardCannotGiveEmpty) {
  auto readings = probe_->read_telemetry();
  ASSERT_TRUE(readings.ok());
  const GpuReading& second = (*readings)[1];
  EXPECT_EQ(second.index, 1);
  EXPECT_FALSE(second.utilization_percent);
  EXPECT_FALSE(second.power_watts);
  EXPECT_FALSE(second.power_limit_watts);
  EXPECT_FALSE(second.ecc_uncorrected_errors) << "no ECC: no figure, not zero";
  EXPECT_EQ(second.temperature_celsius, 33) << "the rest still reads";
  EXPECT_EQ(second.memory_used_mb, 0);
}

TEST_F(NvmlProbe, EachReadSeesTheGpusAsTheyAreNow) {
  set_(0, "utilization", 5);
  set_(0, "temperature", 88);
  set_(0, "ecc_uncorrected", 2);
  auto readings = probe_->read_telemetry();
  ASSERT_TRUE(readings.ok());
  EXPECT_EQ((*readings)[0].ecc_uncorrected_errors, 2);
  EXPECT_EQ((*readings)[0].utilization_percent, 5);
  EXPECT_EQ((*readings)[0].temperature_celsius, 88);
}

TEST(NvmlLibrary, AMissingLibraryIsUnavailableSoCallersCanSimulate) {
  auto probe = make_nvml_gpu_probe("/nonexistent/libnvidia-ml.so.1");
  ASSERT_FALSE(probe.ok());
  EXPECT_EQ(probe.error().code, ErrorCode::unavailable);
}

}  // namespace
}  // namespace gpupool
