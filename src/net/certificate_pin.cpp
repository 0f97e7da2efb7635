#include "net/certificate_pin.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "net/certificate_pin_detail.hpp"

namespace gpupool::net {

std::string public_key_pin(X509* certificate) {
  unsigned char* der = nullptr;
  int length = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(certificate), &der);
  if (length <= 0) return {};
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  bool ok = EVP_Digest(der, static_cast<std::size_t>(length), digest, &digest_length, EVP_sha256(),
                       nullptr) == 1;
  OPENSSL_free(der);
  if (!ok) return {};
  std::string pin = "sha256:";
  for (unsigned int i = 0; i < digest_length; ++i) pin += fmt::format("{:02x}", digest[i]);
  return pin;
}

Result<std::string> certificate_pin(const std::string& pem_file) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(pem_file.c_str(), "r"), &std::fclose);
  if (!file) return make_error(ErrorCode::invalid_argument, "cannot read " + pem_file);
  std::unique_ptr<X509, void (*)(X509*)> certificate(
      PEM_read_X509(file.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!certificate)
    return make_error(ErrorCode::invalid_argument, pem_file + " holds no PEM certificate");
  std::string pin = public_key_pin(certificate.get());
  if (pin.empty()) return make_error(ErrorCode::internal, "cannot digest " + pem_file);
  return pin;
}

Result<std::string> canonical_pin(const std::string& text) {
  std::string hex = text;
  if (hex.size() > 7 && (hex.starts_with("sha256:") || hex.starts_with("SHA256:")))
    hex = hex.substr(7);
  bool valid = hex.size() == 64;
  for (char& c : hex) {
    valid = valid && std::isxdigit(static_cast<unsigned char>(c));
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!valid) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("\"{}\" is not a certificate pin: expected sha256:<64 hex "
                                  "digits>, as the server prints at start",
                                  text.substr(0, 80)));
  }
  return "sha256:" + hex;
}

}  // namespace gpupool::net
