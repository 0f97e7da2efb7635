// How the gateway looks at a request's header block as sent, before Beast parses it. Pure.
#pragma once

#include <cstddef>
#include <string_view>

namespace gpupool::gateway {

// How far into `bytes` the header block ends — or stops being one the gateway accepts: at a
// bare LF (Beast refuses it) or an obsolete line fold, a CRLF followed by a space or tab.
// Beast would join a folded line to the header above it; a server or proxy elsewhere might
// read it as a header of its own, so such a request is refused instead. 0: not yet known.
std::size_t header_block_length(std::string_view bytes);

// Whether a block header_block_length measured stopped at a fold (it stops right after the
// first fold's space or tab, and nowhere else on one).
bool ends_in_fold(std::string_view block);

}  // namespace gpupool::gateway
