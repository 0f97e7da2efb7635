#include "fake_container_engine.hpp"

#include <chrono>

#include "agent/session_container.hpp"
#include "core/ipv4.hpp"

namespace gpupool::testing {

void FakeContainerEngine::fail_next(EngineCall call, Error error) {
  std::lock_guard lock(mutex_);
  failures_.insert_or_assign(call, std::move(error));
}

void FakeContainerEngine::hang(EngineCall call) {
  std::lock_guard lock(mutex_);
  hung_.insert(call);
}

void FakeContainerEngine::release(EngineCall call) {
  {
    std::lock_guard lock(mutex_);
    hung_.erase(call);
  }
  released_.notify_all();
}

void FakeContainerEngine::release_all() {
  {
    std::lock_guard lock(mutex_);
    hung_.clear();
    pulls_held_ = false;
  }
  released_.notify_all();
}

int FakeContainerEngine::waiting(EngineCall call) const {
  std::lock_guard lock(mutex_);
  auto found = waiting_.find(call);
  return found == waiting_.end() ? 0 : found->second;
}

void FakeContainerEngine::forget(const std::string& session_id) {
  std::lock_guard lock(mutex_);
  std::erase_if(containers_, [&](const auto& entry) {
    return entry.second.spec.name == agent::container_name(session_id);
  });
}

void FakeContainerEngine::restart() {
  std::lock_guard lock(mutex_);
  for (auto& [id, container] : containers_) {
    if (container.state != "running") continue;
    container.state = "exited";
    container.finished_at = time_;
    container.exit_code = 143;  // stopped with SIGTERM
  }
}

void FakeContainerEngine::exit(const std::string& session_id, int exit_code) {
  std::lock_guard lock(mutex_);
  for (auto& [id, container] : containers_) {
    if (container.spec.name != agent::container_name(session_id)) continue;
    container.state = "exited";
    container.finished_at = time_;
    container.exit_code = exit_code;
  }
}

void FakeContainerEngine::set_time(UnixMillis time) {
  std::lock_guard lock(mutex_);
  time_ = time;
}

void FakeContainerEngine::add_leftover(const ContainerSpec& spec, const std::string& state) {
  std::lock_guard lock(mutex_);
  std::string id = "c" + std::to_string(next_id_++);
  containers_[id] = {id, spec, state, {}, state == "created" ? 0 : time_, 0, 0};
}

int FakeContainerEngine::calls(EngineCall call) const {
  std::lock_guard lock(mutex_);
  auto found = calls_.find(call);
  return found == calls_.end() ? 0 : found->second;
}

std::optional<std::string> FakeContainerEngine::state_of(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, container] : containers_) {
    if (container.spec.name == agent::container_name(session_id)) return container.state;
  }
  return std::nullopt;
}

std::optional<ContainerSpec> FakeContainerEngine::spec_of(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, container] : containers_) {
    if (container.spec.name == agent::container_name(session_id)) return container.spec;
  }
  return std::nullopt;
}

std::optional<std::string> FakeContainerEngine::file_of(const std::string& session_id,
                                                        const std::string& path) const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, container] : containers_) {
    if (container.spec.name != agent::container_name(session_id)) continue;
    auto file = container.files.find(path);
    if (file != container.files.end()) return file->second;
  }
  return std::nullopt;
}

Status FakeContainerEngine::write_file(const std::string& id_or_name, const std::string& directory,
                                       const std::string& name, const std::string& content,
                                       unsigned /*mode*/) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::write_file, lock));
  Container* container = find(id_or_name);
  if (container == nullptr) return make_error(ErrorCode::not_found, "no such container");
  container->files[directory + "/" + name] = content;
  return {};
}

std::set<std::string> FakeContainerEngine::volumes() const {
  std::lock_guard lock(mutex_);
  return volumes_;
}

Status FakeContainerEngine::enter(EngineCall call, std::unique_lock<std::mutex>& lock) {
  ++calls_[call];
  if (hung_.contains(call)) {
    ++waiting_[call];
    released_.wait(lock, [&] { return !hung_.contains(call); });
    --waiting_[call];
    return make_error(ErrorCode::unavailable, "engine call timed out");
  }
  auto failure = failures_.find(call);
  if (failure != failures_.end()) {
    Error error = failure->second;
    failures_.erase(failure);
    return error;
  }
  return {};
}

void FakeContainerEngine::lack_image(const std::string& reference) {
  std::lock_guard lock(mutex_);
  lacking_.insert(reference);
}

void FakeContainerEngine::hold_pulls(bool held) {
  {
    std::lock_guard lock(mutex_);
    pulls_held_ = held;
  }
  released_.notify_all();
}

std::optional<RegistryCredentials> FakeContainerEngine::pulled_with(
    const std::string& reference) const {
  std::lock_guard lock(mutex_);
  auto found = pulled_with_.find(reference);
  if (found == pulled_with_.end()) return std::nullopt;
  return found->second;
}

Result<bool> FakeContainerEngine::image_present(const std::string& reference) {
  std::lock_guard lock(mutex_);
  return !lacking_.contains(reference);
}

Status FakeContainerEngine::pull_image(const std::string& reference,
                                       const RegistryCredentials& credentials,
                                       const PullWatcher& watcher) {
  std::unique_lock lock(mutex_);
  pulled_with_[reference] = credentials;
  GPUPOOL_TRY(enter(EngineCall::pull, lock));
  ++waiting_[EngineCall::pull];
  // Says how far it got now and then, as the engine's stream does, until released.
  for (bool first = true; first || pulls_held_; first = false) {
    lock.unlock();
    bool go_on = watcher("1.0 of 2.0 GB, 1 of 2 layers");
    lock.lock();
    if (!go_on) {
      --waiting_[EngineCall::pull];
      return make_error(ErrorCode::unavailable, "pull cancelled");
    }
    released_.wait_for(lock, std::chrono::milliseconds(5), [&] { return !pulls_held_; });
  }
  --waiting_[EngineCall::pull];
  lacking_.erase(reference);
  return {};
}

FakeContainerEngine::Container* FakeContainerEngine::find(const std::string& id_or_name) {
  for (auto& [id, container] : containers_) {
    if (id == id_or_name || container.spec.name == id_or_name) return &container;
  }
  return nullptr;
}

Status FakeContainerEngine::ensure_volume(const std::string& name,
                                          const std::map<std::string, std::string>&) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::ensure_volume, lock));
  volumes_.insert(name);
  return {};
}

Result<std::string> FakeContainerEngine::create_container(const ContainerSpec& spec) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::create, lock));
  if (find(spec.name) != nullptr)
    return make_error(ErrorCode::conflict, "the container name is already in use");
  if (spec.network != "bridge" && !networks_.contains(spec.network))
    return make_error(ErrorCode::not_found, "network " + spec.network + " not found");
  std::string id = "c" + std::to_string(next_id_++);
  containers_[id] = {id, spec, "created", {}, 0, 0, 0};
  return id;
}

Status FakeContainerEngine::start_container(const std::string& id) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::start, lock));
  Container* container = find(id);
  if (container == nullptr) return make_error(ErrorCode::not_found, "no such container");
  container->state = "running";
  container->started_at = time_;
  return {};
}

Result<ContainerStatus> FakeContainerEngine::inspect_container(const std::string& id_or_name) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::inspect, lock));
  Container* container = find(id_or_name);
  if (container == nullptr) return make_error(ErrorCode::not_found, "no such container");
  return ContainerStatus{container->state, container->started_at, container->finished_at,
                         container->exit_code, false};
}

Result<std::string> FakeContainerEngine::container_log(const std::string& id_or_name, int lines) {
  std::unique_lock lock(mutex_);
  if (find(id_or_name) == nullptr) return make_error(ErrorCode::not_found, "no such container");
  // Back from the end over `lines` line breaks (the last one ends the last line).
  std::size_t start = log_text.size();
  for (int breaks = 0; start > 0; --start) {
    if (log_text[start - 1] == '\n' && start != log_text.size() && ++breaks == lines) break;
  }
  return log_text.substr(start);
}

Result<std::string> FakeContainerEngine::read_file(const std::string& id_or_name,
                                                   const std::string& path) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::read_file, lock));
  Container* container = find(id_or_name);
  if (container == nullptr) return make_error(ErrorCode::not_found, "no such container");
  if (container->state != "running") return make_error(ErrorCode::not_found, "no such file");
  if (path == agent::kHostPublicKeyPath) return std::string(kHostKey) + " user@container\n";
  if (path == agent::kJupyterConfigPath) {  // as the init writes it, from the environment
    for (const auto& variable : container->spec.env) {
      if (variable.starts_with("GPUPOOL_TOKEN="))
        return R"({"NotebookApp": {"token": ")" + variable.substr(14) + "\"}}\n";
    }
  }
  return make_error(ErrorCode::not_found, "no such file");
}

Status FakeContainerEngine::remove_container(const std::string& id) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::remove, lock));
  std::erase_if(containers_, [&](const auto& entry) {
    return entry.first == id || entry.second.spec.name == id;
  });
  return {};
}

Result<std::int64_t> FakeContainerEngine::cpu_time_nanos(const std::string& id) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::cpu_time, lock));
  Container* container = find(id);
  if (container == nullptr) return make_error(ErrorCode::not_found, "no such container " + id);
  return container->cpu_nanos;
}

void FakeContainerEngine::set_cpu_time(const std::string& session_id, std::int64_t nanos) {
  std::lock_guard lock(mutex_);
  for (auto& [id, container] : containers_) {
    if (container.spec.name == agent::container_name(session_id)) container.cpu_nanos = nanos;
  }
}

Result<std::vector<ContainerInfo>> FakeContainerEngine::list_containers(
    const std::string& label_filter) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::list, lock));
  auto equals = label_filter.find('=');
  std::string key = label_filter.substr(0, equals);
  std::vector<ContainerInfo> listed;
  for (const auto& [id, container] : containers_) {
    auto label = container.spec.labels.find(key);
    if (label == container.spec.labels.end()) continue;
    if (equals != std::string::npos && label->second != label_filter.substr(equals + 1)) continue;
    listed.push_back(
        {id, container.spec.name, container.spec.image, container.spec.labels, container.state});
  }
  return listed;
}

std::map<std::string, NetworkSpec> FakeContainerEngine::networks() const {
  std::lock_guard lock(mutex_);
  return networks_;
}

void FakeContainerEngine::add_foreign_network(const NetworkSpec& spec) {
  std::lock_guard lock(mutex_);
  networks_[spec.name] = spec;
}

Status FakeContainerEngine::create_network(const NetworkSpec& spec) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::create_network, lock));
  if (networks_.contains(spec.name))
    return make_error(ErrorCode::conflict, "network " + spec.name + " already exists");
  auto wanted = parse_ipv4_block(spec.subnet);
  if (!wanted) return make_error(ErrorCode::invalid_argument, "bad subnet " + spec.subnet);
  for (const auto& [name, network] : networks_) {
    auto taken = parse_ipv4_block(network.subnet);
    if (taken && taken->overlaps(*wanted))
      return make_error(ErrorCode::conflict, "Pool overlaps with other one on this address space");
  }
  networks_[spec.name] = spec;
  return {};
}

Status FakeContainerEngine::remove_network(const std::string& name) {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::remove_network, lock));
  for (const auto& [id, container] : containers_) {
    if (container.spec.network == name)
      return make_error(ErrorCode::unavailable, "network " + name + " has active endpoints");
  }
  networks_.erase(name);
  return {};
}

Result<std::vector<NetworkInfo>> FakeContainerEngine::list_networks() {
  std::unique_lock lock(mutex_);
  GPUPOOL_TRY(enter(EngineCall::list_networks, lock));
  std::vector<NetworkInfo> listed;
  for (const auto& [name, network] : networks_)
    listed.push_back({name, {network.subnet}, network.labels});
  return listed;
}

}  // namespace gpupool::testing
