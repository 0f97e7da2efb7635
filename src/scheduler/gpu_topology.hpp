// GPU topology within a node: how fast two GPUs talk (NVLink, PCIe switch, NUMA node,
// system), and which free GPUs to give a multi-GPU session so that they talk fastest. Pure.
#pragma once

#include <vector>

#include "model/node.hpp"

namespace gpupool::scheduler {

// The cost of traffic between GPUs `a` and `b` of `node` (0 for the same GPU; lower is faster).
int link_cost(const Node& node, int a, int b);

// `count` of the `free` GPU indices of `node` whose worst and total link costs are lowest,
// sorted.
std::vector<int> best_connected(const Node& node, const std::vector<int>& free, int count);

}  // namespace gpupool::scheduler
