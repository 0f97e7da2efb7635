// The end of `gpupool login --browser` (docs/auth.md): once the identity provider has signed
// the browser in (api/oidc_handlers.cpp), gpupool asks the person at the browser whether the
// command line on this computer may sign in as them, and only then sends the browser to the
// CLI's loopback address with a one-time code. The code is bound to the CLI's own PKCE
// challenge; POST /api/v1/auth/cli-token trades it for an API token.
//
// Why ask: the sign-in link carries the CLI's port and challenge, so anyone can make one. On
// a machine several people share, someone could listen on a port, send a colleague the link,
// and — the colleague being signed in at the provider already, so no form is shown — receive
// a code for the colleague's account. The question names the account, and nothing reaches
// the loopback address until it is answered.
#include <nlohmann/json.hpp>

#include <fmt/format.h>
#include <boost/url/params_view.hpp>
#include <boost/url/parse_query.hpp>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "core/random.hpp"
#include "net/http_client.hpp"

namespace gpupool::api {

namespace {

constexpr UnixMillis kConfirmationLifetimeMillis = 5 * 60 * 1000;
constexpr UnixMillis kCliCodeLifetimeMillis = 2 * 60 * 1000;

// The page's words, in the portal's two languages.
struct ConfirmationTexts {
  const char* title;
  const char* question;  // {0}: the account's name, {1}: the CLI's port
  const char* warning;
  const char* confirm;
  const char* cancel;
};

constexpr ConfirmationTexts kEnglish = {
    "Sign in the command line?",
    "A gpupool command line on this computer (listening on port {1}) asks to sign in as "
    "<strong>{0}</strong>. It will get an API token that can do everything you can.",
    "Continue only if you have just run <code>gpupool login --browser</code> yourself. If "
    "someone sent you this link, choose Cancel.",
    "Sign in the command line",
    "Cancel",
};

constexpr ConfirmationTexts kChinese = {
    "让命令行登录吗？",
    "这台电脑上的 gpupool 命令行（监听端口 {1}）请求以 <strong>{0}</strong> 的身份登录。"
    "它将获得一个能执行您所有操作的 API 令牌。",
    "只有在您刚刚亲自运行了 <code>gpupool login --browser</code> 时才继续。"
    "如果这个链接是别人发给您的，请选择“取消”。",
    "让命令行登录",
    "取消",
};

// The same choice of language as the portal's (web/i18n.js): Chinese when any language the
// browser lists is, else English.
const ConfirmationTexts& texts_for(const std::string& accept_language) {
  std::string listed = "," + accept_language;  // "en-US,zh-CN;q=0.9" → ",en-us,zh-cn;q=0.9"
  std::erase(listed, ' ');
  for (auto& c : listed) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return listed.find(",zh") != std::string::npos ? kChinese : kEnglish;
}

// The page's own headers: no framing (the answer must be the person's, not a click lured
// through an invisible frame), no scripts, forms only to gpupool and on to the loopback.
HttpReply confirmation_page(const ConfirmationTexts& texts, const std::string& username, int port,
                            const std::string& confirmation) {
  std::string question = fmt::format(fmt::runtime(texts.question), html_escape(username), port);
  std::string body = fmt::format(
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title>"
      "<link rel=\"stylesheet\" href=\"/ui/style.css\"></head><body><main>"
      "<div class=\"card\" id=\"cli-confirmation\"><h1>{0}</h1><p>{1}</p><p>{2}</p>"
      "<form method=\"post\" action=\"/api/v1/auth/cli-confirm\">"
      "<input type=\"hidden\" name=\"confirmation\" value=\"{3}\">"
      "<button type=\"submit\" name=\"answer\" value=\"yes\">{4}</button> "
      "<button type=\"submit\" name=\"answer\" value=\"no\" class=\"secondary\">{5}</button>"
      "</form></div></main></body></html>",
      texts.title, question, texts.warning, confirmation, texts.confirm, texts.cancel);
  return HttpReply{
      200,
      "text/html; charset=utf-8",
      std::move(body),
      {{"Content-Security-Policy",
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self' http://127.0.0.1:*"},
       {"X-Frame-Options", "DENY"},
       {"Cache-Control", "no-store"},
       {"Referrer-Policy", "no-referrer"}},
      nullptr};
}

// The value of `name` in an application/x-www-form-urlencoded body ("" when absent).
std::string form_value(const std::string& body, std::string_view name) {
  if (!boost::urls::parse_query(body)) return "";
  boost::urls::encoding_opts form_encoding;
  form_encoding.space_as_plus = true;
  for (auto field : boost::urls::params_view(body, form_encoding)) {
    if (field.key == name) return field.value;
  }
  return "";
}

}  // namespace

HttpReply Api::cli_loopback(const nlohmann::json& cli, const std::string& fields) {
  return HttpReply{
      303,
      "text/plain",
      "",
      {{"Location", fmt::format("http://127.0.0.1:{}/?{}&state={}", cli.value("port", 0), fields,
                                net::url_encode(cli.value("state", "")))}},
      nullptr};
}

HttpReply Api::cli_confirmation_page(const HttpExchange& exchange, const User& user,
                                     const nlohmann::json& cli) {
  std::string confirmation = random_token(32);
  nlohmann::json pending = {{"user_id", user.id}, {"cli", cli}};
  UnixMillis now = clock_.now();
  auto kept = store_.put_sign_in_attempt(digest_hex("cli-confirm:" + confirmation), pending.dump(),
                                         now + kConfirmationLifetimeMillis, now);
  if (!kept) return error_reply(kept.error());
  return confirmation_page(texts_for(exchange.header("Accept-Language")), user.username,
                           cli.value("port", 0), confirmation);
}

HttpReply Api::cli_confirm(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  std::string confirmation = form_value(exchange.body, "confirmation");
  std::string answer = form_value(exchange.body, "answer");
  if (confirmation.empty() || confirmation.size() > 128 || (answer != "yes" && answer != "no"))
    return error_reply(ErrorCode::invalid_argument, "needs confirmation and answer=yes|no");
  auto taken = store_.take_sign_in_attempt(digest_hex("cli-confirm:" + confirmation), clock_.now());
  if (!taken) return error_reply(taken.error());
  if (!taken->has_value()) {
    return error_reply(ErrorCode::forbidden,
                       "this sign-in is unknown, expired or already answered; start it again "
                       "with gpupool login --browser");
  }
  auto pending = nlohmann::json::parse(**taken, nullptr, false);
  const nlohmann::json& cli = pending["cli"];
  auto user = store_.find_user(pending.value("user_id", std::int64_t{0}));
  if (!user) return error_reply(user.error());
  std::string username = user->has_value() ? (*user)->username : "";
  if (answer == "no" || !user->has_value() || (*user)->disabled) {
    std::string why = answer == "no" ? "the sign-in was cancelled in the browser"
                                     : "this account may not sign in";
    audit_login(exchange, username, error_reply(ErrorCode::forbidden, why));
    return cli_loopback(cli, "error=" + net::url_encode(why));
  }
  std::string code = random_token(32);
  nlohmann::json grant = {{"user_id", (*user)->id}, {"challenge", cli.value("challenge", "")}};
  UnixMillis now = clock_.now();
  auto kept = store_.put_sign_in_attempt(digest_hex("cli:" + code), grant.dump(),
                                         now + kCliCodeLifetimeMillis, now);
  if (!kept) return error_reply(kept.error());
  audit_login(exchange, username, json_reply(200, nlohmann::json::object()));
  return cli_loopback(cli, "code=" + code);
}

HttpReply Api::cli_token(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"code", "verifier", "name"});
  if (!known) return error_reply(known.error());
  auto code = required_string(*body, "code", 256);
  if (!code) return error_reply(code.error());
  auto verifier = required_string(*body, "verifier", 128);
  if (!verifier) return error_reply(verifier.error());
  auto name = optional_string(*body, "name", 64);
  if (!name) return error_reply(name.error());
  auto invalid =
      make_error(ErrorCode::unauthorized, "this sign-in code is unknown, expired or used");
  auto taken = store_.take_sign_in_attempt(digest_hex("cli:" + *code), clock_.now());
  if (!taken) return error_reply(taken.error());
  if (!taken->has_value()) return error_reply(invalid);
  auto grant = nlohmann::json::parse(**taken, nullptr, false);
  if (!secrets_equal(pkce_challenge(*verifier), grant.value("challenge", "")))
    return error_reply(invalid);
  auto user = store_.find_user(grant.value("user_id", std::int64_t{0}));
  if (!user) return error_reply(user.error());
  if (!user->has_value() || (*user)->disabled) return error_reply(invalid);
  Principal owner{**user, CredentialKind::api_token, "", ""};
  auto minted = auth_.mint_token(owner, name->value_or("cli"), std::nullopt);
  if (!minted) return error_reply(minted.error());
  return json_reply(201, {{"token", minted->token},
                          {"user", user_view(**user)},
                          {"expires_at", format_rfc3339(minted->expires_at)}});
}

}  // namespace gpupool::api
