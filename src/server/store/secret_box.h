#pragma once
// Encryption at rest for the few secrets the store keeps (registry credentials): AES-256-GCM with
// a random 96-bit nonce per value; the stored text is "v1:" + hex(nonce | ciphertext | tag).

#include <string>

#include "core/result.h"

namespace moat::server {

/// A new random 32-byte key.
std::string NewSecretKey();
/// Reads the key file (32 raw bytes), creating it (mode 0600) when absent.
Result<std::string> LoadOrCreateSecretKey(const std::string& path);
/// Reads the key file; a missing file is an error (a worker uses the key the server created:
/// a key of its own would not open the stored credentials).
Result<std::string> LoadSecretKey(const std::string& path);

Result<std::string> SealSecret(const std::string& key, const std::string& plaintext);
/// Fails when the value was not sealed with this key or was altered.
Result<std::string> OpenSecret(const std::string& key, const std::string& sealed);

}  // namespace moat::server
