// The bound on what a session writes outside its home (--session-disk-gb), checked against
// the engine once at start: a storage driver that cannot bound a container's writable layer
// would otherwise fail every session at its start.
#pragma once

#include <cstdint>

#include "core/result.hpp"
#include "engine/container_engine.hpp"

namespace gpupool::app {

// Creates (never starts) a container of a session image in the engine with the bound and
// removes it; an engine that refuses is an invalid_argument Error naming the drivers that can.
// 0: no check.
Status check_disk_bound(ContainerEngine& engine, std::int64_t disk_bytes);

}  // namespace gpupool::app
