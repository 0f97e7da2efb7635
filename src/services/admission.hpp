// Admission: whether a session request can be taken at all, before quotas and balances —
// its image is in the catalog and present, and some node of the pool could ever hold it —
// so that an impossible request is refused with a clear message rather than queued forever.
// Pure.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "model/node.hpp"
#include "model/session.hpp"
#include "model/user.hpp"

namespace gpupool::services {

// The catalog entry the request names (the default image when it names none), or why not:
// images in testing are for admins only (others are told there is none), deprecated and
// retired ones start no sessions, nor do those that failed their contract check. A user's
// saved image is theirs alone (others, admins too, are told there is none) and starts
// sessions once its check has passed.
Result<Image> find_requested_image(const std::vector<Image>& catalog, const std::string& tag,
                                   const User& caller);

// invalid_argument (unavailable for an empty pool) when no node could ever hold `request`,
// whose image needs CUDA `image_cuda`.
Status check_request_fits_pool(const SessionRequest& request, const std::string& image_cuda,
                               const std::vector<Node>& nodes);

}  // namespace gpupool::services
