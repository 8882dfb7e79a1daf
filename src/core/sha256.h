#pragma once

#include <memory>
#include <string>

#include "core/bytes.h"

namespace moat {

/// Incremental SHA-256 (OpenSSL). Digest strings are "sha256:<64 hex>" as in OCI.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(ByteSpan data);
  /// Finishes and returns lower-case hex; the object can't be updated afterwards.
  std::string HexDigest();
  std::string OciDigest() { return "sha256:" + HexDigest(); }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string Sha256Hex(ByteSpan data);

}  // namespace moat
