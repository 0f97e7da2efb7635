#include "net/smtp_client.hpp"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include <fmt/format.h>
#include <boost/url/parse.hpp>

namespace gpupool::net {

namespace {

struct Upload {
  const std::string& text;
  std::size_t sent = 0;
};

std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* data) {
  auto* upload = static_cast<Upload*>(data);
  std::size_t take = std::min(size * count, upload->text.size() - upload->sent);
  upload->text.copy(buffer, take, upload->sent);
  upload->sent += take;
  return take;
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Error smtp_error(const std::string& why) {
  return Error{ErrorCode::unavailable, "the SMTP server: " + why};
}

}  // namespace

Status check_smtp_settings(const SmtpSettings& settings) {
  auto url = boost::urls::parse_absolute_uri(settings.url);
  if (!url || (url->scheme() != "smtp" && url->scheme() != "smtps") || url->host().empty())
    return Error{ErrorCode::invalid_argument,
                 "--smtp-url must be smtp://HOST[:PORT] (STARTTLS) or smtps://HOST[:PORT]"};
  if (url->has_userinfo())
    return Error{ErrorCode::invalid_argument,
                 "--smtp-url must not hold credentials: use --smtp-user and --smtp-password-file"};
  if (settings.from.empty())
    return Error{ErrorCode::invalid_argument, "--smtp-from (the sender's address) is required"};
  return {};
}

Status send_mail(const SmtpSettings& settings, const std::string& to, const std::string& text) {
  init_curl_once();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return smtp_error("no client could be made");
  std::string from = "<" + settings.from + ">";
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> recipients(
      curl_slist_append(nullptr, ("<" + to + ">").c_str()), curl_slist_free_all);
  Upload upload{text};
  char error[CURL_ERROR_SIZE] = "";
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, settings.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // on the sender's thread
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, static_cast<long>(settings.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_TIMEOUT, static_cast<long>(settings.timeout.count()));
  curl_easy_setopt(handle, CURLOPT_USE_SSL,
                   static_cast<long>(settings.plaintext ? CURLUSESSL_NONE : CURLUSESSL_ALL));
  if (!settings.ca_file.empty()) curl_easy_setopt(handle, CURLOPT_CAINFO, settings.ca_file.c_str());
  if (!settings.username.empty()) {
    curl_easy_setopt(handle, CURLOPT_USERNAME, settings.username.c_str());
    curl_easy_setopt(handle, CURLOPT_PASSWORD, settings.password.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(handle, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(handle, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(handle, CURLOPT_READFUNCTION, read_upload);
  curl_easy_setopt(handle, CURLOPT_READDATA, &upload);
  CURLcode result = curl_easy_perform(handle);
  if (result != CURLE_OK) return smtp_error(error[0] != '\0' ? error : curl_easy_strerror(result));
  return {};
}

}  // namespace gpupool::net
