// Agent: makes the containers on one node match the server's desired state.
//
// A reconcile loop runs on its own thread: sync (report → desired), then converge. Starting
// or removing a container is slow (seconds), so each runs on its own worker thread and the
// loop never blocks on one session; the next sync reports progress. Thread-safe; stop()
// joins every thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/activity_monitor.hpp"
#include "agent/image_housekeeping.hpp"
#include "agent/readiness.hpp"
#include "agent/session_container.hpp"
#include "agent/session_firewall.hpp"
#include "agent/session_network.hpp"
#include "agent/sync_channel.hpp"
#include "core/clock.hpp"
#include "engine/container_engine.hpp"
#include "gpu/gpu_probe.hpp"

namespace gpupool::agent {

struct AgentSettings {
  Node node;  // name, address, cpus, memory, port range; GPUs come from the probe
  ContainerSettings container;
  // How often the agent syncs; over a long-polling channel, how long the server may hold a
  // sync in which nothing changed (the heartbeat: it carries the node's telemetry too).
  std::chrono::milliseconds sync_interval{1000};
  std::chrono::milliseconds ready_timeout{180'000};
  std::string readiness_host = "127.0.0.1";  // where published Jupyter ports answer (reported)
  Ipv4Block session_subnets = *parse_ipv4_block(kDefaultSessionSubnets);
  // A session's container that stops without being asked is started again, at most
  // `restart_limit` times within `restart_window`; one more stop fails the session (a
  // container that keeps dying is not a session anyone can use, and should stop billing).
  int restart_limit = 3;
  std::chrono::milliseconds restart_window{10 * 60 * 1000};
  // How often each running session's use is measured for idle detection (activity_monitor.hpp).
  std::chrono::milliseconds activity_interval{30'000};
  HousekeepingSettings housekeeping;  // disk use measured, unused images removed
};

class Agent {
 public:
  // Everything passed by reference must outlive the agent. `clock` times the readiness wait.
  // `firewall` is ensured before every session start; a session never starts unprotected.
  // `activity` measures running sessions' use, on the agent's activity thread.
  Agent(AgentSettings settings, SyncChannel& channel, ContainerEngine& engine,
        SessionFirewall& firewall, GpuProbe& probe, ReadinessCheck& readiness,
        ActivitySensor& activity, const Clock& clock);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  void start();
  void stop();
  // Asks for a sync now rather than at the next interval.
  void wake();

  // One sync-and-converge pass; public so tests can drive the agent step by step.
  Status reconcile_once();
  // Measures the running sessions' use now (the activity thread does it every interval).
  void measure_activity() { activity_.measure_once(); }

  // Where the node's app relay (app/app_relay.hpp) takes a connection to `session_id`: its
  // container's address, if the session is running here and ready and `jupyter_token` is
  // its token (the secret the server and this node share for it); else why not.
  Result<std::string> app_address(const std::string& session_id, const std::string& jupyter_token);

  // The clock's monotonic time of the last sync the server answered; 0 before the first.
  std::int64_t last_successful_sync_millis() const { return last_sync_ok_.load(); }

 private:
  // What the agent tells the server beside a phase.
  struct Note {
    std::string message;
    UnixMillis stopped_at = 0;  // when its container stopped, if it had run
    std::string log = {};       // failed: the end of what its container printed
  };
  struct LocalState {
    std::set<std::string> in_flight;             // a worker is starting or removing it
    std::map<std::string, std::string> ready;    // Jupyter answered → SSH host public key
    std::map<std::string, Note> failures;        // session → why it failed
    std::map<std::string, std::string> keys;     // authorized keys the container has now
    std::map<std::string, Note> restarting;      // being started again → how it stopped
    std::map<std::string, std::string> pulling;  // its image is being pulled → how far
    std::set<std::string> pulls_cancelled;       // no longer wanted: its pull stops
  };

  // The end of what a session's container printed ("" when there is none), for its owner
  // to see why it failed.
  std::string start_log(const std::string& session_id);

  void run_loop();
  Result<SyncRequest> observe();
  void converge(const SyncResponse& response, const std::vector<ContainerInfo>& containers);
  // ": why" from the init of a session container that exited while starting; "" if it said
  // nothing.
  std::string init_failure(const std::string& session_id);
  void launch(const std::string& session_id, std::function<void()> work);
  void start_session(const DesiredSession& session, bool container_exists);
  // Pulls the session's image unless the engine has it, saying how far it got as it goes.
  Status ensure_image(const DesiredSession& session);
  void restart_session(const DesiredSession& session, const std::string& container_id);
  // Counts a restart against the budget; false when the budget is spent.
  bool take_restart(const std::string& session_id);
  void remove_container(const std::string& session_id, const std::string& container_id);
  // Starts pulling the first image the server wants ahead of need that the node lacks, unless
  // one is being pulled already: one at a time, so sessions' own pulls keep the bandwidth.
  void prepull(const std::vector<ImageToPull>& images);
  Status pull_ahead(const ImageToPull& image);
  // Runs the first contract check the server ordered that has not run, unless one is running
  // (image_check.hpp); forgets the results of checks no longer ordered (the server has them).
  void check_images(const std::vector<ImageCheckOrder>& orders);
  // Measures the engine's disk use and removes images nothing wants (image_housekeeping.hpp),
  // on a worker, when due; a session's start holds removals off (images_in_use_).
  void housekeep(const SyncResponse& response);
  // Likewise the sessions the server ordered saved as images (image_save.hpp).
  void save_images(const std::vector<ImageSaveOrder>& orders);
  // The one-at-a-time jobs above: starts the first order whose report is not held unless
  // `busy`, on a worker that files its report under its key; drops reports no longer ordered.
  template <typename Order, typename Report>
  void run_next_order(const std::vector<Order>& orders, std::string (*key_of)(const Order&),
                      std::map<std::string, Report>& reports, bool& busy,
                      std::function<Report(const Order&)> work);
  void write_authorized_keys(const DesiredSession& session);
  enum class ReadyOutcome { ready, exited, timed_out };
  ReadyOutcome wait_until_ready(const DesiredSession& session);

  const AgentSettings settings_;
  SyncChannel& channel_;
  ContainerEngine& engine_;
  SessionFirewall& firewall_;
  SessionNetworks networks_;
  GpuProbe& probe_;
  ReadinessCheck& readiness_;
  const Clock& clock_;
  ActivityMonitor activity_;

  std::mutex mutex_;
  // Held shared by a session's start from its image check to its container's creation, and
  // alone by housekeeping while it removes an image.
  std::shared_mutex images_in_use_;
  std::condition_variable wake_condition_;
  bool wake_requested_ = false;  // guarded by mutex_
  LocalState local_;             // guarded by mutex_
  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  void join_finished_workers();

  std::vector<Worker> workers_;                                // guarded by mutex_
  std::map<std::string, std::vector<std::int64_t>> restarts_;  // monotonic times; by mutex_
  std::vector<ContainerInfo> last_containers_;                 // guarded by mutex_
  struct AppTarget {
    std::string jupyter_token;
    std::string address;  // the container's, on its session network
  };
  std::map<std::string, AppTarget> app_targets_;           // ready sessions' containers; by mutex_
  std::set<std::string> images_held_;                      // pulled ahead; by mutex_
  bool prepulling_ = false;                                // guarded by mutex_
  std::map<std::string, std::int64_t> prepull_failed_at_;  // monotonic; by mutex_
  bool checking_image_ = false;                            // guarded by mutex_
  std::map<std::string, ImageCheckReport> image_checks_done_;  // by tag@reference; by mutex_
  bool saving_image_ = false;                                  // guarded by mutex_
  bool housekeeping_ = false;                                  // guarded by mutex_
  std::int64_t next_housekeeping_ = 0;                         // monotonic; by mutex_
  std::optional<NodeDisk> disk_;                               // guarded by mutex_
  // The housekeeping worker's own (one runs at a time).
  std::map<std::string, std::int64_t> last_wanted_;
  int collected_images_ = 0;
  std::int64_t collected_bytes_ = 0;
  std::map<std::string, ImageSaveReport> image_saves_done_;  // by save id; by mutex_
  bool networks_swept_ = false;  // leftovers of a previous run removed; reconcile thread only
  std::set<std::string> unknown_warned_;  // sessions said to be unknown; reconcile thread only
  // The Jupyter tokens of those, read once, reported so that an admin can adopt one.
  std::map<std::string, std::string> unknown_tokens_;  // reconcile thread only
  std::atomic<bool> stopping_{false};
  std::atomic<bool> telemetry_failing_{false};  // warn once per run of failed reads
  std::atomic<std::int64_t> last_sync_ok_{0};
  std::string held_state_;  // the desired state's fingerprint of the last answer; reconcile thread
  std::thread loop_;
};

}  // namespace gpupool::agent
