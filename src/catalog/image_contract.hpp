// The contract between gpupool and a session image (design.md "Containers"), judged from what
// a throwaway container of the image found inside it, and the rules of an image's roll-out
// states. Pure; thread-safe.
#pragma once

#include "catalog/image_tag.hpp"
#include "core/result.hpp"
#include "model/image.hpp"
#include "model/sync.hpp"

namespace gpupool::catalog {

// What the check says of the image: passed (sshd missing only turns SSH off) or failed, with
// the versions found and the reason in words. `ssh` is whether its sessions offer SSH.
struct ContractVerdict {
  ImageCheck check;
  bool ssh = false;
};

// `found` is the agent's report for the image tagged `tag`; node and times are the caller's.
// A tag with no framework (a user's saved session, which claims no versions of its own) is
// judged on the session contract alone.
ContractVerdict judge_contract(const ImageTag& tag, const ImageCheckReport& found);

// Whether an image may go from one roll-out state to another: testing → canary → stable →
// deprecated → retired, a step back from canary or deprecated, and nothing out of retired.
// Users see it only from canary on, so it must have passed its check (or been configured).
Status check_state_change(const Image& image, ImageState to);

}  // namespace gpupool::catalog
