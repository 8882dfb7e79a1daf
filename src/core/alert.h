#pragma once
// The one Alert shape (../shared/DESIGN.md "Data flow"): whatever raised it (the eBPF sensor, the
// Kubernetes audit-log detector, an admission denial, Falco itself), an alert is a time, a rule, a
// priority, tags (the seed alert type among them), MITRE ATT&CK references, an output text and
// the resources it concerns. The server stores, deduplicates, correlates and notifies on exactly
// this shape; docs/alerts.md describes its JSON.
//
// Falco compatibility: a JSON alert as Falco prints it (json_output: true) parses as is. Its
// output_fields fill the resources that the alert does not give explicitly, and its tags fill the
// MITRE references (mitre_<tactic> and T<number> tags) when it has no `mitre` array.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat {

/// Falco's priorities, which are syslog's severities (RFC 5424 section 6.2.1): the numeric value
/// is the syslog severity, and a smaller value is more severe.
enum class AlertPriority : uint8_t {
  kEmergency = 0,
  kAlert = 1,
  kCritical = 2,
  kError = 3,
  kWarning = 4,
  kNotice = 5,
  kInformational = 6,
  kDebug = 7,
};

/// Case-insensitive: "emergency", "alert", "critical", "error", "warning", "notice",
/// "informational" or "info", "debug" (Falco's names). Anything else is nullopt.
std::optional<AlertPriority> ParseAlertPriority(std::string_view text);
/// Falco's output spelling: "Emergency", ..., "Informational", "Debug".
std::string_view AlertPriorityName(AlertPriority priority);
/// Whether `priority` is `threshold` or more severe (Warning is at least Notice).
inline bool AtLeast(AlertPriority priority, AlertPriority threshold) {
  return static_cast<uint8_t>(priority) <= static_cast<uint8_t>(threshold);
}

/// Alert sources with a meaning in Moat; any other string is kept as given.
inline constexpr std::string_view kAlertSourceSyscall = "syscall";      // the eBPF sensor, Falco
inline constexpr std::string_view kAlertSourceK8sAudit = "k8s_audit";   // the audit-log detector
inline constexpr std::string_view kAlertSourceAdmission = "admission";  // an admission denial

/// One MITRE ATT&CK reference. The tactic is ATT&CK's short name ("execution",
/// "privilege-escalation"); the spellings of the seed ("PrivilegeEscalation"), of Falco's tags
/// ("mitre_privilege_escalation") and ATT&CK's display names are read as the same tactic.
struct MitreReference {
  std::string tactic;
  std::string technique_id;  // "T1059.004"
  std::string technique;     // "Unix Shell"
  bool operator==(const MitreReference&) const = default;
};

struct AlertContainer {
  std::string id;  // the runtime's id, 64 hex or the 12-character short form as given
  std::string name;
  std::string image;         // the reference it runs: "registry/repo:tag" or "repo@sha256:..."
  std::string image_digest;  // "sha256:..."
  bool empty() const { return id.empty() && name.empty() && image.empty() && image_digest.empty(); }
  bool operator==(const AlertContainer&) const = default;
};

struct AlertK8s {
  std::string cluster;
  std::string namespace_name;  // JSON "namespace"
  std::string pod;
  std::string node;
  std::string workload_kind;  // "Deployment", "DaemonSet", ...
  std::string workload_name;
  std::string user;  // the requesting user of an audit event or admission request
  bool empty() const {
    return cluster.empty() && namespace_name.empty() && pod.empty() && node.empty() &&
           workload_kind.empty() && workload_name.empty() && user.empty();
  }
  bool operator==(const AlertK8s&) const = default;
};

/// A process above the alert's process, parent first.
struct AlertProcessAncestor {
  int64_t pid = 0;
  std::string name;
  std::string cmdline;
  bool operator==(const AlertProcessAncestor&) const = default;
};

struct AlertProcess {
  int64_t pid = 0;  // 0 = unknown
  int64_t ppid = 0;
  std::string name;
  std::string exe;
  std::string cmdline;
  std::string user;
  std::vector<AlertProcessAncestor> ancestors;  // parent first
  bool empty() const {
    return pid == 0 && ppid == 0 && name.empty() && exe.empty() && cmdline.empty() &&
           user.empty() && ancestors.empty();
  }
  bool operator==(const AlertProcess&) const = default;
};

struct AlertImage {
  std::string repository;  // "registry/namespace/repo"
  std::string tag;
  std::string digest;  // "sha256:..."
  bool empty() const { return repository.empty() && tag.empty() && digest.empty(); }
  bool operator==(const AlertImage&) const = default;
};

struct Alert {
  /// RFC 3339 in UTC with nanoseconds ("2024-05-01T12:00:00.123456789Z"), whatever offset and
  /// precision the input had; time_ns is the same instant in nanoseconds since the Unix epoch.
  std::string time;
  int64_t time_ns = 0;
  std::string rule;
  AlertPriority priority = AlertPriority::kWarning;
  std::string source;  // kAlertSource* or another source's name; may be empty
  std::string hostname;
  std::vector<std::string> tags;
  std::vector<MitreReference> mitre;
  std::string output;
  /// The event fields of the output as one JSON object text, compact ("{}" when there are none).
  /// Kept as text so that Falco's fields, which are many and source-specific, pass through.
  std::string output_fields = "{}";
  AlertContainer container;
  AlertK8s k8s;
  AlertProcess proc;
  AlertImage image;

  bool operator==(const Alert&) const = default;
};

/// Limits on untrusted alerts: an alert's JSON text, one batch's text, and the lengths of its
/// strings and lists (the error names the field).
inline constexpr size_t kMaxAlertBytes = 64 * 1024;
inline constexpr size_t kMaxAlertBatchBytes = 64 * 1024 * 1024;
inline constexpr size_t kMaxAlertTextBytes = 16 * 1024;  // output, cmdline
inline constexpr size_t kMaxAlertNameBytes = 1024;       // rule, tag, ids, names
inline constexpr size_t kMaxAlertListItems = 128;        // tags, mitre, ancestors
inline constexpr size_t kMaxAlertJsonDepth = 32;

/// Parses one alert (a JSON object). Required: time (RFC 3339 string), rule, priority, output.
/// Errors name the input and the JSON path: "events.json: mitre[0].technique: expected a string".
Result<Alert> ParseAlert(std::string_view json_text, std::string_view input_name);

/// Parses a batch: a JSON array of alerts, an object {"alerts": [...]}, a single alert object, or
/// JSON lines (one alert object per line). The batch itself fails only when it cannot be split
/// into items (not JSON, too large or too deep); each item then succeeds or fails alone, its
/// error naming its place: "post: alerts[3].mitre[0].technique: expected a string" or
/// "agent.jsonl: line 4: ...".
Result<std::vector<Result<Alert>>> ParseAlertBatch(std::string_view text,
                                                   std::string_view input_name);

/// The canonical JSON of an alert, compact, in the order of docs/alerts.md: time, rule, priority,
/// source, hostname, tags, mitre, output, output_fields, then the resources that are not empty
/// (and inside them only the members that are set). ParseAlert(AlertToJson(a)) == a.
std::string AlertToJson(const Alert& alert);
/// A JSON array of the alerts' canonical JSON.
std::string AlertsToJson(const std::vector<Alert>& alerts);

/// MITRE references from Falco-style tags: mitre_<tactic> and technique ids (T1059, T1059.004);
/// with one tactic every technique goes with it. What ParseAlert uses when `mitre` is absent.
std::vector<MitreReference> MitreReferencesFromTags(const std::vector<std::string>& tags);

/// The tag that names the seed's alert type ("K8S.NODE_ReverseShell", "K8S_ExposedDashboard",
/// "VM_MinerInContainerImage"): the first tag starting with K8S.NODE_, K8S_ or VM_; "" if none.
std::string_view SeedAlertType(const Alert& alert);

/// The key under which the server counts repeats of one alert (see docs/alerts.md "Dedupe"):
/// "sha256:<hex>" over the rule, where it happened (container id, else namespace/pod, else the
/// node or hostname), the process (exe and cmdline) and the output fields that tell one finding
/// from another (file, remote address, audit target), but not the time, pids or the output text,
/// which differ between repeats of the same thing.
std::string AlertDedupeKey(const Alert& alert);

/// What ties alerts into an incident: "container:<id>", else "pod:<namespace>/<pod>", else
/// "host:<node or hostname>:<proc exe or name>" for alerts of a host process; "" when the alert
/// concerns none of these (it is then an incident of its own).
std::string AlertIncidentKey(const Alert& alert);

struct Incident {
  std::string key;  // AlertIncidentKey of its alerts ("" for an alert of its own)
  int64_t first_time_ns = 0;
  int64_t last_time_ns = 0;
  std::vector<size_t> alerts;  // indices into the input, in time order
};

struct IncidentCorrelation {
  std::vector<size_t> incident_of;  // for each input alert, its index into `incidents`
  std::vector<Incident> incidents;  // in order of their first alert
};

inline constexpr std::chrono::nanoseconds kDefaultIncidentWindow = std::chrono::minutes(30);

/// Groups alerts into incidents: alerts with the same incident key belong to one incident while
/// each comes within `window` of the incident's latest alert (the window slides); a longer gap
/// opens a new incident. Alerts are taken in time order (stable for equal times) whatever the
/// input order.
IncidentCorrelation CorrelateIncidents(const std::vector<Alert>& alerts,
                                       std::chrono::nanoseconds window = kDefaultIncidentWindow);

/// RFC 3339 date-time ("2024-05-01T14:00:00.5+02:00", lower-case t/z accepted, any number of
/// fraction digits, at most 9 significant) to nanoseconds since the epoch; nullopt when it is not
/// one or is out of int64 nanoseconds range (years 1678-2261).
std::optional<int64_t> ParseRfc3339Nanos(std::string_view text);
/// Nanoseconds since the epoch as RFC 3339 in UTC with `fraction_digits` (0-9) fraction digits:
/// 9 for alerts, 6 for syslog (RFC 5424 allows at most 6).
std::string FormatRfc3339Nanos(int64_t time_ns, int fraction_digits = 9);

}  // namespace moat
