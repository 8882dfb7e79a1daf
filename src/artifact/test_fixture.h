#pragma once
// Test-only helpers for the image source tests: temp dirs, running real tools (umoci, skopeo,
// docker-registry), and a LayerHandler that records and hashes what a source delivers.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "artifact/image_source.h"
#include "core/http.h"
#include "core/sha256.h"

namespace moat::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "moat-artifact-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int status = -1;
  std::string output;  // stdout and stderr
};

inline CommandResult RunCommand(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0)
    result.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

#define MOAT_RUN_OR_FAIL(command)                                                          \
  do {                                                                                     \
    auto moat_run_result_ = ::moat::testing::RunCommand(command);                          \
    ASSERT_EQ(moat_run_result_.status, 0) << (command) << "\n" << moat_run_result_.output; \
  } while (0)

inline void WriteFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Deterministic pseudo-random bytes (so layers compress poorly and are not trivially small).
inline std::string NoiseBytes(size_t size, uint32_t seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out[i] = static_cast<char>(seed >> 24);
  }
  return out;
}

/// Builds an OCI layout at `layout` holding image `tag` with one layer per entry of `files`
/// (path in image -> content), using umoci.
inline void BuildOciImage(const std::string& work_dir, const std::string& layout,
                          const std::string& tag,
                          const std::vector<std::pair<std::string, std::string>>& files) {
  if (!std::filesystem::exists(layout + "/oci-layout")) {
    MOAT_RUN_OR_FAIL("umoci init --layout " + layout);
  }
  MOAT_RUN_OR_FAIL("umoci new --image " + layout + ":" + tag);
  int counter = 0;
  for (const auto& [image_path, content] : files) {
    std::string source = work_dir + "/src-" + tag + "-" + std::to_string(counter++);
    WriteFile(source, content);
    MOAT_RUN_OR_FAIL("umoci insert --image " + layout + ":" + tag + " " + source + " " +
                     image_path);
  }
}

/// Records every layer a source delivers: bytes hashed per blob, in delivery order.
class RecordingHandler : public LayerHandler {
 public:
  struct Delivery {
    std::string expected_diff_id;
    std::string blob_name;
    std::string digest;  // sha256 of the bytes, set on Close
    uint64_t bytes = 0;
    bool closed = false;
  };

  Result<std::unique_ptr<ByteSink>> OpenLayer(std::string_view expected_diff_id,
                                              std::string_view blob_name) override {
    std::lock_guard<std::mutex> lock(mutex_);
    deliveries_.push_back(std::make_shared<Delivery>());
    deliveries_.back()->expected_diff_id = std::string(expected_diff_id);
    deliveries_.back()->blob_name = std::string(blob_name);
    return std::unique_ptr<ByteSink>(std::make_unique<Sink>(deliveries_.back()));
  }
  void OnConfig(std::string_view config_json) override {
    std::lock_guard<std::mutex> lock(mutex_);
    configs_.emplace_back(config_json);
  }

  std::vector<Delivery> deliveries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Delivery> out;
    for (const auto& delivery : deliveries_) out.push_back(*delivery);
    return out;
  }
  std::map<std::string, Delivery> ByDigest() const {
    std::map<std::string, Delivery> out;
    for (const auto& delivery : deliveries()) out[delivery.digest] = delivery;
    return out;
  }
  std::vector<std::string> configs() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return configs_;
  }

 private:
  class Sink : public ByteSink {
   public:
    explicit Sink(std::shared_ptr<Delivery> delivery) : delivery_(std::move(delivery)) {}
    Result<void> Write(ByteSpan chunk) override {
      hash_.Update(chunk);
      delivery_->bytes += chunk.size();
      return Ok();
    }
    Result<void> Close() override {
      delivery_->digest = hash_.OciDigest();
      delivery_->closed = true;
      return Ok();
    }

   private:
    std::shared_ptr<Delivery> delivery_;
    Sha256 hash_;
  };

  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Delivery>> deliveries_;
  std::vector<std::string> configs_;
};

inline int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

/// A real docker-registry (distribution 2.x) on 127.0.0.1, filesystem storage in `dir`.
class RegistryProcess {
 public:
  /// htpasswd_path non-empty: basic auth with that htpasswd (bcrypt) file.
  RegistryProcess(const std::string& dir, const std::string& htpasswd_path = "") : dir_(dir) {
    port_ = FreePort();
    std::string config =
        "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
        "    rootdirectory: " +
        dir +
        "/storage\n  delete:\n    enabled: true\n"
        "http:\n  addr: 127.0.0.1:" +
        std::to_string(port_) + "\n";
    if (!htpasswd_path.empty()) {
      config += "auth:\n  htpasswd:\n    realm: moat-test\n    path: " + htpasswd_path + "\n";
    }
    WriteFile(dir + "/config.yml", config);
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = dir + "/registry.log";
      std::freopen(log.c_str(), "w", stdout);
      std::freopen(log.c_str(), "a", stderr);
      ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !ready_; ++i) {
      HttpRequest ping;
      ping.url = "http://" + HostPort() + "/v2/";
      ping.connect_timeout_seconds = 1;
      auto response = HttpFetch(ping);
      ready_ = response.ok() && (response->status == 200 || response->status == 401);
      if (!ready_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~RegistryProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  bool ready() const { return ready_; }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string Log() const { return ReadFile(dir_ + "/registry.log"); }
  std::string BlobDataPath(const std::string& digest) const {
    std::string hex = digest.substr(7);
    return dir_ + "/storage/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
           "/data";
  }

 private:
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace moat::testing
