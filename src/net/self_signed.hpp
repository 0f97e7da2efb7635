// A self-signed certificate for `gpupool server` started without one: agents trust it by its
// pin (certificate_pin.hpp), printed at start, the way kubeadm's join trusts its CA.
#pragma once

#include <string>

#include "core/result.hpp"

namespace gpupool::net {

// Writes a new P-256 key (mode 0600) and a certificate for `host` (a DNS name or an IPv4
// address, in its subjectAltName), valid for ten years.
Status write_self_signed_certificate(const std::string& host, const std::string& certificate_file,
                                     const std::string& key_file);

}  // namespace gpupool::net
