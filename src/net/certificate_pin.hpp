// Certificate pins: "sha256:<hex>" of a certificate's public key (its DER SubjectPublicKeyInfo),
// the way `kubeadm join --discovery-token-ca-cert-hash` names the certificate to trust. A pin
// survives renewing a certificate with the same key, and needs no CA.
#pragma once

#include <string>

#include "core/result.hpp"

namespace gpupool::net {

// The pin of the first certificate in a PEM file.
Result<std::string> certificate_pin(const std::string& pem_file);

// "sha256:<64 hex>" or the bare hex, in either case → the canonical "sha256:<lower hex>".
Result<std::string> canonical_pin(const std::string& text);

}  // namespace gpupool::net
