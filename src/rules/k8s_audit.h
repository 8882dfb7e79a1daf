#pragma once
// The "k8s_audit" event source of the rules engine (engine.h): Kubernetes audit events
// (audit.k8s.io/v1 and v1beta1 Event, and EventList batches as the webhook backend posts them)
// decoded into a compact event, with the ka.* and jevt.* fields of Falco's k8saudit plugin
// (docs/rules.md lists them). Used by `moat audit-log` (scan, watch, serve).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "rules/engine.h"
#include "rules/json_doc.h"

namespace moat::rules {

inline constexpr std::string_view kK8sAuditSourceName = "k8s_audit";

/// Limits on one untrusted audit event (the API server's events are a few KB; a
/// RequestResponse event with a large object can reach a few MB).
inline constexpr size_t kMaxAuditEventBytes = 8 * 1024 * 1024;
inline constexpr uint32_t kMaxAuditEventDepth = 64;

/// One decoded audit event. It owns its JSON text; the fields view into it.
class AuditEvent : public Event {
 public:
  const JsonDoc& doc() const { return *doc_; }
  /// The event object's node in doc() (the event itself, or one item of an EventList).
  uint32_t root() const { return root_; }
  int64_t time_ns() const { return time_ns_; }
  std::string_view audit_id() const { return audit_id_; }
  std::string_view verb() const { return verb_; }

 private:
  friend Result<std::vector<AuditEvent>> ParseAuditEvents(std::string text,
                                                          std::string_view input_name);
  friend Result<AuditEvent> ParseAuditEvent(std::string text, std::string_view input_name);
  std::shared_ptr<const JsonDoc> doc_;  // shared by the events of one EventList
  uint32_t root_ = 0;
  int64_t time_ns_ = 0;
  std::string_view audit_id_;
  std::string_view verb_;
};

/// Decodes one audit Event (a JSON object with kind "Event" and apiVersion audit.k8s.io/v1 or
/// v1beta1). The event's time is stageTimestamp, else requestReceivedTimestamp, else timestamp
/// (v1beta1). Errors name the input: "audit.log:17: apiVersion \"audit.k8s.io/v2\" is not
/// audit.k8s.io/v1 or v1beta1" (the caller puts the line into `input_name`).
Result<AuditEvent> ParseAuditEvent(std::string text, std::string_view input_name);

/// Decodes an EventList (the webhook backend's POST body) or a single Event into its events.
/// A malformed item fails the whole batch, naming it: "webhook: items[3]: ...".
Result<std::vector<AuditEvent>> ParseAuditEvents(std::string text, std::string_view input_name);

/// The source to register with Engine::AddSource.
std::shared_ptr<const EventSource> MakeK8sAuditSource();

/// The names of the fields the source implements (docs and tests).
std::vector<std::string_view> K8sAuditFieldNames();

}  // namespace moat::rules
