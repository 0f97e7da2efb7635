#include "services/mail_text.hpp"

#include <algorithm>
#include <array>
#include <ctime>

#include <fmt/format.h>

#include "core/base64.hpp"

namespace gpupool::services {

namespace {

constexpr std::size_t kMaxAddress = 254;  // RFC 5321's path limit, less the brackets
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxSubject = 150;
constexpr std::size_t kMaxLine = 998;  // RFC 5322 §2.1.1, without CRLF
constexpr std::size_t kBase64Line = 76;
constexpr std::size_t kEncodedWordBytes = 45;  // UTF-8 bytes per encoded word: 60 in base64

bool is_atext(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         kSpecials.find(c) != std::string_view::npos;
}

bool valid_local_part(std::string_view local) {
  if (local.empty() || local.size() > kMaxLocalPart) return false;
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos)
    return false;
  return std::all_of(local.begin(), local.end(), [](char c) { return c == '.' || is_atext(c); });
}

bool valid_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabel || label.front() == '-' || label.back() == '-')
    return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool valid_domain(std::string_view domain) {
  if (domain.find('.') == std::string_view::npos) return false;  // no bare host names
  while (true) {
    auto dot = domain.find('.');
    if (!valid_label(domain.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    domain.remove_prefix(dot + 1);
  }
}

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// One line of printable text: control characters (CR and LF above all) become spaces.
std::string one_line(std::string_view text, std::size_t at_most) {
  std::string line;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    line += byte < 0x20 || byte == 0x7f ? ' ' : c;
  }
  if (line.size() <= at_most) return line;
  line.resize(at_most);
  // Not in the middle of a UTF-8 sequence.
  while (!line.empty() && (static_cast<unsigned char>(line.back()) & 0xc0) == 0x80) line.pop_back();
  if (!line.empty() && static_cast<unsigned char>(line.back()) >= 0xc0) line.pop_back();
  return line + "...";
}

// RFC 2047 encoded words, folded, each ending on a whole UTF-8 character.
std::string encoded_header_text(std::string_view text) {
  std::string folded;
  while (!text.empty()) {
    std::size_t take = std::min(text.size(), kEncodedWordBytes);
    while (take < text.size() && take > 0 &&
           (static_cast<unsigned char>(text[take]) & 0xc0) == 0x80)
      --take;
    if (!folded.empty()) folded += "\r\n ";
    folded += "=?utf-8?B?" + base64_encode(text.substr(0, take)) + "?=";
    text.remove_prefix(take);
  }
  return folded;
}

std::string rfc5322_date(UnixMillis now) {
  static constexpr std::array<const char*, 7> kDays{"Sun", "Mon", "Tue", "Wed",
                                                    "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t seconds = now / 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays.at(utc.tm_wday), utc.tm_mday,
                     kMonths.at(utc.tm_mon), utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                     utc.tm_sec);
}

// The body with CRLF line ends; in base64 when it is not short lines of ASCII.
std::pair<std::string, std::string> encoded_body(std::string_view body) {
  std::string lines;
  bool fits = is_ascii(body);
  std::size_t line_length = 0;
  for (char c : body) {
    if (c == '\r') continue;
    if (c == '\n') {
      lines += "\r\n";
      line_length = 0;
      continue;
    }
    lines += c;
    if (++line_length > kMaxLine) fits = false;
  }
  if (lines.size() < 2 || lines.substr(lines.size() - 2) != "\r\n") lines += "\r\n";
  // A line of a lone "." ends DATA; the SMTP client stuffs dots, but text is not left to it.
  if (fits && lines.find("\r\n.") == std::string::npos && lines.front() != '.')
    return {"7bit", lines};
  std::string encoded = base64_encode(lines);
  std::string wrapped;
  for (std::size_t at = 0; at < encoded.size(); at += kBase64Line)
    wrapped += encoded.substr(at, kBase64Line) + "\r\n";
  return {"base64", wrapped};
}

}  // namespace

Status check_email_address(std::string_view address) {
  auto at = address.rfind('@');
  if (address.size() > kMaxAddress || at == std::string_view::npos ||
      !valid_local_part(address.substr(0, at)) || !valid_domain(address.substr(at + 1)))
    return Error{ErrorCode::invalid_argument,
                 "not an e-mail address gpupool sends to (name@example.org, ASCII, at most 254 "
                 "characters)"};
  return {};
}

std::string mail_text(const MailMessage& message, UnixMillis now, const std::string& message_id) {
  std::string subject = one_line(message.subject, kMaxSubject);
  auto [encoding, body] = encoded_body(message.body);
  std::string domain = message.from.substr(message.from.rfind('@') + 1);
  return fmt::format(
      "From: gpupool <{}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {}\r\nMessage-ID: <{}@{}>\r\n"
      "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {}\r\n\r\n{}",
      message.from, message.to, is_ascii(subject) ? subject : encoded_header_text(subject),
      rfc5322_date(now), one_line(message_id, 64), domain, encoding, body);
}

MailMessage notification_mail(const Notification& notification, const std::string& username,
                              const std::string& portal_url) {
  MailMessage mail;
  mail.subject = "[gpupool] " + notification.message;
  mail.body = fmt::format("Hello {},\n\n{}\n\n", username, notification.message);
  if (!notification.session_id.empty())
    mail.body += fmt::format("Session: {}\n", notification.session_id);
  mail.body += fmt::format("When:    {}\n", format_rfc3339(notification.at));
  if (!portal_url.empty()) mail.body += fmt::format("\nThe portal: {}\n", portal_url);
  mail.body +=
      "\n-- \nYou get this because you asked gpupool for notifications by e-mail; change that on "
      "your account page.\n";
  return mail;
}

MailMessage confirmation_mail(const std::string& code, const std::string& username,
                              const std::string& portal_url) {
  MailMessage mail;
  mail.subject = "[gpupool] Your confirmation code";
  mail.body = fmt::format(
      "Hello {},\n\nThis address was given for gpupool's notifications. To confirm it, enter this "
      "code on your account page (or `gpupool notify confirm CODE`) within 24 hours:\n\n"
      "    {}\n\nIf you did not ask for it, ignore this mail: nothing is sent here unless the "
      "code is entered.\n",
      username, code);
  if (!portal_url.empty()) mail.body += fmt::format("\nThe portal: {}\n", portal_url);
  return mail;
}

}  // namespace gpupool::services
