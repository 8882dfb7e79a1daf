#include "core/http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

namespace moat {
namespace {

// Without a sink the body is held in memory: only manifests, configs, tokens and API replies
// go that way, so anything this large is a misbehaving server.
constexpr size_t kMaxInMemoryBody = 128u << 20;
// Error bodies are kept only for messages.
constexpr size_t kMaxErrorBody = 64u << 10;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

// State shared with the curl callbacks of one transfer.
struct Transfer {
  HttpResponse response;
  ByteSink* sink = nullptr;
  long current_status = 0;  // of the response whose headers/body are arriving now
  std::optional<Error> sink_error;
  bool body_too_large = false;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  std::string_view line(data, length);
  if (line.size() >= 5 && line.substr(0, 5) == "HTTP/") {
    // A new response starts (after a redirect or a 100 Continue): only the final one counts.
    transfer->response.headers.clear();
    transfer->current_status = 0;
    size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      std::string_view code = line.substr(space + 1, 3);
      long status = 0;
      for (char c : code) {
        if (c < '0' || c > '9') break;
        status = status * 10 + (c - '0');
      }
      transfer->current_status = status;
    }
    return length;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return length;  // blank line ending the headers
  transfer->response.headers.emplace_back(std::string(Trim(line.substr(0, colon))),
                                          std::string(Trim(line.substr(colon + 1))));
  return length;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t length = size * count;
  bool success = transfer->current_status >= 200 && transfer->current_status < 300;
  if (transfer->sink != nullptr && success) {
    auto written = transfer->sink->Write(ByteSpan(reinterpret_cast<const uint8_t*>(data), length));
    if (!written.ok()) {
      transfer->sink_error = written.error();
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    return length;
  }
  std::string& body = transfer->response.body;
  size_t limit = transfer->sink != nullptr || !success ? kMaxErrorBody : kMaxInMemoryBody;
  if (body.size() + length > limit) {
    if (success) {
      transfer->body_too_large = true;
      return 0;
    }
    body.append(data, limit - std::min(limit, body.size()));  // keep the start for the message
    return length;
  }
  body.append(data, length);
  return length;
}

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

Result<HttpResponse> HttpFetch(const HttpRequest& request, ByteSink* body_sink,
                               HttpFailure* failure) {
  HttpFailure ignored;
  HttpFailure& failed = failure != nullptr ? *failure : ignored;
  failed = HttpFailure::kNone;
  const auto started = std::chrono::steady_clock::now();
  // The request's own limit, or the time left before the deadline when that is shorter.
  long long limit_ms = request.timeout_seconds > 0 ? request.timeout_seconds * 1000LL : 0;
  bool deadline_binds = false;
  if (request.deadline != std::chrono::steady_clock::time_point::max()) {
    const long long left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(request.deadline - started).count();
    if (left_ms <= 0) {
      failed = HttpFailure::kDeadline;
      return Fail(request.method, " ", request.url, ": not sent, the time limit has run out");
    }
    if (limit_ms == 0 || left_ms < limit_ms) {
      limit_ms = left_ms;
      deadline_binds = true;
    }
  }
  InitCurlOnce();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return Fail(request.url, ": cannot create a curl handle");
  CURL* handle = curl.get();

  Transfer transfer;
  transfer.sink = body_sink;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  std::unique_ptr<curl_slist, SlistDeleter> header_list;
  for (const auto& [name, value] : request.headers) {
    // "Name;" is curl's way to send a header with an empty value.
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    curl_slist* appended = curl_slist_append(header_list.get(), line.c_str());
    if (appended == nullptr) return Fail(request.url, ": out of memory building headers");
    header_list.release();
    header_list.reset(appended);
  }

  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);  // thread safety: no SIGALRM for timeouts
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "moat/0.1");
  if (header_list) curl_easy_setopt(handle, CURLOPT_HTTPHEADER, header_list.get());
  if (!request.unix_socket.empty()) {
    curl_easy_setopt(handle, CURLOPT_UNIX_SOCKET_PATH, request.unix_socket.c_str());
  }
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, request.connect_timeout_seconds);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(limit_ms));
  if (request.stall_timeout_seconds > 0) {
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, request.stall_timeout_seconds);
  }
  if (request.follow_redirects) {
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
    // Custom Authorization headers must not follow a redirect to another host (blob storage);
    // this is curl's default, stated here because registries rely on it.
    curl_easy_setopt(handle, CURLOPT_UNRESTRICTED_AUTH, 0L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  }
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYPEER, request.verify_tls ? 1L : 0L);
  curl_easy_setopt(handle, CURLOPT_SSL_VERIFYHOST, request.verify_tls ? 2L : 0L);
  // CURL_BLOB_COPY: curl keeps its own copy, so the request may go away before the handle.
  if (!request.ca_pem.empty()) {
    curl_blob ca{const_cast<char*>(request.ca_pem.data()), request.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(handle, CURLOPT_CAINFO_BLOB, &ca);
    // The given CAs replace the system store, as kubectl does with certificate-authority.
    curl_easy_setopt(handle, CURLOPT_CAPATH, nullptr);
  }
  if (!request.client_cert_pem.empty()) {
    curl_blob cert{const_cast<char*>(request.client_cert_pem.data()),
                   request.client_cert_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(handle, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(handle, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!request.client_key_pem.empty()) {
    curl_blob key{const_cast<char*>(request.client_key_pem.data()), request.client_key_pem.size(),
                  CURL_BLOB_COPY};
    curl_easy_setopt(handle, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(handle, CURLOPT_SSLKEYTYPE, "PEM");
  }

  if (request.method == "HEAD") {
    curl_easy_setopt(handle, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
    curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
    curl_easy_setopt(handle, CURLOPT_POSTFIELDS, request.body.data());
  }

  CURLcode code = curl_easy_perform(handle);
  if (transfer.sink_error) return *transfer.sink_error;
  if (transfer.body_too_large) {
    return Fail(request.url, ": response body larger than ", std::to_string(kMaxInMemoryBody),
                " bytes");
  }
  if (code != CURLE_OK) {
    std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
    failed = HttpFailure::kOther;
    if (code == CURLE_OPERATION_TIMEDOUT) {
      // curl does not say which limit struck; the elapsed time does.
      const long long elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now() - started)
                                       .count();
      const bool whole_limit = limit_ms > 0 && elapsed_ms + 200 >= limit_ms;
      failed = whole_limit && deadline_binds ? HttpFailure::kDeadline : HttpFailure::kStalled;
      if (failed == HttpFailure::kDeadline) {
        detail = "no complete reply before the time limit ran out (waited " +
                 std::to_string(elapsed_ms / 1000) + " s)";
      } else if (whole_limit) {
        detail = "no complete reply within " + std::to_string(limit_ms / 1000) + " s";
      } else if (request.stall_timeout_seconds > 0 &&
                 elapsed_ms + 200 >= request.stall_timeout_seconds * 1000LL) {
        detail = "no data for " + std::to_string(request.stall_timeout_seconds) + " s";
      } else {
        detail = "no connection within " + std::to_string(request.connect_timeout_seconds) + " s";
      }
    }
    return Fail(request.method, " ", request.url,
                request.unix_socket.empty() ? "" : " (socket " + request.unix_socket + ")", ": ",
                detail);
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  char* effective_url = nullptr;
  curl_easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &effective_url);
  if (effective_url != nullptr) transfer.response.effective_url = effective_url;
  return std::move(transfer.response);
}

}  // namespace moat
