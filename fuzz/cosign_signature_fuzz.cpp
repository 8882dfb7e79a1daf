// libFuzzer target for the untrusted half of image-signature (src/admission/signature.h): a
// signature annotation and a payload from a registry, checked against a fixed P-256 key. Input:
// the annotation, a NUL byte, the payload. Nothing may crash; a forged input must not verify.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "admission/signature.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moat::admission::CosignKeys;
  static const CosignKeys keys = *CosignKeys::FromPem({{"fuzz.pub", R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEK+kwn8qgtLgjc1JkE3Td+ghxDvaw
LHEl8vG0iUx7UVfJP3NLa17qklpHB3jMSvnEdQuuvVNDh1+nyFpr5S+VKw==
-----END PUBLIC KEY-----
)"}});
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view signature = input.substr(0, split);
  const std::string_view payload = split == std::string_view::npos ? "" : input.substr(split + 1);
  std::string detail;
  // The private key is not in the fuzzer: nothing it makes can verify.
  if (keys.CheckPayload(payload, signature, "sha256:" + std::string(64, '0'), &detail) ==
      CosignKeys::Outcome::kVerified)
    std::abort();
  return 0;
}
