#include "model/ledger.hpp"

namespace gpupool {

std::string_view to_string(LedgerKind kind) {
  switch (kind) {
    case LedgerKind::top_up:
      return "top_up";
    case LedgerKind::adjustment:
      return "adjustment";
    case LedgerKind::charge:
      return "charge";
  }
  return "charge";
}

std::optional<LedgerKind> parse_ledger_kind(std::string_view text) {
  for (auto kind : {LedgerKind::top_up, LedgerKind::adjustment, LedgerKind::charge}) {
    if (to_string(kind) == text) return kind;
  }
  return std::nullopt;
}

}  // namespace gpupool
