#pragma once
// The security center's one store: every table the server, its replicas and its workers share,
// on SQLite or PostgreSQL through the SQL layer (sql.h). Each method is one transaction; a
// method that returns has committed, so the API acknowledges only what is durable.

#include <atomic>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/notify/notify.h"
#include "server/store/sql.h"

namespace moat::server {

// ---- access -------------------------------------------------------------------------------

enum class Role { kAdmin, kAnalyst, kAgent, kReader };
std::string_view RoleName(Role role);  // "admin", ...
std::optional<Role> ParseRole(std::string_view name);

struct TokenInfo {
  int64_t id = 0;
  std::string name;
  Role role = Role::kReader;
  int64_t created_at = 0;
  int64_t last_used_at = 0;
  std::string created_by;
  int64_t user_id = 0;     // a sign-in session of this user; 0 for an API token
  int64_t expires_at = 0;  // 0: never
};

/// A user account (sign-in with a name and a password); the password only as its hash.
struct UserRecord {
  int64_t id = 0;
  std::string name;
  Role role = Role::kReader;
  std::string password_hash;  // secret_box.h HashPassword
  int64_t created_at = 0;
  std::string created_by;
  int64_t last_sign_in_at = 0;
};

struct AuditEvent {
  int64_t id = 0;
  int64_t time = 0;
  std::string actor;   // token name
  std::string action;  // "token.create", "registry.add", ...
  std::string target;
  std::string detail;
};

// ---- registries and images ------------------------------------------------------------------

struct RegistryRecord {
  int64_t id = 0;
  std::string name;
  std::string url;  // "https://registry.example:5000" or "http://127.0.0.1:5000"
  std::string username;
  std::string secret;        // decrypted in memory only; stored encrypted
  int64_t poll_seconds = 0;  // 0 = notifications only
  int64_t created_at = 0;
  int64_t last_polled_at = 0;
  int64_t last_event_at = 0;
  std::string last_error;
};

struct RepositoryImage {
  int64_t registry_id = 0;
  std::string registry_name;
  std::string repository;
  std::string digest;
  std::vector<std::string> tags;  // tags pointing at this digest now
  int64_t pushed_at = 0;
  int64_t last_pulled_at = 0;
};

/// Counts of open, not disabled findings by severity (critical .. unknown).
struct SeverityCounts {
  int64_t critical = 0, high = 0, medium = 0, low = 0, unknown = 0;
  int64_t fixable = 0;
};

struct ImageRecord {
  std::string digest;  // the manifest digest (or the image id when no registry knows it)
  std::string os;
  std::string platform;
  std::string scan_status;  // pending, scanned, failed
  std::string scan_error;
  int64_t scanned_at = 0;
  int64_t first_seen = 0;
  int64_t last_seen_running = 0;
  int64_t package_count = 0;
  SeverityCounts counts;
  std::vector<RepositoryImage> locations;  // where it is in registries
  std::string inventory_json;  // GetImage(digest, true) only: the stored inventory (no findings)
};

// ---- findings ---------------------------------------------------------------------------

struct FindingRecord {
  int64_t id = 0;
  std::string resource_kind;  // assess::kRegistryImage ... ("image" rows use the digest)
  std::string resource_id;
  std::string source;      // vulnerability, cis-docker, k8s, k8s-node
  std::string finding_id;  // CVE id, CIS id, check id
  std::string package;
  std::string installed_version;
  std::string fixed_version;
  std::string category;
  std::string title;
  std::string severity;  // CRITICAL, HIGH, MEDIUM, LOW, UNKNOWN
  double cvss = -1;
  bool kev = false;
  double epss = -1;
  bool patchable = false;
  bool in_use = false;
  std::string layer;
  std::string evidence;
  std::string remediation;
  int64_t first_seen = 0;
  int64_t last_seen = 0;
  int64_t resolved_at = 0;  // 0 = open
};

struct FindingFilter {
  std::vector<std::string> severities;  // upper case
  std::string resource_kind;
  std::string resource_id;
  std::string source;
  std::string finding_id;
  std::string package;
  std::optional<bool> kev;
  std::optional<bool> patchable;
  std::optional<bool> in_use;
  bool include_resolved = false;
};

/// kInUse: in-use findings first, each part most severe first.
enum class FindingSort { kSeverity, kCvss, kFirstSeen, kInUse };

struct PageRequest {
  size_t limit = 100;
  std::string cursor;  // opaque, from the previous page
};

/// The cursor "o:N" of a listing paged by offset (N items skipped); "" is the first page.
/// Anything else is an error that says to pass next_cursor as given.
Result<size_t> ParseOffsetCursor(const std::string& cursor);

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_cursor;  // empty on the last page
};

// ---- hosts, agents, alerts, rules, jobs -------------------------------------------------

struct AgentRecord {
  std::string id;
  std::string kind;  // host, cluster
  std::string version;
  std::string hostname;
  int64_t acked_through = 0;
  int64_t registered_at = 0;
  int64_t last_heartbeat = 0;
};

struct ContainerRecord {
  std::string host_id;
  std::string id;
  std::string name;
  std::string image;
  std::string image_id;
  std::string image_digest;
  std::string state;
  std::string started_at;
};

struct HostRecord {
  std::string id;
  std::string name;
  std::string agent_id;
  std::string os;
  std::string kernel;
  std::string docker_version;
  int64_t last_report_at = 0;
  int64_t cis_passed = 0;
  int64_t cis_failed = 0;
  std::vector<ContainerRecord> containers;  // GetHost only
};

struct WorkloadContainerRecord {
  std::string name;
  std::string image;         // the reference in the pod spec
  std::string image_digest;  // "sha256:..." the pods run (their status imageID); "" unknown
  bool init = false;         // an init container
};

/// A Kubernetes object of a cluster that the checks report on and no other reported object
/// owns: a Deployment, DaemonSet, bare Pod, ..., or a Role, Service, Ingress, Namespace.
struct WorkloadRecord {
  std::string id;  // "cluster/namespace/Kind/name" ("cluster//Kind/name" when cluster-scoped)
  std::string cluster_id;
  std::string namespace_name;
  std::string kind;
  std::string name;
  int64_t last_seen = 0;
  std::vector<WorkloadContainerRecord> containers;
  SeverityCounts findings;  // open k8s findings (listings only)
};

struct ClusterNamespaceRecord {
  std::string name;
  int64_t workloads = 0;
  SeverityCounts findings;
};

struct ClusterRecord {
  std::string id;  // the cluster's name on the server
  std::string name;
  std::string uid;  // the kube-system namespace's uid: the same cluster under another name
  std::string agent_id;
  std::string server;   // the API server URL the agent reads
  std::string context;  // kubeconfig context, or "in-cluster"
  int64_t last_report_at = 0;
  int64_t checks_passed = 0;  // (object, check) pairs without / with a finding
  int64_t checks_failed = 0;
  int64_t workloads = 0;
  int64_t nodes = 0;
  SeverityCounts findings;
  std::map<std::string, int64_t> workloads_by_kind;  // GetCluster only
  std::vector<ClusterNamespaceRecord> namespaces;    // GetCluster only
  /// When the last admission audit arrived (0 = none yet), and its results by action ("deny",
  /// "warn", "audit"; GetCluster only).
  int64_t admission_audited_at = 0;
  std::map<std::string, int64_t> admission_by_action;
};

/// One result of a cluster's admission policy audit (the cluster agent's, with each report): an
/// object that a policy's webhook would deny, warn about or annotate.
struct AdmissionAuditRecord {
  int64_t seq = 0;             // its place in the report
  std::string namespace_name;  // "" for a cluster-scoped object
  std::string kind;
  std::string name;
  std::string policy;  // the check id or policy name, as the policy modes name it
  std::string action;  // "deny", "warn", "audit"
  std::string path;    // the offending field
  std::string message;
};

struct AdmissionAuditFilter {
  std::string cluster_id;
  std::string action;  // empty = every action
  std::string namespace_name;
};

/// A pod a node runs, with the workload that stands for it.
struct NodePodRecord {
  std::string namespace_name;
  std::string name;
  std::string workload_id;  // "cluster/namespace/Kind/name"; "" when no reported workload
  std::string phase;        // Running, Pending, Succeeded, Failed, Unknown
  int64_t containers = 0;
};

/// A Kubernetes node of a cluster as its Node object and the pods bound to it say.
struct NodeRecord {
  std::string cluster_id;
  std::string name;
  std::string kubelet_version;
  std::string os_image;
  std::string kernel;
  std::string container_runtime;
  std::string architecture;
  std::string ready;  // the Ready condition's status: "True", "False", "Unknown"; "" not known
  bool unschedulable = false;
  std::vector<std::string> roles;  // from node-role.kubernetes.io/<role> labels
  /// The conditions (type, status, reason, message) as JSON, as the node reported them.
  std::string conditions_json = "[]";
  int64_t last_seen = 0;
  int64_t pod_count = 0;
  int64_t container_count = 0;
  std::vector<NodePodRecord> pods;  // GetClusterNode and reports only
};

/// One cluster_report, validated (server/api/agent_messages.h).
struct ClusterReport {
  ClusterRecord cluster;
  std::vector<std::string> namespaces;
  std::vector<WorkloadRecord> workloads;
  std::vector<FindingRecord> findings;  // resource_id names one of `workloads`
  std::vector<NodeRecord> nodes;
  /// The admission audit's results; without one (has_admission_audit false) the cluster keeps
  /// those of an earlier report.
  bool has_admission_audit = false;
  std::vector<AdmissionAuditRecord> admission_audit;
};

/// One in_use message, validated (server/api/agent_messages.h): the sensor's moat-in-use/1
/// export of a node, the files each container ran or mapped executable.
struct InUseContainer {
  std::string id;            // the container id
  std::string image_digest;  // "sha256:..." (the repository digest, else the image id); "" unknown
  std::set<std::string> files;
};
struct InUseReport {
  std::string node;
  std::vector<InUseContainer> containers;
};

struct WorkloadFilter {
  std::string cluster_id;  // empty = every cluster
  std::string namespace_name;
  std::string kind;
};

struct StoredAlert {
  int64_t id = 0;
  std::string dedupe_key;
  int64_t time_ns = 0;       // first occurrence
  int64_t last_time_ns = 0;  // last duplicate
  int64_t count = 1;
  std::string rule;
  std::string priority;
  std::string source;
  std::string container_id;
  std::string namespace_name;
  std::string pod;
  std::string node;
  std::string image;
  std::string mitre_tactic;
  std::string mitre_technique;
  std::string
      incident_key;  // AlertIncidentKey: alerts of one key within the window are one incident
  int64_t incident_id = 0;
  std::string status = "active";  // active, dismissed, resolved
  std::string status_by;
  std::string status_reason;
  std::string body;  // the alert's JSON as received (canonical)
};

struct AlertFilter {
  std::vector<std::string> statuses;
  std::vector<std::string> priorities;
  std::string rule;
  std::string container_id;
  std::string namespace_name;
  int64_t since_ns = 0;
};

/// Alerts of one container, pod or host process close in time, as one incident (the alerts'
/// incident_id: the id of the alert that opened it). Resource fields are the first non-empty
/// ones of its alerts, oldest first.
struct IncidentRecord {
  int64_t id = 0;
  int64_t first_ns = 0;  // the first alert's time
  int64_t last_ns = 0;   // the last occurrence of any of its alerts
  int64_t alerts = 0;    // stored alerts (each may count duplicates)
  int64_t occurrences = 0;
  int64_t active = 0;                // alerts still active
  std::string priority;              // the most severe of its alerts
  std::vector<std::string> rules;    // distinct, in order of first appearance
  std::vector<std::string> tactics;  // distinct MITRE tactics, likewise
  std::string container_id, namespace_name, pod, node, image;
};
struct IncidentFilter {
  std::string status;  // "active": with an active alert; "closed": none active; "" = all
};

struct DisableRuleRecord {
  int64_t id = 0;
  std::string name;
  std::string rule_json;  // assess::DisableRule as JSON
  std::string created_by;
  int64_t created_at = 0;
  int64_t expires_at = 0;
};

/// A notification target an administrator added over the API (the --notify targets are not
/// stored). The URL and headers are stored encrypted and decrypted in memory only; the API
/// never returns the headers' values.
struct NotificationTargetRecord {
  int64_t id = 0;
  std::string name;
  notify::NotifierConfig config;
  std::string created_by;
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

/// The mode an admission policy runs in, set on the server (docs/server.md, "Admission policy
/// modes"): `policy` as `checks:` names it, `action` deny, warn, audit or disabled.
struct AdmissionPolicyMode {
  std::string policy;
  std::string action;
  std::string updated_by;
  int64_t updated_at = 0;
};

struct Job {
  int64_t id = 0;
  std::string kind;  // "scan", "match"
  std::string key;   // dedupe: one queued/running job per key
  std::string payload;
  int64_t attempts = 0;
};

/// A worker's claim on a running job. Writes made under it apply only while the job is still
/// running under this worker: one whose lease expired and was taken over writes nothing, so a
/// job's result is applied once however many workers ran it.
struct JobLease {
  int64_t job_id = 0;
  std::string worker;
};

// ---- trend ------------------------------------------------------------------------------------

/// One named figure of the posture as of the last snapshot of a UTC day ("2026-12-01").
struct DailyStat {
  std::string day;
  std::string name;  // "score.percent", "findings.open.CRITICAL", ...
  double value = 0;
};

/// Findings first seen and resolved during one UTC day (exact, from the findings' history).
struct FindingsFlow {
  std::string day;
  int64_t first_seen = 0;
  int64_t resolved = 0;
};

// ---- dashboard views ------------------------------------------------------------------------

/// One image's risk: its open findings by severity, how many of them are in CISA's KEV catalog,
/// and whether a container runs it now (the overview's "severity x KEV x running").
struct ImageRisk {
  std::string digest;
  SeverityCounts counts;
  int64_t kev = 0;
  bool running = false;
  double score = 0;  // ImageRiskScore
};

/// Sum of the open findings' weights (critical 10, high 5, medium 2, low 1, unknown 0), doubled
/// when one of them is known exploited (KEV) and doubled again when the image runs.
double ImageRiskScore(const SeverityCounts& counts, int64_t kev, bool running);

/// Server-side filters of the images listing (every field optional).
struct ImageQuery {
  std::string severity;         // upper case: images with an open finding of this severity
  std::optional<bool> fixable;  // with (without) a finding that has a fix
  std::optional<bool> kev;      // with (without) a KEV finding
  std::optional<bool> running;  // run (not run) by a container now
  int64_t registry_id = 0;      // 0 = any
  std::string repository;       // exact repository name
  std::string search;           // case-insensitive part of the digest, a repository or a tag
  enum class Sort { kRisk, kName, kDigest } sort = Sort::kRisk;
};

struct ImageListing {
  std::vector<ImageRecord> items;
  std::vector<ImageRisk> risks;  // one per item
  std::string next_cursor;
  int64_t total = 0;  // images that match the query
};

/// The alerts over time (buckets of `bucket_seconds` from their first occurrence) by priority,
/// and by MITRE tactic.
struct AlertSummary {
  int64_t total = 0;
  int64_t active = 0;
  int64_t bucket_seconds = 3600;
  struct Bucket {
    int64_t start = 0;  // Unix seconds
    std::string priority;
    int64_t count = 0;
  };
  std::vector<Bucket> buckets;               // by start, then priority
  std::map<std::string, int64_t> by_tactic;  // "" = no tactic
  std::map<std::string, int64_t> by_priority;
};

/// A repository of a registry with its images.
struct RepositorySummary {
  int64_t registry_id = 0;
  std::string registry;
  std::string repository;
  int64_t images = 0;
  int64_t tags = 0;
  int64_t last_pushed_at = 0;
  SeverityCounts counts;  // open findings of its images
};

/// Where an image runs: containers on hosts and containers of cluster workloads.
struct ImageUsage {
  std::vector<ContainerRecord> containers;
  struct WorkloadUse {
    std::string workload_id, cluster_id, namespace_name, kind, name, container;
  };
  std::vector<WorkloadUse> workloads;
};

class Store {
 public:
  /// Opens (and migrates) the store at `url` (see OpenSqlConnection) with `connections`
  /// connections; `secret_key` (32 bytes) encrypts registry credentials at rest.
  static Result<std::unique_ptr<Store>> Open(const std::string& url, size_t connections,
                                             std::string secret_key);
  ~Store();
  SqlDialect dialect() const;

  // Tokens: only a SHA-256 of each token is stored.
  Result<std::string> CreateToken(const std::string& name, Role role,
                                  const std::string& created_by);
  Result<std::optional<TokenInfo>> Authenticate(const std::string& token);
  Result<std::vector<TokenInfo>> ListTokens();
  Result<bool> RevokeToken(int64_t id);
  Result<int64_t> CountTokens();

  // Users. Their sessions are tokens of the user's role that expire; deleting a user revokes
  // them. ListTokens lists API tokens only, not sessions.
  /// Fails with "user NAME exists already" for a taken name.
  Result<UserRecord> CreateUser(const std::string& name, Role role,
                                const std::string& password_hash, const std::string& created_by);
  Result<std::vector<UserRecord>> ListUsers();
  Result<std::optional<UserRecord>> GetUserByName(const std::string& name);
  Result<bool> DeleteUser(int64_t id);
  /// A new session token for the user, valid until `expires_at` (Unix seconds).
  Result<std::string> CreateSession(const UserRecord& user, int64_t expires_at);
  /// Sign-in sessions not revoked and not expired at `now`, oldest first.
  Result<std::vector<TokenInfo>> ListSessions(int64_t now);
  /// Revokes session `id`; false when it is no live session (an API token is not one).
  Result<bool> RevokeSession(int64_t id);

  Result<void> Audit(const std::string& actor, const std::string& action, const std::string& target,
                     const std::string& detail);
  Result<std::vector<AuditEvent>> ListAudit(size_t limit);

  // Registries.
  Result<RegistryRecord> AddRegistry(RegistryRecord registry);
  Result<std::vector<RegistryRecord>> ListRegistries();
  Result<std::optional<RegistryRecord>> GetRegistry(int64_t id);
  Result<bool> DeleteRegistry(int64_t id);
  Result<void> MarkRegistryPolled(int64_t id, const std::string& error);

  // Images in registries. A push records the digest under its repository (and tag); a moved tag
  // leaves the old digest and its findings in place.
  Result<void> RecordPush(int64_t registry_id, const std::string& repository,
                          const std::string& digest, const std::string& tag, int64_t time);
  Result<void> RecordPull(int64_t registry_id, const std::string& repository,
                          const std::string& digest, int64_t time);
  /// A deleted manifest: removes the repository entry; the image and its findings go when no
  /// repository and no container refers to the digest any more.
  Result<void> RecordDelete(int64_t registry_id, const std::string& repository,
                            const std::string& digest);
  /// A tag the registry no longer has (polling); the digest it named stays.
  Result<void> DeleteTag(int64_t registry_id, const std::string& repository,
                         const std::string& tag);
  /// Digests by (registry, repository, tag) as last seen, for polling.
  Result<std::vector<RepositoryImage>> ListRepositoryImages(int64_t registry_id);

  /// Stores a scan: the inventory (JSON), its packages for the package -> images index, and the
  /// findings, which replace the image's open findings: new ones are first seen now, vanished
  /// ones are resolved now, the rest keep their first-seen time. With `lease`, the scan is that
  /// job's result: it is stored and the job marked done in one transaction, or, when the lease
  /// is no longer the worker's (another worker has the job), nothing is written and the result
  /// is false.
  Result<bool> SaveImageScan(const std::string& digest, const std::string& os,
                             const std::string& platform, const std::string& inventory_json,
                             const std::vector<std::pair<std::string, std::string>>& packages,
                             const std::vector<FindingRecord>& findings, int64_t time,
                             const JobLease* lease = nullptr);
  /// Keeps an image's file index (server/in_use.h PackageFilesIndex) beside its stored
  /// inventory; nothing when the image has no stored inventory.
  Result<void> SaveImageFiles(const std::string& digest, const std::string& files_index);
  /// A failed scan; it does not replace the inventory of an image scanned before.
  Result<bool> SaveImageScanFailure(const std::string& digest, const std::string& error,
                                    int64_t time, const JobLease* lease = nullptr);
  /// One "match" job's result (Center: a stored inventory matched again): the image's package
  /// keys and its findings now.
  struct ImageMatch {
    int64_t job_id = 0;
    std::string digest;
    std::vector<std::pair<std::string, std::string>> packages;
    std::vector<FindingRecord> findings;
  };
  /// Stores several match results in one transaction, each as SaveImageScan would store it,
  /// except that the stored inventory is left as it is and an image deleted meanwhile is not
  /// brought back; each job is marked done. Returns, per match, whether it was applied: false
  /// when its job no longer runs under `worker` (taken over after an expired lease).
  Result<std::vector<bool>> SaveImageMatches(const std::vector<ImageMatch>& matches,
                                             const std::string& worker, int64_t time);
  Result<Page<ImageRecord>> ListImages(const PageRequest& page);
  Result<std::optional<ImageRecord>> GetImage(const std::string& digest,
                                              bool with_inventory = false);
  /// The stored inventories (JSON) of those of `digests` that are stored images, by digest.
  Result<std::map<std::string, std::string>> ImageInventories(
      const std::vector<std::string>& digests);
  /// Digests whose inventory holds a package of this ecosystem and name (the re-match index).
  Result<std::vector<std::string>> ImagesWithPackage(const std::string& ecosystem,
                                                     const std::string& name);
  /// The daily rescan (as Defender for Cloud does): scanned images last matched over 24 h before
  /// `now` that were pushed in the last 90 days, pulled in the last 30 days, or run in a
  /// container now.
  Result<std::vector<std::string>> DueRescanDigests(int64_t now);

  // Findings.
  Result<Page<FindingRecord>> ListFindings(const FindingFilter& filter, FindingSort sort,
                                           const PageRequest& page);
  /// Every open finding (assessment input), in id order, a page of rows at a time: the rows of a
  /// large estate (300,000 findings over 1,000 images) are never all in memory at once. Both
  /// assessment reads fill only what assessment looks at: id, resource_kind, resource_id,
  /// source, finding_id, category, title, severity, cvss, kev, patchable, in_use.
  Result<void> ForEachOpenFinding(const std::function<void(FindingRecord&&)>& visit);
  /// The open findings of the resources `ids` of one kind ("image", "host", "workload"), in a
  /// few statements whatever their number (a page of a recommendation's unhealthy resources).
  Result<std::vector<FindingRecord>> OpenFindingsOf(const std::string& resource_kind,
                                                    const std::vector<std::string>& ids);

  // Agents and hosts.
  Result<AgentRecord> RegisterAgent(const std::string& id, const std::string& kind,
                                    const std::string& version, const std::string& hostname,
                                    int64_t time);
  Result<std::optional<AgentRecord>> GetAgent(const std::string& id);
  Result<std::vector<AgentRecord>> ListAgents();
  /// Applies an agent's messages in one transaction, skipping seq <= acked_through; `apply` runs
  /// each new message inside the transaction. Returns the new acked_through; an Error whose
  /// message starts with "gap:" when the first new seq is not acked_through + 1.
  struct AgentMessage {
    int64_t seq = 0;
    std::string type;
    std::string body;     // JSON
    int64_t through = 0;  // "dropped" only: the message covers seq..through
  };
  Result<int64_t> ApplyAgentMessages(
      const std::string& agent_id, const std::vector<AgentMessage>& messages, int64_t time,
      const std::function<Result<void>(SqlConnection&, const AgentMessage&)>& apply);

  /// Inside ApplyAgentMessages: replaces a host's containers and CIS findings.
  static Result<void> SaveHostReport(SqlConnection& sql, const HostRecord& host,
                                     const std::vector<ContainerRecord>& containers,
                                     const std::vector<FindingRecord>& cis_findings, int64_t time);
  Result<std::vector<HostRecord>> ListHosts();
  Result<std::optional<HostRecord>> GetHost(const std::string& id);
  /// Inside ApplyAgentMessages: replaces a cluster's namespaces and workloads and their k8s
  /// findings; the findings of workloads the report no longer has are resolved. Its admission
  /// audit results, when it has some, replace the earlier ones.
  static Result<void> SaveClusterReport(SqlConnection& sql, const ClusterReport& report,
                                        int64_t time);
  /// Inside ApplyAgentMessages: the agent's sensor export replaces the packages that agent saw in
  /// use (server/in_use.h), and the open findings of the images concerned are marked in use or
  /// not. A container the agent's host report lists counts while it runs, with the image the
  /// report gives; another (a cluster's pod) by the digest the sensor read.
  static Result<void> SaveInUse(SqlConnection& sql, const std::string& agent_id,
                                const InUseReport& report, int64_t time);
  Result<std::vector<ClusterRecord>> ListClusters();
  /// With its namespaces and workload counts by kind.
  Result<std::optional<ClusterRecord>> GetCluster(const std::string& id);
  /// A cluster's nodes by name, with their pod and container counts; `search` (when given) keeps
  /// those whose name, OS image, kubelet version or runtime contains it (case-insensitive).
  Result<std::vector<NodeRecord>> ListClusterNodes(const std::string& cluster_id,
                                                   const std::string& search);
  /// One node with its pods (namespace, name order).
  Result<std::optional<NodeRecord>> GetClusterNode(const std::string& cluster_id,
                                                   const std::string& name);
  /// A cluster's admission audit results of its last report that had one, in the report's order.
  Result<Page<AdmissionAuditRecord>> ListAdmissionAudit(const AdmissionAuditFilter& filter,
                                                        const PageRequest& page);
  /// Workloads in id order (namespace, kind, name), with their containers and finding counts.
  Result<Page<WorkloadRecord>> ListWorkloads(const WorkloadFilter& filter, const PageRequest& page);
  /// Image digests that containers run now (for rescans and running-image recommendations).
  Result<std::vector<std::string>> RunningImageDigests();

  // Alerts: duplicates (same dedupe key within the dedupe window) increase the count of the
  // first; alerts of one incident key within the incident window share an incident id.
  struct AlertWindows {
    int64_t dedupe_ns = 600'000'000'000;
    int64_t incident_ns = 1'800'000'000'000;
  };
  /// Returns each alert's id; `created` (when given) tells which became a new alert rather than
  /// a duplicate counted into an earlier one. The result is that of storing the alerts one at a
  /// time, in order, written with a few multi-row statements; `sql` must be in a transaction
  /// (SQLite: it allocates the new rows' ids under the write lock).
  static Result<std::vector<int64_t>> InsertAlerts(SqlConnection& sql,
                                                   const std::vector<StoredAlert>& alerts,
                                                   const AlertWindows& windows,
                                                   std::vector<bool>* created = nullptr);
  Result<std::vector<int64_t>> InsertAlerts(const std::vector<StoredAlert>& alerts,
                                            const AlertWindows& windows,
                                            std::vector<bool>* created = nullptr);
  Result<Page<StoredAlert>> ListAlerts(const AlertFilter& filter, const PageRequest& page);
  Result<std::optional<StoredAlert>> GetAlert(int64_t id);
  /// Incidents, the most recent last occurrence first; cursor pages.
  Result<Page<IncidentRecord>> ListIncidents(const IncidentFilter& filter, const PageRequest& page);
  Result<std::optional<IncidentRecord>> GetIncident(int64_t id);
  /// An incident's alerts, oldest first (at most `limit`).
  Result<std::vector<StoredAlert>> IncidentAlerts(int64_t id, size_t limit);
  Result<bool> SetAlertStatus(int64_t id, const std::string& status, const std::string& by,
                              const std::string& reason);

  // Disable rules.
  Result<DisableRuleRecord> AddDisableRule(DisableRuleRecord rule);
  Result<std::vector<DisableRuleRecord>> ListDisableRules();
  Result<bool> DeleteDisableRule(int64_t id);

  // Notification targets. Names are unique: "a notification target named 'X' exists already".
  Result<NotificationTargetRecord> AddNotificationTarget(NotificationTargetRecord target);
  Result<std::vector<NotificationTargetRecord>> ListNotificationTargets();
  Result<std::optional<NotificationTargetRecord>> GetNotificationTarget(int64_t id);
  /// Replaces every field but id, created_by and created_at; false when there is no such target.
  Result<bool> UpdateNotificationTarget(NotificationTargetRecord target);
  Result<bool> DeleteNotificationTarget(int64_t id);

  // Admission policy modes, by policy.
  Result<std::vector<AdmissionPolicyMode>> ListAdmissionPolicyModes();
  /// Replaces every stored mode with `modes` in one transaction.
  Result<void> ReplaceAdmissionPolicyModes(const std::vector<AdmissionPolicyMode>& modes);
  Result<void> SetAdmissionPolicyMode(const AdmissionPolicyMode& mode);
  Result<bool> DeleteAdmissionPolicyMode(const std::string& policy);

  // Trend: daily snapshots (a later snapshot of the same day replaces the earlier one's figures)
  // and the findings' flow per day over [from, to) Unix seconds.
  Result<void> RecordDailyStats(const std::string& day, const std::map<std::string, double>& stats);
  Result<std::vector<DailyStat>> ListDailyStats(const std::string& from_day,
                                                const std::string& to_day);
  Result<std::vector<FindingsFlow>> FindingsFlowByDay(int64_t from, int64_t to);

  // Jobs: one queued or running job per key; claimed with a lease that expires unless its
  // worker renews it. A job is claimed again when its lease expires (its worker died or hung);
  // one whose lease expired `max_attempts` times is failed instead (a poison job that kills
  // every worker that takes it).
  Result<bool> EnqueueJob(const std::string& kind, const std::string& key,
                          const std::string& payload, int64_t run_after);
  Result<std::optional<Job>> ClaimJob(const std::string& worker, int64_t lease_seconds, int64_t now,
                                      int max_attempts);
  /// Claims up to `limit` ready jobs of `kind` at once, in id order (a worker's batch of
  /// re-matches, stored with one SaveImageMatches).
  Result<std::vector<Job>> ClaimJobs(const std::string& worker, int64_t lease_seconds, int64_t now,
                                     int max_attempts, const std::string& kind, size_t limit);
  /// EnqueueJob for several jobs of one kind in one transaction; returns how many were queued
  /// (a key with a queued or running job is skipped).
  Result<size_t> EnqueueJobs(const std::string& kind,
                             const std::vector<std::pair<std::string, std::string>>& keys_payloads,
                             int64_t run_after);
  /// Extends the lease to `lease_until`; false when the job is no longer running under it.
  Result<bool> RenewJobLease(const JobLease& lease, int64_t lease_until);
  /// Marks the job done; a no-op when it is no longer running under this worker.
  Result<void> CompleteJob(int64_t id, const std::string& worker);
  /// Queues the job again at `retry_at`, or fails it for good after `max_attempts`.
  Result<void> FailJob(int64_t id, const std::string& worker, const std::string& error,
                       int64_t retry_at, int max_attempts);
  struct JobCounts {
    int64_t queued = 0, running = 0, done = 0, failed = 0;
  };
  Result<JobCounts> CountJobs();

  // Dashboard views: aggregates computed in SQL so that no page reads every row.
  /// Every image with an open finding, by digest.
  Result<std::vector<ImageRisk>> ListImageRisks();
  /// Images matching `query`, sorted, a page at a time (the cursor is an offset).
  Result<ImageListing> QueryImages(const ImageQuery& query, const PageRequest& page);
  /// Alerts by bucket (hours when every alert is within two days of the first, else days),
  /// priority and tactic.
  Result<AlertSummary> SummarizeAlerts();
  /// Repositories of every registry (registry_id 0) or of one.
  Result<std::vector<RepositorySummary>> ListRepositories(int64_t registry_id);
  Result<ImageUsage> ImageUsageOf(const std::string& digest);
  /// Alerts of the same rule on the same container or image, or of the same incident, newest
  /// first, without `id` itself.
  Result<std::vector<StoredAlert>> SimilarAlerts(int64_t id, size_t limit);
  /// Alerts with an id above `after_id`, oldest first (the live stream).
  Result<std::vector<StoredAlert>> AlertsAfter(int64_t after_id, size_t limit);
  Result<int64_t> LastAlertId();

  SqlPool& pool();

  /// Counts the writes through this Store that can change the posture (registries, images and
  /// their scans, host and cluster reports, disable rules), so that PostureKeeper knows when its
  /// assessment is out of date without reading the store. Writes by other processes on a shared
  /// PostgreSQL store are not counted: the keeper's periodic assessment covers them.
  uint64_t posture_changes() const { return posture_changes_.load(std::memory_order_acquire); }

 private:
  Store() = default;
  /// Notification targets of "WHERE ..." / "ORDER BY ..." `clause`, decrypted.
  Result<std::vector<NotificationTargetRecord>> SelectNotificationTargets(
      const std::string& clause, const std::vector<SqlValue>& params);
  void NotePostureChange() { posture_changes_.fetch_add(1, std::memory_order_acq_rel); }
  /// Passes `result` through, noting a posture change when the write succeeded.
  template <typename T>
  Result<T> NotingPostureChange(Result<T> result) {
    if (result.ok()) NotePostureChange();
    return result;
  }
  std::unique_ptr<SqlPool> pool_;
  std::string secret_key_;
  std::atomic<uint64_t> posture_changes_{0};
};

}  // namespace moat::server
