#pragma once
// Test-only: a Kubernetes API server stand-in on loopback HTTPS that requires a client
// certificate (as an API server with --client-ca-file does) and serves recorded list responses,
// the PKI it needs (made with the openssl command line) and a kubeconfig that reaches it. Used by
// the k8s cluster tests and the cluster agent's tests.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "artifact/source_util.h"
#include "core/bytes.h"
#include "k8s/cluster.h"
#include "k8s/loader.h"

namespace moat::k8s::testing {

namespace fs = std::filesystem;

inline std::string ReadText(const fs::path& path) {
  auto text = ReadFileToString(path.string());
  EXPECT_TRUE(text.ok()) << path;
  return text.ok() ? *text : std::string();
}

inline void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

/// Listens on 127.0.0.1 on a free port; nobody is told the port is taken until it is.
inline int ListenLoopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 16) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

/// A server context for an API server stand-in: the PKI's server certificate, and a client
/// certificate signed by its CA required (as an API server with --client-ca-file). nullptr when
/// the files do not load.
inline SSL_CTX* NewApiServerContext(const fs::path& pki) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr ||
      SSL_CTX_use_certificate_chain_file(ctx, (pki / "server.crt").c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, (pki / "server.key").c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx, (pki / "ca.crt").c_str(), nullptr) != 1) {
    if (ctx != nullptr) SSL_CTX_free(ctx);
    return nullptr;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  return ctx;
}

/// The head of a request (up to the blank line) read from `ssl`.
inline std::string ReadRequestHead(SSL* ssl) {
  std::string buffer;
  char chunk[4096];
  while (buffer.find("\r\n\r\n") == std::string::npos && buffer.size() < (1u << 20)) {
    int n = SSL_read(ssl, chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  return buffer;
}

/// The target (path and query) of a request head.
inline std::string RequestTarget(const std::string& head) {
  const size_t first_space = head.find(' ');
  const size_t second_space = head.find(' ', first_space + 1);
  if (first_space == std::string::npos || second_space == std::string::npos) return "";
  return head.substr(first_space + 1, second_space - first_space - 1);
}

struct SeenRequest {
  std::string target;  // path and query
  std::string client_common_name;
  std::string authorization;
};

/// An HTTPS server on loopback that, like an API server set up with --client-ca-file, refuses
/// connections without a client certificate signed by its CA. One connection at a time, on its
/// own thread; each reply closes the connection.
class TlsApiServer {
 public:
  using Handler = std::function<std::pair<int, std::string>(const std::string& target)>;

  TlsApiServer(const fs::path& pki, Handler handler) : handler_(std::move(handler)) {
    ctx_ = NewApiServerContext(pki);
    if (ctx_ == nullptr) return;
    listen_fd_ = ListenLoopback(port_);
    if (listen_fd_ < 0) return;
    thread_ = std::thread([this] { Loop(); });
  }

  ~TlsApiServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (ctx_ != nullptr) SSL_CTX_free(ctx_);
  }

  bool ready() const { return thread_.joinable(); }
  std::string Url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::vector<SeenRequest> Requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  int HandshakeFailures() const { return handshake_failures_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd poll_fd{listen_fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      // A client that stalls must not stall the test.
      timeval timeout{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
      Serve(fd);
      ::close(fd);
    }
  }

  void Serve(int fd) {
    SSL* ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {
      ++handshake_failures_;
      ERR_clear_error();
      SSL_free(ssl);
      return;
    }
    const std::string buffer = ReadRequestHead(ssl);
    SeenRequest seen;
    seen.target = RequestTarget(buffer);
    const size_t auth = buffer.find("\r\nAuthorization: ");
    if (auth != std::string::npos) {
      const size_t start = auth + 17;
      seen.authorization = buffer.substr(start, buffer.find("\r\n", start) - start);
    }
    if (X509* peer = SSL_get1_peer_certificate(ssl)) {
      char name[256] = {0};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, name, sizeof name);
      seen.client_common_name = name;
      X509_free(peer);
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(seen);
    }
    auto [status, body] = handler_(seen.target);
    const std::string reply = "HTTP/1.1 " + std::to_string(status) +
                              " Status\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    SSL_write(ssl, reply.data(), static_cast<int>(reply.size()));
    SSL_shutdown(ssl);
    SSL_free(ssl);
  }

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> handshake_failures_{0};
  std::thread thread_;
  mutable std::mutex mutex_;
  std::vector<SeenRequest> requests_;
};

/// The query parameter `name` of a request target, percent-decoded.
inline std::string QueryParameter(const std::string& target, const std::string& name) {
  const size_t question = target.find('?');
  if (question == std::string::npos) return "";
  std::string query = target.substr(question + 1);
  size_t start = 0;
  while (start < query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    start = end + 1;
    if (pair.rfind(name + "=", 0) != 0) continue;
    std::string value;
    for (size_t i = name.size() + 1; i < pair.size(); ++i) {
      if (pair[i] == '%' && i + 2 < pair.size()) {
        value += static_cast<char>(std::stoi(pair.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        value += pair[i];
      }
    }
    return value;
  }
  return "";
}

/// The name of a kind's recordings: the resource, qualified by its group for custom resources
/// as kubectl names them ("ciliumnetworkpolicies.cilium.io").
inline std::string RecordingName(const ResourceKind& kind) {
  return kind.custom ? kind.resource + "." + kind.Group() : kind.resource;
}

/// Serves the recordings like an API server: <name>.json for the first page, <name>-2.json for
/// the page its continue token points at, a Status document with its own code, <group>.json for
/// every resource of a custom group without recordings of its own (the 404 of a group that is
/// not installed), and an empty list for kinds nothing was recorded for.
inline std::pair<int, std::string> ServeRecordedFrom(const std::vector<fs::path>& dirs,
                                                     const std::string& target) {
  // The first directory that holds a recording of that name.
  auto recording = [&dirs](const std::string& name) {
    for (const fs::path& dir : dirs) {
      if (fs::exists(dir / name)) return dir / name;
    }
    return dirs.front() / name;
  };
  const std::string path = target.substr(0, target.find('?'));
  for (const ResourceKind& kind : ClusterResourceKinds()) {
    if (kind.Path() != path) continue;
    fs::path file = recording(RecordingName(kind) + ".json");
    if (kind.custom && !fs::exists(file)) file = recording(kind.Group() + ".json");
    if (!fs::exists(file)) {
      return {200, "{\"kind\":\"" + kind.kind + "List\",\"apiVersion\":\"" + kind.api_version +
                       "\",\"metadata\":{\"resourceVersion\":\"48213\"},\"items\":[]}"};
    }
    std::string body = ReadText(file);
    const std::string token = QueryParameter(target, "continue");
    if (!token.empty()) {
      auto first = ParseYamlDocument(body, file.string());
      const Value* recorded = first.ok() ? first->Path({"metadata", "continue"}) : nullptr;
      if (recorded == nullptr || recorded->text != token) {
        return {410, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Expired",)"
                     R"("message":"continue token not recognised","code":410})"};
      }
      body = ReadText(recording(RecordingName(kind) + "-2.json"));
    }
    auto parsed = ParseYamlDocument(body, file.string());
    if (parsed.ok() && parsed->Get("kind") != nullptr && parsed->Get("kind")->text == "Status") {
      return {static_cast<int>(*parsed->Get("code")->Int()), body};
    }
    if (QueryParameter(target, "limit") != "500") return {400, "limit missing"};
    return {200, body};
  }
  return {404, R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound",)"
               R"("message":"the server could not find the requested resource","code":404})"};
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate (CN moat-test, group
/// system:masters) in a temporary directory, removed with the object.
class TestPki {
 public:
  TestPki() {
    char dir_template[] = "/tmp/moat-k8s-cluster-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) return;
    dir_ = dir_template;
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    WriteText(dir_ / "server.ext",
              "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
    WriteText(dir_ / "client.ext", "extendedKeyUsage=clientAuth\n");
    const std::string commands =
        "cd " + dir_.string() + " && openssl req -x509" + ec +
        " -keyout ca.key -out ca.crt -days 2 -subj /CN=moat-test-ca && openssl req" + ec +
        " -keyout server.key -out server.csr -subj /CN=kube-apiserver && openssl x509 -req -in "
        "server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out server.crt -extfile "
        "server.ext && openssl req" +
        ec +
        " -keyout client.key -out client.csr -subj /O=system:masters/CN=moat-test && openssl "
        "x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out "
        "client.crt -extfile client.ext";
    ok_ = std::system(("(" + commands + ") >/dev/null 2>&1").c_str()) == 0;
  }
  ~TestPki() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  TestPki(const TestPki&) = delete;
  TestPki& operator=(const TestPki&) = delete;

  /// False when openssl failed (the tests assert on it).
  bool ok() const { return ok_; }
  const fs::path& dir() const { return dir_; }

  /// A kubeconfig with everything inline, as `kubeadm kubeconfig user` writes it: context
  /// test-admin of cluster test at `server`.
  std::string Kubeconfig(const std::string& server, bool with_client_certificate = true) const {
    std::string user = "  user:\n";
    if (with_client_certificate) {
      user += "    client-certificate-data: " + Base64Encode(ReadText(dir_ / "client.crt")) +
              "\n    client-key-data: " + Base64Encode(ReadText(dir_ / "client.key")) + "\n";
    } else {
      user += "    token: not-a-certificate\n";
    }
    return "apiVersion: v1\nkind: Config\npreferences: {}\nclusters:\n- name: test\n  cluster:\n"
           "    server: " +
           server + "\n    certificate-authority-data: " + Base64Encode(ReadText(dir_ / "ca.crt")) +
           "\ncontexts:\n- name: test-admin\n  context:\n    cluster: test\n    user: admin\n"
           "current-context: test-admin\nusers:\n- name: admin\n" +
           user;
  }

 private:
  fs::path dir_;
  bool ok_ = false;
};

}  // namespace moat::k8s::testing
