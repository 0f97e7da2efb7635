#include "model/image.hpp"
#include "model/rollout.hpp"

#include <array>
#include <utility>

namespace gpupool {

namespace {

constexpr std::array<std::pair<ImageState, std::string_view>, 5> kStateNames{{
    {ImageState::testing, "testing"},
    {ImageState::canary, "canary"},
    {ImageState::stable, "stable"},
    {ImageState::deprecated, "deprecated"},
    {ImageState::retired, "retired"},
}};

constexpr std::array<std::pair<CheckState, std::string_view>, 4> kCheckNames{{
    {CheckState::configured, "configured"},
    {CheckState::pending, "pending"},
    {CheckState::passed, "passed"},
    {CheckState::failed, "failed"},
}};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::pair<Enum, std::string_view>, N>& names,
                               std::string_view text) {
  for (const auto& [value, name] : names)
    if (name == text) return value;
  return std::nullopt;
}

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& names,
                         Enum value) {
  for (const auto& [candidate, name] : names)
    if (candidate == value) return name;
  return names.front().second;
}

}  // namespace

std::string_view to_string(ImageState state) {
  return name_of(kStateNames, state);
}

std::optional<ImageState> parse_image_state(std::string_view text) {
  return parse_name(kStateNames, text);
}

std::string_view to_string(CheckState state) {
  return name_of(kCheckNames, state);
}

std::optional<CheckState> parse_check_state(std::string_view text) {
  return parse_name(kCheckNames, text);
}

namespace {

constexpr std::array<std::pair<SaveState, std::string_view>, 3> kSaveNames{{
    {SaveState::saving, "saving"},
    {SaveState::saved, "saved"},
    {SaveState::failed, "failed"},
}};

constexpr std::array<std::pair<RolloutState, std::string_view>, 3> kRolloutNames{{
    {RolloutState::steady, "steady"},
    {RolloutState::rolling, "rolling"},
    {RolloutState::halted, "halted"},
}};

}  // namespace

std::string_view to_string(RolloutState state) {
  return name_of(kRolloutNames, state);
}

std::optional<RolloutState> parse_rollout_state(std::string_view text) {
  return parse_name(kRolloutNames, text);
}

std::string_view to_string(SaveState state) {
  return name_of(kSaveNames, state);
}

std::optional<SaveState> parse_save_state(std::string_view text) {
  return parse_name(kSaveNames, text);
}

}  // namespace gpupool
