#pragma once
// `image-signature`: keyed cosign signatures verified at admission (docs/admission.md,
// "Signatures"). cosign stores the signature of manifest sha256:<hex> as the tag
// `sha256-<hex>.sig` of the image's repository: a manifest whose layers of media type
// application/vnd.dev.cosign.simplesigning.v1+json are simple-signing payloads, each with its
// base64 ECDSA signature in the annotation dev.cosignproject.cosign/signature. An image passes
// when one payload's signature verifies with a configured public key and the payload's
// critical.image.docker-manifest-digest is the image's digest (a signature copied next to another
// image does not pass).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "admission/image_gate.h"
#include "admission/policy.h"
#include "core/result.h"

namespace moat::admission {

inline constexpr std::string_view kCosignSimpleSigningType =
    "application/vnd.dev.cosign.simplesigning.v1+json";
inline constexpr std::string_view kCosignSignatureAnnotation = "dev.cosignproject.cosign/signature";

/// `signatures:` of the configuration.
struct SignatureSettings {
  std::vector<std::string>
      keys;  // PEM public key files (ECDSA P-256, as `cosign generate-key-pair`)
  std::vector<std::string> images;  // globs of the images that must be signed; empty = every image
  std::chrono::seconds cache_ttl{300};  // a verified digest is not checked again this long
};
Result<void> ParseSignatureSettings(const std::string& name, const k8s::Value& v,
                                    SignatureSettings& settings);

/// The configured public keys, loaded once.
class CosignKeys {
 public:
  /// `pems` are (name for messages, PEM text); each must hold an EC public key.
  static Result<CosignKeys> FromPem(const std::vector<std::pair<std::string, std::string>>& pems);
  static Result<CosignKeys> Load(const std::vector<std::string>& files);

  enum class Outcome : uint8_t { kVerified, kBadSignature, kWrongDigest, kMalformed };
  /// Checks one simple-signing layer: `signature_base64` over `payload` with any key, then the
  /// payload's digest against `digest`. `detail` says what is wrong (the digest the payload names).
  Outcome CheckPayload(std::string_view payload, std::string_view signature_base64,
                       const std::string& digest, std::string* detail) const;
  size_t size() const { return keys_.size(); }

 private:
  std::vector<std::shared_ptr<void>> keys_;  // EVP_PKEY (OpenSSL stays in the .cpp)
};

class ImageRegistryClient;

/// The `image-signature` policy.
class SignaturePolicy : public Policy {
 public:
  /// Null (and no error) when no rule names image-signature; an error when one does and no key
  /// is configured or a key file does not load.
  static Result<std::unique_ptr<SignaturePolicy>> Create(const AdmissionConfig& config);
  ~SignaturePolicy() override;

  bool Covers(const AdmissionRequest& request) const override;
  void Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const override;

  /// Why `image` does not pass ("" when it does): the registry asked within `deadline`.
  std::string Check(const std::string& image, std::chrono::steady_clock::time_point deadline) const;

 private:
  SignaturePolicy() = default;
  SignatureSettings settings_;
  std::vector<PolicyRule> rules_;
  std::vector<std::string> excluded_namespaces_;
  std::shared_ptr<const NamespaceCache> namespaces_;
  CosignKeys keys_;
  std::unique_ptr<ImageRegistryClient> registry_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::chrono::steady_clock::time_point> verified_;  // digests
};

}  // namespace moat::admission
