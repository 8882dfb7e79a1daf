// The store's schema, as numbered migrations. A released migration is never edited; a change is a
// new migration. Types are the common subset of SQLite and PostgreSQL: BIGINT, DOUBLE PRECISION,
// TEXT; "{ID}" is the auto-numbered primary key of each dialect. Times are Unix seconds, alert
// times Unix nanoseconds.

#include "server/store/schema.h"

namespace moat::server {

namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE tokens (
  id {ID}, name TEXT NOT NULL, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL, last_used_at BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT NOT NULL DEFAULT 0, created_by TEXT NOT NULL DEFAULT '');
CREATE TABLE audit_events (
  id {ID}, time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  target TEXT NOT NULL, detail TEXT NOT NULL);
CREATE TABLE registries (
  id {ID}, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL, username TEXT NOT NULL DEFAULT '',
  secret_enc TEXT NOT NULL DEFAULT '', poll_seconds BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL, last_polled_at BIGINT NOT NULL DEFAULT 0,
  last_event_at BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '');
CREATE TABLE images (
  digest TEXT PRIMARY KEY, os TEXT NOT NULL DEFAULT '', platform TEXT NOT NULL DEFAULT '',
  scan_status TEXT NOT NULL DEFAULT 'pending', scan_error TEXT NOT NULL DEFAULT '',
  scanned_at BIGINT NOT NULL DEFAULT 0, first_seen BIGINT NOT NULL,
  last_seen_running BIGINT NOT NULL DEFAULT 0, package_count BIGINT NOT NULL DEFAULT 0,
  inventory TEXT NOT NULL DEFAULT '');
CREATE TABLE repository_images (
  registry_id BIGINT NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
  repository TEXT NOT NULL, digest TEXT NOT NULL, pushed_at BIGINT NOT NULL DEFAULT 0,
  last_pulled_at BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (registry_id, repository, digest));
CREATE INDEX repository_images_digest ON repository_images(digest);
CREATE TABLE tags (
  registry_id BIGINT NOT NULL REFERENCES registries(id) ON DELETE CASCADE,
  repository TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL,
  updated_at BIGINT NOT NULL, PRIMARY KEY (registry_id, repository, tag));
CREATE TABLE image_packages (
  digest TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL,
  PRIMARY KEY (digest, ecosystem, name));
CREATE INDEX image_packages_by_package ON image_packages(ecosystem, name);
CREATE TABLE findings (
  id {ID}, resource_kind TEXT NOT NULL, resource_id TEXT NOT NULL, source TEXT NOT NULL,
  finding_id TEXT NOT NULL, package TEXT NOT NULL DEFAULT '',
  installed_version TEXT NOT NULL DEFAULT '', fixed_version TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT '', severity TEXT NOT NULL,
  severity_rank BIGINT NOT NULL, cvss DOUBLE PRECISION NOT NULL DEFAULT -1,
  kev BIGINT NOT NULL DEFAULT 0, epss DOUBLE PRECISION NOT NULL DEFAULT -1,
  patchable BIGINT NOT NULL DEFAULT 0, in_use BIGINT NOT NULL DEFAULT 0,
  layer TEXT NOT NULL DEFAULT '', evidence TEXT NOT NULL DEFAULT '',
  remediation TEXT NOT NULL DEFAULT '', first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
  resolved_at BIGINT NOT NULL DEFAULT 0,
  UNIQUE (resource_kind, resource_id, source, finding_id, package, installed_version));
CREATE INDEX findings_by_severity ON findings(resolved_at, severity_rank DESC, id);
CREATE INDEX findings_by_cvss ON findings(resolved_at, cvss DESC, id);
CREATE INDEX findings_by_first_seen ON findings(resolved_at, first_seen DESC, id);
CREATE INDEX findings_by_resource ON findings(resource_kind, resource_id);
CREATE INDEX findings_by_finding_id ON findings(finding_id);
CREATE TABLE agents (
  id TEXT PRIMARY KEY, kind TEXT NOT NULL, version TEXT NOT NULL DEFAULT '',
  hostname TEXT NOT NULL DEFAULT '', acked_through BIGINT NOT NULL DEFAULT 0,
  registered_at BIGINT NOT NULL, last_heartbeat BIGINT NOT NULL DEFAULT 0);
CREATE TABLE hosts (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, agent_id TEXT NOT NULL DEFAULT '',
  os TEXT NOT NULL DEFAULT '', kernel TEXT NOT NULL DEFAULT '',
  docker_version TEXT NOT NULL DEFAULT '', last_report_at BIGINT NOT NULL DEFAULT 0,
  cis_passed BIGINT NOT NULL DEFAULT 0, cis_failed BIGINT NOT NULL DEFAULT 0);
CREATE TABLE containers (
  host_id TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
  image TEXT NOT NULL DEFAULT '', image_id TEXT NOT NULL DEFAULT '',
  image_digest TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '', last_seen BIGINT NOT NULL,
  PRIMARY KEY (host_id, id));
CREATE INDEX containers_by_image ON containers(image_digest);
CREATE TABLE alerts (
  id {ID}, dedupe_key TEXT NOT NULL, time_ns BIGINT NOT NULL, last_time_ns BIGINT NOT NULL,
  count BIGINT NOT NULL DEFAULT 1, rule TEXT NOT NULL, priority TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '', container_id TEXT NOT NULL DEFAULT '',
  namespace_name TEXT NOT NULL DEFAULT '', pod TEXT NOT NULL DEFAULT '',
  node TEXT NOT NULL DEFAULT '', image TEXT NOT NULL DEFAULT '',
  mitre_tactic TEXT NOT NULL DEFAULT '', mitre_technique TEXT NOT NULL DEFAULT '',
  incident_key TEXT NOT NULL DEFAULT '', incident_id BIGINT NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'active',
  status_by TEXT NOT NULL DEFAULT '', status_reason TEXT NOT NULL DEFAULT '',
  status_at BIGINT NOT NULL DEFAULT 0, body TEXT NOT NULL);
CREATE INDEX alerts_by_dedupe ON alerts(dedupe_key, last_time_ns);
CREATE INDEX alerts_by_time ON alerts(time_ns DESC, id);
CREATE INDEX alerts_by_container ON alerts(container_id, time_ns);
CREATE INDEX alerts_by_incident_key ON alerts(incident_key, time_ns);
CREATE TABLE disable_rules (
  id {ID}, name TEXT NOT NULL, rule TEXT NOT NULL, created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE jobs (
  id {ID}, kind TEXT NOT NULL, job_key TEXT NOT NULL, payload TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued', attempts BIGINT NOT NULL DEFAULT 0,
  run_after BIGINT NOT NULL, lease_owner TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL, finished_at BIGINT NOT NULL DEFAULT 0);
CREATE UNIQUE INDEX jobs_one_pending_per_key ON jobs(job_key) WHERE state IN ('queued', 'running');
CREATE INDEX jobs_claim ON jobs(state, run_after, id);
)sql";

// Findings pages filtered by severity and sorted by CVSS or first seen are answered from the
// index alone (no table lookup per skipped row), and one resource's findings are found without
// its kind (bench/server.sh: 1,000,000 findings).
constexpr const char* kSchemaV2 = R"sql(
DROP INDEX findings_by_cvss;
CREATE INDEX findings_by_cvss ON findings(resolved_at, cvss DESC, id, severity);
DROP INDEX findings_by_first_seen;
CREATE INDEX findings_by_first_seen ON findings(resolved_at, first_seen DESC, id, severity);
CREATE INDEX findings_by_resource_id ON findings(resource_id, resolved_at, severity_rank DESC, id);
)sql";

// The trend: a snapshot of the posture's figures per UTC day, and the findings first seen per day
// without a scan of the whole table (resolved per day has findings_by_severity).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE daily_stats (
  day TEXT NOT NULL, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (day, name));
CREATE INDEX findings_by_first_seen_only ON findings(first_seen);
)sql";

// Clusters (moat agent --kind cluster): cluster -> namespace -> workload -> container -> image.
// A workload is any Kubernetes object the checks report on that no other reported object owns
// (Deployments, DaemonSets, bare Pods, but also Roles, Services, Ingresses); its id is the
// findings' resource id "cluster/namespace/Kind/name" ("cluster//Kind/name" when cluster-scoped).
constexpr const char* kSchemaV4 = R"sql(
CREATE TABLE clusters (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, uid TEXT NOT NULL DEFAULT '',
  agent_id TEXT NOT NULL DEFAULT '', server TEXT NOT NULL DEFAULT '',
  context TEXT NOT NULL DEFAULT '', last_report_at BIGINT NOT NULL DEFAULT 0,
  checks_passed BIGINT NOT NULL DEFAULT 0, checks_failed BIGINT NOT NULL DEFAULT 0);
CREATE TABLE cluster_namespaces (
  cluster_id TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY (cluster_id, name));
CREATE TABLE workloads (
  id TEXT PRIMARY KEY, cluster_id TEXT NOT NULL, namespace_name TEXT NOT NULL,
  kind TEXT NOT NULL, name TEXT NOT NULL, last_seen BIGINT NOT NULL);
CREATE INDEX workloads_by_cluster ON workloads(cluster_id, id);
CREATE TABLE workload_containers (
  workload_id TEXT NOT NULL, name TEXT NOT NULL, image TEXT NOT NULL DEFAULT '',
  image_digest TEXT NOT NULL DEFAULT '', init BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (workload_id, name));
CREATE INDEX workload_containers_by_image ON workload_containers(image_digest);
)sql";

// The incident of a new alert is the latest alert of its container, pod or process still within
// the window: found from the index alone, newest first, instead of visiting every alert of the
// container (the earlier index was on the first time, not the last).
constexpr const char* kSchemaV5 = R"sql(
DROP INDEX alerts_by_incident_key;
CREATE INDEX alerts_by_incident_recent ON alerts(incident_key, last_time_ns, id);
)sql";

// Each image's inventory in a table of its own: the images row is read by every listing, rescan
// check and re-match, and rewritten by every match (scanned_at), and it carried the inventory
// (70 KB for 300 packages). A re-match now reads the inventory and leaves it where it is.
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE image_inventories (digest TEXT PRIMARY KEY, inventory TEXT NOT NULL);
INSERT INTO image_inventories (digest, inventory)
  SELECT digest, inventory FROM images WHERE inventory <> '';
ALTER TABLE images DROP COLUMN inventory;
)sql";

// User accounts: sign-in with a name and a password (stored as a PBKDF2 hash, secret_box.h)
// issues a session token, a row of tokens that belongs to the user and expires.
constexpr const char* kSchemaV7 = R"sql(
CREATE TABLE users (
  id {ID}, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  created_at BIGINT NOT NULL, created_by TEXT NOT NULL DEFAULT '',
  last_sign_in_at BIGINT NOT NULL DEFAULT 0);
ALTER TABLE tokens ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
)sql";

// An incident's alerts (the incident page, and the details of a page of incidents) without a
// scan of every alert.
constexpr const char* kSchemaV8 = R"sql(
CREATE INDEX alerts_by_incident ON alerts(incident_id, time_ns);
)sql";

// Each image's open findings counted by severity, kept up to date with its findings (every write
// of an image's findings refreshes its row, store.cpp RefreshImageCounts): the image listings,
// the overview and the repositories read 1,000 rows here instead of summing 250,000 findings on
// every request (bench/dashboard.sh). An image with no open finding has no row.
constexpr const char* kSchemaV9 = R"sql(
CREATE TABLE image_finding_counts (
  digest TEXT PRIMARY KEY, critical BIGINT NOT NULL, high BIGINT NOT NULL,
  medium BIGINT NOT NULL, low BIGINT NOT NULL, unknown BIGINT NOT NULL,
  fixable BIGINT NOT NULL, kev BIGINT NOT NULL);
INSERT INTO image_finding_counts (digest, critical, high, medium, low, unknown, fixable, kev)
  SELECT resource_id, SUM(CASE WHEN severity = 'CRITICAL' THEN 1 ELSE 0 END),
    SUM(CASE WHEN severity = 'HIGH' THEN 1 ELSE 0 END),
    SUM(CASE WHEN severity = 'MEDIUM' THEN 1 ELSE 0 END),
    SUM(CASE WHEN severity = 'LOW' THEN 1 ELSE 0 END),
    SUM(CASE WHEN severity NOT IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW') THEN 1 ELSE 0 END),
    CAST(SUM(patchable) AS BIGINT), CAST(SUM(kev) AS BIGINT)
  FROM findings WHERE resource_kind = 'image' AND resolved_at = 0 GROUP BY resource_id;
)sql";

// Settings kept in the store rather than on the command line. Notification targets (webhook,
// Slack, syslog) that an administrator manages over the API: the URL and the request headers are
// sealed together (secret_box.h), since a Slack URL is its own token and headers carry
// Authorization. Admission policy modes: the mode (admission action) of each policy, as the
// `policies:` section of the admission configuration names them, that webhooks pull.
constexpr const char* kSchemaV10 = R"sql(
CREATE TABLE notification_targets (
  id {ID}, name TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, min_priority TEXT NOT NULL,
  batch BIGINT NOT NULL DEFAULT 0, slack_blocks BIGINT NOT NULL DEFAULT 1,
  syslog_facility BIGINT NOT NULL DEFAULT 1, syslog_hostname TEXT NOT NULL DEFAULT '',
  secret_enc TEXT NOT NULL, created_by TEXT NOT NULL DEFAULT '', created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE TABLE admission_policy_modes (
  policy TEXT PRIMARY KEY, action TEXT NOT NULL, updated_by TEXT NOT NULL DEFAULT '',
  updated_at BIGINT NOT NULL);
)sql";

// "In use" (server/in_use.h): each scanned image's file index (which OS package owns a file that
// can run) beside its inventory, read only when a sensor's export arrives; and the packages of
// each image that an agent's sensor saw in use, per agent (each export replaces that agent's).
// Kubernetes nodes: cluster -> node -> pods, as each cluster report gives them. And the findings'
// severity_rank, which earlier versions wrote as 0 for every finding (the rank of the upper-case
// name), so that "most severe first" was the order of insertion.
constexpr const char* kSchemaV11 = R"sql(
ALTER TABLE image_inventories ADD COLUMN files TEXT NOT NULL DEFAULT '';
CREATE TABLE packages_in_use (
  agent_id TEXT NOT NULL, digest TEXT NOT NULL, ecosystem TEXT NOT NULL, name TEXT NOT NULL,
  seen_at BIGINT NOT NULL, PRIMARY KEY (agent_id, digest, ecosystem, name));
CREATE INDEX packages_in_use_by_image ON packages_in_use(digest, ecosystem, name);
UPDATE findings SET severity_rank = CASE severity WHEN 'CRITICAL' THEN 5 WHEN 'HIGH' THEN 4
  WHEN 'MEDIUM' THEN 3 WHEN 'LOW' THEN 2 ELSE 0 END;
CREATE TABLE cluster_nodes (
  cluster_id TEXT NOT NULL, name TEXT NOT NULL, kubelet_version TEXT NOT NULL DEFAULT '',
  os_image TEXT NOT NULL DEFAULT '', kernel TEXT NOT NULL DEFAULT '',
  container_runtime TEXT NOT NULL DEFAULT '', architecture TEXT NOT NULL DEFAULT '',
  ready TEXT NOT NULL DEFAULT '', unschedulable BIGINT NOT NULL DEFAULT 0,
  roles TEXT NOT NULL DEFAULT '', conditions TEXT NOT NULL DEFAULT '[]',
  last_seen BIGINT NOT NULL, PRIMARY KEY (cluster_id, name));
CREATE TABLE cluster_node_pods (
  cluster_id TEXT NOT NULL, node TEXT NOT NULL, namespace_name TEXT NOT NULL,
  name TEXT NOT NULL, workload_id TEXT NOT NULL DEFAULT '', phase TEXT NOT NULL DEFAULT '',
  containers BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (cluster_id, node, namespace_name, name));
)sql";

// The cluster agent's admission policy audit: the objects of a cluster that the admission
// policies (the server's modes and the agent's configuration) would deny, warn about or annotate,
// as its last report with an audit gave them (each replaces the previous), in the report's order.
constexpr const char* kSchemaV12 = R"sql(
CREATE TABLE cluster_admission_audit (
  cluster_id TEXT NOT NULL, seq BIGINT NOT NULL, namespace_name TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL, name TEXT NOT NULL, policy TEXT NOT NULL, action TEXT NOT NULL,
  path TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (cluster_id, seq));
ALTER TABLE clusters ADD COLUMN admission_audited_at BIGINT NOT NULL DEFAULT 0;
)sql";

std::string ForDialect(std::string sql, SqlDialect dialect) {
  const std::string id = dialect == SqlDialect::kSqlite ? "INTEGER PRIMARY KEY"
                                                        : "BIGINT GENERATED BY DEFAULT AS IDENTITY "
                                                          "PRIMARY KEY";
  for (size_t at = sql.find("{ID}"); at != std::string::npos; at = sql.find("{ID}", at)) {
    sql.replace(at, 4, id);
  }
  return sql;
}

}  // namespace

std::vector<Migration> StoreMigrations(SqlDialect dialect) {
  return {Migration{1, "initial schema", ForDialect(kSchemaV1, dialect), "", ""},
          Migration{2, "covering indexes for findings pages", kSchemaV2, "", ""},
          Migration{3, "daily trend", kSchemaV3, "", ""},
          Migration{4, "clusters, namespaces, workloads", kSchemaV4, "", ""},
          Migration{5, "incident lookup by last time", kSchemaV5, "", ""},
          Migration{6, "inventories apart from images", kSchemaV6, "", ""},
          Migration{7, "user accounts and expiring session tokens", ForDialect(kSchemaV7, dialect),
                    "", ""},
          Migration{8, "incident lookup", kSchemaV8, "", ""},
          Migration{9, "open findings counted per image", kSchemaV9, "", ""},
          Migration{10, "notification targets and admission policy modes",
                    ForDialect(kSchemaV10, dialect), "", ""},
          Migration{11, "image file index, packages in use, cluster nodes", kSchemaV11, "", ""},
          Migration{12, "cluster admission audit", kSchemaV12, "", ""}};
}

}  // namespace moat::server
