// Hands e-mails to an SMTP server (libcurl's SMTP client): notifications to users' confirmed
// addresses (services/email_sender.hpp). TLS is required unless `plaintext` says the server is
// a relay on this machine: STARTTLS for smtp://, TLS from the start for smtps://.
#pragma once

#include <chrono>
#include <string>

#include "core/result.hpp"

namespace gpupool::net {

struct SmtpSettings {
  std::string url;  // smtp://HOST[:PORT] (STARTTLS, port 587 usual) or smtps://HOST[:PORT]
  std::string from;
  std::string username;  // empty: no AUTH
  std::string password;
  std::string ca_file;     // trust for the server's certificate; empty: the system's store
  bool plaintext = false;  // smtp:// without STARTTLS
  std::chrono::seconds timeout{30};
};

// invalid_argument unless the URL is smtp:// or smtps:// with a host, and `from` is set.
Status check_smtp_settings(const SmtpSettings& settings);

// Sends `text` (headers and body, CRLF lines) to `to`; the error says what the server or the
// connection answered.
Status send_mail(const SmtpSettings& settings, const std::string& to, const std::string& text);

}  // namespace gpupool::net
