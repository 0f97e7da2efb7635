// Notifications by e-mail for `gpupool up` and `gpupool server`: the SMTP options checked and
// the sender (services/email_sender.hpp) made over the SMTP client (net/smtp_client.hpp).
#pragma once

#include <memory>
#include <string>

#include "app/up_command.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "services/email_sender.hpp"
#include "store/store.hpp"

namespace gpupool::app {

// nullptr when no --smtp-url is set (users then cannot give addresses); an error for options
// that do not make a working SMTP setup (a URL of another scheme, no sender, no password file).
Result<std::unique_ptr<services::EmailSender>> make_email_sender(const UpOptions& options,
                                                                 Store& store, const Clock& clock,
                                                                 const std::string& portal_url);

}  // namespace gpupool::app
