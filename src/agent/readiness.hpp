// ReadinessCheck: whether a session's Jupyter answers yet. The agent asks it while a session
// starts; HttpReadinessCheck asks Jupyter itself at its published port, tests script it.
// Implementations are called from the agent's worker threads, concurrently.
#pragma once

#include <string>

#include "model/sync.hpp"

namespace gpupool::agent {

class ReadinessCheck {
 public:
  virtual ~ReadinessCheck() = default;
  // True once the session's Jupyter answers its API; false while it does not (yet).
  virtual bool jupyter_answers(const DesiredSession& session) = 0;
};

// GET /s/<id>/api on `host`:<the session's Jupyter port>, with a 2 s timeout.
class HttpReadinessCheck final : public ReadinessCheck {
 public:
  explicit HttpReadinessCheck(std::string host) : host_(std::move(host)) {}
  bool jupyter_answers(const DesiredSession& session) override;

 private:
  const std::string host_;
};

}  // namespace gpupool::agent
