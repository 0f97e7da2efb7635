#include "app/email_setup.hpp"

#include <fstream>
#include <sstream>

#include "net/smtp_client.hpp"
#include "services/mail_text.hpp"

namespace gpupool::app {

namespace {

Result<std::string> read_password(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Error{ErrorCode::invalid_argument, "--smtp-password-file: cannot read " + path};
  std::stringstream text;
  text << file.rdbuf();
  std::string password = text.str();
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
    password.pop_back();
  return password;
}

}  // namespace

Result<std::unique_ptr<services::EmailSender>> make_email_sender(const UpOptions& options,
                                                                 Store& store, const Clock& clock,
                                                                 const std::string& portal_url) {
  if (options.smtp_url.empty()) return std::unique_ptr<services::EmailSender>{};
  net::SmtpSettings smtp{options.smtp_url,     options.smtp_from,     options.smtp_user, "",
                         options.smtp_ca_file, options.smtp_plaintext};
  GPUPOOL_TRY(net::check_smtp_settings(smtp));
  if (auto valid = services::check_email_address(smtp.from); !valid)
    return Error{ErrorCode::invalid_argument, "--smtp-from: " + valid.error().message};
  if (!options.smtp_user.empty()) {
    if (options.smtp_password_file.empty())
      return Error{ErrorCode::invalid_argument, "--smtp-user needs --smtp-password-file"};
    auto password = read_password(options.smtp_password_file);
    if (!password) return password.error();
    smtp.password = std::move(*password);
  }
  return std::make_unique<services::EmailSender>(
      store, clock, services::MailSettings{smtp.from, portal_url},
      [smtp](const std::string& to, const std::string& text) {
        return net::send_mail(smtp, to, text);
      });
}

}  // namespace gpupool::app
