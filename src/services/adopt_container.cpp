// An admin adopts a container the store does not know (a server on a lost, replaced or
// restored database): it becomes a session again, of the user its label names, on the GPUs
// and ports its labels say it holds. Its Jupyter keeps running; the agent reads its host key
// and writes the user's current SSH keys as for any session it finds running. Billing starts
// when the agent reports Jupyter answering: what it ran before is not in this database.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/log.hpp"
#include "services/scheduling_inputs.hpp"
#include "services/session_service.hpp"

namespace gpupool::services {

namespace {

Error cannot_adopt(const std::string& why) {
  return make_error(ErrorCode::conflict, "cannot adopt this container: " + why);
}

// Whether an active session of the node holds any of the container's GPUs or ports.
bool clashes(const UnknownContainer& found, const std::vector<Session>& active) {
  std::set<int> gpus(found.gpu_indices.begin(), found.gpu_indices.end());
  std::set<int> ports(found.host_ports.begin(), found.host_ports.end());
  for (const auto& session : active) {
    if (!holds_resources(session.state)) continue;
    for (int gpu : session.gpu_indices)
      if (gpus.contains(gpu)) return true;
    if (ports.contains(session.jupyter_port) || ports.contains(session.ssh_port)) return true;
  }
  return false;
}

}  // namespace

Result<Session> SessionService::adopt_unknown_container(const std::string& node,
                                                        const std::string& session_id) {
  Result<Session> adopted = make_error(ErrorCode::internal, "not adopted");
  {
    std::lock_guard lock(mutex_);
    adopted = adopt_locked(node, session_id);
  }
  if (adopted) notify();
  return adopted;
}

Result<Session> SessionService::adopt_locked(const std::string& node,
                                             const std::string& session_id) {
  UnixMillis now = clock_.now();
  auto listed = unknown_.list();
  auto found = std::find_if(listed.begin(), listed.end(), [&](const UnknownContainer& entry) {
    return entry.node == node && entry.session_id == session_id;
  });
  if (found == listed.end()) return make_error(ErrorCode::not_found, "no such unknown container");
  if (!found->holdings_known || found->host_ports.size() != 2)
    return cannot_adopt("it does not say which GPUs and ports it holds (an older gpupool made it)");
  if (found->jupyter_token.empty())
    return cannot_adopt("its Jupyter settings could not be read; remove it instead");
  auto user = store_.find_user_by_name(found->user);
  if (!user) return user.error();
  if (!*user)
    return cannot_adopt(
        fmt::format("its user \"{}\" is not in this database; create the user first", found->user));
  auto active = store_.list_sessions({std::nullopt, node, true, {}});
  if (!active) return active.error();
  if (clashes(*found, *active))
    return cannot_adopt("a session placed since holds some of its GPUs or ports");
  auto nodes = store_.list_nodes();
  if (!nodes) return nodes.error();
  auto prices = store_.list_prices();
  if (!prices) return prices.error();
  auto images = store_.list_images();
  if (!images) return images.error();

  Session session;
  session.id = session_id;
  session.user_id = (*user)->user.id;
  session.username = (*user)->user.username;
  session.uid = (*user)->user.uid;
  session.gid = (*user)->user.gid;
  session.request.gpus = std::max<int>(1, static_cast<int>(found->gpu_indices.size()));
  session.image_reference = found->image;
  session.request.image_tag = found->image;
  for (const auto& image : *images) {
    if (image.reference == found->image) session.request.image_tag = image.tag;
  }
  session.state = SessionState::starting;  // running once the agent sees Jupyter answer
  session.reason = "adopted by an admin from a container the database did not know";
  session.node = node;
  session.gpu_indices = found->gpu_indices;
  for (const auto& known : *nodes) {
    if (known.name != node) continue;
    for (int index : session.gpu_indices) {
      for (const auto& gpu : known.gpus)
        if (gpu.index == index) session.gpu_uuids.push_back(gpu.uuid);
    }
  }
  session.jupyter_port = found->host_ports[0];
  session.ssh_port = found->host_ports[1];
  session.jupyter_token = found->jupyter_token;
  session.created_at = now;
  session.updated_at = now;
  start_meter(session, *nodes, *prices);
  GPUPOOL_TRY(store_.insert_session(session));
  (void)unknown_.take(node, session_id);
  spdlog::warn("node {}: the container of session {} is adopted as a session of {}", node,
               session_id, session.username);
  return session;
}

}  // namespace gpupool::services
