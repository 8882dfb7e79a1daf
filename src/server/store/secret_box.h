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

/// User passwords are stored as PBKDF2-HMAC-SHA256 with a random 16-byte salt and at least
/// OWASP's 600,000 iterations: "pbkdf2-sha256$ITERATIONS$hex(salt)$hex(32-byte key)".
inline constexpr int kPasswordIterations = 600'000;
std::string HashPassword(const std::string& password, int iterations = kPasswordIterations);
/// Whether `password` derives the stored key (compared in constant time); false for a malformed
/// stored value or one with fewer iterations than `min_iterations`.
bool VerifyPassword(const std::string& password, const std::string& stored,
                    int min_iterations = kPasswordIterations);

}  // namespace moat::server
