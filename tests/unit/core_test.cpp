#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/json_input.hpp"
#include "core/periodic_task.hpp"
#include "net/http_client.hpp"

namespace gpupool {
namespace {

TEST(JsonInput, ParsesAnObject) {
  auto parsed = parse_json_object(R"({"gpus": 2})");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)["gpus"], 2);
}

TEST(JsonInput, RejectsInvalidSyntaxNonObjectsAndBadUtf8) {
  EXPECT_EQ(parse_json_object("{\"gpus\": ").error().code, ErrorCode::invalid_argument);
  EXPECT_FALSE(parse_json_object("[1, 2]").ok());
  EXPECT_FALSE(parse_json_object("\"text\"").ok());
  EXPECT_FALSE(parse_json_object("{\"a\": \"\xff\xfe\"}").ok());
  EXPECT_FALSE(parse_json_object("").ok());
}

TEST(JsonInput, Utf8TailMakesAnyBytesTextAndCutsBetweenCharacters) {
  EXPECT_EQ(utf8_tail("plain\n", 100), "plain\n");
  EXPECT_EQ(utf8_tail("a\xff"
                      "b",
                      100),
            "a\uFFFD"
            "b");
  EXPECT_EQ(utf8_tail("0123456789", 4), "6789");
  // "é" is two bytes: a limit that would cut it keeps only what follows it.
  EXPECT_EQ(utf8_tail("x\u00e9yz", 4), "\u00e9yz");
  EXPECT_EQ(utf8_tail("x\u00e9yz", 3), "yz");
  EXPECT_TRUE(Json::accept(Json(utf8_tail(std::string("\xc3\x28\xa0\xa1", 4), 8)).dump()));
}

TEST(JsonInput, RejectsDeepNestingWithoutRecursingIntoIt) {
  std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  auto parsed = parse_json_object(deep);
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("nested"), std::string::npos);
}

TEST(JsonInput, NamesTheFieldWithTheWrongType) {
  auto body = *parse_json_object(R"({"gpus": "two", "cpus": true})");
  auto gpus = optional_integer(body, "gpus", 1, 8);
  ASSERT_FALSE(gpus.ok());
  EXPECT_EQ(gpus.error().message, "\"gpus\" must be a whole number");
  EXPECT_FALSE(optional_number(body, "cpus", 0, 8).ok());
}

TEST(JsonInput, EnforcesIntegerRangesIncludingHugeUnsignedValues) {
  auto body =
      *parse_json_object(R"({"a": 0, "b": 1000000000, "c": 18446744073709551615, "d": 1.5})");
  EXPECT_FALSE(optional_integer(body, "a", 1, 64).ok());
  EXPECT_FALSE(optional_integer(body, "b", 1, 64).ok());
  EXPECT_FALSE(optional_integer(body, "c", 1, 64).ok());
  EXPECT_FALSE(optional_integer(body, "d", 1, 64).ok());
  EXPECT_FALSE(optional_integer(body, "missing", 1, 64)->has_value());
}

TEST(JsonInput, AStringMemberOfAnotherTypeIsTheFallbackNotAThrow) {
  auto body = *parse_json_object(R"({"name": "ada", "id": 7, "none": null, "list": ["x"]})");
  EXPECT_EQ(string_member(body, "name"), "ada");
  EXPECT_EQ(string_member(body, "id"), "");
  EXPECT_EQ(string_member(body, "none", "unset"), "unset");
  EXPECT_EQ(string_member(body, "list", "unset"), "unset");
  EXPECT_EQ(string_member(body, "absent", "unset"), "unset");
  EXPECT_EQ(string_member(Json::array({1, 2}), "name", "unset"), "unset");
  EXPECT_EQ(string_member(Json("text"), "name"), "");
}

TEST(JsonInput, RejectsUnknownFields) {
  auto body = *parse_json_object(R"({"gpu": 1})");
  auto status = reject_unknown_fields(body, {"gpus"});
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message, "unknown field \"gpu\"");
}

TEST(JsonInput, LimitsStringLengthAndArrayItems) {
  auto body = *parse_json_object(R"({"s": "abcdef", "list": ["a", "b", "c"], "mixed": ["a", 1]})");
  EXPECT_FALSE(optional_string(body, "s", 5).ok());
  EXPECT_TRUE(optional_string(body, "s", 6).ok());
  EXPECT_FALSE(required_string_array(body, "list", 2, 10).ok());
  EXPECT_FALSE(required_string_array(body, "mixed", 10, 10).ok());
  EXPECT_EQ(required_string_array(body, "list", 3, 10)->size(), 3u);
}

TEST(HttpEndpoint, ParsesUnixAndTcpAddresses) {
  auto unix_endpoint = net::parse_http_endpoint("unix:///var/run/docker.sock");
  ASSERT_TRUE(unix_endpoint.ok());
  EXPECT_TRUE(unix_endpoint->is_unix);
  EXPECT_EQ(unix_endpoint->socket_path, "/var/run/docker.sock");
  auto tcp = net::parse_http_endpoint("http://gpu-head:8080/");
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->host, "gpu-head");
  EXPECT_EQ(tcp->port, 8080);
  EXPECT_FALSE(net::parse_http_endpoint("http://host:99999").ok());
  EXPECT_FALSE(net::parse_http_endpoint("http://host:80x").ok());
  EXPECT_FALSE(net::parse_http_endpoint("unix://").ok());
}

TEST(UrlEncode, LeavesUnreservedCharactersAndEncodesTheRest) {
  EXPECT_EQ(net::url_encode("A100-80GB_x.y~"), "A100-80GB_x.y~");
  EXPECT_EQ(net::url_encode("PATCH /api/v1/users?a=b&c"),
            "PATCH%20%2Fapi%2Fv1%2Fusers%3Fa%3Db%26c");
  EXPECT_EQ(net::url_encode("\xE4\xB8\xAD"), "%E4%B8%AD");  // UTF-8 bytes, each on its own
  EXPECT_EQ(net::url_encode(""), "");
}

TEST(Clock, FormatsRfc3339InUtcWithMilliseconds) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1'795'000'000'123), "2026-11-18T11:06:40.123Z");
}

}  // namespace
}  // namespace gpupool

#include "api/api.hpp"
#include "core/random.hpp"
#include "gateway/replies.hpp"
#include "model/session.hpp"

namespace gpupool {
namespace {

TEST(Random, TokensAndIdsHaveTheirShapesAndDiffer) {
  init_crypto();
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_EQ(random_token(32).size(), 43u);
  EXPECT_NE(random_token(32), random_token(32));
  auto id = new_session_id();
  ASSERT_EQ(id.size(), 13u);
  EXPECT_EQ(id.front(), 's');
  EXPECT_EQ(id.find_first_not_of("abcdefghijklmnopqrstuvwxyz234567"), std::string::npos);
  EXPECT_EQ(digest_hex("abc"), digest_hex("abc"));
  EXPECT_NE(digest_hex("abc"), digest_hex("abd"));
}

TEST(SessionStates, RoundTripThroughTheirNames) {
  for (auto state : {SessionState::queued, SessionState::scheduled, SessionState::starting,
                     SessionState::running, SessionState::stopping, SessionState::ended}) {
    EXPECT_EQ(parse_session_state(to_string(state)), state);
  }
  EXPECT_EQ(parse_end_reason("time_limit"), EndReason::time_limit);
  EXPECT_FALSE(parse_session_state("zombie").has_value());
  EXPECT_TRUE(holds_resources(SessionState::stopping));
  EXPECT_FALSE(holds_resources(SessionState::queued));
}

TEST(Cookies, FindsTheNamedCookieOnly) {
  EXPECT_EQ(gateway::cookie_value("a=1; gpupool_session=xyz; b=2", "gpupool_session"), "xyz");
  EXPECT_EQ(gateway::cookie_value("gpupool_session_other=1", "gpupool_session"), "");
  EXPECT_EQ(gateway::cookie_value("", "gpupool_session"), "");
  EXPECT_EQ(gateway::cookie_value("x_gpupool_session=1;gpupool_session=2", "gpupool_session"), "2");
  EXPECT_EQ(gateway::cookie_value("gpupool_session; a=1", "gpupool_session"), "");
}

TEST(ErrorPages, EscapeWhatTheyEcho) {
  EXPECT_EQ(gateway::html_escape(R"(<a href="x" title='y'>&</a>)"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  auto page = gateway::bad_gateway_page("connect: <script>alert(1)</script>");
  EXPECT_EQ(page.status, 502);
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_NE(page.body.find("&lt;script&gt;"), std::string::npos);
}

TEST(Cookies, DropsOnlyTheNamedCookies) {
  EXPECT_EQ(gateway::without_cookies("a=1; gpupool_session=xyz;b=2", {"gpupool_session"}),
            "a=1; b=2");
  EXPECT_EQ(gateway::without_cookies("gpupool_session=xyz", {"gpupool_session"}), "");
  EXPECT_EQ(gateway::without_cookies(" ; a=1;; _xsrf=2 ", {"b"}), "a=1; _xsrf=2 ");
  EXPECT_EQ(gateway::without_cookies("x=1; y=2", {"x", "y"}), "");
}

}  // namespace
}  // namespace gpupool

namespace gpupool {
namespace {

TEST(PeriodicTask, RunsAtOnceOrAfterAnIntervalAndStopsWithoutWaitingItOut) {
  std::atomic<int> runs{0};
  PeriodicTask now(std::chrono::hours(1), [&runs] { ++runs; });
  auto started = std::chrono::steady_clock::now();
  now.start();
  while (runs.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  now.stop();
  now.stop();  // twice is fine
  EXPECT_EQ(runs.load(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10))
      << "stop wakes the waiting thread";

  std::atomic<int> later_runs{0};
  PeriodicTask later(
      std::chrono::hours(1), [&later_runs] { ++later_runs; }, PeriodicTask::First::after_interval);
  later.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  later.stop();
  EXPECT_EQ(later_runs.load(), 0);
}

TEST(PeriodicTask, ARunThatThrowsIsLoggedAndTheTaskGoesOn) {
  std::atomic<int> runs{0};
  PeriodicTask task(std::chrono::milliseconds(1), [&runs] {
    if (++runs == 1) throw std::runtime_error("a bug in one round");
  });
  task.start();
  while (runs.load() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  task.stop();
  EXPECT_GE(runs.load(), 3);
}

}  // namespace
}  // namespace gpupool
