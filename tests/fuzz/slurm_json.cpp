// Slurm's JSON (squeue, sinfo) and the GPU lists in it: what the server reads from a cluster
// it does not control, whatever release or fault wrote it.
#include "slurm/slurm_json.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  gpupool::fuzz::ByteReader input(data, size);
  std::string detail = input.text(64);
  std::string_view text = input.rest();
  std::string type;
  std::vector<int> indices;
  gpupool::slurm::parse_gres_detail(detail, type, indices);
  require(indices.size() <= 1024 * 64, "a GPU list stays bounded");
  (void)gpupool::slurm::parse_gres(detail);
  if (auto jobs = gpupool::slurm::parse_jobs(text); jobs) {
    for (const auto& job : *jobs) (void)job.finished();
  }
  if (auto nodes = gpupool::slurm::parse_nodes(text); nodes) {
    for (const auto& node : *nodes) (void)node.unusable();
  }
  return 0;
}
