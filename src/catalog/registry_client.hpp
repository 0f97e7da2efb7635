// Asks a registry (the Docker Registry HTTP API v2, which Docker Hub, GHCR, Harbor and
// Debian's docker-registry all serve) which content a tag names now, so that a catalog entry
// can be pinned to it: nodes then run exactly what the admin added, whatever the tag later
// points to. Blocking; thread-safe.
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "catalog/image_reference.hpp"
#include "catalog/registry_logins.hpp"
#include "core/result.hpp"

namespace gpupool::catalog {

struct RegistryAccess {
  RegistryLogins logins;
  // Registries spoken to over plain HTTP (like the engine's --insecure-registry); every
  // other one over HTTPS with its certificate checked.
  std::set<std::string> insecure;
  std::chrono::milliseconds timeout{15'000};
};

// The digest ("sha256:…") of the manifest, or index of manifests, the reference's tag names.
// A reference that already carries a digest is answered with it, without asking.
Result<std::string> resolve_digest(const ImageReference& reference, const RegistryAccess& access);

// What a registry's 401 asks for: WWW-Authenticate: Bearer realm="…",service="…",scope="…".
struct AuthChallenge {
  std::string scheme;  // "bearer" or "basic", lower-case
  std::string realm;
  std::string service;
  std::string scope;
};
AuthChallenge parse_auth_challenge(std::string_view header);

}  // namespace gpupool::catalog
