// The HTTP(S) server: Boost.Beast parses and serializes HTTP/1.1, Boost.Asio runs the sockets
// on a pool of threads, asio::ssl wraps OpenSSL. This is the only file that includes them.
//
// One Session per connection, all of whose work runs on its own strand. A connection goes
// through: [TLS handshake] -> read a request (header, then body) under one deadline -> run the
// handler -> write the response -> wait for the next request under the idle deadline -> ... The
// deadlines are our own timer rather than beast::tcp_stream's expiry, which closes the socket
// when it fires: a request that is too slow gets a 408 before the connection closes.

// Beast's string_view is std::string_view, as everywhere else in Moat (this file is Beast's
// only user, so the choice cannot clash with another translation unit).
#define BOOST_BEAST_USE_STD_STRING_VIEW

#include "http/server.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/log.h"
#include "http/target.h"

namespace moat::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

// How long Stop() waits for requests in flight and open streams before it stops the threads.
constexpr auto kStopGrace = std::chrono::seconds(5);
// How often the certificate and key files are looked at for a rotation.
constexpr auto kTlsPollInterval = std::chrono::seconds(2);
// After an error response the client may still be sending a body we will not read: closing at
// once would reset the connection and could destroy the response in the client's buffers, so
// the rest is read and dropped for a while (a "lingering close", as nginx and Go do).
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kLingerMaxBytes = 1 << 20;
// A connection over max_connections gets this long to send its request before its 503.
constexpr auto kRejectReadTimeout = std::chrono::seconds(2);
// Each write (a response, a chunk of a stream) must be taken by the client within this.
constexpr auto kMinWriteTimeout = std::chrono::seconds(5);
// Room in the read buffer beyond the header limit: a body arrives through it in pieces.
constexpr size_t kReadBufferSlack = 64 << 10;
constexpr size_t kIdleReadSize = 4096;
// TLS 1.2 suites with forward secrecy and AEAD (Mozilla's "intermediate"); TLS 1.3 suites
// are OpenSSL's defaults, all of them good.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

std::string Milliseconds(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

bool IsHttpParseError(const error_code& ec) {
  return &ec.category() == &bhttp::make_error_code(bhttp::error::bad_method).category();
}

// A header that the handler must not set: the server owns the message framing.
bool IsFramingHeader(std::string_view name) {
  return beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
         beast::iequals(name, "connection");
}

// Header names are tokens (RFC 9110 5.6.2); values must not break out of their line.
bool IsValidHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 ||
        std::string_view("()<>@,;:\\\"/[]?={}").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// --- TLS ---------------------------------------------------------------------------------

Result<std::shared_ptr<ssl::context>> LoadTlsContext(const std::string& cert_file,
                                                     const std::string& key_file,
                                                     const std::string& client_ca_file) {
  std::shared_ptr<ssl::context> context;
  try {
    context = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return Fail("TLS: cannot create a context: ", e.what());
  }
  error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  SSL_CTX* native = context->native_handle();
  if (ec || SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return Fail("TLS: cannot restrict the context to TLS 1.2+");
  }
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION);
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return Fail("TLS certificate file ", cert_file, ": ", ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  auto openssl_error = static_cast<unsigned long>(ec.value());
  bool mismatch = ec && ec.category() == asio::error::get_ssl_category() &&
                  ERR_GET_LIB(openssl_error) == ERR_LIB_X509 &&
                  ERR_GET_REASON(openssl_error) == X509_R_KEY_VALUES_MISMATCH;
  if (mismatch || (!ec && SSL_CTX_check_private_key(native) != 1)) {
    return Fail("TLS key file ", key_file, " does not match the certificate in ", cert_file);
  }
  if (ec) return Fail("TLS key file ", key_file, ": ", ec.message());
  if (!client_ca_file.empty()) {
    // Client-certificate authentication (the API server's audit webhook, ...): a client without
    // a certificate this CA signed fails the handshake.
    context->load_verify_file(client_ca_file, ec);
    if (ec) return Fail("TLS client CA file ", client_ca_file, ": ", ec.message());
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return Fail("TLS client CA file ", client_ca_file, ": ", ec.message());
  }
  return context;
}

// What tells that a file changed: cert-manager and kubelet swap a symlink (new inode), an
// operator may rewrite in place (new mtime, maybe the same second: nanoseconds count).
struct FileStamp {
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp StampOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, st.st_dev, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

// --- State shared by the server and its sessions -----------------------------------------

class SessionBase;
class StreamChannel;

struct ServerShared {
  ServerOptions options;
  Handler handler;
  std::atomic<bool> stopping{false};

  std::mutex mutex;
  std::condition_variable changed;  // a session or stream thread ended
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  size_t serving = 0;    // sessions within max_connections
  size_t rejecting = 0;  // sessions over it, answering 503
  size_t stream_threads = 0;
  std::vector<std::weak_ptr<StreamChannel>> channels;
  std::shared_ptr<ssl::context> tls;  // for new connections; null for plain HTTP

  std::chrono::steady_clock::duration WriteTimeout() const {
    return std::max<std::chrono::steady_clock::duration>(options.read_timeout, kMinWriteTimeout);
  }
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// From Stop(), any thread: close the connection if it is between requests.
  virtual void PostServerStop() = 0;
  /// From a stream thread: write one chunk; the channel hears back through Written().
  virtual void PostChunk(std::string chunk) = 0;
  /// From a stream thread: the stream callback returned (complete) or threw.
  virtual void PostStreamEnd(bool complete) = 0;
};

// The hand-over between a stream callback, which runs on a thread of its own so that a long
// stream (server-sent events) holds no server thread, and its session's strand. Write blocks
// until the chunk is written, so a slow client slows the producer instead of growing a queue.
class StreamChannel {
 public:
  explicit StreamChannel(std::shared_ptr<SessionBase> session) : session_(std::move(session)) {}

  bool Write(std::string_view chunk) {
    std::unique_lock lock(mutex_);
    if (closed_) return false;
    if (chunk.empty()) return true;  // an empty chunk would end the chunked body
    pending_ = true;
    session_->PostChunk(std::string(chunk));
    written_.wait(lock, [&] { return !pending_ || closed_; });
    return !closed_;
  }

  /// On the strand, after a chunk write.
  void Written(bool ok) {
    std::shared_ptr<SessionBase> released;
    {
      std::lock_guard lock(mutex_);
      pending_ = false;
      if (!ok) {
        closed_ = true;
        released = std::move(session_);
      }
    }
    written_.notify_all();
  }

  /// On the stream thread when the callback is over.
  void Finish(bool complete) {
    std::shared_ptr<SessionBase> session;
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;
      closed_ = true;
      session = std::move(session_);
      session->PostStreamEnd(complete);
    }
  }

  /// Any thread: the client is gone or the server stops; later writes return false. The
  /// session reference is dropped here so that no stream thread keeps a session (and its
  /// socket) alive past the server's io_context.
  void Close() {
    std::shared_ptr<SessionBase> released;
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
      released = std::move(session_);
    }
    written_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable written_;
  bool closed_ = false;
  bool pending_ = false;
  std::shared_ptr<SessionBase> session_;
};

// --- Session -----------------------------------------------------------------------------

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  enum class Phase { kHandshake, kIdle, kReading, kHandling, kWriting, kClosing };

 public:
  Session(std::shared_ptr<ServerShared> shared, tcp::socket socket, bool rejecting,
          std::shared_ptr<ssl::context> tls, std::string remote_address)
      : shared_(std::move(shared)),
        tls_(std::move(tls)),
        executor_(socket.get_executor()),
        stream_(MakeStream(std::move(socket), tls_.get())),
        deadline_(executor_),
        buffer_(shared_->options.max_header_bytes + kReadBufferSlack),
        rejecting_(rejecting),
        remote_address_(std::move(remote_address)) {}

  ~Session() override {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.erase(this);
      --(rejecting_ ? shared_->rejecting : shared_->serving);
    }
    shared_->changed.notify_all();
  }

  void Begin() {
    asio::dispatch(executor_, [self = this->shared_from_this()] { self->Run(); });
  }

  void PostServerStop() override {
    asio::post(executor_, [self = this->shared_from_this()] {
      bool nothing_received = self->phase_ == Phase::kReading && self->buffer_.size() == 0 &&
                              self->parser_ && !self->parser_->got_some();
      if (self->phase_ == Phase::kIdle || self->phase_ == Phase::kHandshake ||
          self->phase_ == Phase::kClosing || nothing_received) {
        self->CloseNow();
      }
    });
  }

  void PostChunk(std::string chunk) override {
    asio::post(executor_, [self = this->shared_from_this(),
                           data = std::make_shared<std::string>(std::move(chunk))] {
      self->WriteChunk(data);
    });
  }

  void PostStreamEnd(bool complete) override {
    asio::post(executor_,
               [self = this->shared_from_this(), complete] { self->EndStream(complete); });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  std::chrono::steady_clock::duration RequestTimeout() const {
    if (!rejecting_) return shared_->options.read_timeout;
    return std::min<std::chrono::steady_clock::duration>(shared_->options.read_timeout,
                                                         kRejectReadTimeout);
  }

  void Run() {
    if constexpr (kTls) {
      phase_ = Phase::kHandshake;
      ArmDeadline(RequestTimeout());
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](const error_code& ec) {
                                if (ec) return self->CloseNow();
                                self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

  // --- deadlines ---

  void ArmDeadline(std::chrono::steady_clock::duration timeout) {
    uint64_t generation = ++deadline_generation_;
    timed_out_ = false;
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = this->shared_from_this(), generation](const error_code& ec) {
      if (ec || generation != self->deadline_generation_) return;
      self->OnDeadline();
    });
  }

  void CancelDeadline() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  void OnDeadline() {
    switch (phase_) {
      case Phase::kReading:
        // The read completes with operation_aborted, and OnReadError answers 408.
        timed_out_ = true;
        Tcp().cancel();
        break;
      case Phase::kHandshake:
      case Phase::kIdle:
      case Phase::kClosing:
        CloseNow();
        break;
      case Phase::kHandling:
      case Phase::kWriting:
        break;
    }
  }

  // --- reading ---

  void ReadRequest() {
    phase_ = Phase::kReading;
    ArmDeadline(RequestTimeout());
    parser_.emplace();
    parser_->header_limit(
        static_cast<uint32_t>(std::min<size_t>(shared_->options.max_header_bytes, UINT32_MAX)));
    parser_->body_limit(shared_->options.max_body_bytes);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](const error_code& ec, size_t) { self->OnHeader(ec); });
  }

  void WaitForNextRequest() {
    if (buffer_.size() > 0) return ReadRequest();  // pipelined
    if (shared_->stopping) return GracefulClose();
    phase_ = Phase::kIdle;
    ArmDeadline(shared_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(kIdleReadSize),
                            [self = this->shared_from_this()](const error_code& ec, size_t n) {
                              if (ec) return self->CloseNow();
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void OnHeader(const error_code& ec) {
    if (ec) return OnReadError(ec);
    const auto& request = parser_->get();
    // Transfer-Encoding not ending in chunked leaves the body's end unknown (RFC 9112 6.3);
    // Beast would read it as no body and the body as the next request.
    if (request.count(bhttp::field::transfer_encoding) > 0 && !parser_->chunked()) {
      return ReplyAndClose(400, "Transfer-Encoding other than chunked is not supported");
    }
    if (parser_->is_done()) return OnRequest();
    if (rejecting_) return OnRequest();  // the 503 needs no body
    if (beast::iequals(request[bhttp::field::expect], "100-continue") && request.version() >= 11) {
      // The phase stays kReading: the request deadline covers this write and the body.
      continue_.emplace(bhttp::status::continue_, request.version());
      Tcp().expires_after(shared_->WriteTimeout());
      bhttp::async_write(stream_, *continue_,
                         [self = this->shared_from_this()](const error_code& ec, size_t) {
                           self->Tcp().expires_never();
                           if (ec) return self->CloseNow();
                           self->ReadBody();
                         });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](const error_code& ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->OnRequest();
                      });
  }

  void OnReadError(const error_code& ec) {
    const ServerOptions& options = shared_->options;
    if (ec == asio::error::operation_aborted && timed_out_) {
      return ReplyAndClose(
          408, "request not received in full within " + Milliseconds(options.read_timeout));
    }
    if (ec == bhttp::error::header_limit ||
        (ec == bhttp::error::buffer_overflow && !parser_->is_header_done())) {
      return ReplyAndClose(
          431, "request header over " + std::to_string(options.max_header_bytes) + " bytes");
    }
    if (ec == bhttp::error::body_limit) {
      return ReplyAndClose(
          413, "request body over " + std::to_string(options.max_body_bytes) + " bytes");
    }
    // A client that half-closes in the middle of a request (shutdown of its sending side, with
    // or without TLS's close_notify) may still read: it learns why nothing will be handled. Its
    // write side gone for good, the connection then closes.
    const bool cut_short =
        ec == bhttp::error::partial_message ||
        (ec == asio::ssl::error::stream_truncated && parser_ && parser_->got_some());
    if (cut_short) {
      return ReplyAndClose(400,
                           "request cut short: the client closed its sending side before "
                           "the whole request arrived");
    }
    // A client that closes before a request is gone: nobody to tell.
    if (ec == bhttp::error::end_of_stream || !IsHttpParseError(ec)) return CloseNow();
    ReplyAndClose(400, "malformed request: " + ec.message());
  }

  // --- handling ---

  void OnRequest() {
    CancelDeadline();
    phase_ = Phase::kHandling;
    auto& message = parser_->get();
    if (rejecting_) {
      unread_input_ = !parser_->is_done();
      Response response = Response::Error(
          503, "server is at its connection limit (" +
                   std::to_string(shared_->options.max_connections) + "); retry later");
      response.headers.emplace_back("Retry-After", "1");
      return WriteResponse(std::move(response), false, message.version(), false);
    }
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = field.value();
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      request.headers.emplace_back(std::move(name), std::string(value));
    }
    request.remote_address = remote_address_;
    bool head = message.method() == bhttp::verb::head;
    bool keep_alive = message.keep_alive() && !shared_->stopping;
    unsigned version = message.version();

    Response response;
    auto target = ParseTarget(request.target);
    if (!target.ok()) {
      response = Response::Error(400, target.error().message);
    } else {
      request.path = std::move(target->path);
      request.query = std::move(target->query);
      request.body = std::move(message.body());
      try {
        response = shared_->handler(request);
      } catch (const std::exception& e) {
        log::Error("http: handler for " + request.method + " " + request.path +
                   " threw: " + e.what());
        response = Response::Error(
            500, "internal error while handling " + request.method + " " + request.path);
      } catch (...) {
        log::Error("http: handler for " + request.method + " " + request.path + " threw");
        response = Response::Error(
            500, "internal error while handling " + request.method + " " + request.path);
      }
    }
    if (response.status < 200 || response.status > 599) {
      log::Error("http: handler for " + request.method + " " + request.path + " returned status " +
                 std::to_string(response.status));
      response = Response::Error(500, "internal error: invalid response status");
    }
    if (log::GetLevel() <= log::Level::kDebug) {
      log::Debug("http: " + remote_address_ + " " + request.method + " " + request.target + " -> " +
                 std::to_string(response.status));
    }
    WriteResponse(std::move(response), head, version, keep_alive);
  }

  // --- writing ---

  template <class Fields>
  static void FillHeaders(Fields& fields, const Response& response, bool has_body) {
    bool handler_cache_control = false;
    for (const auto& [name, value] : response.headers) {
      handler_cache_control = handler_cache_control || beast::iequals(name, "cache-control");
    }
    if (has_body && !response.content_type.empty()) {
      fields.set(bhttp::field::content_type, response.content_type);
    }
    fields.set("X-Content-Type-Options", "nosniff");
    // API answers are per-user and current: no cache in between should keep them.
    if (!handler_cache_control && response.content_type.rfind("application/json", 0) == 0) {
      fields.set(bhttp::field::cache_control, "no-store");
    }
    for (const auto& [name, value] : response.headers) {
      if (!IsValidHeader(name, value) || IsFramingHeader(name)) {
        log::Warn("http: response header '" + name + "' dropped (invalid or owned by the server)");
        continue;
      }
      if (beast::iequals(name, "content-type")) {
        fields.set(bhttp::field::content_type, value);
      } else {
        fields.insert(name, value);
      }
    }
  }

  void WriteResponse(Response response, bool head, unsigned version, bool keep_alive) {
    phase_ = Phase::kWriting;
    close_after_write_ = !keep_alive;
    // 1xx, 204 and 304 have no body (RFC 9110 6.4.1).
    bool bodyless = response.status < 200 || response.status == 204 || response.status == 304;
    if (response.stream && !head && !bodyless) return StartStream(std::move(response), version);
    Tcp().expires_after(shared_->WriteTimeout());
    if (head || bodyless) {
      headers_only_.emplace(static_cast<bhttp::status>(response.status), version);
      FillHeaders(*headers_only_, response, !bodyless);
      if (!bodyless && !response.stream) headers_only_->content_length(response.body.size());
      headers_only_->keep_alive(keep_alive);
      bhttp::async_write(
          stream_, *headers_only_,
          [self = this->shared_from_this()](const error_code& ec, size_t) { self->OnWritten(ec); });
      return;
    }
    full_.emplace(static_cast<bhttp::status>(response.status), version);
    FillHeaders(*full_, response, true);
    full_->body() = std::move(response.body);
    full_->prepare_payload();
    full_->keep_alive(keep_alive);
    bhttp::async_write(
        stream_, *full_,
        [self = this->shared_from_this()](const error_code& ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(const error_code& ec) {
    Tcp().expires_never();
    full_.reset();
    headers_only_.reset();
    serializer_.reset();
    if (ec) return CloseNow();
    if (close_after_write_ || shared_->stopping) return GracefulClose();
    WaitForNextRequest();
  }

  void ReplyAndClose(int status, std::string message) {
    CancelDeadline();
    unread_input_ = true;
    unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
    WriteResponse(Response::Error(status, message), false, version, false);
  }

  // --- streaming ---

  void StartStream(Response response, unsigned version) {
    // HTTP/1.0 has no chunked encoding: the body then ends with the connection.
    stream_chunked_ = version >= 11;
    if (!stream_chunked_) close_after_write_ = true;
    headers_only_.emplace(static_cast<bhttp::status>(response.status), version);
    FillHeaders(*headers_only_, response, true);
    if (stream_chunked_) headers_only_->chunked(true);
    headers_only_->keep_alive(!close_after_write_);
    serializer_.emplace(*headers_only_);
    Tcp().expires_after(shared_->WriteTimeout());
    bhttp::async_write_header(
        stream_, *serializer_,
        [self = this->shared_from_this(), callback = std::move(response.stream)](
            const error_code& ec, size_t) mutable {
          self->Tcp().expires_never();
          if (ec) return self->CloseNow();
          self->RunStream(std::move(callback));
        });
  }

  void RunStream(std::function<void(const ChunkWriter&)> callback) {
    channel_ = std::make_shared<StreamChannel>(this->shared_from_this());
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->stopping) {
        channel_->Close();
      } else {
        std::erase_if(shared_->channels, [](const auto& weak) { return weak.expired(); });
        shared_->channels.push_back(channel_);
      }
      ++shared_->stream_threads;
    }
    try {
      std::thread([shared = shared_, channel = channel_, callback = std::move(callback)] {
        bool complete = true;
        try {
          callback([&channel](std::string_view chunk) { return channel->Write(chunk); });
        } catch (const std::exception& e) {
          log::Error(std::string("http: stream callback threw: ") + e.what());
          complete = false;
        } catch (...) {
          log::Error("http: stream callback threw");
          complete = false;
        }
        channel->Finish(complete);
        {
          std::lock_guard lock(shared->mutex);
          --shared->stream_threads;
        }
        shared->changed.notify_all();
      }).detach();
    } catch (const std::system_error& e) {
      log::Error(std::string("http: cannot start a stream thread: ") + e.what());
      {
        std::lock_guard lock(shared_->mutex);
        --shared_->stream_threads;
      }
      channel_->Close();
      channel_.reset();
      CloseNow();
    }
  }

  void WriteChunk(const std::shared_ptr<std::string>& data) {
    if (!channel_) return;
    Tcp().expires_after(shared_->WriteTimeout());
    auto on_written = [self = this->shared_from_this(), data](const error_code& ec, size_t) {
      self->Tcp().expires_never();
      if (!self->channel_) return;
      self->channel_->Written(!ec);
      if (ec) {
        self->channel_.reset();
        self->CloseNow();
      }
    };
    if (stream_chunked_) {
      asio::async_write(stream_, bhttp::make_chunk(asio::buffer(*data)), std::move(on_written));
    } else {
      asio::async_write(stream_, asio::buffer(*data), std::move(on_written));
    }
  }

  void EndStream(bool complete) {
    channel_.reset();
    if (phase_ == Phase::kClosing) return;
    // A stream cut short (the callback threw) must not look complete to the client: no last
    // chunk, just the connection closed.
    if (!complete) return CloseNow();
    if (!stream_chunked_) return GracefulClose();
    Tcp().expires_after(shared_->WriteTimeout());
    asio::async_write(
        stream_, bhttp::make_chunk_last(),
        [self = this->shared_from_this()](const error_code& ec, size_t) { self->OnWritten(ec); });
  }

  // --- closing ---

  void CloseNow() {
    CancelDeadline();
    phase_ = Phase::kClosing;
    if (channel_) {
      channel_->Close();
      channel_.reset();
    }
    error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
  }

  // Closes after the last response. Lingers (see kLingerTime) only when the client may still
  // be sending: an error answered before its request was read whole, or pipelined requests.
  void GracefulClose() {
    phase_ = Phase::kClosing;
    if constexpr (kTls) {
      if (shared_->stopping) return CloseNow();
      // close_notify, then wait briefly for the client's (most clients just close).
      CancelDeadline();
      Tcp().expires_after(kLingerTime);
      stream_.async_shutdown(
          [self = this->shared_from_this()](const error_code&) { self->CloseNow(); });
    } else {
      error_code ignored;
      Tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
      bool linger = (unread_input_ || buffer_.size() > 0) && !shared_->stopping;
      if (!linger) return CloseNow();
      ArmDeadline(kLingerTime);
      Drain();
    }
  }

  void Drain() {
    linger_buffer_.resize(kIdleReadSize);
    stream_.async_read_some(asio::buffer(linger_buffer_),
                            [self = this->shared_from_this()](const error_code& ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kLingerMaxBytes) return self->CloseNow();
                              self->Drain();
                            });
  }

  std::shared_ptr<ServerShared> shared_;
  std::shared_ptr<ssl::context> tls_;  // outlives stream_, which uses it
  asio::any_io_executor executor_;     // the connection's strand
  Stream stream_;
  asio::steady_timer deadline_;
  uint64_t deadline_generation_ = 0;
  bool timed_out_ = false;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_;
  std::optional<bhttp::response<bhttp::string_body>> full_;
  std::optional<bhttp::response<bhttp::empty_body>> headers_only_;
  std::optional<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  std::shared_ptr<StreamChannel> channel_;
  bool stream_chunked_ = true;
  bool close_after_write_ = false;
  bool unread_input_ = false;  // the client may still be sending this request's body
  std::string linger_buffer_;
  size_t lingered_ = 0;
  const bool rejecting_;
  const std::string remote_address_;
  Phase phase_ = Phase::kReading;
};

using PlainSession = Session<beast::tcp_stream>;
using TlsSession = Session<beast::ssl_stream<beast::tcp_stream>>;

std::string AddressText(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

// --- Server ------------------------------------------------------------------------------

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, Handler handler)
      : shared_(std::make_shared<ServerShared>()),
        control_(asio::make_strand(io_)),
        acceptor_(control_),
        accept_retry_(control_),
        tls_poll_(control_) {
    shared_->options = options;
    shared_->handler = std::move(handler);
  }

  ~ServerImpl() override { Stop(); }

  Result<void> Listen(const std::string& host, uint16_t port) {
    const ServerOptions& options = shared_->options;
    error_code ec;
    tcp::endpoint endpoint;
    asio::ip::address address = asio::ip::make_address(host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(address, port);
    } else {
      tcp::resolver resolver(io_);
      auto results = resolver.resolve(host, std::to_string(port), ec);
      if (ec || results.empty()) {
        return Fail("listen address '", options.listen, "': cannot resolve '", host,
                    "': ", ec ? ec.message() : "no address");
      }
      endpoint = results.begin()->endpoint();
    }
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Fail("listen address '", options.listen, "': ", ec.message());
    port_ = acceptor_.local_endpoint(ec).port();
    // The URL names the host as given; a wildcard address is reached through loopback.
    asio::ip::address bound = endpoint.address();
    std::string url_host = host;
    if (bound.is_unspecified()) url_host = bound.is_v6() ? "::1" : "127.0.0.1";
    if (url_host.find(':') != std::string::npos) url_host = "[" + url_host + "]";
    url_ = std::string(shared_->tls ? "https" : "http") + "://" + url_host + ":" +
           std::to_string(port_);
    return Ok();
  }

  Result<void> LoadTls() {
    const ServerOptions& options = shared_->options;
    cert_stamp_ = StampOf(options.tls_cert_file);
    key_stamp_ = StampOf(options.tls_key_file);
    MOAT_ASSIGN_OR_RETURN(shared_->tls, LoadTlsContext(options.tls_cert_file, options.tls_key_file,
                                                       options.tls_client_ca_file));
    return Ok();
  }

  void Run() {
    Accept();
    if (shared_->tls) PollTlsFiles();
    size_t threads = std::max<size_t>(shared_->options.threads, 1);
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] {
        for (;;) {
          try {
            io_.run();
            return;
          } catch (const std::exception& e) {
            // Handlers catch what they expect; this keeps a surprise from taking a thread away.
            log::Error(std::string("http: server thread: ") + e.what());
          }
        }
      });
    }
  }

  uint16_t port() const override { return port_; }
  std::string url() const override { return url_; }

  void Stop() override {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    shared_->stopping = true;
    asio::post(control_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      accept_retry_.cancel();
      tls_poll_.cancel();
    });
    std::vector<std::shared_ptr<SessionBase>> sessions;
    std::vector<std::shared_ptr<StreamChannel>> channels;
    {
      std::lock_guard lock(shared_->mutex);
      for (auto& [pointer, weak] : shared_->sessions) {
        if (auto session = weak.lock()) sessions.push_back(std::move(session));
      }
      for (auto& weak : shared_->channels) {
        if (auto channel = weak.lock()) channels.push_back(std::move(channel));
      }
    }
    // Streams end (their writers return false) and connections between requests close;
    // requests being read or handled finish, with "Connection: close".
    for (auto& channel : channels) channel->Close();
    for (auto& session : sessions) session->PostServerStop();
    channels.clear();
    sessions.clear();
    {
      std::unique_lock lock(shared_->mutex);
      shared_->changed.wait_for(lock, kStopGrace, [&] {
        return shared_->sessions.empty() && shared_->stream_threads == 0;
      });
    }
    io_.stop();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(
        asio::make_strand(io_),
        [this](const error_code& ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
  }

  void OnAccept(const error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || shared_->stopping) return;
    if (ec) {
      // Out of descriptors or memory: wait a little rather than spin.
      log::Warn("http: accept failed: " + ec.message());
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this](const error_code& wait_ec) {
        if (!wait_ec && !shared_->stopping) Accept();
      });
      return;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::string remote = AddressText(socket.remote_endpoint(ignored).address());
    bool rejecting = false;
    std::shared_ptr<ssl::context> tls;
    {
      std::lock_guard lock(shared_->mutex);
      const size_t limit = shared_->options.max_connections;
      if (shared_->serving < limit) {
        ++shared_->serving;
      } else if (shared_->rejecting < limit) {
        ++shared_->rejecting;
        rejecting = true;
      } else {
        socket.close(ignored);  // even the 503s are at their limit
        return Accept();
      }
      tls = shared_->tls;
    }
    if (tls) {
      Register(std::make_shared<TlsSession>(shared_, std::move(socket), rejecting, std::move(tls),
                                            std::move(remote)));
    } else {
      Register(std::make_shared<PlainSession>(shared_, std::move(socket), rejecting, nullptr,
                                              std::move(remote)));
    }
    Accept();
  }

  template <class SessionType>
  void Register(std::shared_ptr<SessionType> session) {
    {
      std::lock_guard lock(shared_->mutex);
      shared_->sessions.emplace(session.get(), session);
    }
    session->Begin();
  }

  // Certificate rotation: a new ssl::context for new connections; open ones keep theirs.
  void PollTlsFiles() {
    tls_poll_.expires_after(kTlsPollInterval);
    tls_poll_.async_wait([this](const error_code& ec) {
      if (ec || shared_->stopping) return;
      const ServerOptions& options = shared_->options;
      FileStamp cert = StampOf(options.tls_cert_file);
      FileStamp key = StampOf(options.tls_key_file);
      bool changed = !(cert == cert_stamp_ && key == key_stamp_);
      bool failed_before = cert == failed_cert_stamp_ && key == failed_key_stamp_;
      if (changed && !failed_before) {
        auto context =
            LoadTlsContext(options.tls_cert_file, options.tls_key_file, options.tls_client_ca_file);
        if (context.ok()) {
          {
            std::lock_guard lock(shared_->mutex);
            shared_->tls = std::move(*context);
          }
          cert_stamp_ = cert;
          key_stamp_ = key;
          log::Info("http: TLS certificate reloaded from " + options.tls_cert_file);
        } else {
          // Often the middle of a rotation (new certificate, old key): kept until the files
          // change again; the current certificate goes on serving.
          failed_cert_stamp_ = cert;
          failed_key_stamp_ = key;
          log::Warn("http: TLS reload failed, keeping the current certificate: " +
                    context.error().message);
        }
      }
      PollTlsFiles();
    });
  }

  std::shared_ptr<ServerShared> shared_;
  asio::io_context io_;
  asio::strand<asio::io_context::executor_type> control_;  // acceptor and timers
  tcp::acceptor acceptor_;
  asio::steady_timer accept_retry_;
  asio::steady_timer tls_poll_;
  FileStamp cert_stamp_, key_stamp_, failed_cert_stamp_, failed_key_stamp_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::string url_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, Handler handler) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return Fail("TLS needs both a certificate file and a key file (got only the ",
                options.tls_cert_file.empty() ? "key" : "certificate", ")");
  }
  if (options.max_connections == 0) return Fail("max_connections must be at least 1");
  if (!handler) return Fail("no request handler");
  MOAT_ASSIGN_OR_RETURN(auto host_port, ParseListenAddress(options.listen));
  auto server = std::make_unique<ServerImpl>(options, std::move(handler));
  if (!options.tls_cert_file.empty()) MOAT_TRY(server->LoadTls());
  MOAT_TRY(server->Listen(host_port.first, host_port.second));
  server->Run();
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace moat::http
