#include "server/store/store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "core/bytes.h"
#include "core/sha256.h"
#include "core/vulnerability.h"
#include "server/store/schema.h"
#include "server/store/secret_box.h"

namespace moat::server {

namespace {

// Builds a WHERE clause with numbered parameters.
class Conditions {
 public:
  explicit Conditions(size_t first_parameter = 1) : next_(first_parameter) {}
  /// Adds a parameter and returns its placeholder ("$3").
  std::string Param(SqlValue value) {
    params_.push_back(std::move(value));
    return "$" + std::to_string(next_++);
  }
  void Add(std::string clause) { clauses_.push_back(std::move(clause)); }
  std::string Where() const {
    std::string out;
    for (const auto& clause : clauses_) out += (out.empty() ? " WHERE " : " AND ") + clause;
    return out;
  }
  std::vector<SqlValue>& params() { return params_; }

 private:
  size_t next_;
  std::vector<std::string> clauses_;
  std::vector<SqlValue> params_;
};

std::string InList(Conditions& conditions, const std::vector<std::string>& values) {
  std::string list;
  for (const auto& value : values) list += (list.empty() ? "" : ", ") + conditions.Param(value);
  return "(" + list + ")";
}

SqlValue Bool(bool value) { return int64_t{value ? 1 : 0}; }

// Cursor of a keyset page: "<sort letter>:<key>:<id>".
struct Cursor {
  char sort = 0;
  std::string key;
  int64_t id = 0;
};

Result<std::optional<Cursor>> ParseCursor(const std::string& text, char sort) {
  if (text.empty()) return std::optional<Cursor>();
  const size_t first = text.find(':'), last = text.rfind(':');
  if (first != 1 || last == first || text[0] != sort) {
    return Fail("cursor '", text, "': not a cursor of this listing (use next_cursor as given)");
  }
  Cursor cursor{sort, text.substr(2, last - 2), 0};
  try {
    size_t used = 0;
    cursor.id = std::stoll(text.substr(last + 1), &used);
    if (used != text.size() - last - 1) throw std::invalid_argument("id");
    if (sort != 'x') (void)std::stod(cursor.key);
  } catch (const std::exception&) {
    return Fail("cursor '", text, "': malformed");
  }
  return std::optional<Cursor>(cursor);
}

std::string NewToken() {
  unsigned char bytes[24];
  RAND_bytes(bytes, sizeof bytes);
  static const char kDigits[] = "0123456789abcdef";
  std::string token = "moat_";
  for (unsigned char c : bytes) {
    token += kDigits[c >> 4];
    token += kDigits[c & 15];
  }
  return token;
}

std::string TokenHash(const std::string& token) { return Sha256Hex(AsBytes(token)); }

std::string UpperSeverity(std::string severity) {
  for (char& c : severity) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (severity == "NEGLIGIBLE" || severity.empty()) return severity.empty() ? "UNKNOWN" : "LOW";
  return severity;
}

constexpr const char* kFindingColumns =
    "id, resource_kind, resource_id, source, finding_id, package, installed_version, "
    "fixed_version, category, title, severity, cvss, kev, epss, patchable, in_use, layer, "
    "evidence, remediation, first_seen, last_seen, resolved_at";

FindingRecord ReadFinding(const SqlRow& row) {
  FindingRecord f;
  f.id = row.Int(0);
  f.resource_kind = row.Text(1);
  f.resource_id = row.Text(2);
  f.source = row.Text(3);
  f.finding_id = row.Text(4);
  f.package = row.Text(5);
  f.installed_version = row.Text(6);
  f.fixed_version = row.Text(7);
  f.category = row.Text(8);
  f.title = row.Text(9);
  f.severity = row.Text(10);
  f.cvss = row.Real(11);
  f.kev = row.Int(12) != 0;
  f.epss = row.Real(13);
  f.patchable = row.Int(14) != 0;
  f.in_use = row.Int(15) != 0;
  f.layer = row.Text(16);
  f.evidence = row.Text(17);
  f.remediation = row.Text(18);
  f.first_seen = row.Int(19);
  f.last_seen = row.Int(20);
  f.resolved_at = row.Int(21);
  return f;
}

using FindingKey = std::tuple<std::string, std::string, std::string, std::string>;

// Replaces the open findings of one resource from one source: upserts the current ones (first
// seen is kept, a resolved one reopens) and resolves the ones that are gone.
Result<void> ReplaceFindings(SqlConnection& sql, const std::string& resource_kind,
                             const std::string& resource_id, const std::string& source,
                             const std::vector<FindingRecord>& findings, int64_t now) {
  std::set<FindingKey> current;
  for (const auto& f : findings) {
    const std::string severity = UpperSeverity(f.severity);
    current.emplace(f.source.empty() ? source : f.source, f.finding_id, f.package,
                    f.installed_version);
    MOAT_TRY(sql.Query(
        "INSERT INTO findings (resource_kind, resource_id, source, finding_id, package, "
        "installed_version, fixed_version, category, title, severity, severity_rank, cvss, kev, "
        "epss, patchable, in_use, layer, evidence, remediation, first_seen, last_seen, "
        "resolved_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
        "$16, $17, $18, $19, $20, $20, 0) ON CONFLICT (resource_kind, resource_id, source, "
        "finding_id, package, installed_version) DO UPDATE SET fixed_version = $7, category = "
        "$8, title = $9, severity = $10, severity_rank = $11, cvss = $12, kev = $13, epss = $14, "
        "patchable = $15, in_use = $16, layer = $17, evidence = $18, remediation = $19, "
        "last_seen = $20, resolved_at = 0",
        {resource_kind,
         resource_id,
         f.source.empty() ? source : f.source,
         f.finding_id,
         f.package,
         f.installed_version,
         f.fixed_version,
         f.category,
         f.title,
         severity,
         int64_t{SeverityRank(severity)},
         f.cvss,
         Bool(f.kev),
         f.epss,
         Bool(f.patchable),
         Bool(f.in_use),
         f.layer,
         f.evidence,
         f.remediation,
         now}));
  }
  MOAT_ASSIGN_OR_RETURN(
      auto open, sql.Query("SELECT id, source, finding_id, package, installed_version FROM "
                           "findings WHERE resource_kind = $1 AND resource_id = $2 AND source = "
                           "$3 AND resolved_at = 0",
                           {resource_kind, resource_id, source}));
  for (const auto& row : open.rows) {
    if (current.count({row.Text(1), row.Text(2), row.Text(3), row.Text(4)})) continue;
    MOAT_TRY(sql.Query("UPDATE findings SET resolved_at = $1 WHERE id = $2", {now, row.Int(0)}));
  }
  return Ok();
}

RegistryRecord ReadRegistry(const SqlRow& row) {
  RegistryRecord r;
  r.id = row.Int(0);
  r.name = row.Text(1);
  r.url = row.Text(2);
  r.username = row.Text(3);
  r.secret = row.Text(4);  // sealed here; opened by the caller
  r.poll_seconds = row.Int(5);
  r.created_at = row.Int(6);
  r.last_polled_at = row.Int(7);
  r.last_event_at = row.Int(8);
  r.last_error = row.Text(9);
  return r;
}
constexpr const char* kRegistryColumns =
    "id, name, url, username, secret_enc, poll_seconds, created_at, last_polled_at, "
    "last_event_at, last_error";

constexpr const char* kAlertColumns =
    "id, dedupe_key, time_ns, last_time_ns, count, rule, priority, source, container_id, "
    "namespace_name, pod, node, image, mitre_tactic, mitre_technique, incident_id, status, "
    "status_by, status_reason, body";

StoredAlert ReadAlert(const SqlRow& row) {
  StoredAlert a;
  a.id = row.Int(0);
  a.dedupe_key = row.Text(1);
  a.time_ns = row.Int(2);
  a.last_time_ns = row.Int(3);
  a.count = row.Int(4);
  a.rule = row.Text(5);
  a.priority = row.Text(6);
  a.source = row.Text(7);
  a.container_id = row.Text(8);
  a.namespace_name = row.Text(9);
  a.pod = row.Text(10);
  a.node = row.Text(11);
  a.image = row.Text(12);
  a.mitre_tactic = row.Text(13);
  a.mitre_technique = row.Text(14);
  a.incident_id = row.Int(15);
  a.status = row.Text(16);
  a.status_by = row.Text(17);
  a.status_reason = row.Text(18);
  a.body = row.Text(19);
  return a;
}

AgentRecord ReadAgent(const SqlRow& row) {
  return AgentRecord{row.Text(0), row.Text(1), row.Text(2), row.Text(3),
                     row.Int(4),  row.Int(5),  row.Int(6)};
}
constexpr const char* kAgentColumns =
    "id, kind, version, hostname, acked_through, registered_at, last_heartbeat";

HostRecord ReadHost(const SqlRow& row) {
  HostRecord h;
  h.id = row.Text(0);
  h.name = row.Text(1);
  h.agent_id = row.Text(2);
  h.os = row.Text(3);
  h.kernel = row.Text(4);
  h.docker_version = row.Text(5);
  h.last_report_at = row.Int(6);
  h.cis_passed = row.Int(7);
  h.cis_failed = row.Int(8);
  return h;
}
constexpr const char* kHostColumns =
    "id, name, agent_id, os, kernel, docker_version, last_report_at, cis_passed, cis_failed";

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAgent:
      return "agent";
    case Role::kReader:
      return "reader";
  }
  return "reader";
}

std::optional<Role> ParseRole(std::string_view name) {
  for (Role role : {Role::kAdmin, Role::kAnalyst, Role::kAgent, Role::kReader}) {
    if (RoleName(role) == name) return role;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& url, size_t connections,
                                           std::string secret_key) {
  MOAT_ASSIGN_OR_RETURN(auto pool, SqlPool::Open(url, std::max<size_t>(connections, 1)));
  {
    auto connection = pool->Acquire();
    MOAT_TRY(Migrate(*connection, StoreMigrations(pool->dialect())));
  }
  std::unique_ptr<Store> store(new Store());
  store->pool_ = std::move(pool);
  store->secret_key_ = std::move(secret_key);
  return store;
}

Store::~Store() = default;
SqlDialect Store::dialect() const { return pool_->dialect(); }
SqlPool& Store::pool() { return *pool_; }

// ---- tokens and audit -----------------------------------------------------------------------

Result<std::string> Store::CreateToken(const std::string& name, Role role,
                                       const std::string& created_by) {
  std::string token = NewToken();
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query(
      "INSERT INTO tokens (name, role, hash, created_at, created_by) VALUES ($1, $2, $3, $4, $5)",
      {name, std::string(RoleName(role)), TokenHash(token), int64_t{std::time(nullptr)},
       created_by}));
  return token;
}

Result<std::optional<TokenInfo>> Store::Authenticate(const std::string& token) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT id, name, role, created_at, last_used_at, created_by FROM "
                            "tokens WHERE hash = $1 AND revoked_at = 0",
                            {TokenHash(token)}));
  if (rows.rows.empty()) return std::optional<TokenInfo>();
  const auto& row = rows.rows[0];
  auto role = ParseRole(row.Text(2));
  if (!role) return std::optional<TokenInfo>();
  TokenInfo info{row.Int(0), row.Text(1), *role, row.Int(3), row.Int(4), row.Text(5)};
  const int64_t now = std::time(nullptr);
  // Recorded at most once a minute: a write per request would serialize every reader.
  if (now - info.last_used_at >= 60) {
    MOAT_TRY(sql->Query("UPDATE tokens SET last_used_at = $1 WHERE id = $2", {now, info.id}));
  }
  return std::optional<TokenInfo>(info);
}

Result<std::vector<TokenInfo>> Store::ListTokens() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query("SELECT id, name, role, created_at, last_used_at, created_by "
                                   "FROM tokens WHERE revoked_at = 0 ORDER BY id"));
  std::vector<TokenInfo> tokens;
  for (const auto& row : rows.rows) {
    tokens.push_back(TokenInfo{row.Int(0), row.Text(1),
                               ParseRole(row.Text(2)).value_or(Role::kReader), row.Int(3),
                               row.Int(4), row.Text(5)});
  }
  return tokens;
}

Result<bool> Store::RevokeToken(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND "
                                              "revoked_at = 0",
                                              {int64_t{std::time(nullptr)}, id}));
  return rows.affected > 0;
}

Result<int64_t> Store::CountTokens() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT COUNT(*) FROM tokens WHERE revoked_at = 0"));
  return rows.rows[0].Int(0);
}

Result<void> Store::Audit(const std::string& actor, const std::string& action,
                          const std::string& target, const std::string& detail) {
  auto sql = pool_->Acquire();
  MOAT_TRY(
      sql->Query("INSERT INTO audit_events (time, actor, action, target, detail) VALUES "
                 "($1, $2, $3, $4, $5)",
                 {int64_t{std::time(nullptr)}, actor, action, target, detail}));
  return Ok();
}

Result<std::vector<AuditEvent>> Store::ListAudit(size_t limit) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT id, time, actor, action, target, detail "
                                              "FROM audit_events ORDER BY id DESC LIMIT $1",
                                              {static_cast<int64_t>(limit)}));
  std::vector<AuditEvent> events;
  for (const auto& row : rows.rows) {
    events.push_back(
        AuditEvent{row.Int(0), row.Int(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5)});
  }
  return events;
}

// ---- registries -------------------------------------------------------------------------------

Result<RegistryRecord> Store::AddRegistry(RegistryRecord registry) {
  std::string sealed;
  if (!registry.secret.empty()) {
    MOAT_ASSIGN_OR_RETURN(sealed, SealSecret(secret_key_, registry.secret));
  }
  registry.created_at = std::time(nullptr);
  auto sql = pool_->Acquire();
  auto rows = sql->Query(
      "INSERT INTO registries (name, url, username, secret_enc, poll_seconds, created_at) VALUES "
      "($1, $2, $3, $4, $5, $6) RETURNING id",
      {registry.name, registry.url, registry.username, sealed, registry.poll_seconds,
       registry.created_at});
  if (!rows.ok()) {
    if (rows.error().message.find("UNIQUE") != std::string::npos ||
        rows.error().message.find("unique") != std::string::npos) {
      return Fail("a registry named '", registry.name, "' exists already");
    }
    return rows.error();
  }
  registry.id = rows->rows[0].Int(0);
  return registry;
}

Result<std::vector<RegistryRecord>> Store::ListRegistries() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kRegistryColumns +
                                              " FROM registries ORDER BY id"));
  std::vector<RegistryRecord> registries;
  for (const auto& row : rows.rows) {
    auto registry = ReadRegistry(row);
    MOAT_ASSIGN_OR_RETURN(registry.secret, OpenSecret(secret_key_, registry.secret));
    registries.push_back(std::move(registry));
  }
  return registries;
}

Result<std::optional<RegistryRecord>> Store::GetRegistry(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kRegistryColumns +
                                                  " FROM registries WHERE id = $1",
                                              {id}));
  if (rows.rows.empty()) return std::optional<RegistryRecord>();
  auto registry = ReadRegistry(rows.rows[0]);
  MOAT_ASSIGN_OR_RETURN(registry.secret, OpenSecret(secret_key_, registry.secret));
  return std::optional<RegistryRecord>(std::move(registry));
}

Result<bool> Store::DeleteRegistry(int64_t id) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<bool> {
    MOAT_TRY(tx.Query("DELETE FROM tags WHERE registry_id = $1", {id}));
    MOAT_TRY(tx.Query("DELETE FROM repository_images WHERE registry_id = $1", {id}));
    MOAT_ASSIGN_OR_RETURN(auto rows, tx.Query("DELETE FROM registries WHERE id = $1", {id}));
    return rows.affected > 0;
  });
}

Result<void> Store::MarkRegistryPolled(int64_t id, const std::string& error) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query("UPDATE registries SET last_polled_at = $1, last_error = $2 WHERE id = $3",
                      {int64_t{std::time(nullptr)}, error, id}));
  return Ok();
}

// ---- images -----------------------------------------------------------------------------------

Result<void> Store::RecordPush(int64_t registry_id, const std::string& repository,
                               const std::string& digest, const std::string& tag, int64_t time) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(
        tx.Query("INSERT INTO images (digest, first_seen) VALUES ($1, $2) ON CONFLICT "
                 "(digest) DO NOTHING",
                 {digest, time}));
    MOAT_TRY(tx.Query(
        "INSERT INTO repository_images (registry_id, repository, digest, pushed_at) VALUES ($1, "
        "$2, $3, $4) ON CONFLICT (registry_id, repository, digest) DO UPDATE SET pushed_at = $4",
        {registry_id, repository, digest, time}));
    if (!tag.empty()) {
      MOAT_TRY(tx.Query(
          "INSERT INTO tags (registry_id, repository, tag, digest, updated_at) VALUES ($1, $2, "
          "$3, $4, $5) ON CONFLICT (registry_id, repository, tag) DO UPDATE SET digest = $4, "
          "updated_at = $5",
          {registry_id, repository, tag, digest, time}));
    }
    MOAT_TRY(
        tx.Query("UPDATE registries SET last_event_at = $1 WHERE id = $2", {time, registry_id}));
    return Ok();
  });
}

Result<void> Store::RecordPull(int64_t registry_id, const std::string& repository,
                               const std::string& digest, int64_t time) {
  auto sql = pool_->Acquire();
  MOAT_TRY(
      sql->Query("UPDATE repository_images SET last_pulled_at = $1 WHERE registry_id = $2 "
                 "AND repository = $3 AND digest = $4",
                 {time, registry_id, repository, digest}));
  return Ok();
}

Result<void> Store::RecordDelete(int64_t registry_id, const std::string& repository,
                                 const std::string& digest) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(tx.Query("DELETE FROM tags WHERE registry_id = $1 AND repository = $2 AND digest = $3",
                      {registry_id, repository, digest}));
    MOAT_TRY(
        tx.Query("DELETE FROM repository_images WHERE registry_id = $1 AND repository = $2 "
                 "AND digest = $3",
                 {registry_id, repository, digest}));
    // The image itself goes when nothing refers to it any more.
    MOAT_ASSIGN_OR_RETURN(
        auto refs, tx.Query("SELECT (SELECT COUNT(*) FROM repository_images WHERE digest = $1) + "
                            "(SELECT COUNT(*) FROM containers WHERE image_digest = $1)",
                            {digest}));
    if (refs.rows[0].Int(0) == 0) {
      MOAT_TRY(tx.Query("DELETE FROM findings WHERE resource_kind = 'image' AND resource_id = $1",
                        {digest}));
      MOAT_TRY(tx.Query("DELETE FROM image_packages WHERE digest = $1", {digest}));
      MOAT_TRY(tx.Query("DELETE FROM images WHERE digest = $1", {digest}));
    }
    return Ok();
  });
}

Result<void> Store::DeleteTag(int64_t registry_id, const std::string& repository,
                              const std::string& tag) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query("DELETE FROM tags WHERE registry_id = $1 AND repository = $2 AND tag = $3",
                      {registry_id, repository, tag}));
  return Ok();
}

Result<std::vector<RepositoryImage>> Store::ListRepositoryImages(int64_t registry_id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT r.repository, r.digest, r.pushed_at, r.last_pulled_at, "
                            "COALESCE(t.tag, '') FROM repository_images r LEFT JOIN tags t ON "
                            "t.registry_id = r.registry_id AND t.repository = r.repository AND "
                            "t.digest = r.digest WHERE r.registry_id = $1 ORDER BY r.repository, "
                            "r.digest, t.tag",
                            {registry_id}));
  std::vector<RepositoryImage> images;
  for (const auto& row : rows.rows) {
    if (images.empty() || images.back().repository != row.Text(0) ||
        images.back().digest != row.Text(1)) {
      images.push_back(
          RepositoryImage{registry_id, "", row.Text(0), row.Text(1), {}, row.Int(2), row.Int(3)});
    }
    if (!row.Text(4).empty()) images.back().tags.push_back(row.Text(4));
  }
  return images;
}

Result<void> Store::SaveImageScan(const std::string& digest, const std::string& os,
                                  const std::string& platform, const std::string& inventory_json,
                                  const std::vector<std::pair<std::string, std::string>>& packages,
                                  const std::vector<FindingRecord>& findings, int64_t time) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(tx.Query(
        "INSERT INTO images (digest, os, platform, scan_status, scan_error, scanned_at, "
        "first_seen, package_count, inventory) VALUES ($1, $2, $3, 'scanned', '', $4, $4, $5, "
        "$6) ON CONFLICT (digest) DO UPDATE SET os = $2, platform = $3, scan_status = "
        "'scanned', scan_error = '', scanned_at = $4, package_count = $5, inventory = $6",
        {digest, os, platform, time, static_cast<int64_t>(packages.size()), inventory_json}));
    MOAT_TRY(tx.Query("DELETE FROM image_packages WHERE digest = $1", {digest}));
    std::set<std::pair<std::string, std::string>> unique(packages.begin(), packages.end());
    for (const auto& [ecosystem, name] : unique) {
      MOAT_TRY(tx.Query("INSERT INTO image_packages (digest, ecosystem, name) VALUES ($1, $2, $3)",
                        {digest, ecosystem, name}));
    }
    return ReplaceFindings(tx, "image", digest, "vulnerability", findings, time);
  });
}

Result<void> Store::SaveImageScanFailure(const std::string& digest, const std::string& error,
                                         int64_t time) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query(
      "INSERT INTO images (digest, scan_status, scan_error, scanned_at, first_seen) VALUES ($1, "
      "'failed', $2, $3, $3) ON CONFLICT (digest) DO UPDATE SET scan_status = 'failed', "
      "scan_error = $2, scanned_at = $3",
      {digest, error, time}));
  return Ok();
}

namespace {

constexpr const char* kImageColumns =
    "i.digest, i.os, i.platform, i.scan_status, i.scan_error, i.scanned_at, i.first_seen, "
    "i.last_seen_running, i.package_count";

// Counts and locations of the images listed.
Result<void> FillImageDetails(SqlConnection& sql, std::vector<ImageRecord>& images) {
  for (auto& image : images) {
    MOAT_ASSIGN_OR_RETURN(
        auto counts, sql.Query("SELECT severity, COUNT(*), CAST(SUM(patchable) AS BIGINT) FROM "
                               "findings WHERE resource_kind = "
                               "'image' AND resource_id = $1 AND resolved_at = 0 GROUP BY severity",
                               {image.digest}));
    for (const auto& row : counts.rows) {
      const std::string severity = row.Text(0);
      int64_t* slot = severity == "CRITICAL" ? &image.counts.critical
                      : severity == "HIGH"   ? &image.counts.high
                      : severity == "MEDIUM" ? &image.counts.medium
                      : severity == "LOW"    ? &image.counts.low
                                             : &image.counts.unknown;
      *slot += row.Int(1);
      image.counts.fixable += row.Int(2);
    }
    MOAT_ASSIGN_OR_RETURN(
        auto locations,
        sql.Query("SELECT r.registry_id, g.name, r.repository, r.pushed_at, r.last_pulled_at, "
                  "COALESCE(t.tag, '') FROM repository_images r JOIN registries g ON g.id = "
                  "r.registry_id LEFT JOIN tags t ON t.registry_id = r.registry_id AND "
                  "t.repository = r.repository AND t.digest = r.digest WHERE r.digest = $1 "
                  "ORDER BY g.name, r.repository, t.tag",
                  {image.digest}));
    for (const auto& row : locations.rows) {
      if (image.locations.empty() || image.locations.back().registry_id != row.Int(0) ||
          image.locations.back().repository != row.Text(2)) {
        image.locations.push_back(RepositoryImage{
            row.Int(0), row.Text(1), row.Text(2), image.digest, {}, row.Int(3), row.Int(4)});
      }
      if (!row.Text(5).empty()) image.locations.back().tags.push_back(row.Text(5));
    }
  }
  return Ok();
}

ImageRecord ReadImage(const SqlRow& row) {
  ImageRecord image;
  image.digest = row.Text(0);
  image.os = row.Text(1);
  image.platform = row.Text(2);
  image.scan_status = row.Text(3);
  image.scan_error = row.Text(4);
  image.scanned_at = row.Int(5);
  image.first_seen = row.Int(6);
  image.last_seen_running = row.Int(7);
  image.package_count = row.Int(8);
  return image;
}

}  // namespace

Result<Page<ImageRecord>> Store::ListImages(const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, 'x'));
  auto sql = pool_->Acquire();
  Conditions where;
  if (cursor) where.Add("i.digest > " + where.Param(cursor->key));
  const std::string limit = where.Param(static_cast<int64_t>(page.limit + 1));
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query(std::string("SELECT ") + kImageColumns + " FROM images i" +
                                       where.Where() + " ORDER BY i.digest LIMIT " + limit,
                                   where.params()));
  Page<ImageRecord> result;
  for (const auto& row : rows.rows) result.items.push_back(ReadImage(row));
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    result.next_cursor = "x:" + result.items.back().digest + ":0";
  }
  MOAT_TRY(FillImageDetails(*sql, result.items));
  return result;
}

Result<std::optional<ImageRecord>> Store::GetImage(const std::string& digest) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kImageColumns +
                                                  ", i.inventory FROM images i WHERE i.digest = $1",
                                              {digest}));
  if (rows.rows.empty()) return std::optional<ImageRecord>();
  std::vector<ImageRecord> images{ReadImage(rows.rows[0])};
  images[0].inventory_json = rows.rows[0].Text(9);
  MOAT_TRY(FillImageDetails(*sql, images));
  return std::optional<ImageRecord>(std::move(images[0]));
}

Result<std::vector<std::string>> Store::ImagesWithPackage(const std::string& ecosystem,
                                                          const std::string& name) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query("SELECT digest FROM image_packages WHERE ecosystem = $1 AND "
                                   "name = $2 ORDER BY digest",
                                   {ecosystem, name}));
  std::vector<std::string> digests;
  for (const auto& row : rows.rows) digests.push_back(row.Text(0));
  return digests;
}

Result<std::vector<std::string>> Store::DueRescanDigests(int64_t now) {
  constexpr int64_t kDay = 24 * 3600;
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query("SELECT i.digest FROM images i WHERE i.scan_status = 'scanned' AND i.scanned_at "
                 "< $1 AND (EXISTS (SELECT 1 FROM repository_images r WHERE r.digest = i.digest "
                 "AND (r.pushed_at >= $2 OR r.last_pulled_at >= $3)) OR EXISTS (SELECT 1 FROM "
                 "containers c WHERE c.image_digest = i.digest AND c.state = 'running')) ORDER "
                 "BY i.digest",
                 {now - kDay, now - 90 * kDay, now - 30 * kDay}));
  std::vector<std::string> digests;
  for (const auto& row : rows.rows) digests.push_back(row.Text(0));
  return digests;
}

// ---- findings ---------------------------------------------------------------------------------

Result<Page<FindingRecord>> Store::ListFindings(const FindingFilter& filter, FindingSort sort,
                                                const PageRequest& page) {
  const char sort_letter = sort == FindingSort::kSeverity ? 's'
                           : sort == FindingSort::kCvss   ? 'c'
                                                          : 'f';
  const char* key_column = sort == FindingSort::kSeverity ? "severity_rank"
                           : sort == FindingSort::kCvss   ? "cvss"
                                                          : "first_seen";
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, sort_letter));
  Conditions where;
  if (!filter.include_resolved) where.Add("resolved_at = 0");
  if (!filter.severities.empty()) where.Add("severity IN " + InList(where, filter.severities));
  if (!filter.resource_kind.empty()) {
    where.Add("resource_kind = " + where.Param(filter.resource_kind));
  }
  if (!filter.resource_id.empty()) where.Add("resource_id = " + where.Param(filter.resource_id));
  if (!filter.source.empty()) where.Add("source = " + where.Param(filter.source));
  if (!filter.finding_id.empty()) where.Add("finding_id = " + where.Param(filter.finding_id));
  if (!filter.package.empty()) where.Add("package = " + where.Param(filter.package));
  if (filter.kev) where.Add("kev = " + where.Param(Bool(*filter.kev)));
  if (filter.patchable) where.Add("patchable = " + where.Param(Bool(*filter.patchable)));
  if (cursor) {
    SqlValue key = sort == FindingSort::kCvss ? SqlValue(std::stod(cursor->key))
                                              : SqlValue(int64_t{std::stoll(cursor->key)});
    const std::string k = where.Param(key);
    const std::string id = where.Param(cursor->id);
    where.Add(std::string("(") + key_column + " < " + k + " OR (" + key_column + " = " + k +
              " AND id > " + id + "))");
  }
  const std::string limit = where.Param(static_cast<int64_t>(page.limit + 1));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kFindingColumns + ", severity_rank FROM " + "findings" +
                     where.Where() + " ORDER BY " + key_column + " DESC, id LIMIT " + limit,
                 where.params()));
  Page<FindingRecord> result;
  for (const auto& row : rows.rows) result.items.push_back(ReadFinding(row));
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    const auto& last = result.items.back();
    const auto& last_row = rows.rows[page.limit - 1];
    std::string key = sort == FindingSort::kSeverity ? std::to_string(last_row.Int(22))
                      : sort == FindingSort::kCvss   ? last_row.Text(11)
                                                     : std::to_string(last.first_seen);
    result.next_cursor = std::string(1, sort_letter) + ":" + key + ":" + std::to_string(last.id);
  }
  return result;
}

Result<std::vector<FindingRecord>> Store::OpenFindings() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kFindingColumns +
                                              " FROM findings WHERE resolved_at = 0 ORDER BY id"));
  std::vector<FindingRecord> findings;
  findings.reserve(rows.rows.size());
  for (const auto& row : rows.rows) findings.push_back(ReadFinding(row));
  return findings;
}

// ---- agents and hosts -------------------------------------------------------------------------

Result<AgentRecord> Store::RegisterAgent(const std::string& id, const std::string& kind,
                                         const std::string& version, const std::string& hostname,
                                         int64_t time) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("INSERT INTO agents (id, kind, version, hostname, registered_at, "
                             "last_heartbeat) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO "
                             "UPDATE SET kind = $2, version = $3, hostname = $4, last_heartbeat "
                             "= $5 RETURNING ") +
                     kAgentColumns,
                 {id, kind, version, hostname, time}));
  return ReadAgent(rows.rows[0]);
}

Result<std::optional<AgentRecord>> Store::GetAgent(const std::string& id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kAgentColumns + " FROM agents WHERE id = $1", {id}));
  if (rows.rows.empty()) return std::optional<AgentRecord>();
  return std::optional<AgentRecord>(ReadAgent(rows.rows[0]));
}

Result<std::vector<AgentRecord>> Store::ListAgents() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query(std::string("SELECT ") + kAgentColumns + " FROM agents ORDER BY id"));
  std::vector<AgentRecord> agents;
  for (const auto& row : rows.rows) agents.push_back(ReadAgent(row));
  return agents;
}

Result<int64_t> Store::ApplyAgentMessages(
    const std::string& agent_id, const std::vector<AgentMessage>& messages, int64_t time,
    const std::function<Result<void>(SqlConnection&, const AgentMessage&)>& apply) {
  auto sql = pool_->Acquire();
  const bool postgres = dialect() == SqlDialect::kPostgres;
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<int64_t> {
    // The agent's row is locked for the transaction, so two batches of one agent apply in turn.
    MOAT_ASSIGN_OR_RETURN(auto rows,
                          tx.Query(std::string("SELECT acked_through FROM agents WHERE id = $1") +
                                       (postgres ? " FOR UPDATE" : ""),
                                   {agent_id}));
    if (rows.rows.empty()) return Fail("agent '", agent_id, "' is not registered");
    int64_t acked = rows.rows[0].Int(0);
    for (const auto& message : messages) {
      // A "dropped" message covers seq..through: new while through is beyond what was applied.
      const int64_t last = std::max(message.seq, message.through);
      if (last <= acked) continue;  // sent again after a lost acknowledgement
      if (message.seq > acked + 1) {
        return Fail("gap: message ", std::to_string(message.seq), " follows ",
                    std::to_string(acked), "; resend from ", std::to_string(acked + 1));
      }
      MOAT_TRY(apply(tx, message));
      acked = last;
    }
    MOAT_TRY(tx.Query("UPDATE agents SET acked_through = $1, last_heartbeat = $2 WHERE id = $3",
                      {acked, time, agent_id}));
    return acked;
  });
}

Result<void> Store::SaveHostReport(SqlConnection& sql, const HostRecord& host,
                                   const std::vector<ContainerRecord>& containers,
                                   const std::vector<FindingRecord>& cis_findings, int64_t time) {
  MOAT_TRY(sql.Query(
      "INSERT INTO hosts (id, name, agent_id, os, kernel, docker_version, last_report_at, "
      "cis_passed, cis_failed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO "
      "UPDATE SET name = $2, agent_id = $3, os = $4, kernel = $5, docker_version = $6, "
      "last_report_at = $7, cis_passed = $8, cis_failed = $9",
      {host.id, host.name, host.agent_id, host.os, host.kernel, host.docker_version, time,
       host.cis_passed, host.cis_failed}));
  MOAT_TRY(sql.Query("DELETE FROM containers WHERE host_id = $1", {host.id}));
  for (const auto& c : containers) {
    MOAT_TRY(sql.Query(
        "INSERT INTO containers (host_id, id, name, image, image_id, image_digest, state, "
        "started_at, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT "
        "(host_id, id) DO NOTHING",
        {host.id, c.id, c.name, c.image, c.image_id, c.image_digest, c.state, c.started_at, time}));
    if (!c.image_digest.empty() && c.state == "running") {
      MOAT_TRY(
          sql.Query("INSERT INTO images (digest, first_seen, last_seen_running) VALUES ($1, "
                    "$2, $2) ON CONFLICT (digest) DO UPDATE SET last_seen_running = $2",
                    {c.image_digest, time}));
    }
  }
  return ReplaceFindings(sql, "host", host.id, "cis-docker", cis_findings, time);
}

Result<std::vector<HostRecord>> Store::ListHosts() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kHostColumns +
                                              " FROM hosts ORDER BY name, id"));
  std::vector<HostRecord> hosts;
  for (const auto& row : rows.rows) hosts.push_back(ReadHost(row));
  return hosts;
}

Result<std::optional<HostRecord>> Store::GetHost(const std::string& id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kHostColumns + " FROM hosts WHERE id = $1", {id}));
  if (rows.rows.empty()) return std::optional<HostRecord>();
  HostRecord host = ReadHost(rows.rows[0]);
  MOAT_ASSIGN_OR_RETURN(
      auto containers,
      sql->Query("SELECT host_id, id, name, image, image_id, image_digest, state, started_at FROM "
                 "containers WHERE host_id = $1 ORDER BY name, id",
                 {id}));
  for (const auto& row : containers.rows) {
    host.containers.push_back(ContainerRecord{row.Text(0), row.Text(1), row.Text(2), row.Text(3),
                                              row.Text(4), row.Text(5), row.Text(6), row.Text(7)});
  }
  return std::optional<HostRecord>(std::move(host));
}

Result<std::vector<std::string>> Store::RunningImageDigests() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT DISTINCT image_digest FROM containers WHERE "
                                              "state = 'running' AND image_digest <> '' ORDER BY "
                                              "image_digest"));
  std::vector<std::string> digests;
  for (const auto& row : rows.rows) digests.push_back(row.Text(0));
  return digests;
}

// ---- alerts -----------------------------------------------------------------------------------

Result<std::vector<int64_t>> Store::InsertAlerts(SqlConnection& sql,
                                                 const std::vector<StoredAlert>& alerts,
                                                 const AlertWindows& windows,
                                                 std::vector<bool>* created) {
  std::vector<int64_t> ids;
  ids.reserve(alerts.size());
  if (created != nullptr) created->assign(alerts.size(), false);
  for (size_t index = 0; index < alerts.size(); ++index) {
    const StoredAlert& alert = alerts[index];
    MOAT_ASSIGN_OR_RETURN(
        auto same, sql.Query("SELECT id, last_time_ns FROM alerts WHERE dedupe_key = $1 AND "
                             "status = 'active' AND last_time_ns >= $2 ORDER BY id DESC LIMIT 1",
                             {alert.dedupe_key, alert.time_ns - windows.dedupe_ns}));
    if (!same.rows.empty()) {
      const int64_t id = same.rows[0].Int(0);
      MOAT_TRY(sql.Query("UPDATE alerts SET count = count + 1, last_time_ns = $1 WHERE id = $2",
                         {std::max(alert.time_ns, same.rows[0].Int(1)), id}));
      ids.push_back(id);
      continue;
    }
    // An incident groups the alerts of one container, pod or host process within the window.
    int64_t incident = 0;
    if (!alert.incident_key.empty()) {
      MOAT_ASSIGN_OR_RETURN(auto related,
                            sql.Query("SELECT incident_id FROM alerts WHERE incident_key = $1 AND "
                                      "last_time_ns >= $2 ORDER BY last_time_ns DESC LIMIT 1",
                                      {alert.incident_key, alert.time_ns - windows.incident_ns}));
      if (!related.rows.empty()) incident = related.rows[0].Int(0);
    }
    MOAT_ASSIGN_OR_RETURN(
        auto inserted,
        sql.Query(
            "INSERT INTO alerts (dedupe_key, time_ns, last_time_ns, rule, priority, source, "
            "container_id, namespace_name, pod, node, image, mitre_tactic, "
            "mitre_technique, incident_key, incident_id, body) VALUES ($1, $2, $2, $3, $4, "
            "$5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
            {alert.dedupe_key, alert.time_ns, alert.rule, alert.priority, alert.source,
             alert.container_id, alert.namespace_name, alert.pod, alert.node, alert.image,
             alert.mitre_tactic, alert.mitre_technique, alert.incident_key, incident, alert.body}));
    const int64_t id = inserted.rows[0].Int(0);
    if (created != nullptr) (*created)[index] = true;
    if (incident == 0) {
      MOAT_TRY(sql.Query("UPDATE alerts SET incident_id = $1 WHERE id = $1", {id}));
    }
    ids.push_back(id);
  }
  return ids;
}

Result<std::vector<int64_t>> Store::InsertAlerts(const std::vector<StoredAlert>& alerts,
                                                 const AlertWindows& windows,
                                                 std::vector<bool>* created) {
  auto sql = pool_->Acquire();
  return InTransaction(
      *sql, [&](SqlConnection& tx) { return InsertAlerts(tx, alerts, windows, created); });
}

Result<Page<StoredAlert>> Store::ListAlerts(const AlertFilter& filter, const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, 't'));
  Conditions where;
  if (!filter.statuses.empty()) where.Add("status IN " + InList(where, filter.statuses));
  if (!filter.priorities.empty()) where.Add("priority IN " + InList(where, filter.priorities));
  if (!filter.rule.empty()) where.Add("rule = " + where.Param(filter.rule));
  if (!filter.container_id.empty()) where.Add("container_id = " + where.Param(filter.container_id));
  if (!filter.namespace_name.empty()) {
    where.Add("namespace_name = " + where.Param(filter.namespace_name));
  }
  if (filter.since_ns > 0) where.Add("time_ns >= " + where.Param(filter.since_ns));
  if (cursor) {
    const std::string t = where.Param(int64_t{std::stoll(cursor->key)});
    const std::string id = where.Param(cursor->id);
    where.Add("(time_ns < " + t + " OR (time_ns = " + t + " AND id > " + id + "))");
  }
  const std::string limit = where.Param(static_cast<int64_t>(page.limit + 1));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query(std::string("SELECT ") + kAlertColumns + " FROM alerts" +
                                       where.Where() + " ORDER BY time_ns DESC, id LIMIT " + limit,
                                   where.params()));
  Page<StoredAlert> result;
  for (const auto& row : rows.rows) result.items.push_back(ReadAlert(row));
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    result.next_cursor = "t:" + std::to_string(result.items.back().time_ns) + ":" +
                         std::to_string(result.items.back().id);
  }
  return result;
}

Result<std::optional<StoredAlert>> Store::GetAlert(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kAlertColumns + " FROM alerts WHERE id = $1", {id}));
  if (rows.rows.empty()) return std::optional<StoredAlert>();
  return std::optional<StoredAlert>(ReadAlert(rows.rows[0]));
}

Result<bool> Store::SetAlertStatus(int64_t id, const std::string& status, const std::string& by,
                                   const std::string& reason) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query("UPDATE alerts SET status = $1, status_by = $2, "
                                   "status_reason = $3, status_at = $4 WHERE id = $5",
                                   {status, by, reason, int64_t{std::time(nullptr)}, id}));
  return rows.affected > 0;
}

// ---- disable rules ----------------------------------------------------------------------------

Result<DisableRuleRecord> Store::AddDisableRule(DisableRuleRecord rule) {
  rule.created_at = std::time(nullptr);
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query("INSERT INTO disable_rules (name, rule, created_by, created_at, "
                 "expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                 {rule.name, rule.rule_json, rule.created_by, rule.created_at, rule.expires_at}));
  rule.id = rows.rows[0].Int(0);
  return rule;
}

Result<std::vector<DisableRuleRecord>> Store::ListDisableRules() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT id, name, rule, created_by, created_at, "
                                              "expires_at FROM disable_rules ORDER BY id"));
  std::vector<DisableRuleRecord> rules;
  for (const auto& row : rows.rows) {
    rules.push_back(DisableRuleRecord{row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4),
                                      row.Int(5)});
  }
  return rules;
}

Result<bool> Store::DeleteDisableRule(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("DELETE FROM disable_rules WHERE id = $1", {id}));
  return rows.affected > 0;
}

// ---- jobs -------------------------------------------------------------------------------------

Result<bool> Store::EnqueueJob(const std::string& kind, const std::string& key,
                               const std::string& payload, int64_t run_after) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("INSERT INTO jobs (kind, job_key, payload, run_after, created_at) "
                            "VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                            {kind, key, payload, run_after, int64_t{std::time(nullptr)}}));
  return rows.affected > 0;
}

Result<std::optional<Job>> Store::ClaimJob(const std::string& worker, int64_t lease_seconds,
                                           int64_t now) {
  // PostgreSQL: SKIP LOCKED lets concurrent workers take different jobs without waiting; SQLite
  // has one writer at a time, so the subquery alone is exact.
  const bool postgres = dialect() == SqlDialect::kPostgres;
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = "
                             "$2, attempts = attempts + 1 WHERE id = (SELECT id FROM jobs WHERE "
                             "(state = 'queued' AND run_after <= $3) OR (state = 'running' AND "
                             "lease_until < $3) ORDER BY id LIMIT 1") +
                     (postgres ? " FOR UPDATE SKIP LOCKED" : "") +
                     ") RETURNING id, kind, job_key, payload, attempts",
                 {worker, now + lease_seconds, now}));
  if (rows.rows.empty()) return std::optional<Job>();
  const auto& row = rows.rows[0];
  return std::optional<Job>(Job{row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)});
}

Result<void> Store::CompleteJob(int64_t id, const std::string& worker) {
  auto sql = pool_->Acquire();
  MOAT_TRY(
      sql->Query("UPDATE jobs SET state = 'done', finished_at = $1 WHERE id = $2 AND "
                 "lease_owner = $3 AND state = 'running'",
                 {int64_t{std::time(nullptr)}, id, worker}));
  return Ok();
}

Result<void> Store::FailJob(int64_t id, const std::string& worker, const std::string& error,
                            int64_t retry_at, int max_attempts) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query(
      "UPDATE jobs SET state = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'queued' END, "
      "run_after = $2, lease_owner = '', last_error = $3, finished_at = CASE WHEN attempts >= $1 "
      "THEN $4 ELSE 0 END WHERE id = $5 AND lease_owner = $6 AND state = 'running'",
      {int64_t{max_attempts}, retry_at, error, int64_t{std::time(nullptr)}, id, worker}));
  return Ok();
}

Result<Store::JobCounts> Store::CountJobs() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT state, COUNT(*) FROM jobs GROUP BY state"));
  JobCounts counts;
  for (const auto& row : rows.rows) {
    const std::string state = row.Text(0);
    if (state == "queued") counts.queued = row.Int(1);
    if (state == "running") counts.running = row.Int(1);
    if (state == "done") counts.done = row.Int(1);
    if (state == "failed") counts.failed = row.Int(1);
  }
  return counts;
}

}  // namespace moat::server
