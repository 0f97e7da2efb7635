#include "net/self_signed.hpp"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include <fmt/format.h>

namespace gpupool::net {

namespace {

template <typename T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, decltype([](T* p) { Free(p); })>;

Error failed(const std::string& what) {
  return make_error(ErrorCode::internal, "cannot make a self-signed certificate: " + what);
}

Status write_pem(const std::string& path, mode_t mode, const auto& write) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "w"), &std::fclose);
  if (!file) return failed("cannot write " + path);
  chmod(path.c_str(), mode);
  if (write(file.get()) != 1) return failed("cannot write " + path);
  return {};
}

}  // namespace

Status write_self_signed_certificate(const std::string& host, const std::string& certificate_file,
                                     const std::string& key_file) {
  Owned<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  if (!key) return failed("no key");
  Owned<X509, X509_free> certificate(X509_new());
  if (!certificate) return failed("no certificate");
  X509_set_version(certificate.get(), 2);
  Owned<BIGNUM, BN_free> serial(BN_new());
  BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(certificate.get()));
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(certificate.get(), key.get());
  X509_NAME* name = X509_get_subject_name(certificate.get());
  std::string common_name = "gpupool server " + host.substr(0, 40);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(certificate.get(), name);
  in_addr ipv4{};
  std::string alt_name = (inet_pton(AF_INET, host.c_str(), &ipv4) == 1 ? "IP:" : "DNS:") + host;
  X509V3_CTX context;
  X509V3_set_ctx(&context, certificate.get(), certificate.get(), nullptr, nullptr, 0);
  Owned<X509_EXTENSION, X509_EXTENSION_free> extension(
      X509V3_EXT_conf_nid(nullptr, &context, NID_subject_alt_name, alt_name.c_str()));
  if (!extension || X509_add_ext(certificate.get(), extension.get(), -1) != 1)
    return failed("no subjectAltName for " + host);
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0) return failed("cannot sign");
  GPUPOOL_TRY(write_pem(key_file, 0600, [&](FILE* file) {
    return PEM_write_PrivateKey(file, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  }));
  return write_pem(certificate_file, 0644,
                   [&](FILE* file) { return PEM_write_X509(file, certificate.get()); });
}

}  // namespace gpupool::net
