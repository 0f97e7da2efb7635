#include "gateway/app_preamble.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

#include <fmt/format.h>

namespace gpupool::gateway {

namespace {

bool all_of(std::string_view text, int (*allowed)(int)) {
  return std::all_of(text.begin(), text.end(),
                     [allowed](char c) { return allowed(static_cast<unsigned char>(c)) != 0; });
}

int id_character(int c) {
  return (std::islower(c) != 0 || std::isdigit(c) != 0) ? 1 : 0;
}
int token_character(int c) {
  return (std::isalnum(c) != 0 || c == '-' || c == '_') ? 1 : 0;
}

}  // namespace

std::string app_preamble(const AppPreamble& preamble) {
  return fmt::format("APP {} {} {}\n", preamble.session_id, preamble.port, preamble.token);
}

Result<AppPreamble> parse_app_preamble(std::string_view line) {
  auto refused = make_error(ErrorCode::invalid_argument, "expected APP <session> <port> <token>");
  // Exactly four words, one space apart: nothing before, between or after them but that.
  std::vector<std::string_view> words;
  for (std::size_t start = 0;;) {
    auto space = line.find(' ', start);
    words.push_back(line.substr(start, space == std::string_view::npos ? space : space - start));
    if (space == std::string_view::npos) break;
    if (words.size() == 4) return refused;
    start = space + 1;
  }
  if (words.size() != 4 || words[0] != "APP") return refused;
  AppPreamble preamble;
  if (words[1].empty() || words[1].size() > 32 || !all_of(words[1], id_character)) return refused;
  preamble.session_id = std::string(words[1]);
  auto port = words[2];
  auto parsed = std::from_chars(port.data(), port.data() + port.size(), preamble.port);
  if (port.empty() || port[0] == '0' || parsed.ec != std::errc{} ||
      parsed.ptr != port.data() + port.size() || preamble.port < 1 || preamble.port > 65535)
    return refused;
  if (words[3].empty() || words[3].size() > 128 || !all_of(words[3], token_character))
    return refused;
  preamble.token = std::string(words[3]);
  return preamble;
}

}  // namespace gpupool::gateway
