// FakeContainerEngine: an in-memory container engine for the agent's unit tests, with faults
// on cue: a call fails once, a call hangs until released (and then times out, as the real
// client does), a container vanishes behind the agent's back, the engine restarts (every
// container exits). Thread-safe: the agent calls it from its loop and worker threads.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/container_engine.hpp"

namespace gpupool::testing {

enum class EngineCall {
  ensure_volume,
  create,
  start,
  inspect,
  read_file,
  remove,
  list,
  write_file,
  create_network,
  remove_network,
  list_networks,
  pull,
  cpu_time,
};

class FakeContainerEngine final : public ContainerEngine {
 public:
  // A running container's SSH host key, as the session init writes it.
  static constexpr const char* kHostKey =
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs";

  ~FakeContainerEngine() override { release_all(); }

  // Faults. fail_next: the next call of that kind returns `error`, once. hang: calls of that
  // kind wait until release(), then fail as a client timeout would (unavailable).
  void fail_next(EngineCall call, Error error);
  void hang(EngineCall call);
  void release(EngineCall call);
  void release_all();
  int waiting(EngineCall call) const;  // calls of that kind hanging now
  // The session's container is gone (removed by someone else, or the host cleaned it up).
  void forget(const std::string& session_id);
  // The engine restarted: every running container has exited (at the fake's time).
  void restart();
  // The session's container exited on its own, with this code.
  void exit(const std::string& session_id, int exit_code);
  // The time the fake stamps on starts and stops (the engine's own clock).
  void set_time(UnixMillis time);
  // A container left from before (e.g. created, never started, when the agent crashed).
  void add_leftover(const ContainerSpec& spec, const std::string& state);

  // The CPU time the session's container has used so far (0 until set).
  void set_cpu_time(const std::string& session_id, std::int64_t nanos);

  // Images the engine lacks until pulled. A pull tells its watcher "1.0 of 2.0 GB, 1 of 2
  // layers", waits while pulls are held, then has the image (fail_next(pull) fails it).
  void lack_image(const std::string& reference);
  void hold_pulls(bool held);
  // The credentials the last pull of this reference came with; nullopt: never pulled.
  std::optional<RegistryCredentials> pulled_with(const std::string& reference) const;

  // What happened.
  int calls(EngineCall call) const;
  std::optional<std::string> state_of(const std::string& session_id) const;
  std::optional<ContainerSpec> spec_of(const std::string& session_id) const;
  // A file written into the session's container, by its full path.
  std::optional<std::string> file_of(const std::string& session_id, const std::string& path) const;
  std::set<std::string> volumes() const;
  std::map<std::string, NetworkSpec> networks() const;  // by name
  // A network someone else made (another program on the same engine).
  void add_foreign_network(const NetworkSpec& spec);

  Result<EngineIdentity> identify() override { return EngineIdentity{"Docker", "fake", "1.41"}; }
  Result<bool> image_present(const std::string& reference) override;
  Status pull_image(const std::string& reference, const RegistryCredentials& credentials,
                    const PullWatcher& watcher) override;
  Result<std::vector<ImageInfo>> list_images(const std::string&) override {
    return std::vector<ImageInfo>{};
  }
  // Saving sessions as images is tested against the real engine (tests/e2e).
  Result<std::string> push_image(const std::string&, const std::string&,
                                 const RegistryCredentials&) override {
    return make_error(ErrorCode::unavailable, "the fake engine pushes nothing");
  }
  Result<ImageDetails> inspect_image(const std::string&) override {
    return make_error(ErrorCode::not_found, "the fake engine inspects no image");
  }
  Status remove_image(const std::string& reference) override {
    std::erase_if(disk_.images, [&](const EngineImage& image) { return image.id == reference; });
    removed_images_.push_back(reference);
    return {};
  }
  std::vector<std::string> removed_images_;
  Result<std::string> commit_container(const std::string&, const std::string&, const std::string&,
                                       const ImageDetails&) override {
    return make_error(ErrorCode::unavailable, "the fake engine commits nothing");
  }
  Result<EngineDiskUsage> disk_usage() override { return disk_; }
  EngineDiskUsage disk_;  // what disk_usage answers; removed images leave it
  Result<std::string> writable_layer_dir(const std::string&) override {
    return make_error(ErrorCode::unavailable, "the fake engine has no layers");
  }
  Status ensure_volume(const std::string& name,
                       const std::map<std::string, std::string>& labels) override;
  Result<std::string> create_container(const ContainerSpec& spec) override;
  Status start_container(const std::string& id) override;
  Result<ContainerStatus> inspect_container(const std::string& id_or_name) override;
  Result<std::string> read_file(const std::string& id_or_name, const std::string& path) override;
  Status write_file(const std::string& id_or_name, const std::string& directory,
                    const std::string& name, const std::string& content, unsigned mode) override;
  // What `log_text` holds (the same for every container), its last `lines` lines.
  Result<std::string> container_log(const std::string& id_or_name, int lines) override;
  std::string log_text;
  Status remove_container(const std::string& id) override;
  Result<std::int64_t> cpu_time_nanos(const std::string& id) override;
  Result<std::vector<ContainerInfo>> list_containers(const std::string& label_filter) override;
  // Like the real engine: a taken name or an overlapping subnet is a conflict, and a network
  // with a container still on it cannot be removed.
  Status create_network(const NetworkSpec& spec) override;
  Status remove_network(const std::string& name) override;
  Result<std::vector<NetworkInfo>> list_networks() override;

 private:
  struct Container {
    std::string id;
    ContainerSpec spec;
    std::string state;
    std::map<std::string, std::string> files;  // written by write_file, by path
    UnixMillis started_at = 0;
    UnixMillis finished_at = 0;
    int exit_code = 0;
    std::int64_t cpu_nanos = 0;
  };
  // Counts the call, then waits out a hang or takes an injected failure. Holds `lock`.
  Status enter(EngineCall call, std::unique_lock<std::mutex>& lock);
  Container* find(const std::string& id_or_name);

  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::map<EngineCall, int> calls_;                         // guarded by mutex_
  std::map<EngineCall, Error> failures_;                    // guarded by mutex_
  std::set<EngineCall> hung_;                               // guarded by mutex_
  std::map<EngineCall, int> waiting_;                       // guarded by mutex_
  std::map<std::string, Container> containers_;             // by id; guarded by mutex_
  std::set<std::string> volumes_;                           // guarded by mutex_
  std::map<std::string, NetworkSpec> networks_;             // by name; guarded by mutex_
  int next_id_ = 1;                                         // guarded by mutex_
  UnixMillis time_ = 1'000'000;                             // guarded by mutex_
  std::set<std::string> lacking_;                           // guarded by mutex_
  bool pulls_held_ = false;                                 // guarded by mutex_
  std::map<std::string, RegistryCredentials> pulled_with_;  // guarded by mutex_
};

}  // namespace gpupool::testing
