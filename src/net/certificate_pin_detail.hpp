// The pin of a certificate OpenSSL holds (certificate_pin.hpp), for the client's handshake.
#pragma once

#include <openssl/x509.h>

#include <string>

namespace gpupool::net {

// "sha256:<hex>" of its DER SubjectPublicKeyInfo; "" if it cannot be digested.
std::string public_key_pin(X509* certificate);

}  // namespace gpupool::net
