#pragma once
// Test-only: a tiny HTTP/1.1 server on loopback TCP or a unix socket, one thread per connection,
// "Connection: close" after each response. Tests use it to serve scripted replies (redirects,
// tampered blobs, stalls, auth challenges) that real servers can't be made to give on demand.

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace moat::testing {

struct TestHttpRequest {
  std::string method;
  std::string target;  // path and query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  std::string Header(const std::string& name) const {
    for (const auto& [key, value] : headers) {
      if (strcasecmp(key.c_str(), name.c_str()) == 0) return value;
    }
    return "";
  }
};

struct TestHttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  /// Sends headers, then waits this long before the body (stall tests).
  int delay_before_body_ms = 0;
  /// When set, announces body.size() + extra bytes but sends only body (truncation tests).
  size_t announce_extra_bytes = 0;
};

class TestHttpServer {
 public:
  using Handler = std::function<TestHttpResponse(const TestHttpRequest&)>;

  /// Listens on 127.0.0.1 on `port` (0: a free one), or on `unix_socket_path` when given. A
  /// fixed port lets a test stop a server and start another where clients will look for it.
  explicit TestHttpServer(Handler handler, const std::string& unix_socket_path = "", int port = 0)
      : handler_(std::move(handler)) {
    if (unix_socket_path.empty()) {
      listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      address.sin_port = htons(static_cast<uint16_t>(port));
      if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
      socklen_t length = sizeof address;
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
      port_ = ntohs(address.sin_port);
    } else {
      listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, unix_socket_path.c_str(), sizeof address.sun_path - 1);
      ::unlink(unix_socket_path.c_str());
      if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return;
    }
    if (::listen(listen_fd_, 64) != 0) return;
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestHttpServer() {
    stop_ = true;
    if (accept_thread_.joinable()) accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(connection_threads_);
    }
    for (auto& thread : threads) thread.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  int port() const { return port_; }
  std::string BaseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string HostPort() const { return "127.0.0.1:" + std::to_string(port_); }

  std::vector<TestHttpRequest> Requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }

 private:
  void AcceptLoop() {
    while (!stop_) {
      pollfd poll_fd{listen_fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, 50) <= 0) continue;
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      connection_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool SendAll(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }

  void Serve(int fd) {
    std::string buffer;
    char chunk[8192];
    size_t header_end;
    while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        ::close(fd);
        return;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    TestHttpRequest request;
    std::string head = buffer.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    size_t first_space = request_line.find(' ');
    size_t second_space = request_line.find(' ', first_space + 1);
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    size_t position = line_end == std::string::npos ? head.size() : line_end + 2;
    while (position < head.size()) {
      size_t end = head.find("\r\n", position);
      if (end == std::string::npos) end = head.size();
      std::string line = head.substr(position, end - position);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t value_start = line.find_first_not_of(' ', colon + 1);
        request.headers.emplace_back(line.substr(0, colon), value_start == std::string::npos
                                                                ? ""
                                                                : line.substr(value_start));
      }
      position = end + 2;
    }
    request.body = buffer.substr(header_end + 4);
    std::string length_text = request.Header("Content-Length");
    size_t content_length = length_text.empty() ? 0 : std::stoul(length_text);
    while (request.body.size() < content_length) {
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      request.body.append(chunk, static_cast<size_t>(n));
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      requests_.push_back(request);
    }
    TestHttpResponse response = handler_(request);
    std::string head_out = "HTTP/1.1 " + std::to_string(response.status) + " Status\r\n";
    for (const auto& [name, value] : response.headers) head_out += name + ": " + value + "\r\n";
    head_out +=
        "Content-Length: " + std::to_string(response.body.size() + response.announce_extra_bytes) +
        "\r\n";
    head_out += "Connection: close\r\n\r\n";
    bool ok = SendAll(fd, head_out);
    if (ok && response.delay_before_body_ms > 0) {
      auto deadline = std::chrono::steady_clock::now() +
                      std::chrono::milliseconds(response.delay_before_body_ms);
      while (!stop_ && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (ok && request.method != "HEAD") SendAll(fd, response.body);
    ::shutdown(fd, SHUT_WR);
    ::close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread accept_thread_;
  mutable std::mutex mutex_;
  std::vector<std::thread> connection_threads_;
  std::vector<TestHttpRequest> requests_;
};

}  // namespace moat::testing
