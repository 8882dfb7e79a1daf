// Notifications delivered to real receivers on 127.0.0.1: an HTTP server capturing the webhook
// and Slack posts, a UDP socket and a TCP listener receiving syslog. Every syslog message is
// checked against RFC 5424's grammar (and the TCP stream against RFC 6587 octet counting) by a
// strict parser written from the RFC's ABNF.
#include "server/notify/notify.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "core/test_http_server.h"

namespace moat::server::notify {
namespace {

using nlohmann::json;
using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

Alert MakeAlert(AlertPriority priority, const std::string& rule) {
  Alert alert;
  alert.time_ns = 1714564801123456789;
  alert.time = FormatRfc3339Nanos(alert.time_ns);
  alert.rule = rule;
  alert.priority = priority;
  alert.source = "syscall";
  alert.hostname = "node-1";
  alert.tags = {"K8S.NODE_ReverseShell", "network"};
  alert.mitre = {{"execution", "T1059.004", "Unix Shell"}};
  alert.output = "Reverse shell from bash to 203.0.113.7:4444 (user=root)";
  alert.output_fields = R"({"fd.sip":"203.0.113.7","fd.sport":4444})";
  alert.container = {"3ad7b26ded6d", "web", "docker.io/library/nginx:1.25", ""};
  alert.k8s.namespace_name = "shop";
  alert.k8s.pod = "web-6d4cf56db6-x2x7k";
  alert.proc.exe = "/usr/bin/bash";
  alert.proc.cmdline = "bash -i";
  return alert;
}

// ---- a strict RFC 5424 parser (section 6, ABNF) -----------------------------------------------

struct SyslogMessage {
  int pri = -1;
  std::string timestamp, hostname, app_name, procid, msgid;
  std::string sd_id;
  std::vector<std::pair<std::string, std::string>> params;  // of the one SD-ELEMENT
  std::string msg;                                          // after the BOM
  bool bom = false;
};

bool PrintUsAscii(char c) { return c >= 33 && c <= 126; }

// A header field: 1*max PRINTUSASCII, then SP.
bool HeaderField(std::string_view text, size_t& at, size_t max, std::string& out, std::string& why,
                 const char* name) {
  const size_t start = at;
  while (at < text.size() && text[at] != ' ') {
    if (!PrintUsAscii(text[at])) return why = std::string(name) + ": not PRINTUSASCII", false;
    ++at;
  }
  out = std::string(text.substr(start, at - start));
  if (out.empty() || out.size() > max) return why = std::string(name) + ": bad length", false;
  if (at >= text.size()) return why = std::string(name) + ": no SP after it", false;
  ++at;
  return true;
}

bool SdName(std::string_view text, size_t& at, std::string& out) {
  const size_t start = at;
  while (at < text.size() && PrintUsAscii(text[at]) && text[at] != '=' && text[at] != ']' &&
         text[at] != '"')
    ++at;
  out = std::string(text.substr(start, at - start));
  return !out.empty() && out.size() <= 32;
}

bool ValidUtf8Text(const std::string& text) {
  try {
    (void)json(text).dump();  // strict: throws on invalid UTF-8
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

std::optional<SyslogMessage> ParseRfc5424(std::string_view text, std::string& why) {
  SyslogMessage m;
  size_t at = 0;
  if (text.empty() || text[0] != '<') return why = "no PRI", std::nullopt;
  const size_t close = text.find('>');
  if (close == std::string_view::npos || close < 2 || close > 4) return why = "PRI", std::nullopt;
  const std::string_view pri = text.substr(1, close - 1);
  if (pri.find_first_not_of("0123456789") != std::string_view::npos ||
      (pri.size() > 1 && pri[0] == '0'))
    return why = "PRIVAL digits", std::nullopt;
  m.pri = std::stoi(std::string(pri));
  if (m.pri > 191) return why = "PRIVAL over 191", std::nullopt;
  at = close + 1;
  if (text.substr(at, 2) != "1 ") return why = "VERSION", std::nullopt;
  at += 2;
  // TIMESTAMP: FULL-DATE "T" FULL-TIME, TIME-SECFRAC of 1 to 6 digits, upper-case T and Z.
  if (!HeaderField(text, at, 64, m.timestamp, why, "TIMESTAMP")) return std::nullopt;
  const std::string& ts = m.timestamp;
  if (ts.size() < 20 || ts[10] != 'T' || ts[4] != '-' || ts[7] != '-' || ts[13] != ':' ||
      ts[16] != ':')
    return why = "TIMESTAMP shape " + ts, std::nullopt;
  size_t frac_end = 19;
  if (ts[19] == '.') {
    frac_end = ts.find_first_not_of("0123456789", 20);
    if (frac_end == std::string::npos || frac_end == 20 || frac_end - 20 > 6)
      return why = "TIME-SECFRAC " + ts, std::nullopt;
  }
  const std::string offset = ts.substr(frac_end);
  if (offset != "Z" && !(offset.size() == 6 && (offset[0] == '+' || offset[0] == '-')))
    return why = "TIME-OFFSET " + ts, std::nullopt;
  if (!ParseRfc3339Nanos(ts)) return why = "TIMESTAMP value " + ts, std::nullopt;
  if (!HeaderField(text, at, 255, m.hostname, why, "HOSTNAME")) return std::nullopt;
  if (!HeaderField(text, at, 48, m.app_name, why, "APP-NAME")) return std::nullopt;
  if (!HeaderField(text, at, 128, m.procid, why, "PROCID")) return std::nullopt;
  if (!HeaderField(text, at, 32, m.msgid, why, "MSGID")) return std::nullopt;
  // STRUCTURED-DATA: exactly one SD-ELEMENT here.
  if (at >= text.size() || text[at] != '[') return why = "no SD-ELEMENT", std::nullopt;
  ++at;
  if (!SdName(text, at, m.sd_id)) return why = "SD-ID", std::nullopt;
  while (at < text.size() && text[at] == ' ') {
    ++at;
    std::string name, value;
    if (!SdName(text, at, name)) return why = "PARAM-NAME", std::nullopt;
    if (text.substr(at, 2) != "=\"") return why = "=\" after " + name, std::nullopt;
    at += 2;
    for (;; ++at) {
      if (at >= text.size()) return why = "unterminated PARAM-VALUE", std::nullopt;
      const char c = text[at];
      if (c == '"') break;
      if (c == ']') return why = "unescaped ] in " + name, std::nullopt;
      if (c == '\\') {
        // Every backslash this producer writes escapes one of the three.
        if (at + 1 >= text.size() ||
            std::string_view("\"\\]").find(text[at + 1]) == std::string_view::npos)
          return why = "lone backslash in " + name, std::nullopt;
        value += text[++at];
        continue;
      }
      value += c;
    }
    ++at;
    if (!ValidUtf8Text(value)) return why = "PARAM-VALUE not UTF-8", std::nullopt;
    m.params.emplace_back(name, value);
  }
  if (at >= text.size() || text[at] != ']') return why = "SD-ELEMENT not closed", std::nullopt;
  ++at;
  if (at == text.size()) return m;
  if (text[at] != ' ') return why = "no SP before MSG", std::nullopt;
  ++at;
  if (text.substr(at, 3) == "\xEF\xBB\xBF") {
    m.bom = true;
    at += 3;
  }
  m.msg = std::string(text.substr(at));
  return m;
}

std::string Param(const SyslogMessage& m, const std::string& name) {
  for (const auto& [key, value] : m.params) {
    if (key == name) return value;
  }
  return "";
}

std::vector<std::string> Params(const SyslogMessage& m, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& [key, value] : m.params) {
    if (key == name) out.push_back(value);
  }
  return out;
}

// ---- receivers --------------------------------------------------------------------------------

// A socket of `type` bound to a free port on 127.0.0.1; `port` gets the port.
int BindLoopback(int type, int& port) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  port = ntohs(address.sin_port);
  return fd;
}

class UdpReceiver {
 public:
  UdpReceiver() { fd_ = BindLoopback(SOCK_DGRAM, port_); }
  ~UdpReceiver() { ::close(fd_); }
  int port() const { return port_; }
  // The next datagram, or nullopt after two seconds without one.
  std::optional<std::string> Receive() {
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 2000) <= 0) return std::nullopt;
    std::string buffer(70000, '\0');
    const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n < 0) return std::nullopt;
    buffer.resize(static_cast<size_t>(n));
    return buffer;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class TcpReceiver {
 public:
  TcpReceiver() {
    listen_fd_ = BindLoopback(SOCK_STREAM, port_);
    EXPECT_EQ(::listen(listen_fd_, 8), 0);
  }
  ~TcpReceiver() {
    CloseConnection();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  int connections() const { return connections_; }

  // Reads `count` octet-counted frames (RFC 6587 3.4.1: MSG-LEN SP SYSLOG-MSG), accepting a
  // connection first if none is open. Fails the test on a malformed frame.
  std::vector<std::string> ReadFrames(size_t count) {
    std::vector<std::string> frames;
    while (frames.size() < count) {
      const size_t space = buffer_.find(' ');
      if (space != std::string::npos) {
        const std::string length_text = buffer_.substr(0, space);
        const bool valid = !length_text.empty() && length_text[0] != '0' &&
                           length_text.size() < 10 &&
                           length_text.find_first_not_of("0123456789") == std::string::npos;
        EXPECT_TRUE(valid) << "MSG-LEN \"" << length_text << "\"";
        if (!valid) return frames;
        const size_t length = std::stoul(length_text);
        if (buffer_.size() >= space + 1 + length) {
          frames.push_back(buffer_.substr(space + 1, length));
          buffer_.erase(0, space + 1 + length);
          continue;
        }
      }
      if (!ReadMore()) break;
    }
    return frames;
  }

  void CloseConnection() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

 private:
  bool ReadMore() {
    if (fd_ < 0) {
      pollfd poll_fd{listen_fd_, POLLIN, 0};
      if (::poll(&poll_fd, 1, 2000) <= 0) return false;
      fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd_ < 0) return false;
      ++connections_;
    }
    pollfd poll_fd{fd_, POLLIN, 0};
    if (::poll(&poll_fd, 1, 2000) <= 0) return false;
    char chunk[8192];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }

  int listen_fd_ = -1;
  int fd_ = -1;
  int port_ = 0;
  int connections_ = 0;
  std::string buffer_;
};

NotifierConfig Config(const std::string& kind, const std::string& url,
                      AlertPriority min_priority = AlertPriority::kDebug) {
  NotifierConfig config;
  config.kind = kind;
  config.url = url;
  config.min_priority = min_priority;
  return config;
}

std::unique_ptr<Notifier> Make(const NotifierConfig& config) {
  auto notifier = MakeNotifier(config);
  EXPECT_TRUE(notifier.ok()) << notifier.error().message;
  return notifier.ok() ? std::move(*notifier) : nullptr;
}

// ---- tests ------------------------------------------------------------------------------------

TEST(SyslogSeverity, FalcoPrioritiesAreSyslogSeverities) {
  // RFC 5424 table 2: 0 Emergency, 1 Alert, 2 Critical, 3 Error, 4 Warning, 5 Notice,
  // 6 Informational, 7 Debug: the same names as Falco's priorities.
  const char* names[] = {"emergency", "alert",  "critical",      "error",
                         "warning",   "notice", "informational", "debug"};
  for (int severity = 0; severity < 8; ++severity)
    EXPECT_EQ(SyslogSeverity(*ParseAlertPriority(names[severity])), severity);
}

TEST(Webhook, OnePostPerAlertAtOrAboveTheThreshold) {
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse{204, {}, ""}; });
  NotifierConfig config;
  config.kind = "webhook";
  config.url = server.BaseUrl() + "/hooks/moat?token=s3cret";
  config.min_priority = AlertPriority::kWarning;
  config.headers = {{"Authorization", "Bearer abc"}};
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  const std::vector<Alert> alerts = {MakeAlert(AlertPriority::kCritical, "Reverse shell"),
                                     MakeAlert(AlertPriority::kNotice, "Below the threshold"),
                                     MakeAlert(AlertPriority::kWarning, "Warning rule")};
  auto sent = notifier->Send(alerts);
  ASSERT_TRUE(sent.ok()) << sent.error().message;
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(requests[i].method, "POST");
    EXPECT_EQ(requests[i].target, "/hooks/moat?token=s3cret");
    EXPECT_EQ(requests[i].Header("Content-Type"), "application/json");
    EXPECT_EQ(requests[i].Header("Authorization"), "Bearer abc");
    // The body is the alert itself, which the alert parser (and Falco's consumers) read.
    auto parsed = ParseAlert(requests[i].body, "post");
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(*parsed, alerts[i == 0 ? 0 : 2]);
  }
  EXPECT_TRUE(notifier->Send({MakeAlert(AlertPriority::kDebug, "quiet")}).ok());
  EXPECT_EQ(server.Requests().size(), 2u);
}

TEST(Webhook, BatchIsOnePostTheIngestReads) {
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse{200, {}, "ok"}; });
  NotifierConfig config = Config("webhook", server.BaseUrl() + "/api/v1/alerts");
  config.batch = true;
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  std::vector<Alert> alerts;
  for (int i = 0; i < 5; ++i)
    alerts.push_back(MakeAlert(AlertPriority::kError, "r" + std::to_string(i)));
  ASSERT_TRUE(notifier->Send(alerts).ok());
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  ASSERT_TRUE(json::parse(requests[0].body).contains("alerts"));
  auto batch = ParseAlertBatch(requests[0].body, "post");
  ASSERT_TRUE(batch.ok()) << batch.error().message;
  ASSERT_EQ(batch->size(), alerts.size());
  for (size_t i = 0; i < alerts.size(); ++i) EXPECT_EQ(*(*batch)[i], alerts[i]);
}

TEST(Webhook, FailuresAreCountedAndHideTheUrlSecret) {
  int calls = 0;
  TestHttpServer server([&](const TestHttpRequest&) {
    return ++calls == 2 ? TestHttpResponse{500, {}, "database\nlocked"}
                        : TestHttpResponse{200, {}, ""};
  });
  NotifierConfig config = Config("webhook", server.BaseUrl() + "/hook/SECRET-TOKEN");
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  auto sent =
      notifier->Send({MakeAlert(AlertPriority::kError, "a"), MakeAlert(AlertPriority::kError, "b"),
                      MakeAlert(AlertPriority::kError, "c")});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().message, "webhook " + server.BaseUrl() +
                                      "/…: 1 of 3 alerts not delivered: HTTP 500: database locked");
  EXPECT_EQ(server.Requests().size(), 3u);  // the one after the failure was still sent

  // Nobody listening: a transport error, without the secret either.
  int free_port;
  {
    TestHttpServer gone([](const TestHttpRequest&) { return TestHttpResponse{}; });
    free_port = gone.port();
  }
  NotifierConfig refused =
      Config("webhook", "http://127.0.0.1:" + std::to_string(free_port) + "/x/SECRET-TOKEN");
  auto refused_notifier = Make(refused);
  ASSERT_TRUE(refused_notifier);
  auto failed = refused_notifier->Send({MakeAlert(AlertPriority::kError, "a")});
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("1 of 1 alerts not delivered"), std::string::npos)
      << failed.error().message;
  EXPECT_EQ(failed.error().message.find("SECRET"), std::string::npos) << failed.error().message;
}

TEST(Slack, TextAndBlocksWithinSlackLimitsAndEscaped) {
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse{200, {}, "ok"}; });
  NotifierConfig config = Config("slack", server.BaseUrl() + "/services/T000/B000/XXXX");
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  std::vector<Alert> alerts;
  for (int i = 0; i < 15; ++i)
    alerts.push_back(MakeAlert(AlertPriority::kCritical, "Rule " + std::to_string(i)));
  alerts[0].rule = "Write below <etc> & friends";
  alerts[0].output = std::string(5000, 'x');    // longer than a section's text may be
  alerts[0].proc.cmdline = "sh -c 'cat \xff'";  // not UTF-8
  ASSERT_TRUE(notifier->Send(alerts).ok());
  const auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 2u);  // 10 alerts per message
  size_t sections = 0;
  for (const auto& request : requests) {
    EXPECT_EQ(request.target, "/services/T000/B000/XXXX");
    ASSERT_TRUE(json::accept(request.body));
    const json payload = json::parse(request.body);
    ASSERT_TRUE(payload["text"].is_string());
    EXPECT_FALSE(payload["text"].get<std::string>().empty());
    ASSERT_TRUE(payload["blocks"].is_array());
    EXPECT_LE(payload["blocks"].size(), 50u);
    for (const json& block : payload["blocks"]) {
      const std::string type = block["type"];
      ASSERT_TRUE(type == "section" || type == "divider") << type;
      if (type != "section") continue;
      ++sections;
      EXPECT_EQ(block["text"]["type"], "mrkdwn");
      EXPECT_LE(block["text"]["text"].get<std::string>().size(), 3000u);
      ASSERT_TRUE(block.contains("fields"));
      EXPECT_LE(block["fields"].size(), 10u);
      for (const json& field : block["fields"]) {
        EXPECT_EQ(field["type"], "mrkdwn");
        EXPECT_LE(field["text"].get<std::string>().size(), 2000u);
      }
    }
  }
  EXPECT_EQ(sections, 15u);
  const json first = json::parse(requests[0].body);
  const std::string text = first["text"];
  EXPECT_TRUE(
      text.starts_with("10 Moat alerts\n*Critical* Write below &lt;etc&gt; &amp; friends: "))
      << text.substr(0, 100);
  const std::string section = first["blocks"][0]["text"]["text"];
  EXPECT_TRUE(section.starts_with("*Critical* · *Write below &lt;etc&gt; &amp; friends*\nxxx"));
  const std::string fields = first["blocks"][0]["fields"].dump();
  EXPECT_NE(fields.find("*Pod*\\nshop/web-6d4cf56db6-x2x7k"), std::string::npos) << fields;
  EXPECT_NE(fields.find("*MITRE ATT&CK*\\nexecution T1059.004 (Unix Shell)"), std::string::npos);
  EXPECT_NE(fields.find("*Alert type*\\nK8S.NODE_ReverseShell"), std::string::npos);
  EXPECT_NE(fields.find("sh -c 'cat \xEF\xBF\xBD'"), std::string::npos);  // U+FFFD

  NotifierConfig plain = config;
  plain.slack_blocks = false;
  auto without_blocks = Make(plain);
  ASSERT_TRUE(without_blocks->Send({alerts[1]}).ok());
  const json one = json::parse(server.Requests().back().body);
  EXPECT_EQ(one, json({{"text", "*Critical* Rule 1: " + alerts[1].output}}));

  // Slack's answer to a revoked hook; its token is not in the error.
  TestHttpServer revoked([](const TestHttpRequest&) {
    return TestHttpResponse{404, {}, "no_team"};
  });
  auto gone = Make(Config("slack", revoked.BaseUrl() + "/services/T000/B000/XXXX"));
  auto failed = gone->Send({alerts[1]});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().message,
            "slack " + revoked.BaseUrl() + "/…: 1 of 1 alerts not delivered: HTTP 404: no_team");
}

void ExpectSyslogOf(const std::string& text, const Alert& alert, int facility) {
  std::string why;
  auto message = ParseRfc5424(text, why);
  ASSERT_TRUE(message) << why << "\n" << text;
  EXPECT_EQ(message->pri, facility * 8 + static_cast<int>(alert.priority));
  EXPECT_EQ(*ParseRfc3339Nanos(message->timestamp), alert.time_ns / 1000 * 1000);
  EXPECT_EQ(message->hostname, alert.hostname.empty() ? "collector" : alert.hostname);
  EXPECT_EQ(message->app_name, "moat");
  EXPECT_EQ(message->procid, std::to_string(::getpid()));
  EXPECT_EQ(message->msgid, alert.source);
  EXPECT_EQ(message->sd_id, "moat@32473");
  EXPECT_EQ(Param(*message, "rule"), alert.rule);
  EXPECT_EQ(Param(*message, "priority"), AlertPriorityName(alert.priority));
  EXPECT_EQ(Param(*message, "time"), alert.time);
  EXPECT_EQ(Param(*message, "container_id"), alert.container.id);
  EXPECT_EQ(Param(*message, "pod"), alert.k8s.pod);
  std::vector<std::string> mitre;
  for (const auto& reference : alert.mitre)
    mitre.push_back(reference.tactic + ":" + reference.technique_id);
  EXPECT_EQ(Params(*message, "mitre"), mitre);
  EXPECT_TRUE(message->bom);
  EXPECT_EQ(message->msg, alert.output);
}

TEST(Syslog, Rfc5424OverUdp) {
  UdpReceiver receiver;
  NotifierConfig config = Config("syslog", "udp://127.0.0.1:" + std::to_string(receiver.port()),
                                 AlertPriority::kNotice);
  config.syslog_facility = 13;  // log audit
  config.syslog_hostname = "collector";
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  Alert tricky =
      MakeAlert(AlertPriority::kEmergency, R"(Rule with "quotes", ]brackets[ and \back\slashes)");
  tricky.mitre.push_back({"command-and-control", "T1071", ""});
  tricky.hostname.clear();  // the configured hostname stands in
  std::vector<Alert> alerts = {MakeAlert(AlertPriority::kCritical, "Reverse shell"), tricky,
                               MakeAlert(AlertPriority::kDebug, "below the threshold"),
                               MakeAlert(AlertPriority::kNotice, "Notice rule")};
  ASSERT_TRUE(notifier->Send(alerts).ok());
  for (const Alert* alert : {&alerts[0], &alerts[1], &alerts[3]}) {
    auto datagram = receiver.Receive();
    ASSERT_TRUE(datagram) << "no datagram for " << alert->rule;
    ExpectSyslogOf(*datagram, *alert, 13);
  }
  EXPECT_FALSE(receiver.Receive());  // the Debug alert was not sent

  // The escaping itself, byte for byte.
  const std::string text = FormatSyslogMessage(tricky, 13, "collector", "42");
  EXPECT_NE(text.find(R"(rule="Rule with \"quotes\", \]brackets[ and \\back\\slashes")"),
            std::string::npos)
      << text;
  EXPECT_TRUE(
      text.starts_with("<104>1 2024-05-01T12:00:01.123456Z collector moat 42 syscall "
                       "[moat@32473 rule="));

  // A long output is cut to fit a 2048-octet datagram, at a character boundary.
  Alert long_output = MakeAlert(AlertPriority::kError, "Long");
  long_output.output = std::string(1999, 'a');
  for (int i = 0; i < 1500; ++i) long_output.output += "\xC3\xA9";  // é
  ASSERT_TRUE(notifier->Send({long_output}).ok());
  auto datagram = receiver.Receive();
  ASSERT_TRUE(datagram);
  EXPECT_LE(datagram->size(), 2048u);
  EXPECT_GE(datagram->size(), 2046u);
  std::string why;
  auto message = ParseRfc5424(*datagram, why);
  ASSERT_TRUE(message) << why;
  EXPECT_TRUE(long_output.output.starts_with(message->msg));
  EXPECT_TRUE(ValidUtf8Text(message->msg));  // whole characters only
}

TEST(Syslog, OctetCountingOverTcpAndReconnect) {
  TcpReceiver receiver;
  NotifierConfig config = Config("syslog", "tcp://127.0.0.1:" + std::to_string(receiver.port()));
  auto notifier = Make(config);
  ASSERT_TRUE(notifier);
  Alert multiline = MakeAlert(AlertPriority::kWarning, "Multi-line output");
  multiline.output = "line one\nline two\r\n\ttabbed";
  const std::vector<Alert> alerts = {MakeAlert(AlertPriority::kCritical, "Reverse shell"),
                                     multiline, MakeAlert(AlertPriority::kInformational, "Info")};
  ASSERT_TRUE(notifier->Send(alerts).ok());
  std::vector<std::string> frames = receiver.ReadFrames(3);
  ASSERT_EQ(frames.size(), 3u);
  ExpectSyslogOf(frames[0], alerts[0], 1);
  ExpectSyslogOf(frames[2], alerts[2], 1);
  std::string why;
  auto message = ParseRfc5424(frames[1], why);
  ASSERT_TRUE(message) << why;
  EXPECT_EQ(message->msg, "line one line two   tabbed");  // no record split by a newline

  // The connection stays open between sends.
  ASSERT_TRUE(notifier->Send({alerts[0]}).ok());
  ASSERT_EQ(receiver.ReadFrames(1).size(), 1u);
  EXPECT_EQ(receiver.connections(), 1);

  // The receiver closes the connection (a restart): the next send opens a new one.
  receiver.CloseConnection();
  ::usleep(50 * 1000);
  ASSERT_TRUE(notifier->Send({alerts[1], alerts[2]}).ok());
  frames = receiver.ReadFrames(2);
  ASSERT_EQ(frames.size(), 2u);
  ExpectSyslogOf(frames[1], alerts[2], 1);
  EXPECT_EQ(receiver.connections(), 2);
}

TEST(Syslog, UnreachableReceiverIsAnError) {
  int port;
  {
    TcpReceiver gone;
    port = gone.port();
  }
  auto notifier = Make(Config("syslog", "tcp://127.0.0.1:" + std::to_string(port)));
  ASSERT_TRUE(notifier);
  auto sent = notifier->Send(
      {MakeAlert(AlertPriority::kError, "a"), MakeAlert(AlertPriority::kError, "b")});
  ASSERT_FALSE(sent.ok());
  EXPECT_EQ(sent.error().message,
            "syslog tcp://127.0.0.1:" + std::to_string(port) +
                ": 2 of 2 alerts not delivered: cannot connect: Connection refused");
}

TEST(MakeNotifier, RejectsBadConfigurations) {
  const std::vector<std::pair<NotifierConfig, std::string>> cases = {
      {Config("email", "x"),
       "notifier: unknown kind \"email\" (expected webhook, slack or syslog)"},
      {Config("webhook", "ftp://x/y"),
       "webhook notifier: URL \"ftp://x/…\" is not an http:// or https:// URL"},
      {Config("slack", "hooks.slack.com/services/T/B/X"),
       "slack notifier: URL \"(invalid URL)\" is not an http:// or https:// URL"},
      {Config("syslog", "127.0.0.1:514"),
       "syslog address \"127.0.0.1:514\": expected udp://HOST:PORT or tcp://HOST:PORT"},
      {Config("syslog", "udp://:514"), "syslog address \"udp://:514\": no host"},
      {Config("syslog", "udp://host:99999"), "syslog address \"udp://host:99999\": bad port"},
      {Config("syslog", "tcp://host:"), "syslog address \"tcp://host:\": bad port"},
      {Config("syslog", "tcp://[::1"), "syslog address \"tcp://[::1\": unclosed ["},
  };
  for (const auto& [config, error] : cases) {
    auto notifier = MakeNotifier(config);
    ASSERT_FALSE(notifier.ok()) << config.url;
    EXPECT_EQ(notifier.error().message, error);
  }
  NotifierConfig facility = Config("syslog", "udp://127.0.0.1");
  facility.syslog_facility = 24;
  EXPECT_EQ(MakeNotifier(facility).error().message, "syslog notifier: facility 24 is not 0-23");
  EXPECT_TRUE(MakeNotifier(Config("syslog", "udp://[::1]")).ok());
  EXPECT_TRUE(MakeNotifier(Config("syslog", "tcp://localhost:6514")).ok());
}

}  // namespace
}  // namespace moat::server::notify
