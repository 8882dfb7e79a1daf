#include "server/notify/notify.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/http.h"

namespace moat::server::notify {
namespace {

using Json = nlohmann::json;

// ---- text -------------------------------------------------------------------------------------

// `text` as valid UTF-8: invalid sequences become U+FFFD (alerts built in code may carry raw
// bytes of a command line).
std::string ValidUtf8(std::string_view text) {
  const std::string quoted =
      Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
  return Json::parse(quoted).get<std::string>();
}

// At most `max_bytes` bytes of valid UTF-8 `text`, cut before a character, not inside one.
std::string TruncateUtf8(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  text.resize(end);
  return text;
}

// Control characters become spaces: receivers that split on newlines must not see one alert as
// several records (or records an attacker wrote into a command line).
std::string WithoutControls(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return text;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

std::vector<Alert> AtLeastPriority(const std::vector<Alert>& alerts, AlertPriority threshold) {
  std::vector<Alert> out;
  for (const Alert& alert : alerts) {
    if (AtLeast(alert.priority, threshold)) out.push_back(alert);
  }
  return out;
}

Error NotDelivered(const std::string& target, size_t failed, size_t total, const Error& first) {
  return Fail(target, ": ", std::to_string(failed), " of ", std::to_string(total),
              " alerts not delivered: ", first.message);
}

// ---- HTTP -------------------------------------------------------------------------------------

class HttpNotifier : public Notifier {
 public:
  explicit HttpNotifier(NotifierConfig config)
      : config_(std::move(config)), target_(config_.kind + " " + RedactUrl(config_.url)) {}

 protected:
  // POSTs one JSON document; errors never show the URL's secret part.
  Result<void> Post(const std::string& body) const {
    HttpRequest request;
    request.method = "POST";
    request.url = config_.url;
    request.headers = {{"Content-Type", "application/json"}, {"User-Agent", "moat"}};
    for (const auto& header : config_.headers) request.headers.push_back(header);
    request.ca_pem = config_.ca_pem;
    request.body = body;
    request.connect_timeout_seconds = config_.timeout_seconds;
    request.timeout_seconds = config_.timeout_seconds;
    request.follow_redirects = false;  // a redirect would resend the alerts somewhere else
    auto response = HttpFetch(request);
    if (!response.ok())
      return Error{ReplaceAll(response.error().message, config_.url, RedactUrl(config_.url))};
    if (response->status < 200 || response->status > 299) {
      std::string detail = WithoutControls(ValidUtf8(TruncateUtf8(response->body, 200)));
      return Fail("HTTP ", std::to_string(response->status), detail.empty() ? "" : ": ", detail);
    }
    return Ok();
  }

  // Posts each body; every one is tried, and the failures are counted.
  Result<void> PostAll(const std::vector<std::string>& bodies, const std::vector<size_t>& counts,
                       size_t total) const {
    size_t failed = 0;
    std::optional<Error> first;
    for (size_t i = 0; i < bodies.size(); ++i) {
      auto posted = Post(bodies[i]);
      if (posted.ok()) continue;
      failed += counts[i];
      if (!first) first = posted.error();
    }
    if (first) return NotDelivered(target_, failed, total, *first);
    return Ok();
  }

  NotifierConfig config_;
  std::string target_;
};

class WebhookNotifier : public HttpNotifier {
 public:
  using HttpNotifier::HttpNotifier;

  Result<void> Send(const std::vector<Alert>& alerts) override {
    const std::vector<Alert> selected = AtLeastPriority(alerts, config_.min_priority);
    if (selected.empty()) return Ok();
    std::vector<std::string> bodies;
    std::vector<size_t> counts;
    if (config_.batch) {
      bodies.push_back("{\"alerts\":" + AlertsToJson(selected) + "}");
      counts.push_back(selected.size());
    } else {
      for (const Alert& alert : selected) {
        bodies.push_back(AlertToJson(alert));
        counts.push_back(1);
      }
    }
    return PostAll(bodies, counts, selected.size());
  }
};

class SlackNotifier : public HttpNotifier {
 public:
  using HttpNotifier::HttpNotifier;

  Result<void> Send(const std::vector<Alert>& alerts) override {
    const std::vector<Alert> selected = AtLeastPriority(alerts, config_.min_priority);
    std::vector<std::string> bodies;
    std::vector<size_t> counts;
    for (size_t start = 0; start < selected.size(); start += kSlackAlertsPerMessage) {
      const size_t end = std::min(selected.size(), start + kSlackAlertsPerMessage);
      bodies.push_back(FormatSlackMessage(
          std::vector<Alert>(selected.begin() + static_cast<std::ptrdiff_t>(start),
                             selected.begin() + static_cast<std::ptrdiff_t>(end)),
          config_.slack_blocks));
      counts.push_back(end - start);
    }
    return PostAll(bodies, counts, selected.size());
  }
};

// ---- Slack ------------------------------------------------------------------------------------

// Slack's mrkdwn treats &, < and > as control characters (links, mentions).
std::string SlackEscape(std::string_view text, size_t max_bytes) {
  std::string out;
  for (char c : TruncateUtf8(ValidUtf8(text), max_bytes)) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string MitreSummary(const Alert& alert) {
  std::string out;
  for (const MitreReference& reference : alert.mitre) {
    if (!out.empty()) out += ", ";
    out += reference.tactic;
    if (!reference.tactic.empty() && !reference.technique_id.empty()) out += " ";
    out += reference.technique_id;
    if (!reference.technique.empty()) out += " (" + reference.technique + ")";
  }
  return out;
}

Json SlackSection(const Alert& alert) {
  // Slack's limits: a section's text 3000 characters, at most 10 fields of 2000 each.
  Json fields = Json::array();
  auto field = [&](std::string_view title, const std::string& value) {
    if (value.empty() || fields.size() == 10) return;
    fields.push_back({{"type", "mrkdwn"},
                      {"text", "*" + std::string(title) + "*\n" + SlackEscape(value, 1900)}});
  };
  field("Time", alert.time);
  field("Source", alert.source);
  field("Host", alert.k8s.node.empty() ? alert.hostname : alert.k8s.node);
  std::string container = alert.container.name;
  if (!alert.container.id.empty())
    container += container.empty() ? alert.container.id : " (" + alert.container.id + ")";
  field("Container", container);
  if (!alert.k8s.pod.empty()) field("Pod", alert.k8s.namespace_name + "/" + alert.k8s.pod);
  field("Image", alert.container.image.empty() ? alert.image.repository : alert.container.image);
  field("Process", alert.proc.cmdline.empty() ? alert.proc.exe : alert.proc.cmdline);
  field("MITRE ATT&CK", MitreSummary(alert));
  field("Alert type", std::string(SeedAlertType(alert)));
  field("User", alert.k8s.user.empty() ? alert.proc.user : alert.k8s.user);
  Json section = {
      {"type", "section"},
      {"text",
       {{"type", "mrkdwn"},
        {"text", "*" + std::string(AlertPriorityName(alert.priority)) + "* · *" +
                     SlackEscape(alert.rule, 500) + "*\n" + SlackEscape(alert.output, 2400)}}}};
  if (!fields.empty()) section["fields"] = std::move(fields);
  return section;
}

// ---- syslog -----------------------------------------------------------------------------------

// RFC 5424's header fields are PRINTUSASCII (33-126) of a bounded length; "-" is the nil value.
std::string SyslogHeaderField(std::string_view text, size_t max_length) {
  std::string out;
  for (char c : text) {
    if (out.size() == max_length) break;
    out += c > 32 && c < 127 ? c : '_';
  }
  return out.empty() ? "-" : out;
}

// An SD-PARAM value: UTF-8 with '"', '\' and ']' escaped by a backslash (RFC 5424 6.3.3).
std::string SyslogParamValue(std::string_view text) {
  std::string out;
  for (char c : TruncateUtf8(WithoutControls(ValidUtf8(text)), 512)) {
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

std::string LocalHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

struct SyslogAddress {
  bool tcp = false;
  std::string host;
  std::string port = "514";
};

Result<SyslogAddress> ParseSyslogAddress(const std::string& url) {
  SyslogAddress address;
  std::string_view rest(url);
  if (rest.starts_with("udp://")) {
    rest.remove_prefix(6);
  } else if (rest.starts_with("tcp://")) {
    address.tcp = true;
    rest.remove_prefix(6);
  } else {
    return Fail("syslog address \"", url, "\": expected udp://HOST:PORT or tcp://HOST:PORT");
  }
  std::string_view port;
  if (rest.starts_with("[")) {
    const size_t close = rest.find(']');
    if (close == std::string_view::npos) return Fail("syslog address \"", url, "\": unclosed [");
    address.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.starts_with(":"))
      port = rest.substr(1);
    else if (!rest.empty())
      return Fail("syslog address \"", url, "\": junk after ]");
  } else {
    const size_t colon = rest.rfind(':');
    address.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port = rest.substr(colon + 1);
  }
  if (address.host.empty()) return Fail("syslog address \"", url, "\": no host");
  if (!port.empty() || url.back() == ':') {
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || (value = value * 10 + (c - '0')) > 65535)
        return Fail("syslog address \"", url, "\": bad port");
    }
    if (port.empty() || value == 0) return Fail("syslog address \"", url, "\": bad port");
    address.port = std::string(port);
  }
  return address;
}

// RFC 5426: receivers must take 480 octets and should take 2048; longer datagrams may be cut
// or dropped on the way, so the MSG part is shortened to fit.
constexpr size_t kMaxUdpMessageBytes = 2048;

class SyslogNotifier : public Notifier {
 public:
  SyslogNotifier(NotifierConfig config, SyslogAddress address)
      : config_(std::move(config)),
        address_(std::move(address)),
        target_("syslog " + config_.url),
        hostname_(config_.syslog_hostname.empty() ? LocalHostname() : config_.syslog_hostname),
        procid_(std::to_string(::getpid())) {}

  ~SyslogNotifier() override { Close(); }

  Result<void> Send(const std::vector<Alert>& alerts) override {
    const std::vector<Alert> selected = AtLeastPriority(alerts, config_.min_priority);
    if (selected.empty()) return Ok();
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<std::string> frames;
    for (const Alert& alert : selected) {
      std::string message = FormatSyslogMessage(alert, config_.syslog_facility, hostname_, procid_,
                                                address_.tcp ? 0 : kMaxUdpMessageBytes);
      // RFC 6587 3.4.1 octet counting: MSG-LEN SP SYSLOG-MSG.
      frames.push_back(address_.tcp ? std::to_string(message.size()) + " " + message : message);
    }
    size_t sent = 0;
    Error error;
    // A TCP connection the receiver closed is found out at the next send; one new connection
    // is tried before giving up.
    for (int attempt = 0; attempt < 2 && sent < frames.size(); ++attempt) {
      if (attempt > 0) Close();
      auto connected = Connect();
      if (!connected.ok()) {
        error = connected.error();
        continue;
      }
      for (; sent < frames.size(); ++sent) {
        auto written = Write(frames[sent]);
        if (!written.ok()) {
          error = written.error();
          break;
        }
      }
    }
    if (sent < frames.size())
      return NotDelivered(target_, frames.size() - sent, frames.size(), error);
    return Ok();
  }

 private:
  Result<void> Connect() {
    if (fd_ >= 0 && address_.tcp && PeerClosed()) Close();
    if (fd_ >= 0) return Ok();
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = address_.tcp ? SOCK_STREAM : SOCK_DGRAM;
    addrinfo* found = nullptr;
    const int status = ::getaddrinfo(address_.host.c_str(), address_.port.c_str(), &hints, &found);
    if (status != 0) return Fail("cannot resolve ", address_.host, ": ", ::gai_strerror(status));
    std::string last_error = "no address";
    for (addrinfo* entry = found; entry; entry = entry->ai_next) {
      const int fd = ::socket(entry->ai_family, entry->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                              entry->ai_protocol);
      if (fd < 0) continue;
      if (ConnectWithTimeout(fd, entry->ai_addr, entry->ai_addrlen, last_error)) {
        fd_ = fd;
        break;
      }
      ::close(fd);
    }
    ::freeaddrinfo(found);
    if (fd_ < 0) return Fail("cannot connect: ", last_error);
    return Ok();
  }

  bool ConnectWithTimeout(int fd, const sockaddr* address, socklen_t length,
                          std::string& error) const {
    if (::connect(fd, address, length) != 0) {
      if (errno != EINPROGRESS) {
        error = std::strerror(errno);
        return false;
      }
      pollfd poll_fd{fd, POLLOUT, 0};
      if (::poll(&poll_fd, 1, static_cast<int>(config_.timeout_seconds * 1000)) <= 0) {
        error = "timed out after " + std::to_string(config_.timeout_seconds) + " s";
        return false;
      }
      int socket_error = 0;
      socklen_t size = sizeof socket_error;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &socket_error, &size);
      if (socket_error != 0) {
        error = std::strerror(socket_error);
        return false;
      }
    }
    return true;
  }

  // Whether the receiver has closed (or reset) the TCP connection: readable with nothing to
  // read. Receivers never send on a syslog connection, so anything readable means the end.
  bool PeerClosed() const {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 0) <= 0) return false;
    char byte;
    const ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  Result<void> Write(const std::string& frame) {
    size_t written = 0;
    while (written < frame.size()) {
      const ssize_t n = ::send(fd_, frame.data() + written, frame.size() - written, MSG_NOSIGNAL);
      if (n > 0) {
        written += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd poll_fd{fd_, POLLOUT, 0};
        if (::poll(&poll_fd, 1, static_cast<int>(config_.timeout_seconds * 1000)) > 0) continue;
        return Fail("send timed out after ", std::to_string(config_.timeout_seconds), " s");
      }
      if (n < 0 && errno == EINTR) continue;
      return Fail("send: ", n < 0 ? std::strerror(errno) : "connection closed");
    }
    return Ok();
  }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  NotifierConfig config_;
  SyslogAddress address_;
  std::string target_;
  std::string hostname_;
  std::string procid_;
  std::mutex mutex_;
  int fd_ = -1;
};

bool IsHttpUrl(const std::string& url) {
  return (url.starts_with("http://") && url.size() > 7) ||
         (url.starts_with("https://") && url.size() > 8);
}

}  // namespace

std::string RedactUrl(const std::string& url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return "(invalid URL)";
  size_t host_start = scheme + 3;
  size_t host_end = url.find_first_of("/?#", host_start);
  if (host_end == std::string::npos) host_end = url.size();
  const size_t at = url.rfind('@', host_end);
  if (at != std::string::npos && at >= host_start) host_start = at + 1;
  std::string out = url.substr(0, scheme + 3) + url.substr(host_start, host_end - host_start);
  if (host_end < url.size()) out += "/…";
  return out;
}

int SyslogSeverity(AlertPriority priority) { return static_cast<int>(priority); }

std::string FormatSyslogMessage(const Alert& alert, int facility,
                                const std::string& fallback_hostname, const std::string& procid,
                                size_t max_bytes) {
  const std::string& host = alert.hostname.empty() ? fallback_hostname : alert.hostname;
  std::string out = "<" + std::to_string(facility * 8 + SyslogSeverity(alert.priority)) + ">1 " +
                    FormatRfc3339Nanos(alert.time_ns, 6) + " " + SyslogHeaderField(host, 255) +
                    " moat " + SyslogHeaderField(procid, 128) + " " +
                    SyslogHeaderField(alert.source.empty() ? "alert" : alert.source, 32) + " ";
  // One SD-ELEMENT under the documentation enterprise number (RFC 5612); empty values left out.
  out += "[moat@32473";
  auto param = [&](const char* name, std::string_view value) {
    if (value.empty()) return;
    out += ' ';
    out += name;
    out += "=\"";
    out += SyslogParamValue(value);
    out += '"';
  };
  param("rule", alert.rule);
  param("priority", AlertPriorityName(alert.priority));
  param("time", alert.time);
  param("alert_type", SeedAlertType(alert));
  for (const MitreReference& reference : alert.mitre) {
    std::string value = reference.tactic;
    if (!reference.technique_id.empty()) value += ":" + reference.technique_id;
    param("mitre", value);
  }
  param("container_id", alert.container.id);
  param("container_name", alert.container.name);
  param("image", alert.container.image.empty() ? alert.image.repository : alert.container.image);
  param("image_digest",
        alert.container.image_digest.empty() ? alert.image.digest : alert.container.image_digest);
  param("cluster", alert.k8s.cluster);
  param("namespace", alert.k8s.namespace_name);
  param("pod", alert.k8s.pod);
  param("node", alert.k8s.node);
  if (!alert.k8s.workload_name.empty())
    param("workload", alert.k8s.workload_kind + "/" + alert.k8s.workload_name);
  param("user", alert.k8s.user.empty() ? alert.proc.user : alert.k8s.user);
  param("exe", alert.proc.exe);
  param("cmdline", alert.proc.cmdline);
  out += "] ";
  // MSG in UTF-8 starts with a BOM (RFC 5424 6.4).
  out += "\xEF\xBB\xBF";
  std::string message =
      WithoutControls(ValidUtf8(alert.output.empty() ? alert.rule : alert.output));
  if (max_bytes > 0)
    message = TruncateUtf8(std::move(message), max_bytes > out.size() ? max_bytes - out.size() : 0);
  return out + message;
}

std::string FormatSlackMessage(const std::vector<Alert>& alerts, bool blocks) {
  std::string text;
  if (alerts.size() > 1) text = std::to_string(alerts.size()) + " Moat alerts\n";
  for (const Alert& alert : alerts) {
    text += "*" + std::string(AlertPriorityName(alert.priority)) + "* " +
            SlackEscape(alert.rule, 500) + ": " + SlackEscape(alert.output, 1000) + "\n";
  }
  if (!text.empty()) text.pop_back();
  Json payload = {{"text", text}};
  if (blocks) {
    Json list = Json::array();
    for (const Alert& alert : alerts) {
      if (!list.empty()) list.push_back({{"type", "divider"}});
      list.push_back(SlackSection(alert));
    }
    payload["blocks"] = std::move(list);
  }
  return payload.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::unique_ptr<Notifier>> MakeNotifier(const NotifierConfig& config) {
  if (config.timeout_seconds <= 0) return Fail("notifier: timeout must be positive");
  if (config.kind == "webhook" || config.kind == "slack") {
    if (!IsHttpUrl(config.url))
      return Fail(config.kind, " notifier: URL \"", RedactUrl(config.url),
                  "\" is not an http:// or https:// URL");
    if (config.kind == "webhook") return std::unique_ptr<Notifier>(new WebhookNotifier(config));
    return std::unique_ptr<Notifier>(new SlackNotifier(config));
  }
  if (config.kind == "syslog") {
    if (config.syslog_facility < 0 || config.syslog_facility > 23)
      return Fail("syslog notifier: facility ", std::to_string(config.syslog_facility),
                  " is not 0-23");
    MOAT_ASSIGN_OR_RETURN(SyslogAddress address, ParseSyslogAddress(config.url));
    return std::unique_ptr<Notifier>(new SyslogNotifier(config, std::move(address)));
  }
  return Fail("notifier: unknown kind \"", config.kind, "\" (expected webhook, slack or syslog)");
}

}  // namespace moat::server::notify
