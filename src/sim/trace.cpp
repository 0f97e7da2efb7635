#include "sim/trace.hpp"

#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

namespace gpupool::sim {

namespace {

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(field);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

// Rows as maps from header name to text.
Result<std::vector<std::map<std::string, std::string>>> read_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorCode::not_found, fmt::format("cannot read {}", path));
  std::string line;
  std::getline(in, line);
  auto header = split_csv_line(line);
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto fields = split_csv_line(line);
    std::map<std::string, std::string> row;
    for (std::size_t i = 0; i < header.size() && i < fields.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::int64_t number(const std::map<std::string, std::string>& row, const std::string& key,
                    std::int64_t fallback) {
  auto it = row.find(key);
  if (it == row.end() || it->second.empty()) return fallback;
  return std::stoll(it->second);
}

}  // namespace

Result<std::vector<TracePod>> read_trace_pods(const std::string& path) {
  auto rows = read_csv(path);
  if (!rows) return rows.error();
  std::vector<TracePod> pods;
  for (const auto& row : *rows) {
    pods.push_back({static_cast<int>(number(row, "gpus", 0)),
                    static_cast<int>(number(row, "gpu_milli", 0)),
                    static_cast<int>(number(row, "cpu_milli", 0)), number(row, "submit_time_s", 0),
                    number(row, "duration_s", -1)});
  }
  return pods;
}

Result<std::vector<TraceNode>> read_trace_nodes(const std::string& path) {
  auto rows = read_csv(path);
  if (!rows) return rows.error();
  std::vector<TraceNode> nodes;
  for (const auto& row : *rows) {
    nodes.push_back({row.at("sn"), static_cast<int>(number(row, "cpu_milli", 0)),
                     static_cast<int>(number(row, "gpu", 0)), row.at("model")});
  }
  return nodes;
}

}  // namespace gpupool::sim
