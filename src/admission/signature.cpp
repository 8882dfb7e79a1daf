// cosign signature verification: the .sig manifest from the image's repository, each
// simple-signing layer's ECDSA signature checked with OpenSSL against the configured keys, and
// the signed payload's digest against the image's.

#include "admission/signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "admission/config.h"
#include "admission/image_gate_registry.h"
#include "artifact/manifest.h"
#include "artifact/reference.h"
#include "artifact/source_util.h"
#include "core/bytes.h"
#include "core/text.h"

namespace moat::admission {
namespace {

constexpr size_t kMaxPayloadBytes = 1u << 20;

std::string Where(const std::string& name, const k8s::Value& v) {
  return name + ":" + std::to_string(v.line);
}

}  // namespace

Result<void> ParseSignatureSettings(const std::string& name, const k8s::Value& v,
                                    SignatureSettings& settings) {
  if (v.IsNull()) return Ok();
  if (!v.IsMap()) return Fail(Where(name, v), ": signatures must be a map");
  for (const k8s::Value& e : v.Entries()) {
    if (e.key == "keys") {
      MOAT_ASSIGN_OR_RETURN(settings.keys, k8s::ConfigStringList(name, e));
    } else if (e.key == "images") {
      MOAT_ASSIGN_OR_RETURN(settings.images, k8s::ConfigStringList(name, e));
    } else if (e.key == "cacheTTL") {
      MOAT_ASSIGN_OR_RETURN(auto ttl, ParseConfigDuration(name, e, std::chrono::milliseconds(0),
                                                          std::chrono::milliseconds(86'400'000)));
      settings.cache_ttl = std::chrono::duration_cast<std::chrono::seconds>(ttl);
    } else {
      return Fail(Where(name, e), ": unknown key \"", e.key,
                  "\" in signatures (expected keys, images, cacheTTL)");
    }
  }
  return Ok();
}

// --- keys --------------------------------------------------------------------------------------

Result<CosignKeys> CosignKeys::FromPem(
    const std::vector<std::pair<std::string, std::string>>& pems) {
  CosignKeys keys;
  for (const auto& [name, pem] : pems) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    EVP_PKEY* key = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (key == nullptr) return Fail(name, ": not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    std::shared_ptr<void> owned(key, [](void* k) { EVP_PKEY_free(static_cast<EVP_PKEY*>(k)); });
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
      return Fail(name, ": not an ECDSA public key (cosign's keys are ECDSA P-256)");
    keys.keys_.push_back(std::move(owned));
  }
  return keys;
}

Result<CosignKeys> CosignKeys::Load(const std::vector<std::string>& files) {
  std::vector<std::pair<std::string, std::string>> pems;
  for (const std::string& file : files) {
    MOAT_ASSIGN_OR_RETURN(std::string pem, ReadFileToString(file, 64 << 10));
    pems.emplace_back(file, std::move(pem));
  }
  return FromPem(pems);
}

CosignKeys::Outcome CosignKeys::CheckPayload(std::string_view payload,
                                             std::string_view signature_base64,
                                             const std::string& digest, std::string* detail) const {
  auto signature = Base64Decode(TrimSpace(signature_base64));
  if (!signature.ok() || signature->empty()) {
    if (detail != nullptr) *detail = "the signature annotation is not base64";
    return Outcome::kMalformed;
  }
  bool verified = false;
  for (const std::shared_ptr<void>& key : keys_) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (ctx &&
        EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                             static_cast<EVP_PKEY*>(key.get())) == 1 &&
        EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()),
                         signature->size(), reinterpret_cast<const unsigned char*>(payload.data()),
                         payload.size()) == 1) {
      verified = true;
      break;
    }
  }
  if (!verified) return Outcome::kBadSignature;
  // Only a payload a trusted key signed is read.
  const nlohmann::json json = nlohmann::json::parse(payload, nullptr, false);
  const nlohmann::json* signed_digest = nullptr;
  if (json.is_object() && json.contains("critical") && json["critical"].is_object()) {
    const nlohmann::json& critical = json["critical"];
    if (critical.contains("image") && critical["image"].is_object() &&
        critical["image"].contains("docker-manifest-digest"))
      signed_digest = &critical["image"]["docker-manifest-digest"];
  }
  if (signed_digest == nullptr || !signed_digest->is_string()) {
    if (detail != nullptr)
      *detail = "the signed payload has no critical.image.docker-manifest-digest";
    return Outcome::kMalformed;
  }
  if (signed_digest->get<std::string>() != digest) {
    if (detail != nullptr) *detail = signed_digest->get<std::string>().substr(0, 80);
    return Outcome::kWrongDigest;
  }
  return Outcome::kVerified;
}

// --- the policy ------------------------------------------------------------------------------

Result<std::unique_ptr<SignaturePolicy>> SignaturePolicy::Create(const AdmissionConfig& config) {
  std::vector<PolicyRule> rules = RulesNaming(config, kImageSignaturePolicy);
  if (rules.empty()) return std::unique_ptr<SignaturePolicy>();
  if (config.signatures.keys.empty())
    return Fail(rules.front().origin, ": image-signature needs signatures.keys (PEM public keys)");
  std::unique_ptr<SignaturePolicy> policy(new SignaturePolicy());
  auto keys = CosignKeys::Load(config.signatures.keys);
  if (!keys.ok()) return keys.error().Wrap("signatures.keys");
  policy->keys_ = std::move(*keys);
  policy->settings_ = config.signatures;
  policy->rules_ = std::move(rules);
  policy->excluded_namespaces_ = config.excluded_namespaces;
  policy->namespaces_ = config.namespaces;
  policy->registry_ = std::make_unique<ImageRegistryClient>(config.registries);
  return policy;
}

SignaturePolicy::~SignaturePolicy() = default;

bool SignaturePolicy::Covers(const AdmissionRequest& request) const {
  return CoversPodRequest(request, excluded_namespaces_);
}

std::string SignaturePolicy::Check(const std::string& image_text,
                                   std::chrono::steady_clock::time_point deadline) const {
  auto image = ImageReference::Parse(image_text);
  if (!image.ok()) return "the image reference does not parse: " + image.error().message;
  auto digest = registry_->ResolveDigest(*image, deadline);
  if (!digest.ok()) return "the signature could not be checked: " + digest.error().message;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto it = verified_.find(*digest);
    if (it != verified_.end() && now - it->second <= settings_.cache_ttl) return "";
  }
  const std::string short_digest = digest->substr(0, 19);
  const std::string tag = "sha256-" + digest->substr(7) + ".sig";
  const std::string repository = image->registry + "/" + image->repository;
  auto manifest = registry_->FetchManifest(*image, tag, deadline);
  if (!manifest.ok()) return "the signature could not be checked: " + manifest.error().message;
  if (!*manifest)
    return "not signed: no signature " + tag + " in " + repository + " for " + short_digest;
  auto parsed = ParseImageManifest((*manifest)->body, repository + ":" + tag);
  if (!parsed.ok()) return "the signature manifest is not valid: " + parsed.error().message;
  size_t signatures = 0, bad = 0;
  std::string wrong_digest, malformed;
  for (const Descriptor& layer : parsed->layers) {
    auto annotation = layer.annotations.find(std::string(kCosignSignatureAnnotation));
    if (layer.media_type != kCosignSimpleSigningType || annotation == layer.annotations.end())
      continue;
    ++signatures;
    auto payload = registry_->FetchBlob(*image, layer.digest, kMaxPayloadBytes, deadline);
    if (!payload.ok()) return "the signature could not be checked: " + payload.error().message;
    std::string detail;
    switch (keys_.CheckPayload(*payload, annotation->second, *digest, &detail)) {
      case CosignKeys::Outcome::kVerified: {
        std::lock_guard lock(mutex_);
        if (verified_.size() > 10'000) verified_.clear();  // bounded
        verified_[*digest] = now;
        return "";
      }
      case CosignKeys::Outcome::kBadSignature:
        ++bad;
        break;
      case CosignKeys::Outcome::kWrongDigest:
        wrong_digest = detail;
        break;
      case CosignKeys::Outcome::kMalformed:
        malformed = detail;
        break;
    }
  }
  if (signatures == 0)
    return "not signed: " + repository + ":" + tag + " holds no cosign simple-signing signature";
  if (!wrong_digest.empty())
    return "wrong digest: the signature in " + tag + " was made for " + wrong_digest +
           ", not for the image's " + *digest + " (a signature of another image)";
  if (!malformed.empty()) return "the signature is malformed: " + malformed;
  return "bad signature: none of the " + std::to_string(bad) + " signatures in " + tag +
         " verifies with the configured " +
         (keys_.size() == 1 ? std::string("key") : std::to_string(keys_.size()) + " keys");
}

void SignaturePolicy::Evaluate(AdmissionRequest& request, std::vector<Violation>& out) const {
  const std::vector<ImageUse> uses =
      CollectImageUses(request, rules_, kImageSignaturePolicy, namespaces_.get());
  const auto deadline = request.deadline != std::chrono::steady_clock::time_point::max()
                            ? request.deadline
                            : std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::map<std::string, std::string> checked;  // image -> problem
  for (const ImageUse& use : uses) {
    if (!settings_.images.empty() && !AnyGlob(settings_.images, use.image)) {
      auto reference = ImageReference::Parse(use.image);
      if (!reference.ok() || !AnyGlob(settings_.images, reference->ToString())) continue;
    }
    auto it = checked.find(use.image);
    if (it == checked.end()) {
      it = checked.emplace(use.image, Check(use.image, deadline)).first;
      CountSignatureResult(it->second.empty());
    }
    if (it->second.empty()) continue;
    out.push_back(ImageViolation(kImageSignaturePolicy, use.action, use,
                                 "image \"" + use.image + "\": " + it->second));
  }
}

}  // namespace moat::admission
