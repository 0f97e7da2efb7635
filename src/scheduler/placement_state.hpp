// PlacementState: the free capacity of a set of nodes, indexed so that each placement
// decision is a few ordered-set lookups rather than a scan of the cluster.
//
// Whole GPUs go to the feasible node left with the fewest free GPUs of the model (best fit,
// so big requests still find empty nodes). A GPU share (`gpu_memory_mb` > 0) goes to the
// shared GPU with the least free memory that holds it, or else opens a free GPU in shared
// mode on the best-fitting node; exclusive and shared sessions never mix on one GPU.
// Pure and single-threaded: the scheduler and the simulator own one each. `nodes` must
// outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "model/node.hpp"
#include "model/queue_reason.hpp"

namespace gpupool::scheduler {

// Nodes silent for longer than this are not given new sessions.
inline constexpr UnixMillis kNodeSilenceLimitMillis = 60'000;

// One common request shape and its share of the workload, for fragmentation-aware choice.
struct WorkloadShape {
  int gpus = 0;                    // whole GPUs
  std::int64_t gpu_memory_mb = 0;  // > 0: a share
  double cpus = 0;
  double weight = 0;  // fraction of requests
};

// What one placement needs, already validated.
struct Demand {
  int gpus = 1;                               // whole GPUs; 0 with gpu_memory_mb > 0 means a share
  std::int64_t gpu_memory_mb = 0;             // > 0: a share of one GPU
  std::string gpu_model;                      // empty: any
  std::set<std::string> excluded_gpu_models;  // with no gpu_model: models not to use
  double cpus = 0;
  std::int64_t memory_mb = 0;
  std::string cuda;  // the image's CUDA version; empty for CPU-only images
  std::map<std::string, std::string> node_selector;  // only nodes carrying all these labels
  bool needs_ports = true;
  // Tried first, alone, when it has room: the node that holds the user's home.
  std::string preferred_node = {};
};

// Where a demand landed.
struct Assignment {
  int node = -1;  // index into the nodes given to the constructor
  std::vector<int> gpu_indices;
  std::vector<int> ports;  // two, when the demand needs ports
};

class PlacementState {
 public:
  // Only nodes that are live at `now` and not drained take new work.
  PlacementState(const std::vector<Node>& nodes, UnixMillis now);

  // Records resources already held (running sessions). Unknown nodes are ignored.
  void hold(const std::string& node, const std::vector<int>& gpu_indices,
            std::int64_t gpu_memory_mb, double cpus, std::int64_t memory_mb,
            const std::vector<int>& ports);

  // Places and commits, or returns nullopt when no usable node fits now.
  std::optional<Assignment> place(const Demand& demand);
  // Returns what place() took.
  void release(const Demand& demand, const Assignment& assignment);

  // With a workload mix, each GPU placement weighs up to kFragmentationCandidates best-fit
  // candidates by how much they raise their node's expected fragmentation under that mix
  // (fragmentation gradient descent, ATC '23); without one, the best fit wins outright.
  void set_workload(std::vector<WorkloadShape> workload);
  // The shapes of `requests` weighted by how often each occurs, most common first.
  static std::vector<WorkloadShape> workload_of(const std::vector<Demand>& requests,
                                                std::size_t max_shapes);
  static constexpr std::size_t kFragmentationCandidates = 64;

  // Keeps a node for one blocked demand: later place() calls skip it.
  void reserve(int node) { reserved_.insert(node); }
  void clear_reservations() { reserved_.clear(); }
  // The node the blocked demand should wait for: the usable one closest to holding it.
  std::optional<int> best_reservation(const Demand& demand) const;

  // Why a demand cannot be placed now, in words; "" if it could be.
  QueueReason explain(const Demand& demand) const;

  const Node& node(int index) const { return nodes_[static_cast<std::size_t>(index)]; }
  int node_index(const std::string& name) const;

  struct GpuFree {
    int free_whole = 0;               // GPUs with no session
    std::int64_t free_memory_mb = 0;  // memory on free and shared GPUs
    int shared = 0;                   // GPUs in shared mode
  };
  // Free capacity by GPU model, across usable nodes.
  std::unordered_map<std::string, GpuFree> free_by_model() const;

 private:
  struct Gpu {
    int model = 0;  // index into models_
    std::int64_t memory_mb = 0;
    std::int64_t free_memory_mb = 0;
    int sharers = 0;  // sessions holding a share
    bool exclusive = false;
    bool is_free() const { return !exclusive && sharers == 0; }
  };
  struct NodeCapacity {
    bool usable = false;
    std::vector<Gpu> gpus;
    double free_cpus = 0;
    std::int64_t free_memory_mb = 0;
    int driver_cuda = 0;  // major * 1000 + minor * 10, 0 if none
    std::vector<bool> port_used;
    int ports_free = 0;
    std::vector<int> free_whole;  // per model
    int free_whole_total = 0;
    double fragmentation = 0;  // under the workload, as of the last index()
  };

  int model_id(const std::string& model) const;  // -1 if unknown; kAnyModel for ""
  // Whether the demand, resolved to `model`, may use this GPU.
  bool may_use(const Gpu& gpu, int model, const Demand& demand) const;
  std::size_t index_slot(int model) const;  // model id, or the "any model" slot
  std::size_t candidate_limit() const;
  bool fits_besides_gpus(int node, const Demand& demand, int cuda) const;
  // Whether the node has the free GPUs (or GPU memory) the demand needs, ignoring the rest.
  bool gpus_fit(int node, const Demand& demand) const;
  std::vector<int> take_ports(int node);
  void unindex(int node);
  void index(int node);
  std::optional<Assignment> place_anywhere(const Demand& demand);
  std::optional<Assignment> place_whole(const Demand& demand, int model, int cuda);
  std::optional<Assignment> place_share(const Demand& demand, int model, int cuda);
  void commit(int node, const Demand& demand, Assignment& assignment);
  std::optional<Assignment> commit_best(const Demand& demand, std::vector<Assignment>& candidates);
  static void take(NodeCapacity& capacity, const Demand& demand,
                   const std::vector<int>& gpu_indices);
  static void take_gpus(std::vector<Gpu>& gpus, const Demand& demand,
                        const std::vector<int>& gpu_indices);
  // Σ over workload shapes: weight × GPUs (in whole-GPU units) the shape could not use.
  double fragmentation(const std::vector<Gpu>& gpus, double free_cpus) const;

  static constexpr int kAnyModel = -2;
  static constexpr double kCpuEpsilon = 1e-9;  // CPUs compare with this slack

  const std::vector<Node>& nodes_;
  std::vector<std::string> models_;
  std::vector<NodeCapacity> capacity_;
  std::set<int> reserved_;
  int only_node_ = -1;  // while place() tries the preferred node: no other fits
  std::vector<WorkloadShape> workload_;
  // Per model slot (model id, or models_.size() for "any"): usable nodes with at least one
  // free GPU of that model, ordered by that count; and shared GPUs ordered by free memory.
  std::vector<std::set<std::pair<int, int>>> whole_index_;
  std::vector<std::set<std::tuple<std::int64_t, int, int>>> shared_index_;
};

// The `count` GPUs among `free` (indices into node.gpus) that are best connected: the worst
// link within the set as good as possible (NVLink over PCIe switch over NUMA node over
// across sockets), then the fewest slow links.
std::vector<int> best_connected(const Node& node, const std::vector<int>& free, int count);

// Whether the node carries every label of the selector.
bool matches(const Node& node, const std::map<std::string, std::string>& selector);

// "12.4" → 12040; "" → 0.
int cuda_number(const std::string& version);

}  // namespace gpupool::scheduler
