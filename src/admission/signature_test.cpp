// cosign payload verification against keys and signatures made by the openssl command (the
// independent implementation: `openssl dgst -sha256 -sign` makes the ASN.1 ECDSA signature cosign
// makes). The registry side (the .sig tag, unsigned and re-tagged images) runs against a real
// docker-registry in tests/admission_gate_test.sh.

#include "admission/signature.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "admission/config.h"
#include "artifact/source_util.h"
#include "core/bytes.h"

namespace moat::admission {
namespace {

namespace fs = std::filesystem;

const std::string kDigest = "sha256:" + std::string(64, 'a');
const std::string kOtherDigest = "sha256:" + std::string(64, 'b');

class CosignKeysTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("moat-sig-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* name : {"a", "b"}) {
      Run("openssl ecparam -name prime256v1 -genkey -noout -out " + Path(name) + ".key");
      Run("openssl ec -in " + Path(name) + ".key -pubout -out " + Path(name) + ".pub");
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static void Run(const std::string& command) {
    ASSERT_EQ(std::system((command + " 2>/dev/null").c_str()), 0)
        << command << " failed (openssl: scripts/install-deps.sh test)";
  }
  /// cosign's simple-signing payload for `digest`.
  static std::string Payload(const std::string& digest) {
    return R"({"critical":{"identity":{"docker-reference":"127.0.0.1:5000/app"},"image":{"docker-manifest-digest":")" +
           digest + R"("},"type":"cosign container image signature"},"optional":null})";
  }
  /// base64 of `openssl dgst -sha256 -sign KEY` over `payload`.
  std::string Sign(const std::string& key, const std::string& payload) {
    std::ofstream(Path("payload")) << payload;
    Run("openssl dgst -sha256 -sign " + Path(key) + ".key -out " + Path("sig") + " " +
        Path("payload"));
    auto signature = ReadFileToString(Path("sig"));
    EXPECT_TRUE(signature.ok());
    return Base64Encode(signature.ok() ? *signature : "");
  }

  fs::path dir_;
};

TEST_F(CosignKeysTest, VerifiesWhatOpensslSigned) {
  auto keys = CosignKeys::Load({Path("b.pub"), Path("a.pub")});
  ASSERT_TRUE(keys.ok()) << keys.error().message;
  EXPECT_EQ(keys->size(), 2u);
  const std::string payload = Payload(kDigest);
  const std::string signature = Sign("a", payload);
  std::string detail;
  EXPECT_EQ(keys->CheckPayload(payload, signature, kDigest, &detail),
            CosignKeys::Outcome::kVerified);
  // The same signature on a payload naming another image: signed, but for another digest.
  EXPECT_EQ(keys->CheckPayload(payload, signature, kOtherDigest, &detail),
            CosignKeys::Outcome::kWrongDigest);
  EXPECT_EQ(detail, kDigest);
}

TEST_F(CosignKeysTest, RefusesOtherKeysAndTampering) {
  auto only_b = CosignKeys::Load({Path("b.pub")});
  ASSERT_TRUE(only_b.ok()) << only_b.error().message;
  const std::string payload = Payload(kDigest);
  const std::string signature = Sign("a", payload);
  EXPECT_EQ(only_b->CheckPayload(payload, signature, kDigest, nullptr),
            CosignKeys::Outcome::kBadSignature);
  auto keys = CosignKeys::Load({Path("a.pub")});
  ASSERT_TRUE(keys.ok());
  // A payload edited to name another digest no longer matches its signature.
  EXPECT_EQ(keys->CheckPayload(Payload(kOtherDigest), signature, kOtherDigest, nullptr),
            CosignKeys::Outcome::kBadSignature);
  std::string detail;
  EXPECT_EQ(keys->CheckPayload(payload, "not base64!", kDigest, &detail),
            CosignKeys::Outcome::kMalformed);
  EXPECT_NE(detail.find("not base64"), std::string::npos);
  // Signed, but not a simple-signing payload.
  const std::string other = R"({"critical":{}})";
  EXPECT_EQ(keys->CheckPayload(other, Sign("a", other), kDigest, &detail),
            CosignKeys::Outcome::kMalformed);
  EXPECT_NE(detail.find("docker-manifest-digest"), std::string::npos);
}

TEST_F(CosignKeysTest, KeyFileErrorsNameTheFile) {
  Run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " + Path("rsa.key"));
  Run("openssl pkey -in " + Path("rsa.key") + " -pubout -out " + Path("rsa.pub"));
  auto rsa = CosignKeys::Load({Path("rsa.pub")});
  ASSERT_FALSE(rsa.ok());
  EXPECT_NE(rsa.error().message.find(Path("rsa.pub") + ": not an ECDSA public key"),
            std::string::npos)
      << rsa.error().message;
  auto private_key = CosignKeys::Load({Path("a.key")});
  ASSERT_FALSE(private_key.ok());
  EXPECT_NE(private_key.error().message.find("not a PEM public key"), std::string::npos);
  EXPECT_FALSE(CosignKeys::Load({Path("missing.pub")}).ok());
}

TEST_F(CosignKeysTest, PolicyFromConfiguration) {
  auto config = ParseAdmissionConfig("signatures:\n  keys: [" + Path("a.pub") +
                                         "]\n  images: [\"127.0.0.1:*\"]\n  cacheTTL: 1m\n"
                                         "policies:\n- checks: [image-signature]\n  action: deny\n",
                                     "sig.yaml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->signatures.cache_ttl.count(), 60);
  EXPECT_EQ(config->signatures.images, std::vector<std::string>{"127.0.0.1:*"});
  auto policy = SignaturePolicy::Create(*config);
  ASSERT_TRUE(policy.ok()) << policy.error().message;
  EXPECT_NE(*policy, nullptr);
  config->signatures.keys = {Path("rsa-missing.pub")};
  policy = SignaturePolicy::Create(*config);
  ASSERT_FALSE(policy.ok());
  EXPECT_NE(policy.error().message.find("signatures.keys"), std::string::npos);
  auto bad = ParseAdmissionConfig("signatures:\n  key: a.pub\n", "sig.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("sig.yaml:2: unknown key \"key\" in signatures"),
            std::string::npos);
}

}  // namespace
}  // namespace moat::admission
