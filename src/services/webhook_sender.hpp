// WebhookSender: posts users' notifications to their webhooks (model/notification.hpp), from
// the store's queue of postings, retrying with back-off until one is answered 2xx or it gives
// up. Each posting is a JSON document signed with the user's secret:
//   X-Gpupool-Timestamp: <unix seconds>
//   X-Gpupool-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// so a receiver checks it came from this server and is recent. The network is behind `post`
// (the app's checks where a webhook may point are there). deliver_due() runs on the sender's
// thread; it is public so tests can drive it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/periodic_task.hpp"
#include "core/result.hpp"
#include "services/delivery_retry.hpp"
#include "store/store.hpp"

namespace gpupool::services {

using Headers = std::vector<std::pair<std::string, std::string>>;
// POSTs `body` to `url`: the answer's HTTP status, or why none came.
using WebhookPost = std::function<Result<int>(const std::string& url, const Headers& headers,
                                              const std::string& body)>;

std::string webhook_signature(const std::string& secret, const std::string& timestamp,
                              const std::string& body);
// The document posted for a notification.
std::string webhook_body(const Notification& notification, const std::string& username);

class WebhookSender {
 public:
  // `store` and `clock` must outlive the sender.
  WebhookSender(Store& store, const Clock& clock, WebhookPost post)
      : store_(store), clock_(clock), post_(std::move(post)) {}
  ~WebhookSender() { stop(); }

  void start(std::chrono::milliseconds every);
  void stop();
  // Posts what is due now, one at a time (skipping, for this pass, receivers that failed in
  // it); how many were attempted.
  Result<int> deliver_due();

 private:
  Store& store_;
  const Clock& clock_;
  const WebhookPost post_;
  std::unique_ptr<PeriodicTask> task_;  // set by start()
};

}  // namespace gpupool::services
