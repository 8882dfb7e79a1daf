#include "server/store/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace moat::server {

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

Result<std::string> Unhex(std::string_view hex) {
  if (hex.size() % 2 != 0) return Fail("odd number of hex digits");
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int high = digit(hex[2 * i]), low = digit(hex[2 * i + 1]);
    if (high < 0 || low < 0) return Fail("not a hex digit at ", std::to_string(2 * i));
    out[i] = static_cast<char>(high << 4 | low);
  }
  return out;
}

}  // namespace

std::string NewSecretKey() {
  std::string key(kKeyBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size()));
  return key;
}

namespace {

// The key in `path`; "" when there is no such file.
Result<std::string> ReadSecretKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Fail(path, ": ", std::strerror(errno));
  }
  std::string key(kKeyBytes + 1, '\0');
  ssize_t n = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(kKeyBytes)) {
    return Fail(path, ": a secret key file holds exactly 32 bytes (this one ",
                std::to_string(n < 0 ? 0 : n), ")");
  }
  key.resize(kKeyBytes);
  return key;
}

}  // namespace

Result<std::string> LoadSecretKey(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string key, ReadSecretKeyFile(path));
  if (key.empty()) {
    return Fail(path,
                ": no secret key here; `moat server` creates it on first start (DATA/secret.key "
                "or its --secret-key-file): give the workers that same file");
  }
  return key;
}

Result<std::string> LoadOrCreateSecretKey(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string key, ReadSecretKeyFile(path));
  if (!key.empty()) return key;
  key = NewSecretKey();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(path, ": cannot create the secret key: ", std::strerror(errno));
  bool written =
      ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written) return Fail(path, ": cannot write the secret key");
  return key;
}

Result<std::string> SealSecret(const std::string& key, const std::string& plaintext) {
  if (key.size() != kKeyBytes) return Fail("secret key: expected 32 bytes");
  std::string nonce(kNonceBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonceBytes);
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out = nonce;
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  auto* nonce_bytes = reinterpret_cast<const unsigned char*>(nonce.data());
  auto* cipher = reinterpret_cast<unsigned char*>(out.data()) + kNonceBytes;
  int len = 0, final_len = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_bytes, nonce_bytes) != 1 ||
      EVP_EncryptUpdate(ctx.get(), cipher, &len,
                        reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + len, &final_len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, cipher + plaintext.size()) !=
          1) {
    return Fail("secret encryption failed");
  }
  return "v1:" + Hex(out);
}

Result<std::string> OpenSecret(const std::string& key, const std::string& sealed) {
  if (sealed.empty()) return std::string();
  if (key.size() != kKeyBytes) return Fail("secret key: expected 32 bytes");
  if (sealed.rfind("v1:", 0) != 0) return Fail("stored secret: unknown format");
  MOAT_ASSIGN_OR_RETURN(std::string bytes, Unhex(std::string_view(sealed).substr(3)));
  if (bytes.size() < kNonceBytes + kTagBytes) return Fail("stored secret: truncated");
  const size_t text_size = bytes.size() - kNonceBytes - kTagBytes;
  auto* data = reinterpret_cast<unsigned char*>(bytes.data());
  std::string plaintext(text_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plaintext.data());
  CipherContext ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0, final_len = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key.data()), data) != 1 ||
      EVP_DecryptUpdate(ctx.get(), out, &len, data + kNonceBytes, static_cast<int>(text_size)) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes,
                          data + kNonceBytes + text_size) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    return Fail("stored secret: does not decrypt with this server's key (altered, or another key)");
  }
  return plaintext;
}

namespace {

constexpr size_t kSaltBytes = 16;
constexpr size_t kDerivedBytes = 32;

std::string Pbkdf2Sha256(const std::string& password, const std::string& salt, int iterations) {
  std::string key(kDerivedBytes, '\0');
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(),
                    static_cast<int>(key.size()), reinterpret_cast<unsigned char*>(key.data()));
  return key;
}

}  // namespace

std::string HashPassword(const std::string& password, int iterations) {
  std::string salt(kSaltBytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), static_cast<int>(salt.size()));
  return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + Hex(salt) + "$" +
         Hex(Pbkdf2Sha256(password, salt, iterations));
}

bool VerifyPassword(const std::string& password, const std::string& stored, int min_iterations) {
  // pbkdf2-sha256$ITERATIONS$SALT$KEY
  const std::string prefix = "pbkdf2-sha256$";
  if (stored.rfind(prefix, 0) != 0) return false;
  const size_t salt_at = stored.find('$', prefix.size());
  const size_t key_at = salt_at == std::string::npos ? salt_at : stored.find('$', salt_at + 1);
  if (key_at == std::string::npos) return false;
  const std::string count = stored.substr(prefix.size(), salt_at - prefix.size());
  if (count.empty() || count.size() > 9 ||
      count.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  const int iterations = std::stoi(count);
  auto salt = Unhex(std::string_view(stored).substr(salt_at + 1, key_at - salt_at - 1));
  auto key = Unhex(std::string_view(stored).substr(key_at + 1));
  if (iterations < min_iterations || !salt.ok() || !key.ok() || key->size() != kDerivedBytes) {
    return false;
  }
  const std::string derived = Pbkdf2Sha256(password, *salt, iterations);
  return CRYPTO_memcmp(derived.data(), key->data(), kDerivedBytes) == 0;
}

}  // namespace moat::server
