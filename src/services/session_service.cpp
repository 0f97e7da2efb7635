// SessionService: requests (admission, quotas, balance), listing, stopping. Scheduling is in
// session_scheduling.cpp, agent sync in agent_sync.cpp, the pool's summary in
// pool_summary.cpp; the state machine itself is session_lifecycle.hpp.
#include "services/session_service.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.hpp"
#include "core/random.hpp"
#include "scheduler/quota_check.hpp"
#include "services/admission.hpp"
#include "services/notices.hpp"
#include "services/quota_usage.hpp"
#include "services/session_lifecycle.hpp"

namespace gpupool::services {

void SessionService::on_desired_change(std::function<void()> callback) {
  listeners_.push_back(std::move(callback));
}

void SessionService::notify() {
  for (const auto& listener : listeners_) listener();
}

Result<Session> SessionService::request_session(const User& user, SessionRequest request) {
  auto requested = request_session(user, std::move(request), RequestKey{});
  if (!requested) return requested.error();
  return std::move(requested->session);
}

Result<RequestedSession> SessionService::request_session(const User& user, SessionRequest request,
                                                         const RequestKey& key) {
  // A family ("pytorch2.7-cuda11.8") names a roll-out: its stable image or its canary.
  std::string family;
  auto choice = rollouts_.choose(request.image_tag, user);
  if (!choice) return choice.error();
  if (*choice) {
    family = request.image_tag;
    request.image_tag = (*choice)->tag;
  }
  auto images = store_.list_images();
  if (!images) return images.error();
  auto image = find_requested_image(*images, request.image_tag, user);
  if (!image) return image.error();
  request.image_tag = image->tag;

  Session session;
  std::string replayed;  // the session an earlier request with the same key made
  {
    std::lock_guard lock(mutex_);
    UnixMillis now = clock_.now();
    if (!key.key.empty()) {
      auto earlier = store_.find_session_request(user.id, key.key, now - kRequestKeyLifetime);
      if (!earlier) return earlier.error();
      if (earlier->has_value() && (*earlier)->request_digest != key.request_digest) {
        return make_error(ErrorCode::conflict,
                          "this Idempotency-Key was used for a different request");
      }
      if (earlier->has_value()) replayed = (*earlier)->session_id;
    }
    if (replayed.empty()) {
      auto nodes = store_.list_nodes();
      if (!nodes) return nodes.error();
      GPUPOOL_TRY(check_request_fits_pool(request, uses_gpu(request) ? image->cuda : "", *nodes));
      if (settings_.room_for_new_sessions) GPUPOOL_TRY(settings_.room_for_new_sessions());
      session.id = new_session_id();
      session.user_id = user.id;
      session.username = user.username;
      session.uid = user.uid;
      session.gid = user.gid;
      session.request = request;
      session.image_reference = image->reference;
      session.image_family = family;
      session.state = SessionState::queued;
      session.reason = "waiting for the scheduler";
      session.jupyter_token = random_hex(24);
      session.created_at = now;
      session.updated_at = now;
      // Check and insert in one transaction: parallel requests at quota − 1 cannot both pass,
      // and two with one key cannot both make a session.
      GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
        GPUPOOL_TRY(check_queue_room_locked(user));
        GPUPOOL_TRY(enforce_quotas_locked(user, session.request, *nodes));
        GPUPOOL_TRY(accounts_.check_request(user, session.request, now));
        GPUPOOL_TRY(store_.insert_session(session));
        if (!key.key.empty()) {
          GPUPOOL_TRY(store_.forget_session_requests(now - kRequestKeyLifetime));
          GPUPOOL_TRY(store_.record_session_request(
              {user.id, key.key, key.request_digest, session.id, now}));
        }
        return schedule_locked(now);
      }));
    }
  }
  if (!replayed.empty()) {
    auto earlier = get_session(user, replayed);
    if (!earlier) return earlier.error();
    return RequestedSession{std::move(*earlier), true};
  }
  spdlog::info("session {} requested by {}: {} GPU(s), image {}", session.id, user.username,
               request.gpus, request.image_tag);
  notify();
  auto made = get_session(user, session.id);
  if (!made) return made.error();
  return RequestedSession{std::move(*made), false};
}

Status SessionService::check_queue_room_locked(const User& user) {
  if (settings_.max_queued_per_user <= 0) return {};
  auto mine = store_.list_sessions({user.id, std::nullopt, true, {}});
  if (!mine) return mine.error();
  auto waiting = std::count_if(mine->begin(), mine->end(), [](const Session& session) {
    return session.state == SessionState::queued;
  });
  if (waiting < settings_.max_queued_per_user) return {};
  return make_error(ErrorCode::rate_limited,
                    fmt::format("you have {} requests waiting already (at most {}): stop one or "
                                "wait for one to start",
                                waiting, settings_.max_queued_per_user));
}

Status SessionService::enforce_quotas_locked(const User& user, SessionRequest& request,
                                             const std::vector<Node>& nodes) {
  auto quotas = store_.quotas_for(user.id);
  if (!quotas) return quotas.error();
  if (quotas->empty()) return {};
  auto active = store_.list_sessions({std::nullopt, std::nullopt, true, {}});
  if (!active) return active.error();
  for (const auto& quota : *quotas) {
    auto subjects = quota_subjects(store_, quota);
    if (!subjects) return subjects.error();
    auto use = scheduler::use_of(held_requests(*active, nodes, *subjects, false));
    GPUPOOL_TRY(scheduler::check_quota(quota, use, request));
  }
  // A session that names no time limit gets the tightest one its quotas allow.
  if (!request.max_hours) request.max_hours = scheduler::session_hours_cap(*quotas);
  return {};
}

Result<std::vector<Session>> SessionService::list_sessions(const User& user, bool everyone) {
  SessionFilter filter;
  if (!everyone || !user.admin) filter.user_id = user.id;
  return store_.list_sessions(filter);
}

Result<Session> SessionService::get_session(const User& user, const std::string& id) {
  auto session = store_.get_session(id);
  if (!session) return session.error();
  if (!session->has_value() || (!user.admin && (*session)->user_id != user.id)) {
    return make_error(ErrorCode::not_found, "no such session");
  }
  return std::move(**session);
}

Result<Session> SessionService::stop_session(const User& user, const std::string& id) {
  {
    std::lock_guard lock(mutex_);
    auto found = get_session(user, id);
    if (!found) return found.error();
    UnixMillis now = clock_.now();
    EndReason reason =
        found->user_id == user.id ? EndReason::user_stopped : EndReason::admin_stopped;
    Transition stopped = after_stop(*found, reason, now);
    if (!stopped.changed) return stopped.session;  // stopping twice is not an error
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
      GPUPOOL_TRY(store_.update_session(stopped.session));
      if (stopped.ended && worth_telling_ended(stopped.session))
        GPUPOOL_TRY(tell_locked(ended_notice(stopped.session, now)));
      return schedule_locked(now);
    }));
  }
  notify();
  return get_session(user, id);
}

Status SessionService::reschedule() {
  {
    std::lock_guard lock(mutex_);
    UnixMillis now = clock_.now();
    GPUPOOL_TRY(store_.in_transaction([&]() -> Status { return schedule_locked(now); }));
  }
  notify();
  return {};
}

Result<Balance> SessionService::balance(std::int64_t user_id) {
  std::lock_guard lock(mutex_);
  return accounts_.balance(user_id, clock_.now());
}

Result<std::vector<Session>> SessionService::active_sessions() {
  return store_.list_sessions({std::nullopt, std::nullopt, true, {}});
}

}  // namespace gpupool::services
