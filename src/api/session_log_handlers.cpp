// A session's story for its owner (and admins): each change of state with its reason, and
// the end of what its container printed when it failed (`gpupool logs ID`).
#include "api/api.hpp"

namespace gpupool::api {

using nlohmann::json;

HttpReply Api::session_log(const Call& call) {
  const std::string& id = call.parameter("id");
  if (id.size() > kMaxSessionIdLength) return error_reply(ErrorCode::not_found, "no such session");
  // Another user's session is as absent as one that never was.
  auto session = sessions_.get_session(call.caller().user, id);
  if (!session) return error_reply(session.error());
  auto events = store_.session_events(id);
  if (!events) return error_reply(events.error());
  auto log = store_.start_log(id);
  if (!log) return error_reply(log.error());
  json changes = json::array();
  for (const auto& event : *events) {
    changes.push_back({{"at", format_rfc3339(event.at)},
                       {"state", to_string(event.state)},
                       {"reason", event.reason}});
  }
  return json_reply(200, {{"id", id},
                          {"state", to_string(session->state)},
                          {"events", changes},
                          {"start_log", log->empty() ? json(nullptr) : json(*log)}});
}

}  // namespace gpupool::api
