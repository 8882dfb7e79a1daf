#pragma once
// What agents send the server (docs/server/agent-protocol.md), parsed and validated: a batch of
// messages, and the bodies of its message types (host_report, cluster_report, alerts). All of it
// is untrusted input: a batch is checked whole before anything is applied, and every error names
// the message and the field ("messages[2].body.workloads[0].kind: ...").

#include <string>
#include <string_view>
#include <vector>

#include "core/alert.h"
#include "core/result.h"
#include "server/store/store.h"

namespace moat::server {

/// A name the server keys a resource by (agent, host, cluster): 1 to 253 letters, digits, '-',
/// '.', '_'.
bool IsValidResourceName(std::string_view name);

/// An alert batch (a JSON array or JSON lines), parsed (for notifications) and in the store's
/// shape. A bad item fails the whole batch, naming its index.
struct AlertBatch {
  std::vector<Alert> alerts;
  std::vector<StoredAlert> stored;
};
Result<AlertBatch> ParseAlertList(const std::string& text, const std::string& name);

/// A host_report body: the host (its id is the agent's), its containers and the failed CIS Docker
/// controls of its `cis` report (moat bench docker --format json) as findings.
struct HostReport {
  HostRecord host;
  std::vector<ContainerRecord> containers;
  std::vector<FindingRecord> cis_findings;
};
Result<HostReport> ParseHostReport(std::string_view body, const std::string& agent_id);

/// A cluster_report body: the cluster, its namespaces, workloads (with containers and image
/// digests) and the failed k8s checks as findings, one per workload and check (the paths and
/// messages of its occurrences are the evidence).
Result<ClusterReport> ParseClusterReport(std::string_view body, const std::string& agent_id);

/// An in_use body: the sensor's export (format "moat-in-use/1", docs/sensor.md "In use") as the
/// agent fetched it: per container its id, image digest, and the executables and libraries it
/// ran (absolute paths, at most 50,000 of each).
Result<InUseReport> ParseInUseReport(std::string_view body);

/// The body of POST /api/v1/agents/{agent}/messages: {"messages": [{seq, type, body, through?}]},
/// every message checked for its type. Bodies come out as canonical JSON.
Result<std::vector<Store::AgentMessage>> ParseAgentBatch(std::string_view body,
                                                         const std::string& agent_id);

}  // namespace moat::server
