// Image references as the Docker Engine reads them: "gpus.lab:5000/pytorch/session:2.7",
// "ubuntu:22.04", "ghcr.io/org/image@sha256:…". Which registry holds an image, under which
// repository, by which tag or digest. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace gpupool::catalog {

inline constexpr std::string_view kDockerHub = "docker.io";

struct ImageReference {
  // "gpus.lab:5000"; "docker.io" when the name names none. A first component is a registry
  // when it has a dot or a port, or is "localhost" (the engine's own rule).
  std::string registry;
  std::string repository;  // "pytorch/session"; Docker Hub's official images: "library/ubuntu"
  std::string tag;         // may be empty
  std::string digest;      // "sha256:<64 hex>"; may be empty

  // The name without tag or digest, as the engine shortens it ("ubuntu", "gpus.lab:5000/x").
  std::string name() const;
  // Pinned to this content: "name@sha256:…" (the tag dropped: the digest alone decides).
  std::string with_digest(const std::string& content_digest) const;
  // The host the registry's HTTP API answers on (Docker Hub's differs from its name).
  std::string api_host() const;
  // Whether a registry is named at all: without one, an engine uses a local image or Hub.
  bool names_registry = false;
};

Result<ImageReference> parse_image_reference(std::string_view text);

// "sha256:" and 64 lower-case hex digits.
bool is_sha256_digest(std::string_view text);

}  // namespace gpupool::catalog
