#include "core/sha256.h"

#include <openssl/evp.h>

#include "core/check.h"

namespace moat {

struct Sha256::State {
  EVP_MD_CTX* context = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->context = EVP_MD_CTX_new();
  MOAT_CHECK(state_->context != nullptr);
  MOAT_CHECK(EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr) == 1);
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->context); }

void Sha256::Update(ByteSpan data) {
  MOAT_CHECK(EVP_DigestUpdate(state_->context, data.data(), data.size()) == 1);
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  MOAT_CHECK(EVP_DigestFinal_ex(state_->context, digest, &length) == 1);
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

std::string Sha256Hex(ByteSpan data) {
  Sha256 hasher;
  hasher.Update(data);
  return hasher.HexDigest();
}

}  // namespace moat
