#include "agent/agent.hpp"

#include <algorithm>
#include <filesystem>
#include <iterator>

#include <fmt/format.h>

#include "agent/gpu_attribution.hpp"
#include "agent/image_check.hpp"
#include "agent/image_save.hpp"
#include "agent/shared_homes.hpp"
#include "core/json_input.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "engine/docker_api/pull_progress.hpp"

namespace gpupool::agent {

using namespace std::chrono_literals;

Agent::Agent(AgentSettings settings, SyncChannel& channel, ContainerEngine& engine,
             SessionFirewall& firewall, GpuProbe& probe, ReadinessCheck& readiness,
             ActivitySensor& activity, const Clock& clock)
    : settings_(std::move(settings)),
      channel_(channel),
      engine_(engine),
      firewall_(firewall),
      networks_(engine, settings_.session_subnets, settings_.container.node_name),
      probe_(probe),
      readiness_(readiness),
      clock_(clock),
      activity_(activity, clock, settings_.activity_interval) {}

Agent::~Agent() {
  stop();
}

void Agent::start() {
  channel_.on_change([this] { wake(); });
  loop_ = std::thread([this] { run_loop(); });
  activity_.start();
}

void Agent::stop() {
  if (stopping_.exchange(true)) return;
  wake();
  if (loop_.joinable()) loop_.join();
  activity_.stop();
  std::vector<Worker> workers;
  {
    std::lock_guard lock(mutex_);
    workers.swap(workers_);
  }
  for (auto& worker : workers) worker.thread.join();
}

void Agent::wake() {
  {
    std::lock_guard lock(mutex_);
    wake_requested_ = true;
  }
  wake_condition_.notify_all();
  channel_.interrupt();  // a held sync would carry a stale report
}

void Agent::run_loop() {
  // Between long polls: a bound on how fast a server that answers at once is asked again.
  constexpr std::chrono::milliseconds kLongPollGap{20};
  std::string last_error;
  while (!stopping_) {
    {
      std::lock_guard lock(mutex_);
      wake_requested_ = false;
    }
    channel_.clear_interrupt();  // from here on, a wake cuts this pass's sync short
    auto status = reconcile_once();
    // Log a failure once, not at every sync, until it changes.
    std::string error = status ? "" : status.error().message;
    if (error != last_error && !error.empty()) spdlog::warn("agent: {}", error);
    if (error != last_error && error.empty()) spdlog::info("agent: sync recovered");
    last_error = error;
    join_finished_workers();
    // A long poll has waited at the server already; after a failure, wait here either way.
    auto pause = channel_.long_polls() && status ? kLongPollGap : settings_.sync_interval;
    std::unique_lock lock(mutex_);
    wake_condition_.wait_for(lock, pause, [this] { return wake_requested_ || stopping_; });
  }
}

Status Agent::reconcile_once() {
  auto request = observe();
  if (!request) return request.error();
  if (channel_.long_polls()) {
    request->held_state = held_state_;
    request->wait_millis = settings_.sync_interval.count();
  }
  auto response = channel_.sync(*request);
  if (!response) {
    std::lock_guard lock(mutex_);
    // A long poll cut short by a wake: not a failure; the next pass reports the news at once.
    if (channel_.long_polls() && (wake_requested_ || stopping_)) return {};
    return response.error();
  }
  held_state_ = response->state;
  last_sync_ok_ = clock_.monotonic_millis();
  std::vector<ContainerInfo> containers;
  {
    std::lock_guard lock(mutex_);
    containers = last_containers_;
  }
  converge(*response, containers);
  return {};
}

Result<std::string> Agent::app_address(const std::string& session_id,
                                       const std::string& jupyter_token) {
  std::lock_guard lock(mutex_);
  auto target = app_targets_.find(session_id);
  // One answer for an unknown session and a wrong token: the relay's callers learn nothing.
  if (target == app_targets_.end() || !secrets_equal(target->second.jupyter_token, jupyter_token))
    return make_error(ErrorCode::not_found, "no such session running here");
  return target->second.address;
}

Result<SyncRequest> Agent::observe() {
  SyncRequest request;
  request.node = settings_.node;
  request.node.jupyter_host = settings_.readiness_host;
  auto inventory = probe_.discover();
  if (!inventory) return inventory.error();
  request.node.gpus = inventory->gpus;
  request.node.driver_cuda = inventory->driver_cuda;
  request.node.simulated = inventory->simulated;
  // Telemetry is for people watching the pool: a failed read must not stop sessions syncing.
  auto readings = probe_.read_telemetry();
  if (readings) {
    request.gpu_readings = std::move(*readings);
    telemetry_failing_ = false;
  } else if (!telemetry_failing_.exchange(true)) {
    spdlog::warn("agent: cannot read GPU telemetry: {}", readings.error().message);
  }

  // Local state first, then the engine: a worker finishing in between is then seen in the
  // container list, so no session falls between the two and looks vanished.
  LocalState local;
  {
    std::lock_guard lock(mutex_);
    local = local_;
  }
  // Only this node's containers: another gpupool on the same engine is none of our business.
  auto containers =
      engine_.list_containers(std::string(kNodeLabel) + "=" + settings_.container.node_name);
  if (!containers) return containers.error();
  std::erase_if(*containers, [](const ContainerInfo& container) {
    return !container.labels.contains(kSessionLabel);
  });
  attribute_gpu_processes(request.gpu_readings, *containers);
  auto gpu_use = session_gpu_utilization(request.gpu_readings, *containers);

  // One report per session: a failure first (with what its container holds, if it has one),
  // then each container, then starts still without one.
  std::map<std::string, const ContainerInfo*> by_session;
  for (const auto& container : *containers)
    by_session.emplace(container.labels.at(kSessionLabel), &container);
  std::set<std::string> reported;
  auto report = [&](const std::string& id, ObservedPhase phase, std::string message = "",
                    std::string host_key = "", UnixMillis stopped_at = 0) -> ObservedSession* {
    if (!reported.insert(id).second) return nullptr;
    auto found = by_session.find(id);
    ObservedSession observed;
    if (found != by_session.end()) observed = observed_container(*found->second, phase);
    if (auto token = unknown_tokens_.find(id); token != unknown_tokens_.end())
      observed.jupyter_token = token->second;
    observed.session_id = id;
    observed.phase = phase;
    observed.message = std::move(message);
    observed.ssh_host_key = std::move(host_key);
    observed.stopped_at = stopped_at;
    request.observed.push_back(std::move(observed));
    return &request.observed.back();
  };
  for (const auto& [id, note] : local.failures) {
    ObservedSession* failed = report(id, ObservedPhase::failed, note.message, "", note.stopped_at);
    if (failed != nullptr) failed->log = note.log;
  }
  for (const auto& [id, note] : local.restarting)
    report(id, ObservedPhase::restarting, note.message, "", note.stopped_at);
  for (const auto& [id, container] : by_session) {
    if (container->running() && local.ready.contains(id)) {
      ObservedSession* running = report(id, ObservedPhase::running, "", local.ready.at(id));
      auto activity = activity_.latest(id);
      if (running != nullptr && activity) {
        if (auto gpu = gpu_use.find(id); gpu != gpu_use.end())
          activity->gpu_utilization_percent = gpu->second;
        running->activity = activity;
      }
    } else {
      report(id, ObservedPhase::starting);
    }
  }
  for (const auto& id : local.in_flight) {
    auto pulling = local.pulling.find(id);
    report(id, ObservedPhase::starting, pulling != local.pulling.end() ? pulling->second : "");
  }
  {
    std::lock_guard lock(mutex_);
    last_containers_ = *containers;
    for (const auto& [key, report] : image_checks_done_) request.image_checks.push_back(report);
    for (const auto& [key, report] : image_saves_done_) request.image_saves.push_back(report);
    request.disk = disk_;
  }
  return request;
}

void Agent::converge(const SyncResponse& response, const std::vector<ContainerInfo>& containers) {
  std::map<std::string, const ContainerInfo*> by_session;
  for (const auto& container : containers)
    by_session[container.labels.at(kSessionLabel)] = &container;
  std::set<std::string> desired_ids;
  std::vector<WatchedSession> watched;  // running and ready: measured for idle detection
  std::map<std::string, AppTarget> app_targets;

  for (const auto& session : response.desired) {
    desired_ids.insert(session.session_id);
    bool busy = false;
    bool ready = false;
    bool keys_changed = false;
    {
      std::lock_guard lock(mutex_);
      busy = local_.in_flight.contains(session.session_id) ||
             local_.failures.contains(session.session_id);
      ready = local_.ready.contains(session.session_id);
      auto keys = local_.keys.find(session.session_id);
      keys_changed = keys == local_.keys.end() || keys->second != authorized_keys_text(session);
      // A ready session stays reachable while a worker writes its keys.
      auto target = app_targets_.find(session.session_id);
      if (busy && ready && target != app_targets_.end())
        app_targets[session.session_id] = target->second;
    }
    if (busy) continue;
    auto found = by_session.find(session.session_id);
    if (ready && found != by_session.end() && found->second->running()) {
      watched.push_back(
          {session.session_id, found->second->id, session.jupyter_port, session.jupyter_token});
      if (!found->second->ipv4.empty())
        app_targets[session.session_id] = {session.jupyter_token, found->second->ipv4};
    }
    if (found == by_session.end()) {
      launch(session.session_id, [this, session] { start_session(session, false); });
    } else if (found->second->running()) {
      if (!ready) {
        launch(session.session_id, [this, session] { start_session(session, true); });
      } else if (keys_changed) {
        // An added key works and a removed one is refused from this sync on, no restart.
        launch(session.session_id, [this, session] { write_authorized_keys(session); });
      }
    } else if (found->second->state != "created") {
      // It ran and stopped without being asked (the engine or the host restarted, or its
      // main process ended): the same container starts again, its home and host key kept.
      launch(session.session_id,
             [this, session, id = found->second->id] { restart_session(session, id); });
    } else {
      // Created but never started (a crash mid-start): start afresh.
      std::string stale = found->second->id;
      launch(session.session_id, [this, session, stale] {
        (void)engine_.remove_container(stale);
        start_session(session, false);
      });
    }
  }

  activity_.watch(std::move(watched));
  {
    std::lock_guard lock(mutex_);
    app_targets_ = std::move(app_targets);
  }

  // Only what the server names goes. A container it neither wants nor releases belongs to a
  // session its database does not know (lost, replaced, restored from an old backup): it
  // keeps running until an admin decides.
  std::set<std::string> released(response.release.begin(), response.release.end());
  for (const auto& [session_id, container] : by_session) {
    const std::string& id = session_id;  // a plain name: lambdas cannot capture a binding
    if (desired_ids.contains(id)) continue;
    if (!released.contains(id)) {
      if (unknown_warned_.insert(id).second) {
        spdlog::warn("agent: the server does not know session {} (container {}): left running", id,
                     container->name);
      }
      if (!unknown_tokens_.contains(id)) {
        auto settings = engine_.read_file(container->id, kJupyterConfigPath);
        if (settings) unknown_tokens_[id] = jupyter_token_of(*settings);
      }
      continue;
    }
    bool busy = false;
    {
      std::lock_guard lock(mutex_);
      busy = local_.in_flight.contains(id);
    }
    if (!busy)
      launch(id, [this, id, container_id = container->id] { remove_container(id, container_id); });
  }

  prepull(response.prepull);
  check_images(response.image_checks);
  save_images(response.image_saves);
  housekeep(response);
  {
    // A session stopped while its image is still coming: the pull (gigabytes, maybe) stops.
    std::lock_guard lock(mutex_);
    for (const auto& [id, progress] : local_.pulling)
      if (!desired_ids.contains(id)) local_.pulls_cancelled.insert(id);
  }

  // Networks a previous run left behind (it stopped between removing a container and its
  // network): once, when the full picture is known.
  if (!networks_swept_) {
    networks_swept_ = true;
    std::set<std::string> keep = desired_ids;
    for (const auto& [session_id, container] : by_session) keep.insert(session_id);
    networks_.remove_all_but(keep);
  }

  // Forget what neither the server nor the engine knows any more; a failed start may have
  // left its network behind.
  std::vector<std::string> forgotten_failures;
  std::unique_lock lock(mutex_);
  for (auto it = local_.failures.begin(); it != local_.failures.end();) {
    bool known = desired_ids.contains(it->first) || by_session.contains(it->first);
    if (!known) forgotten_failures.push_back(it->first);
    it = known ? std::next(it) : local_.failures.erase(it);
  }
  for (auto it = local_.ready.begin(); it != local_.ready.end();) {
    bool known = desired_ids.contains(it->first) || by_session.contains(it->first);
    it = known ? std::next(it) : local_.ready.erase(it);
  }
  std::erase_if(local_.keys, [&](const auto& entry) {
    return !desired_ids.contains(entry.first) && !by_session.contains(entry.first);
  });
  std::erase_if(restarts_, [&](const auto& entry) {
    return !desired_ids.contains(entry.first) && !by_session.contains(entry.first);
  });
  std::erase_if(unknown_tokens_, [&](const auto& entry) {
    return desired_ids.contains(entry.first) || !by_session.contains(entry.first);
  });
  lock.unlock();
  for (const auto& id : forgotten_failures) launch(id, [this, id] { (void)networks_.remove(id); });
}

void Agent::launch(const std::string& session_id, std::function<void()> work) {
  std::lock_guard lock(mutex_);
  if (stopping_ || !local_.in_flight.insert(session_id).second) return;
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, session_id, done, work = std::move(work)] {
    work();
    {
      std::lock_guard worker_lock(mutex_);
      local_.in_flight.erase(session_id);
    }
    *done = true;
    wake();
  });
  workers_.push_back({std::move(thread), std::move(done)});
}

void Agent::join_finished_workers() {
  std::vector<Worker> finished;
  {
    std::lock_guard lock(mutex_);
    auto split = std::partition(workers_.begin(), workers_.end(),
                                [](const Worker& worker) { return !*worker.done; });
    std::move(split, workers_.end(), std::back_inserter(finished));
    workers_.erase(split, workers_.end());
  }
  for (auto& worker : finished) worker.thread.join();
}

void Agent::start_session(const DesiredSession& session, bool container_exists) {
  auto fail = [&](const std::string& why) {
    spdlog::warn("agent: session {} failed to start: {}", session.session_id, why);
    std::string log = start_log(session.session_id);
    std::lock_guard lock(mutex_);
    local_.failures[session.session_id] = {why, 0, std::move(log)};
  };
  if (!container_exists) {
    // Housekeeping removes no image between here and the container made from it.
    std::shared_lock images_in_use(images_in_use_);
    if (auto image = ensure_image(session); !image) return fail(image.error().message);
    for (const auto& dataset : session.datasets) {
      std::error_code ec;
      if (!std::filesystem::is_directory(dataset.host_path, ec))
        return fail(fmt::format("dataset {}: {} is not a directory on node {}", dataset.name,
                                dataset.host_path, settings_.node.name));
    }
    // The island first: a container is never attached anywhere else, nor started unguarded.
    if (auto guarded = firewall_.ensure(); !guarded) return fail(guarded.error().message);
    auto network = networks_.ensure(session.session_id);
    if (!network) return fail(network.error().message);
    auto spec = make_session_container(session, settings_.container);
    auto home = settings_.container.home_root.empty()
                    ? engine_.ensure_volume(home_volume_name(session.username),
                                            {{kUserLabel, session.username}})
                    : ensure_shared_home(settings_.container.home_root, session.username,
                                         session.uid, session.gid);
    if (!home) return fail(home.error().message);
    auto created = engine_.create_container(spec);
    if (!created && created.error().code == ErrorCode::conflict) {
      // A leftover with our name and no label match: remove it and try once more.
      (void)engine_.remove_container(spec.name);
      created = engine_.create_container(spec);
    }
    if (!created) return fail(created.error().message);
    auto started = engine_.start_container(*created);
    if (!started) return fail(started.error().message);
    std::lock_guard lock(mutex_);
    local_.keys[session.session_id] = authorized_keys_text(session);  // the init writes them
  }
  switch (wait_until_ready(session)) {
    case ReadyOutcome::ready:
      break;
    case ReadyOutcome::exited:
      return fail("the container exited or was removed before Jupyter answered" +
                  init_failure(session.session_id));
    case ReadyOutcome::timed_out:
      if (!stopping_)
        fail(fmt::format("Jupyter did not answer within {} s",
                         settings_.ready_timeout.count() / 1000));
      return;
  }
  // The init wrote the host key before starting sshd and Jupyter, so it is there now.
  auto host_key = engine_.read_file(container_name(session.session_id), kHostPublicKeyPath);
  if (!host_key) {
    spdlog::warn("agent: cannot read the SSH host key of {}: {}", session.session_id,
                 host_key.error().message);
  }
  std::lock_guard lock(mutex_);
  local_.ready[session.session_id] = host_key ? *host_key : "";
}

bool Agent::take_restart(const std::string& session_id) {
  std::int64_t now = clock_.monotonic_millis();
  std::lock_guard lock(mutex_);
  auto& times = restarts_[session_id];
  std::erase_if(times,
                [&](std::int64_t at) { return now - at >= settings_.restart_window.count(); });
  if (static_cast<int>(times.size()) >= settings_.restart_limit) return false;
  times.push_back(now);
  return true;
}

std::string Agent::start_log(const std::string& session_id) {
  constexpr int kLines = 200;
  auto log = engine_.container_log(container_name(session_id), kLines);
  if (!log) return "";  // no container yet (a pull that failed), or the engine lost it
  // The end says most of why it stopped; whatever bytes the user's processes wrote, it
  // travels as JSON text.
  return utf8_tail(*log, kMaxStartLogBytes);
}

std::string Agent::init_failure(const std::string& session_id) {
  auto said = engine_.read_file(container_name(session_id), kStartFailurePath);
  if (!said || said->empty()) return "";
  constexpr std::size_t kMaxLength = 300;
  std::string line = said->substr(0, std::min(said->find('\n'), kMaxLength));
  return ": " + line;
}

void Agent::restart_session(const DesiredSession& session, const std::string& container_id) {
  const std::string& id = session.session_id;
  auto status = engine_.inspect_container(container_id);
  if (!status) {
    spdlog::warn("agent: cannot inspect the stopped container of {} (next sync retries): {}", id,
                 status.error().message);
    return;
  }
  if (status->running()) return;  // started by someone else: the next sync waits for Jupyter
  // A stop time before the last start belongs to an earlier stop: unknown.
  UnixMillis stopped_at = status->finished_at >= status->started_at ? status->finished_at : 0;
  std::string exit = stop_description(*status);
  auto fail = [&](const std::string& why) {
    spdlog::warn("agent: session {} failed: {}", id, why);
    std::string log = start_log(id);
    std::lock_guard lock(mutex_);
    local_.restarting.erase(id);
    local_.failures[id] = {why, stopped_at, std::move(log)};
  };
  {
    std::lock_guard lock(mutex_);
    local_.ready.erase(id);
  }
  if (!take_restart(id)) {
    return fail(fmt::format("the container stopped {} times within {} min ({}); not restarted",
                            settings_.restart_limit + 1, settings_.restart_window.count() / 60'000,
                            exit));
  }
  spdlog::warn("agent: the container of session {} stopped ({}); starting it again", id, exit);
  {
    std::lock_guard lock(mutex_);
    local_.restarting[id] = {exit, stopped_at};
  }
  // Reported now: a restart that is over before the next sync would otherwise go untold (its
  // owner not warned, the restart not counted).
  wake();
  if (auto guarded = firewall_.ensure(); !guarded) return fail(guarded.error().message);
  // The init takes this file over the keys in its environment, which are those of the
  // container's first start: a key removed since must not work again after a restart.
  std::string keys = authorized_keys_text(session);
  auto written =
      engine_.write_file(container_id, kAuthorizedKeysDirectory, kAuthorizedKeysFile, keys, 0644);
  if (!written)
    return fail("cannot write the SSH keys before a restart: " + written.error().message);
  if (auto started = engine_.start_container(container_id); !started)
    return fail("could not start the container again: " + started.error().message);
  {
    std::lock_guard lock(mutex_);
    local_.keys[id] = std::move(keys);
  }
  switch (wait_until_ready(session)) {
    case ReadyOutcome::ready:
      break;
    case ReadyOutcome::exited: {  // stopped again: the next sync counts another restart
      std::lock_guard lock(mutex_);
      local_.restarting.erase(id);
      return;
    }
    case ReadyOutcome::timed_out:
      if (!stopping_)
        fail(fmt::format("Jupyter did not answer within {} s of a restart",
                         settings_.ready_timeout.count() / 1000));
      return;
  }
  auto host_key = engine_.read_file(container_id, kHostPublicKeyPath);
  std::lock_guard lock(mutex_);
  local_.restarting.erase(id);
  local_.ready[id] = host_key ? *host_key : "";
}

void Agent::write_authorized_keys(const DesiredSession& session) {
  std::string keys = authorized_keys_text(session);
  auto written = engine_.write_file(container_name(session.session_id), kAuthorizedKeysDirectory,
                                    kAuthorizedKeysFile, keys, 0644);
  if (!written) {
    spdlog::warn("agent: cannot update the SSH keys of session {} (next sync retries): {}",
                 session.session_id, written.error().message);
    return;
  }
  std::lock_guard lock(mutex_);
  local_.keys[session.session_id] = std::move(keys);
}

Status Agent::ensure_image(const DesiredSession& session) {
  auto present = engine_.image_present(session.image_reference);
  if (!present) return present.error();
  if (*present) return {};
  spdlog::info("agent: pulling {} for session {}", session.image_reference, session.session_id);
  std::int64_t last_told = 0;
  auto watcher = [&](const std::string& so_far) {
    bool wanted = true;
    {
      std::lock_guard lock(mutex_);
      local_.pulling[session.session_id] = "pulling image: " + so_far;
      wanted = !local_.pulls_cancelled.contains(session.session_id);
    }
    // The server hears of it at the next sync; a long pull wakes one about every second.
    if (auto now = clock_.monotonic_millis(); last_told == 0 || now - last_told >= 1000) {
      last_told = now;
      wake();
    }
    return wanted && !stopping_;
  };
  auto pulled = engine_.pull_image(session.image_reference,
                                   {session.registry_username, session.registry_password}, watcher);
  std::lock_guard lock(mutex_);
  local_.pulling.erase(session.session_id);
  local_.pulls_cancelled.erase(session.session_id);
  return pulled;
}

void Agent::prepull(const std::vector<ImageToPull>& images) {
  constexpr std::int64_t kRetryAfterMillis = 10 * 60 * 1000;  // a registry may be down a while
  std::lock_guard lock(mutex_);
  if (stopping_ || prepulling_) return;
  auto now = clock_.monotonic_millis();
  for (const auto& image : images) {
    if (images_held_.contains(image.reference)) continue;
    auto failed = prepull_failed_at_.find(image.reference);
    if (failed != prepull_failed_at_.end() && now - failed->second < kRetryAfterMillis) continue;
    prepulling_ = true;
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, image, done, now] {
      auto pulled = pull_ahead(image);
      {
        std::lock_guard worker_lock(mutex_);
        prepulling_ = false;
        if (pulled) {
          images_held_.insert(image.reference);
        } else {
          prepull_failed_at_[image.reference] = now;
        }
      }
      *done = true;
      wake();  // the next image, if any
    });
    workers_.push_back({std::move(thread), std::move(done)});
    return;
  }
}

namespace {

std::string check_key(const ImageCheckOrder& order) {
  return order.tag + "@" + order.image.reference;
}

std::string save_key(const ImageSaveOrder& order) {
  return std::to_string(order.id);
}

}  // namespace

template <typename Order, typename Report>
void Agent::run_next_order(const std::vector<Order>& orders, std::string (*key_of)(const Order&),
                           std::map<std::string, Report>& reports, bool& busy,
                           std::function<Report(const Order&)> work) {
  std::lock_guard lock(mutex_);
  std::set<std::string> ordered;
  for (const auto& order : orders) ordered.insert(key_of(order));
  std::erase_if(reports, [&](const auto& done) { return !ordered.contains(done.first); });
  if (stopping_ || busy) return;
  for (const auto& order : orders) {
    std::string key = key_of(order);
    if (reports.contains(key)) continue;
    busy = true;
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::thread thread([this, order, key, done, &reports, &busy, work = std::move(work)] {
      Report report = work(order);
      {
        std::lock_guard worker_lock(mutex_);
        busy = false;
        reports[key] = std::move(report);
      }
      *done = true;
      wake();  // the server hears of it now
    });
    workers_.push_back({std::move(thread), std::move(done)});
    return;
  }
}

void Agent::check_images(const std::vector<ImageCheckOrder>& orders) {
  run_next_order<ImageCheckOrder, ImageCheckReport>(
      orders, check_key, image_checks_done_, checking_image_, [this](const ImageCheckOrder& order) {
        spdlog::info("agent: checking image {} ({})", order.tag, order.image.reference);
        return run_image_check(engine_, order, settings_.container.node_name, stopping_);
      });
}

void Agent::save_images(const std::vector<ImageSaveOrder>& orders) {
  run_next_order<ImageSaveOrder, ImageSaveReport>(
      orders, save_key, image_saves_done_, saving_image_, [this](const ImageSaveOrder& order) {
        spdlog::info("agent: saving session {} as {}:{}", order.session_id, order.repository,
                     order.tag);
        auto report = run_image_save(engine_, order, settings_.container.node_name, stopping_);
        if (!report.error.empty())
          spdlog::warn("agent: saving session {} failed: {}", order.session_id, report.error);
        return report;
      });
}

void Agent::housekeep(const SyncResponse& response) {
  std::lock_guard lock(mutex_);
  auto now = clock_.monotonic_millis();
  if (stopping_ || housekeeping_ || now < next_housekeeping_) return;
  std::set<std::string> wanted;
  for (const auto& session : response.desired) wanted.insert(session.image_reference);
  for (const auto& image : response.prepull) wanted.insert(image.reference);
  for (const auto& order : response.image_checks) wanted.insert(order.image.reference);
  for (const auto& order : response.image_saves) wanted.insert(order.base.reference);
  housekeeping_ = true;
  next_housekeeping_ = now + settings_.housekeeping.interval.count();
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread thread([this, wanted, done] {
    auto usage = engine_.disk_usage();
    std::optional<NodeDisk> disk;
    if (!usage) {
      spdlog::warn("agent: cannot measure the engine's disk use: {}", usage.error().message);
    } else {
      auto collect =
          images_to_collect(usage->images, wanted, last_wanted_, clock_.monotonic_millis(),
                            settings_.housekeeping.collect_after.count());
      disk = node_disk(*usage);
      for (const auto& image : usage->images) {
        if (std::find(collect.begin(), collect.end(), image.id) == collect.end()) continue;
        // Not while a session's start is between its image and its container: it may be this.
        std::unique_lock no_start(images_in_use_);
        if (stopping_) break;
        if (auto removed = engine_.remove_image(image.id); !removed) {
          spdlog::info("agent: unused image {} stays: {}", image.digests.front(),
                       removed.error().message);
          continue;
        }
        spdlog::info("agent: removed unused image {} ({})", image.digests.front(),
                     docker_api::human_bytes(image.size_bytes));
        --disk->images;
        ++collected_images_;
        collected_bytes_ += image.size_bytes;
      }
    }
    {
      std::lock_guard worker_lock(mutex_);
      housekeeping_ = false;
      if (disk) {
        disk->images_collected = collected_images_;
        disk->collected_bytes = collected_bytes_;
        disk_ = disk;
      }
    }
    *done = true;
  });
  workers_.push_back({std::move(thread), std::move(done)});
}

Status Agent::pull_ahead(const ImageToPull& image) {
  auto present = engine_.image_present(image.reference);
  if (present && *present) return {};
  Status pulled;
  if (!present) {
    pulled = present.error();
  } else {
    spdlog::info("agent: pulling {} ahead of need", image.reference);
    pulled = engine_.pull_image(image.reference, {image.registry_username, image.registry_password},
                                [this](const std::string&) { return !stopping_; });
  }
  if (!pulled) {
    spdlog::warn("agent: cannot pull {} ahead of need (tried again in 10 minutes): {}",
                 image.reference, pulled.error().message);
    return pulled;
  }
  spdlog::info("agent: pulled {}", image.reference);
  return {};
}

Agent::ReadyOutcome Agent::wait_until_ready(const DesiredSession& session) {
  auto deadline = clock_.monotonic_millis() + settings_.ready_timeout.count();
  for (int attempt = 1; !stopping_ && clock_.monotonic_millis() < deadline; ++attempt) {
    if (readiness_.jupyter_answers(session)) return ReadyOutcome::ready;
    // Every second or so, make sure there is still something to wait for.
    if (attempt % 50 == 0) {
      auto status = engine_.inspect_container(container_name(session.session_id));
      bool gone = !status && status.error().code == ErrorCode::not_found;
      if (gone || (status && !status->running())) return ReadyOutcome::exited;
    }
    std::this_thread::sleep_for(20ms);
  }
  return ReadyOutcome::timed_out;
}

void Agent::remove_container(const std::string& session_id, const std::string& container_id) {
  auto removed = engine_.remove_container(container_id);
  if (!removed) {
    spdlog::warn("agent: cannot remove container of session {}: {}", session_id,
                 removed.error().message);
    return;
  }
  if (auto network = networks_.remove(session_id); !network) {
    // Swept at the agent's next start; the session itself is gone.
    spdlog::warn("agent: cannot remove the network of session {}: {}", session_id,
                 network.error().message);
  }
  std::lock_guard lock(mutex_);
  local_.ready.erase(session_id);
  local_.failures.erase(session_id);
}

}  // namespace gpupool::agent
