#pragma once
// Notifications of the security center: alerts pushed to a generic JSON webhook, a
// Slack-compatible incoming webhook, or a syslog receiver (RFC 5424 over UDP, RFC 5426, or TCP
// with octet counting, RFC 6587) for SIEMs. docs/alerts.md shows each format.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/alert.h"
#include "core/result.h"

namespace moat::server::notify {

struct NotifierConfig {
  /// "webhook", "slack" or "syslog".
  std::string kind;
  /// webhook, slack: the http:// or https:// URL to POST to. syslog: "udp://HOST:PORT" or
  /// "tcp://HOST:PORT" (PORT defaults to 514; HOST may be a name, an IPv4 or a [IPv6] address).
  std::string url;
  /// Alerts less severe than this are not sent.
  AlertPriority min_priority = AlertPriority::kDebug;

  /// webhook: one POST per alert whose body is the alert (as Falco's http_output posts, which
  /// Falcosidekick and the like read), or with `batch` one POST of {"alerts": [...]} per Send
  /// (which `moat server`'s alert ingest reads).
  bool batch = false;
  /// webhook, slack: extra request headers (e.g. Authorization).
  std::vector<std::pair<std::string, std::string>> headers;
  /// webhook: trust only these CAs (PEM) for the receiver, e.g. a moat server's private CA.
  std::string ca_pem;
  /// slack: add Block Kit blocks to the message's text.
  bool slack_blocks = true;
  /// syslog: the facility (0-23; 1 = user, as Falco's syslog output; 13 = log audit).
  int syslog_facility = 1;
  /// syslog: HOSTNAME for alerts that do not name their host; empty = this machine's name.
  std::string syslog_hostname;
  long timeout_seconds = 10;

  bool operator==(const NotifierConfig&) const = default;
};

/// A notification target. Send is safe to call from several threads.
class Notifier {
 public:
  virtual ~Notifier() = default;
  /// Delivers the alerts at or above the configured priority (nothing to deliver is success).
  /// A failure names the target (without the secret part of a URL) and how many alerts were not
  /// delivered; the caller decides whether to retry.
  virtual Result<void> Send(const std::vector<Alert>& alerts) = 0;
};

/// Checks the configuration and builds its notifier; nothing is connected until the first Send.
Result<std::unique_ptr<Notifier>> MakeNotifier(const NotifierConfig& config);

/// The URL without what may be a secret, for logs and the API: a Slack webhook's path is its
/// token, and a generic webhook may carry one in its path, query or user info
/// ("https://hooks.slack.com/…"; user info dropped).
std::string RedactUrl(const std::string& url);

/// Falco's priorities are syslog's severities: Emergency 0 ... Debug 7.
int SyslogSeverity(AlertPriority priority);

/// The RFC 5424 message of one alert (without transport framing), e.g.
/// `<10>1 2024-05-01T12:00:01.123456Z node-1 moat 4242 syscall [moat@32473 rule="..." ...] BOM
/// output`. `fallback_hostname` is used when the alert names no host; `procid` is this process.
/// With `max_bytes`, MSG is shortened (at a character boundary) to fit the message in it.
std::string FormatSyslogMessage(const Alert& alert, int facility,
                                const std::string& fallback_hostname, const std::string& procid,
                                size_t max_bytes = 0);

/// The Slack incoming-webhook payload for up to kSlackAlertsPerMessage alerts: {"text": ...} and,
/// with `blocks`, a Block Kit section per alert.
inline constexpr size_t kSlackAlertsPerMessage = 10;
std::string FormatSlackMessage(const std::vector<Alert>& alerts, bool blocks);

}  // namespace moat::server::notify
