// Contract checks through agent sync: an image whose check is pending is ordered to the first
// node that syncs (SyncResponse::image_checks), which pulls it, runs it once in a throwaway
// container and reports what it found at its next syncs; the report is judged here
// (catalog/image_contract.hpp) and written to the catalog. A node that took a check and did
// not report within kCheckReassignAfter loses it to the next node that syncs.
//
// Called under SessionService's lock, inside its sync's transaction.
#pragma once

#include <string>
#include <vector>

#include "catalog/registry_logins.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/sync.hpp"
#include "store/store.hpp"

namespace gpupool::services {

inline constexpr UnixMillis kCheckReassignAfter = 15 * 60 * 1000;

// The image with the login for its registry, if the server has one.
ImageToPull with_login(const std::string& reference, const catalog::RegistryLogins& logins);

// The checks this node is to run now, taking those no node has (or one lost).
Result<std::vector<ImageCheckOrder>> claim_image_checks(Store& store, const std::string& node,
                                                        UnixMillis now,
                                                        const catalog::RegistryLogins& logins);

// What claim_image_checks would hand this node, as "tag@reference" lines for its desired-state
// fingerprint (a held sync answers when a check is ordered), without taking anything.
std::vector<std::string> image_checks_for(const std::vector<Image>& images, const std::string& node,
                                          UnixMillis now);

// What every node pulls ahead of need: `configured` (--prepull) and the catalog's images an
// admin marked so, unless deprecated or retired.
Result<std::vector<ImageToPull>> images_to_prepull(Store& store,
                                                   const std::vector<ImageToPull>& configured,
                                                   const catalog::RegistryLogins& logins);

// The node's reports of checks it was ordered; others (stale, another node's) are ignored.
// Answers whether any image's check changed.
Result<bool> record_image_checks(Store& store, const std::string& node,
                                 const std::vector<ImageCheckReport>& reports, UnixMillis now);

}  // namespace gpupool::services
