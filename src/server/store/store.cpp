#include "server/store/store.h"

#include <openssl/rand.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "core/alert.h"
#include "core/bytes.h"
#include "core/json_model.h"
#include "core/sha256.h"
#include "core/text.h"
#include "core/text_format.h"
#include "core/vulnerability.h"
#include "server/in_use.h"
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

// Sets of rows (a batch of alerts, an image's findings and packages) are written with multi-row
// statements rather than one round trip per row (bench/server.sh, bench/server_images.sh). Rows
// are cut greedily into chunks of these sizes, so that each statement has one of five texts
// whatever the number of rows (both drivers prepare a statement once per text) and stays far
// below the drivers' parameter limits (SQLite 32,766, PostgreSQL 65,535).
constexpr size_t kChunkSizes[] = {256, 64, 16, 4, 1};

// Calls fn(first, size) for consecutive chunks covering [0, count).
template <typename Fn>
Result<void> ForEachChunk(size_t count, Fn&& fn) {
  size_t first = 0;
  for (size_t size : kChunkSizes) {
    for (; count - first >= size; first += size) MOAT_TRY(fn(first, size));
  }
  return Ok();
}

// Whether `text` contains `lower_part` (lower case) in any case.
bool ContainsFolded(const std::string& text, const std::string& lower_part) {
  return AsciiLower(text).find(lower_part) != std::string::npos;
}

// "($1, $2), ($3, $4)": `rows` tuples of `columns` numbered parameters.
std::string ValuesTuples(size_t rows, size_t columns) {
  std::string out;
  size_t next = 1;
  for (size_t row = 0; row < rows; ++row) {
    out += row == 0 ? "(" : ", (";
    for (size_t column = 0; column < columns; ++column) {
      out += (column == 0 ? "$" : ", $") + std::to_string(next++);
    }
    out += ")";
  }
  return out;
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

// Adds `count` findings of `severity` (and `fixable` of them patchable) to `counts`.
void CountSeverity(SeverityCounts& counts, const std::string& severity, int64_t count,
                   int64_t fixable) {
  int64_t* slot = severity == "CRITICAL" ? &counts.critical
                  : severity == "HIGH"   ? &counts.high
                  : severity == "MEDIUM" ? &counts.medium
                  : severity == "LOW"    ? &counts.low
                                         : &counts.unknown;
  *slot += count;
  counts.fixable += fixable;
}

// The columns assessment reads (posture.cpp FactOf): ForEachOpenFinding and OpenFindingsOf
// leave out the evidence, remediation and versions, and the last-seen lookup of the image per
// row, which a recommendation page's 15,000 findings would otherwise pay for. They are the first
// columns of kFindingColumns, so that one reader serves both.
constexpr const char* kAssessedFindingColumns =
    "id, resource_kind, resource_id, source, finding_id, category, title, severity, cvss, kev, "
    "patchable, in_use";
constexpr int kAssessedFindingColumnCount = 12;
constexpr int kCvssColumn = 8;  // kept as text for a cursor, so that it round-trips exactly

// An open finding of an image was last seen by the image's last scan or match: read from the
// image (scanned_at), so that a re-match does not rewrite every unchanged finding's row (on
// PostgreSQL each such update writes a new row version and an entry in each of the findings'
// indexes: 11.6 s of the 1,000 images' re-match). Other findings keep theirs in the row.
constexpr const char* kFindingColumns =
    "id, resource_kind, resource_id, source, finding_id, category, title, severity, cvss, kev, "
    "patchable, in_use, package, installed_version, fixed_version, epss, layer, evidence, "
    "remediation, first_seen, CASE WHEN resolved_at = 0 AND resource_kind = 'image' "
    "THEN COALESCE((SELECT i.scanned_at FROM images i WHERE i.digest = resource_id), last_seen) "
    "ELSE last_seen END, resolved_at";
constexpr int kFindingColumnCount = 22;  // a query may add a column after them

FindingRecord ReadAssessedFinding(const SqlRow& row) {
  FindingRecord f;
  f.id = row.Int(0);
  f.resource_kind = row.Text(1);
  f.resource_id = row.Text(2);
  f.source = row.Text(3);
  f.finding_id = row.Text(4);
  f.category = row.Text(5);
  f.title = row.Text(6);
  f.severity = row.Text(7);
  f.cvss = row.Real(kCvssColumn);
  f.kev = row.Int(9) != 0;
  f.patchable = row.Int(10) != 0;
  f.in_use = row.Int(11) != 0;
  return f;
}

FindingRecord ReadFinding(const SqlRow& row) {
  FindingRecord f = ReadAssessedFinding(row);
  constexpr int kFirst = kAssessedFindingColumnCount;
  f.package = row.Text(kFirst);
  f.installed_version = row.Text(kFirst + 1);
  f.fixed_version = row.Text(kFirst + 2);
  f.epss = row.Real(kFirst + 3);
  f.layer = row.Text(kFirst + 4);
  f.evidence = row.Text(kFirst + 5);
  f.remediation = row.Text(kFirst + 6);
  f.first_seen = row.Int(kFirst + 7);
  f.last_seen = row.Int(kFirst + 8);
  f.resolved_at = row.Int(kFirst + 9);
  return f;
}

using FindingKey = std::tuple<std::string, std::string, std::string, std::string>;

// The fields a scan sets; a stored finding with the same ones needs no rewrite.
bool SameFindingFields(const FindingRecord& stored, const FindingRecord& current) {
  return stored.fixed_version == current.fixed_version && stored.category == current.category &&
         stored.title == current.title && stored.severity == UpperSeverity(current.severity) &&
         stored.cvss == current.cvss && stored.kev == current.kev && stored.epss == current.epss &&
         stored.patchable == current.patchable && stored.in_use == current.in_use &&
         stored.layer == current.layer && stored.evidence == current.evidence &&
         stored.remediation == current.remediation;
}

// Replaces the open findings of one resource from one source: upserts the current ones (first
// seen is kept, a resolved one reopens) and resolves the ones that are gone. An open finding
// whose fields did not change only has its last-seen time moved, and an image's not even that
// (its last-seen time is the image's scanned_at), so that a re-match after a database update
// rewrites no more than what the update changed (bench/server_images.sh). For an image, call it
// before moving the image's scanned_at: its vanished findings keep the previous scan's time.
// Recounts an image's open findings into image_finding_counts (schema.cpp, migration 9), in the
// transaction that changed them.
Result<void> RefreshImageCounts(SqlConnection& sql, const std::string& digest) {
  MOAT_TRY(sql.Query("DELETE FROM image_finding_counts WHERE digest = $1", {digest}));
  MOAT_TRY(sql.Query(
      "INSERT INTO image_finding_counts (digest, critical, high, medium, low, unknown, fixable, "
      "kev) SELECT resource_id, SUM(CASE WHEN severity = 'CRITICAL' THEN 1 ELSE 0 END), "
      "SUM(CASE WHEN severity = 'HIGH' THEN 1 ELSE 0 END), SUM(CASE WHEN severity = 'MEDIUM' "
      "THEN 1 ELSE 0 END), SUM(CASE WHEN severity = 'LOW' THEN 1 ELSE 0 END), SUM(CASE WHEN "
      "severity NOT IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW') THEN 1 ELSE 0 END), "
      "CAST(SUM(patchable) AS BIGINT), CAST(SUM(kev) AS BIGINT) FROM findings WHERE "
      "resource_kind = 'image' AND resource_id = $1 AND resolved_at = 0 GROUP BY resource_id",
      {digest}));
  return Ok();
}

// The (type, name) of the packages of an image that a sensor saw in use (SaveInUse).
Result<std::set<PackageRef>> ImagePackagesInUse(SqlConnection& sql, const std::string& digest) {
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql.Query("SELECT DISTINCT ecosystem, name FROM packages_in_use WHERE digest = $1",
                           {digest}));
  std::set<PackageRef> packages;
  for (const auto& row : rows.rows) packages.emplace(row.Text(0), row.Text(1));
  return packages;
}

// Marks the open findings of `digest` in use when a sensor saw their package in use, and clears
// the mark of the others; rows already right are not rewritten.
Result<void> RefreshImageInUse(SqlConnection& sql, const std::string& digest) {
  constexpr const char* kInUseNow =
      "CASE WHEN EXISTS (SELECT 1 FROM packages_in_use u WHERE u.digest = findings.resource_id "
      "AND u.ecosystem = findings.category AND u.name = findings.package) THEN 1 ELSE 0 END";
  MOAT_TRY(sql.Query(std::string("UPDATE findings SET in_use = ") + kInUseNow +
                         " WHERE resource_kind = 'image' AND resource_id = $1 AND resolved_at = 0 "
                         "AND in_use <> " +
                         kInUseNow,
                     {digest}));
  return Ok();
}

Result<void> ReplaceFindings(SqlConnection& sql, const std::string& resource_kind,
                             const std::string& resource_id, const std::string& source,
                             const std::vector<FindingRecord>& scanned, int64_t now) {
  // A scan does not know what runs: an image's findings in a package a sensor saw in use are
  // marked here, so that a re-match keeps the mark (and does not rewrite the row to clear it).
  const std::vector<FindingRecord>* current_findings = &scanned;
  std::vector<FindingRecord> marked;
  if (resource_kind == "image") {
    MOAT_ASSIGN_OR_RETURN(auto in_use, ImagePackagesInUse(sql, resource_id));
    if (!in_use.empty()) {
      marked = scanned;
      for (FindingRecord& f : marked) f.in_use = in_use.count({f.category, f.package}) != 0;
      current_findings = &marked;
    }
  }
  const std::vector<FindingRecord>& findings = *current_findings;
  MOAT_ASSIGN_OR_RETURN(auto rows, sql.Query(std::string("SELECT ") + kFindingColumns +
                                                 " FROM findings WHERE resource_kind = $1 AND "
                                                 "resource_id = $2",
                                             {resource_kind, resource_id}));
  std::map<FindingKey, FindingRecord> stored;
  for (const auto& row : rows.rows) {
    FindingRecord f = ReadFinding(row);
    FindingKey key{f.source, f.finding_id, f.package, f.installed_version};
    stored.emplace(std::move(key), std::move(f));
  }
  // By key, the last of equal keys winning (one package version installed at two paths).
  std::map<FindingKey, const FindingRecord*> current;
  for (const auto& f : findings) {
    current[{f.source.empty() ? source : f.source, f.finding_id, f.package, f.installed_version}] =
        &f;
  }
  std::vector<int64_t> seen_again, gone;
  std::vector<std::pair<const FindingKey*, const FindingRecord*>> upserts;
  for (const auto& [key, f] : current) {
    auto found = stored.find(key);
    if (found != stored.end() && found->second.resolved_at == 0 &&
        SameFindingFields(found->second, *f)) {
      seen_again.push_back(found->second.id);
    } else {
      upserts.emplace_back(&key, f);
    }
  }
  for (const auto& [key, f] : stored) {
    if (f.resolved_at == 0 && f.source == source && !current.count(key)) gone.push_back(f.id);
  }

  MOAT_TRY(ForEachChunk(upserts.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    params.reserve(size * 22);
    for (size_t i = first; i < first + size; ++i) {
      const auto& [key, f] = upserts[i];
      const std::string severity = UpperSeverity(f->severity);
      params.insert(params.end(), {resource_kind,
                                   resource_id,
                                   std::get<0>(*key),
                                   f->finding_id,
                                   f->package,
                                   f->installed_version,
                                   f->fixed_version,
                                   f->category,
                                   f->title,
                                   severity,
                                   int64_t{SeverityRank(AsciiLower(severity))},
                                   f->cvss,
                                   Bool(f->kev),
                                   f->epss,
                                   Bool(f->patchable),
                                   Bool(f->in_use),
                                   f->layer,
                                   f->evidence,
                                   f->remediation,
                                   now,
                                   now,
                                   int64_t{0}});
    }
    MOAT_TRY(sql.Query(
        "INSERT INTO findings (resource_kind, resource_id, source, finding_id, package, "
        "installed_version, fixed_version, category, title, severity, severity_rank, cvss, kev, "
        "epss, patchable, in_use, layer, evidence, remediation, first_seen, last_seen, "
        "resolved_at) VALUES " +
            ValuesTuples(size, 22) +
            " ON CONFLICT (resource_kind, resource_id, source, finding_id, package, "
            "installed_version) DO UPDATE SET fixed_version = excluded.fixed_version, category = "
            "excluded.category, title = excluded.title, severity = excluded.severity, "
            "severity_rank = excluded.severity_rank, cvss = excluded.cvss, kev = excluded.kev, "
            "epss = excluded.epss, patchable = excluded.patchable, in_use = excluded.in_use, "
            "layer = excluded.layer, evidence = excluded.evidence, remediation = "
            "excluded.remediation, last_seen = excluded.last_seen, resolved_at = 0",
        params));
    return Ok();
  }));
  // UPDATE findings SET <column> = <time> WHERE id IN (<ids>), by chunks.
  auto set_time = [&](const char* column, const std::vector<int64_t>& ids, int64_t time) {
    return ForEachChunk(ids.size(), [&](size_t first, size_t size) -> Result<void> {
      std::vector<SqlValue> params(ids.begin() + first, ids.begin() + first + size);
      params.push_back(time);
      MOAT_TRY(sql.Query(std::string("UPDATE findings SET ") + column + " = $" +
                             std::to_string(size + 1) + " WHERE id IN " + ValuesTuples(1, size),
                         params));
      return Ok();
    });
  };
  if (resource_kind == "image") {
    // Open, they were last seen by the image's previous scan (read as their last-seen time);
    // resolved, they keep that time in their row.
    int64_t previous_scan = 0;
    for (const auto& [key, f] : stored) {
      if (f.resolved_at == 0) previous_scan = std::max(previous_scan, f.last_seen);
    }
    MOAT_TRY(set_time("last_seen", gone, previous_scan));
    MOAT_TRY(set_time("resolved_at", gone, now));
    return RefreshImageCounts(sql, resource_id);
  }
  MOAT_TRY(set_time("last_seen", seen_again, now));
  return set_time("resolved_at", gone, now);
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

namespace {

constexpr const char* kTokenColumns =
    "id, name, role, created_at, last_used_at, created_by, user_id, expires_at";

// A row of kTokenColumns; a role this version does not know reads as reader.
TokenInfo ReadToken(const SqlRow& row) {
  return TokenInfo{row.Int(0), row.Text(1), ParseRole(row.Text(2)).value_or(Role::kReader),
                   row.Int(3), row.Int(4),  row.Text(5),
                   row.Int(6), row.Int(7)};
}

}  // namespace

Result<std::optional<TokenInfo>> Store::Authenticate(const std::string& token) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query(std::string("SELECT ") + kTokenColumns +
                                " FROM tokens WHERE hash = $1 AND revoked_at = 0 AND (expires_at "
                                "= 0 OR expires_at > $2)",
                            {TokenHash(token), int64_t{std::time(nullptr)}}));
  if (rows.rows.empty()) return std::optional<TokenInfo>();
  const auto& row = rows.rows[0];
  if (!ParseRole(row.Text(2))) return std::optional<TokenInfo>();  // never signs in as reader
  TokenInfo info = ReadToken(row);
  const int64_t now = std::time(nullptr);
  // Recorded at most once a minute: a write per request would serialize every reader.
  if (now - info.last_used_at >= 60) {
    MOAT_TRY(sql->Query("UPDATE tokens SET last_used_at = $1 WHERE id = $2", {now, info.id}));
  }
  return std::optional<TokenInfo>(info);
}

Result<std::vector<TokenInfo>> Store::ListTokens() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kTokenColumns +
                                              " FROM tokens WHERE revoked_at = 0 AND user_id = 0 "
                                              "ORDER BY id"));
  std::vector<TokenInfo> tokens;
  for (const auto& row : rows.rows) tokens.push_back(ReadToken(row));
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

namespace {

// A unique constraint refused the row (SQLite: "UNIQUE constraint failed", PostgreSQL:
// "duplicate key value violates unique constraint").
bool IsUniqueViolation(const Error& error) {
  return error.message.find("UNIQUE") != std::string::npos ||
         error.message.find("unique") != std::string::npos;
}

}  // namespace

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
    if (IsUniqueViolation(rows.error())) {
      return Fail("a registry named '", registry.name, "' exists already");
    }
    return rows.error();
  }
  registry.id = rows->rows[0].Int(0);
  NotePostureChange();
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
  return NotingPostureChange(InTransaction(*sql, [&](SqlConnection& tx) -> Result<bool> {
    MOAT_TRY(tx.Query("DELETE FROM tags WHERE registry_id = $1", {id}));
    MOAT_TRY(tx.Query("DELETE FROM repository_images WHERE registry_id = $1", {id}));
    MOAT_ASSIGN_OR_RETURN(auto rows, tx.Query("DELETE FROM registries WHERE id = $1", {id}));
    return rows.affected > 0;
  }));
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
  return NotingPostureChange(InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
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
  }));
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
  return NotingPostureChange(InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(tx.Query("DELETE FROM tags WHERE registry_id = $1 AND repository = $2 AND digest = $3",
                      {registry_id, repository, digest}));
    MOAT_TRY(
        tx.Query("DELETE FROM repository_images WHERE registry_id = $1 AND repository = $2 "
                 "AND digest = $3",
                 {registry_id, repository, digest}));
    // The image itself goes when nothing refers to it any more.
    MOAT_ASSIGN_OR_RETURN(
        auto refs, tx.Query("SELECT (SELECT COUNT(*) FROM repository_images WHERE digest = $1) + "
                            "(SELECT COUNT(*) FROM containers WHERE image_digest = $1) + "
                            "(SELECT COUNT(*) FROM workload_containers WHERE image_digest = $1)",
                            {digest}));
    if (refs.rows[0].Int(0) == 0) {
      MOAT_TRY(tx.Query("DELETE FROM findings WHERE resource_kind = 'image' AND resource_id = $1",
                        {digest}));
      MOAT_TRY(tx.Query("DELETE FROM image_finding_counts WHERE digest = $1", {digest}));
      MOAT_TRY(tx.Query("DELETE FROM image_packages WHERE digest = $1", {digest}));
      MOAT_TRY(tx.Query("DELETE FROM image_inventories WHERE digest = $1", {digest}));
      MOAT_TRY(tx.Query("DELETE FROM packages_in_use WHERE digest = $1", {digest}));
      MOAT_TRY(tx.Query("DELETE FROM images WHERE digest = $1", {digest}));
    }
    return Ok();
  }));
}

Result<void> Store::DeleteTag(int64_t registry_id, const std::string& repository,
                              const std::string& tag) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query("DELETE FROM tags WHERE registry_id = $1 AND repository = $2 AND tag = $3",
                      {registry_id, repository, tag}));
  NotePostureChange();
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

namespace {

// Marks the jobs of `job_ids` done in the caller's transaction, those still running under
// `worker`; returns them (the others were taken over: their results are dropped). First in the
// transaction, so that the jobs' rows stay locked until the commit: a worker claiming one after
// an expired lease waits (or skips it) and then finds it done.
Result<std::set<int64_t>> MarkJobsDone(SqlConnection& tx, const std::vector<int64_t>& job_ids,
                                       const std::string& worker, int64_t time) {
  std::set<int64_t> held;
  MOAT_TRY(ForEachChunk(job_ids.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params{time, worker};
    params.insert(params.end(), job_ids.begin() + first, job_ids.begin() + first + size);
    std::string ids = "(";
    for (size_t i = 0; i < size; ++i) ids += (i ? ", $" : "$") + std::to_string(i + 3);
    MOAT_ASSIGN_OR_RETURN(
        auto done, tx.Query("UPDATE jobs SET state = 'done', finished_at = $1 WHERE lease_owner = "
                            "$2 AND state = 'running' AND id IN " +
                                ids + ") RETURNING id",
                            params));
    for (const auto& row : done.rows) held.insert(row.Int(0));
    return Ok();
  }));
  return held;
}

// The package -> images index of one image: changed only where the package keys did (a
// re-match: nowhere).
Result<void> IndexImagePackages(SqlConnection& tx, const std::string& digest,
                                const std::vector<std::pair<std::string, std::string>>& packages) {
  std::set<std::pair<std::string, std::string>> added(packages.begin(), packages.end());
  MOAT_ASSIGN_OR_RETURN(
      auto indexed,
      tx.Query("SELECT ecosystem, name FROM image_packages WHERE digest = $1", {digest}));
  for (const auto& row : indexed.rows) {
    if (added.erase({row.Text(0), row.Text(1)})) continue;
    MOAT_TRY(
        tx.Query("DELETE FROM image_packages WHERE digest = $1 AND ecosystem = $2 AND name = $3",
                 {digest, row.Text(0), row.Text(1)}));
  }
  const std::vector<std::pair<std::string, std::string>> inserts(added.begin(), added.end());
  return ForEachChunk(inserts.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    for (size_t i = first; i < first + size; ++i) {
      params.insert(params.end(), {digest, inserts[i].first, inserts[i].second});
    }
    MOAT_TRY(tx.Query(
        "INSERT INTO image_packages (digest, ecosystem, name) VALUES " + ValuesTuples(size, 3),
        params));
    return Ok();
  });
}

}  // namespace

Result<bool> Store::SaveImageScan(const std::string& digest, const std::string& os,
                                  const std::string& platform, const std::string& inventory_json,
                                  const std::vector<std::pair<std::string, std::string>>& packages,
                                  const std::vector<FindingRecord>& findings, int64_t time,
                                  const JobLease* lease) {
  auto sql = pool_->Acquire();
  return NotingPostureChange(InTransaction(*sql, [&](SqlConnection& tx) -> Result<bool> {
    if (lease != nullptr) {
      MOAT_ASSIGN_OR_RETURN(auto held, MarkJobsDone(tx, {lease->job_id}, lease->worker, time));
      if (held.empty()) return false;
    }
    MOAT_TRY(tx.Query(
        "INSERT INTO image_inventories (digest, inventory) VALUES ($1, $2) ON CONFLICT (digest) "
        "DO UPDATE SET inventory = $2",
        {digest, inventory_json}));
    MOAT_TRY(IndexImagePackages(tx, digest, packages));
    MOAT_TRY(ReplaceFindings(tx, "image", digest, "vulnerability", findings, time));
    MOAT_TRY(tx.Query(
        "INSERT INTO images (digest, os, platform, scan_status, scan_error, scanned_at, "
        "first_seen, package_count) VALUES ($1, $2, $3, 'scanned', '', $4, $4, $5) ON CONFLICT "
        "(digest) DO UPDATE SET os = $2, platform = $3, scan_status = 'scanned', scan_error = '', "
        "scanned_at = $4, package_count = $5",
        {digest, os, platform, time, static_cast<int64_t>(packages.size())}));
    return true;
  }));
}

Result<std::vector<bool>> Store::SaveImageMatches(const std::vector<ImageMatch>& matches,
                                                  const std::string& worker, int64_t time) {
  std::vector<int64_t> job_ids;
  for (const auto& match : matches) job_ids.push_back(match.job_id);
  auto sql = pool_->Acquire();
  return NotingPostureChange(
      InTransaction(*sql, [&](SqlConnection& tx) -> Result<std::vector<bool>> {
        MOAT_ASSIGN_OR_RETURN(auto held, MarkJobsDone(tx, job_ids, worker, time));
        std::vector<bool> applied;
        for (const auto& match : matches) {
          applied.push_back(held.count(match.job_id) > 0);
          if (!applied.back()) continue;
          // Only an image that is still stored: a match never brings a deleted one back.
          MOAT_ASSIGN_OR_RETURN(auto stored,
                                tx.Query("SELECT 1 FROM images WHERE digest = $1", {match.digest}));
          if (stored.rows.empty()) continue;
          MOAT_TRY(IndexImagePackages(tx, match.digest, match.packages));
          MOAT_TRY(
              ReplaceFindings(tx, "image", match.digest, "vulnerability", match.findings, time));
          MOAT_TRY(tx.Query(
              "UPDATE images SET scan_status = 'scanned', scan_error = '', scanned_at = $1, "
              "package_count = $2 WHERE digest = $3",
              {time, static_cast<int64_t>(match.packages.size()), match.digest}));
        }
        return applied;
      }));
}

Result<void> Store::SaveImageFiles(const std::string& digest, const std::string& files_index) {
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query("UPDATE image_inventories SET files = $1 WHERE digest = $2",
                      {files_index, digest}));
  return Ok();
}

Result<bool> Store::SaveImageScanFailure(const std::string& digest, const std::string& error,
                                         int64_t time, const JobLease* lease) {
  auto sql = pool_->Acquire();
  return NotingPostureChange(InTransaction(*sql, [&](SqlConnection& tx) -> Result<bool> {
    if (lease != nullptr) {
      MOAT_ASSIGN_OR_RETURN(
          auto held, tx.Query("UPDATE jobs SET last_error = $1 WHERE id = $2 AND lease_owner = $3 "
                              "AND state = 'running'",
                              {error, lease->job_id, lease->worker}));
      if (held.affected == 0) return false;
    }
    MOAT_TRY(tx.Query(
        "INSERT INTO images (digest, scan_status, scan_error, scanned_at, first_seen) VALUES ($1, "
        "'failed', $2, $3, $3) ON CONFLICT (digest) DO UPDATE SET scan_status = 'failed', "
        "scan_error = $2, scanned_at = $3 WHERE images.scan_status <> 'scanned'",
        {digest, error, time}));
    return true;
  }));
}

namespace {

constexpr const char* kImageColumns =
    "i.digest, i.os, i.platform, i.scan_status, i.scan_error, i.scanned_at, i.first_seen, "
    "i.last_seen_running, i.package_count";

// Counts and locations of the images listed.
Result<void> FillImageDetails(SqlConnection& sql, std::vector<ImageRecord>& images) {
  for (auto& image : images) {
    MOAT_ASSIGN_OR_RETURN(auto counts,
                          sql.Query("SELECT critical, high, medium, low, unknown, fixable FROM "
                                    "image_finding_counts WHERE digest = $1",
                                    {image.digest}));
    for (const auto& row : counts.rows) {
      image.counts =
          SeverityCounts{row.Int(0), row.Int(1), row.Int(2), row.Int(3), row.Int(4), row.Int(5)};
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

Result<std::optional<ImageRecord>> Store::GetImage(const std::string& digest, bool with_inventory) {
  auto sql = pool_->Acquire();
  const char* inventory = with_inventory ? "COALESCE((SELECT v.inventory FROM image_inventories v "
                                           "WHERE v.digest = i.digest), '')"
                                         : "''";
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kImageColumns + ", " +
                                                  inventory + " FROM images i WHERE i.digest = $1",
                                              {digest}));
  if (rows.rows.empty()) return std::optional<ImageRecord>();
  std::vector<ImageRecord> images{ReadImage(rows.rows[0])};
  images[0].inventory_json = rows.rows[0].Text(9);
  MOAT_TRY(FillImageDetails(*sql, images));
  return std::optional<ImageRecord>(std::move(images[0]));
}

Result<std::map<std::string, std::string>> Store::ImageInventories(
    const std::vector<std::string>& digests) {
  std::map<std::string, std::string> inventories;
  auto sql = pool_->Acquire();
  MOAT_TRY(ForEachChunk(digests.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params(digests.begin() + first, digests.begin() + first + size);
    MOAT_ASSIGN_OR_RETURN(
        auto rows, sql->Query("SELECT v.digest, v.inventory FROM image_inventories v JOIN images i "
                              "ON i.digest = v.digest WHERE v.digest IN " +
                                  ValuesTuples(1, size),
                              params));
    for (const auto& row : rows.rows) inventories[row.Text(0)] = row.Text(1);
    return Ok();
  }));
  return inventories;
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
                 "containers c WHERE c.image_digest = i.digest AND c.state = 'running') OR "
                 "EXISTS (SELECT 1 FROM workload_containers w WHERE w.image_digest = i.digest)) "
                 "ORDER BY i.digest",
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
                           : sort == FindingSort::kInUse  ? 'u'
                                                          : 'f';
  // In use first: one key, so that the cursor stays one comparison.
  const char* key_column = sort == FindingSort::kSeverity ? "severity_rank"
                           : sort == FindingSort::kCvss   ? "cvss"
                           : sort == FindingSort::kInUse  ? "(in_use * 100 + severity_rank)"
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
  if (filter.in_use) where.Add("in_use = " + where.Param(Bool(*filter.in_use)));
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
      sql->Query(std::string("SELECT ") + kFindingColumns + ", " + key_column + " FROM findings" +
                     where.Where() + " ORDER BY " + key_column + " DESC, id LIMIT " + limit,
                 where.params()));
  Page<FindingRecord> result;
  for (const auto& row : rows.rows) result.items.push_back(ReadFinding(row));
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    const auto& last = result.items.back();
    const auto& last_row = rows.rows[page.limit - 1];
    std::string key = sort == FindingSort::kSeverity || sort == FindingSort::kInUse
                          ? std::to_string(last_row.Int(kFindingColumnCount))
                      : sort == FindingSort::kCvss ? last_row.Text(kCvssColumn)
                                                   : std::to_string(last.first_seen);
    result.next_cursor = std::string(1, sort_letter) + ":" + key + ":" + std::to_string(last.id);
  }
  return result;
}

Result<void> Store::ForEachOpenFinding(const std::function<void(FindingRecord&&)>& visit) {
  constexpr int64_t kPageRows = 2000;
  int64_t after = 0;
  while (true) {
    SqlRows rows;
    {
      auto sql = pool_->Acquire();
      // "+resolved_at": walk the primary key from `after`. SQLite would otherwise take the index
      // that starts with resolved_at and sort all open findings again for every page (292,000
      // findings: 0.33 s a page instead of 6 ms).
      MOAT_ASSIGN_OR_RETURN(rows, sql->Query(std::string("SELECT ") + kAssessedFindingColumns +
                                                 " FROM findings WHERE +resolved_at = 0 AND id > "
                                                 "$1 ORDER BY id LIMIT $2",
                                             {after, kPageRows}));
    }
    for (const auto& row : rows.rows) visit(ReadAssessedFinding(row));
    if (static_cast<int64_t>(rows.rows.size()) < kPageRows) return Ok();
    after = rows.rows.back().Int(0);
  }
}

Result<std::vector<FindingRecord>> Store::OpenFindingsOf(const std::string& resource_kind,
                                                         const std::vector<std::string>& ids) {
  std::vector<FindingRecord> findings;
  auto sql = pool_->Acquire();
  MOAT_TRY(ForEachChunk(ids.size(), [&](size_t first, size_t size) -> Result<void> {
    Conditions where;
    where.Add("resource_kind = " + where.Param(resource_kind));
    std::vector<std::string> chunk(ids.begin() + first, ids.begin() + first + size);
    where.Add("resource_id IN " + InList(where, chunk));
    // "+": SQLite would take the index that starts with resolved_at and read every open finding.
    where.Add("+resolved_at = 0");
    MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kAssessedFindingColumns +
                                                    " FROM findings" + where.Where(),
                                                where.params()));
    for (const auto& row : rows.rows) findings.push_back(ReadAssessedFinding(row));
    return Ok();
  }));
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
  bool reports = false;  // a host or cluster report was applied: the posture may have changed
  auto acked_through = InTransaction(*sql, [&](SqlConnection& tx) -> Result<int64_t> {
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
      reports |= message.type == "host_report" || message.type == "cluster_report" ||
                 message.type == "in_use";
      acked = last;
    }
    MOAT_TRY(tx.Query("UPDATE agents SET acked_through = $1, last_heartbeat = $2 WHERE id = $3",
                      {acked, time, agent_id}));
    return acked;
  });
  if (acked_through.ok() && reports) NotePostureChange();
  return acked_through;
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
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT image_digest FROM containers WHERE state = 'running' AND "
                            "image_digest <> '' UNION SELECT image_digest FROM "
                            "workload_containers WHERE image_digest <> '' ORDER BY 1"));
  std::vector<std::string> digests;
  for (const auto& row : rows.rows) digests.push_back(row.Text(0));
  return digests;
}

// ---- clusters ---------------------------------------------------------------------------------

namespace {

// Open k8s findings of workloads, counted by severity into `counts` (keyed by the grouping
// column's text) by a query whose rows are (key, severity, count).
void AddSeverityCounts(const SqlRows& rows, std::map<std::string, SeverityCounts>& counts) {
  for (const auto& row : rows.rows) {
    CountSeverity(counts[row.Text(0)], row.Text(1), row.Int(2), 0);
  }
}

constexpr const char* kClusterColumns =
    "id, name, uid, agent_id, server, context, last_report_at, checks_passed, checks_failed, "
    "admission_audited_at";

ClusterRecord ReadCluster(const SqlRow& row) {
  ClusterRecord c;
  c.id = row.Text(0);
  c.name = row.Text(1);
  c.uid = row.Text(2);
  c.agent_id = row.Text(3);
  c.server = row.Text(4);
  c.context = row.Text(5);
  c.last_report_at = row.Int(6);
  c.checks_passed = row.Int(7);
  c.checks_failed = row.Int(8);
  c.admission_audited_at = row.Int(9);
  return c;
}

// The join of open workload findings with the workloads they are about.
// From the workloads to their findings (findings_by_resource): SQLite takes a CROSS JOIN's tables
// in the order written, where it would otherwise read every open finding of every kind (300 ms
// with 250,000 image findings and no workload); PostgreSQL plans it as the inner join it is.
constexpr const char* kOpenWorkloadFindings =
    " FROM workloads w CROSS JOIN findings f WHERE f.resource_kind = 'workload' AND "
    "f.resource_id = w.id AND f.resolved_at = 0";

}  // namespace

Result<void> Store::SaveInUse(SqlConnection& sql, const std::string& agent_id,
                              const InUseReport& report, int64_t time) {
  std::map<std::string, std::set<std::string>> files_by_image;
  for (const InUseContainer& container : report.containers) {
    std::string digest = container.image_digest;
    MOAT_ASSIGN_OR_RETURN(auto listed, sql.Query("SELECT image_digest, state FROM containers "
                                                 "WHERE host_id = $1 AND id = $2",
                                                 {agent_id, container.id}));
    if (!listed.rows.empty()) {
      if (listed.rows[0].Text(1) != "running") continue;  // what a stopped container loaded
      if (!listed.rows[0].Text(0).empty()) digest = listed.rows[0].Text(0);
    }
    if (digest.empty()) continue;
    files_by_image[digest].insert(container.files.begin(), container.files.end());
  }
  std::vector<std::tuple<std::string, std::string, std::string>> in_use;  // digest, type, name
  for (const auto& [digest, files] : files_by_image) {
    MOAT_ASSIGN_OR_RETURN(
        auto stored,
        sql.Query("SELECT inventory, files FROM image_inventories WHERE digest = $1", {digest}));
    if (stored.rows.empty()) continue;  // not scanned (yet): the next export marks it
    std::vector<Package> packages;
    try {
      packages = nlohmann::json::parse(stored.rows[0].Text(0))
                     .value("packages", nlohmann::json::array())
                     .get<std::vector<Package>>();
    } catch (const std::exception&) {
      // An inventory stored by this server parses; one that does not only loses its language
      // packages here, and the OS packages still come from the file index.
    }
    for (auto& [type, name] : PackagesInUse(stored.rows[0].Text(1), packages, files)) {
      in_use.emplace_back(digest, type, name);
    }
  }
  // The images whose marks may change: those of the agent's previous export and of this one.
  MOAT_ASSIGN_OR_RETURN(
      auto previous,
      sql.Query("SELECT DISTINCT digest FROM packages_in_use WHERE agent_id = $1", {agent_id}));
  std::set<std::string> touched;
  for (const auto& row : previous.rows) touched.insert(row.Text(0));
  for (const auto& [digest, files] : files_by_image) touched.insert(digest);
  MOAT_TRY(sql.Query("DELETE FROM packages_in_use WHERE agent_id = $1", {agent_id}));
  MOAT_TRY(ForEachChunk(in_use.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    for (size_t i = first; i < first + size; ++i) {
      const auto& [digest, type, name] = in_use[i];
      params.insert(params.end(), {agent_id, digest, type, name, time});
    }
    MOAT_TRY(
        sql.Query("INSERT INTO packages_in_use (agent_id, digest, ecosystem, name, seen_at) "
                  "VALUES " +
                      ValuesTuples(size, 5),
                  params));
    return Ok();
  }));
  for (const std::string& digest : touched) MOAT_TRY(RefreshImageInUse(sql, digest));
  return Ok();
}

Result<void> Store::SaveClusterReport(SqlConnection& sql, const ClusterReport& report,
                                      int64_t time) {
  const ClusterRecord& c = report.cluster;
  MOAT_TRY(sql.Query(
      "INSERT INTO clusters (id, name, uid, agent_id, server, context, last_report_at, "
      "checks_passed, checks_failed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT "
      "(id) DO UPDATE SET name = $2, uid = $3, agent_id = $4, server = $5, context = $6, "
      "last_report_at = $7, checks_passed = $8, checks_failed = $9",
      {c.id, c.name, c.uid, c.agent_id, c.server, c.context, time, c.checks_passed,
       c.checks_failed}));
  MOAT_TRY(sql.Query("DELETE FROM cluster_namespaces WHERE cluster_id = $1", {c.id}));
  for (const auto& name : report.namespaces) {
    MOAT_TRY(sql.Query(
        "INSERT INTO cluster_namespaces (cluster_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        {c.id, name}));
  }
  MOAT_ASSIGN_OR_RETURN(auto previous,
                        sql.Query("SELECT id FROM workloads WHERE cluster_id = $1", {c.id}));
  MOAT_TRY(sql.Query(
      "DELETE FROM workload_containers WHERE workload_id IN (SELECT id FROM workloads WHERE "
      "cluster_id = $1)",
      {c.id}));
  MOAT_TRY(sql.Query("DELETE FROM workloads WHERE cluster_id = $1", {c.id}));
  std::map<std::string, std::vector<FindingRecord>> findings_by_workload;
  for (const auto& w : report.workloads) {
    MOAT_TRY(sql.Query(
        "INSERT INTO workloads (id, cluster_id, namespace_name, kind, name, last_seen) VALUES "
        "($1, $2, $3, $4, $5, $6)",
        {w.id, c.id, w.namespace_name, w.kind, w.name, time}));
    findings_by_workload[w.id];
    for (const auto& container : w.containers) {
      MOAT_TRY(sql.Query(
          "INSERT INTO workload_containers (workload_id, name, image, image_digest, init) VALUES "
          "($1, $2, $3, $4, $5) ON CONFLICT (workload_id, name) DO NOTHING",
          {w.id, container.name, container.image, container.image_digest, Bool(container.init)}));
      // Images are scanned by digest, once, wherever they run (as for a host's containers).
      if (!container.image_digest.empty()) {
        MOAT_TRY(
            sql.Query("INSERT INTO images (digest, first_seen, last_seen_running) VALUES ($1, "
                      "$2, $2) ON CONFLICT (digest) DO UPDATE SET last_seen_running = $2",
                      {container.image_digest, time}));
      }
    }
  }
  // Nodes and the pods bound to them, as the report gives them now.
  MOAT_TRY(sql.Query("DELETE FROM cluster_node_pods WHERE cluster_id = $1", {c.id}));
  MOAT_TRY(sql.Query("DELETE FROM cluster_nodes WHERE cluster_id = $1", {c.id}));
  for (const NodeRecord& node : report.nodes) {
    std::string roles;
    for (const std::string& role : node.roles) roles += (roles.empty() ? "" : ",") + role;
    MOAT_TRY(sql.Query(
        "INSERT INTO cluster_nodes (cluster_id, name, kubelet_version, os_image, kernel, "
        "container_runtime, architecture, ready, unschedulable, roles, conditions, last_seen) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {c.id, node.name, node.kubelet_version, node.os_image, node.kernel, node.container_runtime,
         node.architecture, node.ready, Bool(node.unschedulable), roles, node.conditions_json,
         time}));
    MOAT_TRY(ForEachChunk(node.pods.size(), [&](size_t first, size_t size) -> Result<void> {
      std::vector<SqlValue> params;
      for (size_t i = first; i < first + size; ++i) {
        const NodePodRecord& pod = node.pods[i];
        params.insert(params.end(), {c.id, node.name, pod.namespace_name, pod.name, pod.workload_id,
                                     pod.phase, pod.containers});
      }
      MOAT_TRY(
          sql.Query("INSERT INTO cluster_node_pods (cluster_id, node, namespace_name, name, "
                    "workload_id, phase, containers) VALUES " +
                        ValuesTuples(size, 7),
                    params));
      return Ok();
    }));
  }
  if (report.has_admission_audit) {
    MOAT_TRY(sql.Query("DELETE FROM cluster_admission_audit WHERE cluster_id = $1", {c.id}));
    const auto& results = report.admission_audit;
    MOAT_TRY(ForEachChunk(results.size(), [&](size_t first, size_t size) -> Result<void> {
      std::vector<SqlValue> params;
      for (size_t i = first; i < first + size; ++i) {
        const AdmissionAuditRecord& r = results[i];
        params.insert(params.end(), {c.id, static_cast<int64_t>(i), r.namespace_name, r.kind,
                                     r.name, r.policy, r.action, r.path, r.message});
      }
      MOAT_TRY(
          sql.Query("INSERT INTO cluster_admission_audit (cluster_id, seq, namespace_name, "
                    "kind, name, policy, action, path, message) VALUES " +
                        ValuesTuples(size, 9),
                    params));
      return Ok();
    }));
    MOAT_TRY(
        sql.Query("UPDATE clusters SET admission_audited_at = $2 WHERE id = $1", {c.id, time}));
  }
  for (const auto& f : report.findings) findings_by_workload[f.resource_id].push_back(f);
  // A workload that is gone: its findings are resolved.
  for (const auto& row : previous.rows) findings_by_workload[row.Text(0)];
  for (const auto& [id, findings] : findings_by_workload) {
    MOAT_TRY(ReplaceFindings(sql, "workload", id, "k8s", findings, time));
  }
  return Ok();
}

Result<std::vector<ClusterRecord>> Store::ListClusters() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kClusterColumns +
                                              " FROM clusters ORDER BY name, id"));
  MOAT_ASSIGN_OR_RETURN(
      auto workloads, sql->Query("SELECT cluster_id, COUNT(*) FROM workloads GROUP BY cluster_id"));
  MOAT_ASSIGN_OR_RETURN(auto severities,
                        sql->Query(std::string("SELECT w.cluster_id, f.severity, COUNT(*)") +
                                   kOpenWorkloadFindings + " GROUP BY w.cluster_id, f.severity"));
  MOAT_ASSIGN_OR_RETURN(
      auto nodes, sql->Query("SELECT cluster_id, COUNT(*) FROM cluster_nodes GROUP BY cluster_id"));
  std::map<std::string, int64_t> workload_counts, node_counts;
  for (const auto& row : workloads.rows) workload_counts[row.Text(0)] = row.Int(1);
  for (const auto& row : nodes.rows) node_counts[row.Text(0)] = row.Int(1);
  std::map<std::string, SeverityCounts> counts;
  AddSeverityCounts(severities, counts);
  std::vector<ClusterRecord> clusters;
  for (const auto& row : rows.rows) {
    clusters.push_back(ReadCluster(row));
    clusters.back().workloads = workload_counts[clusters.back().id];
    clusters.back().nodes = node_counts[clusters.back().id];
    clusters.back().findings = counts[clusters.back().id];
  }
  return clusters;
}

namespace {

constexpr const char* kNodeColumns =
    "n.cluster_id, n.name, n.kubelet_version, n.os_image, n.kernel, n.container_runtime, "
    "n.architecture, n.ready, n.unschedulable, n.roles, n.conditions, n.last_seen, "
    "(SELECT COUNT(*) FROM cluster_node_pods p WHERE p.cluster_id = n.cluster_id AND p.node = "
    "n.name), (SELECT CAST(COALESCE(SUM(p.containers), 0) AS BIGINT) FROM cluster_node_pods p "
    "WHERE p.cluster_id = n.cluster_id AND p.node = n.name)";

NodeRecord ReadNode(const SqlRow& row) {
  NodeRecord n;
  n.cluster_id = row.Text(0);
  n.name = row.Text(1);
  n.kubelet_version = row.Text(2);
  n.os_image = row.Text(3);
  n.kernel = row.Text(4);
  n.container_runtime = row.Text(5);
  n.architecture = row.Text(6);
  n.ready = row.Text(7);
  n.unschedulable = row.Int(8) != 0;
  const std::string roles = row.Text(9);
  for (std::string_view role : Split(roles, ',')) {
    if (!role.empty()) n.roles.emplace_back(role);
  }
  n.conditions_json = row.Text(10);
  n.last_seen = row.Int(11);
  n.pod_count = row.Int(12);
  n.container_count = row.Int(13);
  return n;
}

}  // namespace

Result<std::vector<NodeRecord>> Store::ListClusterNodes(const std::string& cluster_id,
                                                        const std::string& search) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kNodeColumns +
                                                  " FROM cluster_nodes n WHERE n.cluster_id = $1 "
                                                  "ORDER BY n.name",
                                              {cluster_id}));
  const std::string folded = AsciiLower(search);
  std::vector<NodeRecord> nodes;
  for (const auto& row : rows.rows) {
    NodeRecord node = ReadNode(row);
    if (folded.empty() || ContainsFolded(node.name, folded) ||
        ContainsFolded(node.os_image, folded) || ContainsFolded(node.kubelet_version, folded) ||
        ContainsFolded(node.container_runtime, folded)) {
      nodes.push_back(std::move(node));
    }
  }
  return nodes;
}

Result<std::optional<NodeRecord>> Store::GetClusterNode(const std::string& cluster_id,
                                                        const std::string& name) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kNodeColumns +
                                                  " FROM cluster_nodes n WHERE n.cluster_id = $1 "
                                                  "AND n.name = $2",
                                              {cluster_id, name}));
  if (rows.rows.empty()) return std::optional<NodeRecord>();
  NodeRecord node = ReadNode(rows.rows[0]);
  MOAT_ASSIGN_OR_RETURN(auto pods,
                        sql->Query("SELECT namespace_name, name, workload_id, phase, containers "
                                   "FROM cluster_node_pods WHERE cluster_id = $1 AND node = $2 "
                                   "ORDER BY namespace_name, name",
                                   {cluster_id, name}));
  for (const auto& row : pods.rows) {
    node.pods.push_back(
        NodePodRecord{row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)});
  }
  return std::optional<NodeRecord>(std::move(node));
}

Result<std::optional<ClusterRecord>> Store::GetCluster(const std::string& id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kClusterColumns + " FROM clusters WHERE id = $1", {id}));
  if (rows.rows.empty()) return std::optional<ClusterRecord>();
  ClusterRecord cluster = ReadCluster(rows.rows[0]);
  MOAT_ASSIGN_OR_RETURN(auto namespaces,
                        sql->Query("SELECT name FROM cluster_namespaces WHERE cluster_id = $1 "
                                   "ORDER BY name",
                                   {id}));
  MOAT_ASSIGN_OR_RETURN(auto kinds,
                        sql->Query("SELECT namespace_name, kind, COUNT(*) FROM workloads WHERE "
                                   "cluster_id = $1 GROUP BY namespace_name, kind",
                                   {id}));
  MOAT_ASSIGN_OR_RETURN(auto severities,
                        sql->Query(std::string("SELECT w.namespace_name, f.severity, COUNT(*)") +
                                       kOpenWorkloadFindings +
                                       " AND w.cluster_id = $1 GROUP BY w.namespace_name, "
                                       "f.severity",
                                   {id}));
  MOAT_ASSIGN_OR_RETURN(
      auto nodes, sql->Query("SELECT COUNT(*) FROM cluster_nodes WHERE cluster_id = $1", {id}));
  cluster.nodes = nodes.rows[0].Int(0);
  MOAT_ASSIGN_OR_RETURN(auto actions,
                        sql->Query("SELECT action, COUNT(*) FROM cluster_admission_audit WHERE "
                                   "cluster_id = $1 GROUP BY action",
                                   {id}));
  for (const char* action : {"deny", "warn", "audit"}) cluster.admission_by_action[action] = 0;
  for (const auto& row : actions.rows) cluster.admission_by_action[row.Text(0)] = row.Int(1);
  std::map<std::string, int64_t> workloads_by_namespace;
  for (const auto& row : kinds.rows) {
    workloads_by_namespace[row.Text(0)] += row.Int(2);
    cluster.workloads_by_kind[row.Text(1)] += row.Int(2);
    cluster.workloads += row.Int(2);
  }
  std::map<std::string, SeverityCounts> counts;
  AddSeverityCounts(severities, counts);
  // The namespaces the cluster has, and "" for its cluster-scoped objects when it has some.
  std::set<std::string> names;
  for (const auto& row : namespaces.rows) names.insert(row.Text(0));
  for (const auto& [name, count] : workloads_by_namespace) names.insert(name);
  for (const auto& name : names) {
    cluster.namespaces.push_back(
        ClusterNamespaceRecord{name, workloads_by_namespace[name], counts[name]});
    const SeverityCounts& c = counts[name];
    for (auto [total, part] : {std::pair{&cluster.findings.critical, c.critical},
                               {&cluster.findings.high, c.high},
                               {&cluster.findings.medium, c.medium},
                               {&cluster.findings.low, c.low},
                               {&cluster.findings.unknown, c.unknown}}) {
      *total += part;
    }
  }
  return std::optional<ClusterRecord>(std::move(cluster));
}

Result<Page<AdmissionAuditRecord>> Store::ListAdmissionAudit(const AdmissionAuditFilter& filter,
                                                             const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, 'a'));
  Conditions where;
  where.Add("cluster_id = " + where.Param(filter.cluster_id));
  if (!filter.action.empty()) where.Add("action = " + where.Param(filter.action));
  if (!filter.namespace_name.empty()) {
    where.Add("namespace_name = " + where.Param(filter.namespace_name));
  }
  if (cursor) where.Add("seq > " + where.Param(cursor->id));
  const std::string limit = where.Param(static_cast<int64_t>(page.limit + 1));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT seq, namespace_name, kind, name, policy, action, path, message "
                            "FROM cluster_admission_audit" +
                                where.Where() + " ORDER BY seq LIMIT " + limit,
                            where.params()));
  Page<AdmissionAuditRecord> result;
  for (const auto& row : rows.rows) {
    result.items.push_back(AdmissionAuditRecord{row.Int(0), row.Text(1), row.Text(2), row.Text(3),
                                                row.Text(4), row.Text(5), row.Text(6),
                                                row.Text(7)});
  }
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    result.next_cursor = "a:0:" + std::to_string(result.items.back().seq);
  }
  return result;
}

Result<Page<WorkloadRecord>> Store::ListWorkloads(const WorkloadFilter& filter,
                                                  const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, 'x'));
  Conditions where;
  if (!filter.cluster_id.empty()) where.Add("cluster_id = " + where.Param(filter.cluster_id));
  if (!filter.namespace_name.empty()) {
    where.Add("namespace_name = " + where.Param(filter.namespace_name));
  }
  if (!filter.kind.empty()) where.Add("kind = " + where.Param(filter.kind));
  if (cursor) where.Add("id > " + where.Param(cursor->key));
  const std::string limit = where.Param(static_cast<int64_t>(page.limit + 1));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT id, cluster_id, namespace_name, kind, name, last_seen FROM "
                            "workloads" +
                                where.Where() + " ORDER BY id LIMIT " + limit,
                            where.params()));
  Page<WorkloadRecord> result;
  for (const auto& row : rows.rows) {
    result.items.push_back(WorkloadRecord{
        row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Int(5), {}, {}});
  }
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    result.next_cursor = "x:" + result.items.back().id + ":0";
  }
  if (result.items.empty()) return result;
  // The page's containers and finding counts, in one query each.
  std::vector<std::string> ids;
  std::map<std::string, WorkloadRecord*> by_id;
  for (auto& workload : result.items) {
    ids.push_back(workload.id);
    by_id[workload.id] = &workload;
  }
  Conditions of_page;
  const std::string id_list = InList(of_page, ids);
  MOAT_ASSIGN_OR_RETURN(auto containers,
                        sql->Query("SELECT workload_id, name, image, image_digest, init FROM "
                                   "workload_containers WHERE workload_id IN " +
                                       id_list + " ORDER BY workload_id, init DESC, name",
                                   of_page.params()));
  for (const auto& row : containers.rows) {
    by_id[row.Text(0)]->containers.push_back(
        WorkloadContainerRecord{row.Text(1), row.Text(2), row.Text(3), row.Int(4) != 0});
  }
  MOAT_ASSIGN_OR_RETURN(
      auto severities,
      sql->Query("SELECT resource_id, severity, COUNT(*) FROM findings WHERE resource_kind = "
                 "'workload' AND resolved_at = 0 AND resource_id IN " +
                     id_list + " GROUP BY resource_id, severity",
                 of_page.params()));
  std::map<std::string, SeverityCounts> counts;
  AddSeverityCounts(severities, counts);
  for (auto& [id, counted] : counts) by_id[id]->findings = counted;
  return result;
}

// ---- alerts -----------------------------------------------------------------------------------

namespace {

// An alert row while a batch is worked out in memory: one already stored (id > 0) or one the
// batch creates (the new_index-th, its id allocated when the batch is written).
struct AlertRowRef {
  int64_t id = 0;
  size_t new_index = 0;
  bool is_new() const { return id == 0; }
  // The order of ids: new rows come after every stored one, in the order they were created.
  bool operator<(const AlertRowRef& other) const {
    if (is_new() != other.is_new()) return other.is_new();
    return is_new() ? new_index < other.new_index : id < other.id;
  }
};

struct AlertRowState {
  AlertRowRef row;
  int64_t last_time_ns = 0;
  int64_t added = 0;  // duplicates this batch counted into the row
  std::string incident_key;
  AlertRowRef incident;  // the row that opened its incident
};

// The newest row of an incident key: the one with the latest last time (the highest id among
// equals), which is the row an alert joins when that time is within the incident window.
struct IncidentHead {
  int64_t last_time_ns = 0;
  AlertRowRef row;
  AlertRowRef incident;
  bool Before(int64_t other_last_time_ns, const AlertRowRef& other_row) const {
    return last_time_ns != other_last_time_ns ? last_time_ns < other_last_time_ns : row < other_row;
  }
};

// Every stored alert has its incident id (its own when it opened the incident); one without is
// taken as its own incident, as a new alert would be.
AlertRowRef StoredIncident(int64_t id, int64_t incident_id) {
  return AlertRowRef{incident_id != 0 ? incident_id : id, 0};
}

// Ids for `count` new alert rows, ascending. The caller's transaction holds SQLite's write lock
// (BEGIN IMMEDIATE), so the next rowids are free; PostgreSQL takes them from the identity.
Result<std::vector<int64_t>> AllocateAlertIds(SqlConnection& sql, size_t count) {
  std::vector<int64_t> ids;
  if (count == 0) return ids;
  ids.reserve(count);
  if (sql.dialect() == SqlDialect::kSqlite) {
    MOAT_ASSIGN_OR_RETURN(auto last, sql.Query("SELECT COALESCE(MAX(id), 0) FROM alerts"));
    for (size_t i = 1; i <= count; ++i)
      ids.push_back(last.rows[0].Int(0) + static_cast<int64_t>(i));
    return ids;
  }
  MOAT_ASSIGN_OR_RETURN(auto taken,
                        sql.Query("SELECT nextval(pg_get_serial_sequence('alerts', 'id')) FROM "
                                  "generate_series(1, $1)",
                                  {static_cast<int64_t>(count)}));
  for (const auto& row : taken.rows) ids.push_back(row.Int(0));
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

// The batch is decided in memory, alert by alert in order, exactly as if each alert were looked
// up and stored on its own: one query fetches the active rows each dedupe key may count into,
// one the newest row of each incident key, then the new rows are inserted and the counted-into
// stored rows updated, each with multi-row statements.
Result<std::vector<int64_t>> Store::InsertAlerts(SqlConnection& sql,
                                                 const std::vector<StoredAlert>& alerts,
                                                 const AlertWindows& windows,
                                                 std::vector<bool>* created) {
  if (created != nullptr) created->assign(alerts.size(), false);
  // PostgreSQL: the batch's statements are planned for their parameters each time. A generic plan
  // made while the alerts table was small (a new server) scans the whole table for a list of
  // keys, and stays cached until the next ANALYZE: ingest fell to 4,000 alerts/s
  // (bench/server.sh); with plans of the moment the lookups use the indexes.
  if (sql.dialect() == SqlDialect::kPostgres) {
    MOAT_TRY(sql.Query("SET LOCAL plan_cache_mode = force_custom_plan"));
  }
  // The earliest last time that each key's alerts in this batch can still match.
  std::map<std::string, int64_t> dedupe_since, incident_since;
  for (const StoredAlert& alert : alerts) {
    auto [dedupe, fresh] =
        dedupe_since.emplace(alert.dedupe_key, alert.time_ns - windows.dedupe_ns);
    if (!fresh) dedupe->second = std::min(dedupe->second, alert.time_ns - windows.dedupe_ns);
    if (alert.incident_key.empty()) continue;
    auto [incident, first] =
        incident_since.emplace(alert.incident_key, alert.time_ns - windows.incident_ns);
    if (!first) incident->second = std::min(incident->second, alert.time_ns - windows.incident_ns);
  }

  std::vector<AlertRowState> rows;  // stored rows fetched, then the new ones
  std::map<std::string, std::vector<size_t>> rows_by_dedupe_key;
  std::vector<std::pair<std::string, int64_t>> keys(dedupe_since.begin(), dedupe_since.end());
  MOAT_TRY(ForEachChunk(keys.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    for (size_t i = first; i < first + size; ++i) {
      params.push_back(keys[i].first);
      params.push_back(keys[i].second);
    }
    MOAT_ASSIGN_OR_RETURN(
        auto found,
        sql.Query("SELECT a.id, a.dedupe_key, a.last_time_ns, a.incident_key, a.incident_id FROM "
                  "alerts a JOIN (VALUES " +
                      ValuesTuples(size, 2) +
                      ") AS v ON a.dedupe_key = v.column1 AND a.last_time_ns >= v.column2 "
                      "WHERE a.status = 'active'",
                  params));
    for (const auto& row : found.rows) {
      rows_by_dedupe_key[row.Text(1)].push_back(rows.size());
      rows.push_back(AlertRowState{AlertRowRef{row.Int(0), 0}, row.Int(2), 0, row.Text(3),
                                   StoredIncident(row.Int(0), row.Int(4))});
    }
    return Ok();
  }));

  std::map<std::string, IncidentHead> incident_heads;
  keys.assign(incident_since.begin(), incident_since.end());
  MOAT_TRY(ForEachChunk(keys.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    for (size_t i = first; i < first + size; ++i) {
      params.push_back(keys[i].first);
      params.push_back(keys[i].second);
    }
    MOAT_ASSIGN_OR_RETURN(
        auto found,
        sql.Query("SELECT incident_key, last_time_ns, id, incident_id FROM alerts WHERE id IN "
                  "(SELECT (SELECT b.id FROM alerts b WHERE b.incident_key = v.column1 AND "
                  "b.last_time_ns >= v.column2 ORDER BY b.last_time_ns DESC, b.id DESC LIMIT 1) "
                  "FROM (VALUES " +
                      ValuesTuples(size, 2) + ") AS v)",
                  params));
    for (const auto& row : found.rows) {
      incident_heads[row.Text(0)] = IncidentHead{row.Int(1), AlertRowRef{row.Int(2), 0},
                                                 StoredIncident(row.Int(2), row.Int(3))};
    }
    return Ok();
  }));
  auto raise_incident_head = [&](const AlertRowState& row) {
    if (row.incident_key.empty()) return;
    auto [head, fresh] = incident_heads.try_emplace(row.incident_key);
    if (fresh || head->second.Before(row.last_time_ns, row.row)) {
      head->second = IncidentHead{row.last_time_ns, row.row, row.incident};
    }
  };

  // Each alert in order: counted into the newest active row of its dedupe key within the dedupe
  // window, else a new row, in the incident of its incident key's newest row within the
  // incident window or opening its own.
  std::vector<size_t> row_of_alert(alerts.size());
  std::vector<size_t> new_alerts;  // index in `alerts` of each new row, in creation order
  for (size_t index = 0; index < alerts.size(); ++index) {
    const StoredAlert& alert = alerts[index];
    std::optional<size_t> same;
    for (size_t candidate : rows_by_dedupe_key[alert.dedupe_key]) {
      if (rows[candidate].last_time_ns < alert.time_ns - windows.dedupe_ns) continue;
      if (!same || rows[*same].row < rows[candidate].row) same = candidate;
    }
    if (same) {
      AlertRowState& row = rows[*same];
      row.last_time_ns = std::max(row.last_time_ns, alert.time_ns);
      ++row.added;
      row_of_alert[index] = *same;
      raise_incident_head(row);
      continue;
    }
    AlertRowState row{AlertRowRef{0, new_alerts.size()}, alert.time_ns, 0, alert.incident_key,
                      AlertRowRef{}};
    row.incident = row.row;
    if (auto head = incident_heads.find(alert.incident_key);
        head != incident_heads.end() &&
        head->second.last_time_ns >= alert.time_ns - windows.incident_ns) {
      row.incident = head->second.incident;
    }
    row_of_alert[index] = rows.size();
    rows_by_dedupe_key[alert.dedupe_key].push_back(rows.size());
    rows.push_back(row);
    raise_incident_head(rows.back());
    new_alerts.push_back(index);
    if (created != nullptr) (*created)[index] = true;
  }

  MOAT_ASSIGN_OR_RETURN(auto new_ids, AllocateAlertIds(sql, new_alerts.size()));
  auto id_of = [&](const AlertRowRef& ref) {
    return ref.is_new() ? new_ids[ref.new_index] : ref.id;
  };
  const size_t first_new_row = rows.size() - new_alerts.size();
  MOAT_TRY(ForEachChunk(new_alerts.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    params.reserve(size * 18);
    for (size_t i = first; i < first + size; ++i) {
      const StoredAlert& alert = alerts[new_alerts[i]];
      const AlertRowState& row = rows[first_new_row + i];
      params.insert(params.end(),
                    {new_ids[i], alert.dedupe_key, alert.time_ns, row.last_time_ns, 1 + row.added,
                     alert.rule, alert.priority, alert.source, alert.container_id,
                     alert.namespace_name, alert.pod, alert.node, alert.image, alert.mitre_tactic,
                     alert.mitre_technique, alert.incident_key, id_of(row.incident), alert.body});
    }
    MOAT_TRY(sql.Query(
        "INSERT INTO alerts (id, dedupe_key, time_ns, last_time_ns, count, rule, priority, source, "
        "container_id, namespace_name, pod, node, image, mitre_tactic, mitre_technique, "
        "incident_key, incident_id, body) VALUES " +
            ValuesTuples(size, 18),
        params));
    return Ok();
  }));

  std::vector<const AlertRowState*> counted_into;
  for (size_t i = 0; i < first_new_row; ++i) {
    if (rows[i].added > 0) counted_into.push_back(&rows[i]);
  }
  MOAT_TRY(ForEachChunk(counted_into.size(), [&](size_t first, size_t size) -> Result<void> {
    std::vector<SqlValue> params;
    for (size_t i = first; i < first + size; ++i) {
      params.insert(params.end(), {counted_into[i]->row.id, counted_into[i]->added,
                                   counted_into[i]->last_time_ns});
    }
    MOAT_TRY(
        sql.Query("UPDATE alerts SET count = count + v.column2, last_time_ns = CASE WHEN "
                  "v.column3 > last_time_ns THEN v.column3 ELSE last_time_ns END FROM (VALUES " +
                      ValuesTuples(size, 3) + ") AS v WHERE alerts.id = v.column1",
                  params));
    return Ok();
  }));

  std::vector<int64_t> ids;
  ids.reserve(alerts.size());
  for (size_t row : row_of_alert) ids.push_back(id_of(rows[row].row));
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

// ---- incidents --------------------------------------------------------------------------------

namespace {

// An alert stored without an incident id is its own incident (StoredIncident).
constexpr const char* kIncidentOf = "CASE WHEN incident_id = 0 THEN id ELSE incident_id END";
// Falco's priorities as syslog severities: the smallest is the most severe (core/alert.h).
constexpr const char* kPriorityRank =
    "CASE priority WHEN 'Emergency' THEN 0 WHEN 'Alert' THEN 1 WHEN 'Critical' THEN 2 WHEN "
    "'Error' THEN 3 WHEN 'Warning' THEN 4 WHEN 'Notice' THEN 5 WHEN 'Informational' THEN 6 ELSE 7 "
    "END";

void AddDistinct(std::vector<std::string>& list, const std::string& value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(value);
  }
}

// Rules, tactics and the resource of each incident of `incidents`, from their alerts.
Result<void> FillIncidentDetails(SqlConnection& sql, std::vector<IncidentRecord>& incidents) {
  if (incidents.empty()) return Ok();
  Conditions where;
  std::string ids;
  std::map<int64_t, IncidentRecord*> by_id;
  for (auto& incident : incidents) {
    ids += (ids.empty() ? "" : ", ") + where.Param(incident.id);
    by_id[incident.id] = &incident;
  }
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql.Query(std::string("SELECT ") + kIncidentOf +
                    ", rule, mitre_tactic, container_id, namespace_name, pod, node, image FROM "
                    "alerts WHERE incident_id IN (" +
                    ids + ") OR id IN (" + ids + ") ORDER BY time_ns, id",
                where.params()));
  for (const auto& row : rows.rows) {
    auto found = by_id.find(row.Int(0));
    if (found == by_id.end()) continue;
    IncidentRecord& incident = *found->second;
    AddDistinct(incident.rules, row.Text(1));
    AddDistinct(incident.tactics, row.Text(2));
    std::string* fields[] = {&incident.container_id, &incident.namespace_name, &incident.pod,
                             &incident.node, &incident.image};
    for (size_t i = 0; i < std::size(fields); ++i) {
      if (fields[i]->empty()) *fields[i] = row.Text(3 + i);
    }
  }
  return Ok();
}

// `having` holds the conditions on the groups (and every parameter); `alerts_where` narrows the
// alerts read, with placeholders of `having`.
Result<std::vector<IncidentRecord>> QueryIncidents(SqlConnection& sql, Conditions& having,
                                                   const std::string& alerts_where,
                                                   const std::string& limit) {
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql.Query(
          std::string("SELECT inc, MIN(time_ns), MAX(last_time_ns), COUNT(*), SUM(count), "
                      "MIN(prank), SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) FROM "
                      "(SELECT ") +
              kIncidentOf + " AS inc, time_ns, last_time_ns, count, status, " + kPriorityRank +
              " AS prank FROM alerts" + alerts_where + ") a GROUP BY inc" +
              [&] {
                std::string where = having.Where();
                // Conditions writes WHERE; these are conditions on the groups.
                return where.empty() ? where : " HAVING" + where.substr(6);
              }() +
              " ORDER BY MAX(last_time_ns) DESC, inc" + limit,
          having.params()));
  std::vector<IncidentRecord> incidents;
  for (const auto& row : rows.rows) {
    IncidentRecord incident;
    incident.id = row.Int(0);
    incident.first_ns = row.Int(1);
    incident.last_ns = row.Int(2);
    incident.alerts = row.Int(3);
    incident.occurrences = row.Int(4);
    const int64_t rank = row.Int(5);
    incident.priority =
        std::string(AlertPriorityName(static_cast<AlertPriority>(std::clamp<int64_t>(rank, 0, 7))));
    incident.active = row.Int(6);
    incidents.push_back(std::move(incident));
  }
  MOAT_TRY(FillIncidentDetails(sql, incidents));
  return incidents;
}

}  // namespace

Result<Page<IncidentRecord>> Store::ListIncidents(const IncidentFilter& filter,
                                                  const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(auto cursor, ParseCursor(page.cursor, 'i'));
  Conditions having;
  if (filter.status == "active") {
    having.Add("SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) > 0");
  } else if (filter.status == "closed") {
    having.Add("SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) = 0");
  } else if (!filter.status.empty()) {
    return Fail("status '", filter.status, "': expected active or closed");
  }
  if (cursor) {
    const std::string t = having.Param(int64_t{std::stoll(cursor->key)});
    const std::string id = having.Param(cursor->id);
    having.Add("(MAX(last_time_ns) < " + t + " OR (MAX(last_time_ns) = " + t + " AND inc > " + id +
               "))");
  }
  const std::string limit = " LIMIT " + having.Param(static_cast<int64_t>(page.limit + 1));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto incidents, QueryIncidents(*sql, having, "", limit));
  Page<IncidentRecord> result;
  result.items = std::move(incidents);
  if (result.items.size() > page.limit) {
    result.items.resize(page.limit);
    result.next_cursor = "i:" + std::to_string(result.items.back().last_ns) + ":" +
                         std::to_string(result.items.back().id);
  }
  return result;
}

Result<std::optional<IncidentRecord>> Store::GetIncident(int64_t id) {
  Conditions having;
  const std::string placeholder = having.Param(id);
  having.Add("inc = " + placeholder);
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto incidents,
      QueryIncidents(*sql, having,
                     " WHERE incident_id = " + placeholder + " OR id = " + placeholder, ""));
  if (incidents.empty()) return std::optional<IncidentRecord>();
  return std::optional<IncidentRecord>(std::move(incidents[0]));
}

Result<std::vector<StoredAlert>> Store::IncidentAlerts(int64_t id, size_t limit) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kAlertColumns +
                     " FROM alerts WHERE incident_id = $1 OR (id = $1 AND incident_id = 0) ORDER "
                     "BY time_ns, id LIMIT $2",
                 {id, static_cast<int64_t>(limit)}));
  std::vector<StoredAlert> alerts;
  for (const auto& row : rows.rows) alerts.push_back(ReadAlert(row));
  return alerts;
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
  NotePostureChange();
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
  NotePostureChange();
  return rows.affected > 0;
}

// ---- notification targets ---------------------------------------------------------------------

namespace {

constexpr const char* kNotificationTargetColumns =
    "id, name, kind, min_priority, batch, slack_blocks, syslog_facility, syslog_hostname, "
    "secret_enc, created_by, created_at, updated_at";

// The sealed part of a target: its URL and headers, as one JSON document.
Result<std::string> SealTargetSecret(const std::string& key, const notify::NotifierConfig& c) {
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& [name, value] : c.headers) headers.push_back({name, value});
  return SealSecret(key, nlohmann::json{{"url", c.url}, {"headers", headers}}.dump());
}

Result<NotificationTargetRecord> ReadNotificationTarget(const SqlRow& row, const std::string& key) {
  NotificationTargetRecord target;
  target.id = row.Int(0);
  target.name = row.Text(1);
  target.config.kind = row.Text(2);
  target.config.min_priority =
      ParseAlertPriority(row.Text(3)).value_or(AlertPriority::kDebug);  // written canonical
  target.config.batch = row.Int(4) != 0;
  target.config.slack_blocks = row.Int(5) != 0;
  target.config.syslog_facility = static_cast<int>(row.Int(6));
  target.config.syslog_hostname = row.Text(7);
  MOAT_ASSIGN_OR_RETURN(const std::string secret, OpenSecret(key, row.Text(8)));
  const auto sealed = nlohmann::json::parse(secret, nullptr, false);
  if (!sealed.is_object() || !sealed.value("url", nlohmann::json()).is_string()) {
    return Fail("notification target ", target.name, ": stored secret is not a URL and headers");
  }
  target.config.url = sealed["url"].get<std::string>();
  for (const auto& header : sealed.value("headers", nlohmann::json::array())) {
    if (header.is_array() && header.size() == 2 && header[0].is_string() && header[1].is_string()) {
      target.config.headers.emplace_back(header[0].get<std::string>(),
                                         header[1].get<std::string>());
    }
  }
  target.created_by = row.Text(9);
  target.created_at = row.Int(10);
  target.updated_at = row.Int(11);
  return target;
}

}  // namespace

Result<NotificationTargetRecord> Store::AddNotificationTarget(NotificationTargetRecord target) {
  MOAT_ASSIGN_OR_RETURN(const std::string sealed, SealTargetSecret(secret_key_, target.config));
  target.created_at = target.updated_at = std::time(nullptr);
  const auto& c = target.config;
  auto sql = pool_->Acquire();
  auto rows = sql->Query(
      "INSERT INTO notification_targets (name, kind, min_priority, batch, slack_blocks, "
      "syslog_facility, syslog_hostname, secret_enc, created_by, created_at, updated_at) VALUES "
      "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
      {target.name, c.kind, std::string(AlertPriorityName(c.min_priority)), int64_t{c.batch},
       int64_t{c.slack_blocks}, int64_t{c.syslog_facility}, c.syslog_hostname, sealed,
       target.created_by, target.created_at});
  if (!rows.ok()) {
    if (IsUniqueViolation(rows.error())) {
      return Fail("a notification target named '", target.name, "' exists already");
    }
    return rows.error();
  }
  target.id = rows->rows[0].Int(0);
  return target;
}

Result<std::vector<NotificationTargetRecord>> Store::ListNotificationTargets() {
  return SelectNotificationTargets("ORDER BY id", {});
}

Result<std::optional<NotificationTargetRecord>> Store::GetNotificationTarget(int64_t id) {
  MOAT_ASSIGN_OR_RETURN(auto targets, SelectNotificationTargets("WHERE id = $1", {id}));
  if (targets.empty()) return std::optional<NotificationTargetRecord>();
  return std::optional<NotificationTargetRecord>(std::move(targets[0]));
}

Result<std::vector<NotificationTargetRecord>> Store::SelectNotificationTargets(
    const std::string& clause, const std::vector<SqlValue>& params) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kNotificationTargetColumns +
                                                  " FROM notification_targets " + clause,
                                              params));
  std::vector<NotificationTargetRecord> targets;
  for (const auto& row : rows.rows) {
    MOAT_ASSIGN_OR_RETURN(auto target, ReadNotificationTarget(row, secret_key_));
    targets.push_back(std::move(target));
  }
  return targets;
}

Result<bool> Store::UpdateNotificationTarget(NotificationTargetRecord target) {
  MOAT_ASSIGN_OR_RETURN(const std::string sealed, SealTargetSecret(secret_key_, target.config));
  const auto& c = target.config;
  auto sql = pool_->Acquire();
  auto rows = sql->Query(
      "UPDATE notification_targets SET name = $2, kind = $3, min_priority = $4, batch = $5, "
      "slack_blocks = $6, syslog_facility = $7, syslog_hostname = $8, secret_enc = $9, "
      "updated_at = $10 WHERE id = $1",
      {target.id, target.name, c.kind, std::string(AlertPriorityName(c.min_priority)),
       int64_t{c.batch}, int64_t{c.slack_blocks}, int64_t{c.syslog_facility}, c.syslog_hostname,
       sealed, int64_t{std::time(nullptr)}});
  if (!rows.ok()) {
    if (IsUniqueViolation(rows.error())) {
      return Fail("a notification target named '", target.name, "' exists already");
    }
    return rows.error();
  }
  return rows->affected > 0;
}

Result<bool> Store::DeleteNotificationTarget(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query("DELETE FROM notification_targets WHERE id = $1", {id}));
  return rows.affected > 0;
}

// ---- admission policy modes ---------------------------------------------------------------------

Result<std::vector<AdmissionPolicyMode>> Store::ListAdmissionPolicyModes() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT policy, action, updated_by, updated_at FROM "
                                              "admission_policy_modes ORDER BY policy"));
  std::vector<AdmissionPolicyMode> modes;
  for (const auto& row : rows.rows) {
    modes.push_back(AdmissionPolicyMode{row.Text(0), row.Text(1), row.Text(2), row.Int(3)});
  }
  return modes;
}

namespace {

Result<void> UpsertAdmissionPolicyMode(SqlConnection& sql, const AdmissionPolicyMode& mode) {
  MOAT_TRY(sql.Query(
      "INSERT INTO admission_policy_modes (policy, action, updated_by, updated_at) VALUES "
      "($1, $2, $3, $4) ON CONFLICT (policy) DO UPDATE SET action = $2, updated_by = $3, "
      "updated_at = $4",
      {mode.policy, mode.action, mode.updated_by, mode.updated_at}));
  return Ok();
}

}  // namespace

Result<void> Store::ReplaceAdmissionPolicyModes(const std::vector<AdmissionPolicyMode>& modes) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    MOAT_TRY(tx.Query("DELETE FROM admission_policy_modes"));
    for (const auto& mode : modes) MOAT_TRY(UpsertAdmissionPolicyMode(tx, mode));
    return Ok();
  });
}

Result<void> Store::SetAdmissionPolicyMode(const AdmissionPolicyMode& mode) {
  auto sql = pool_->Acquire();
  return UpsertAdmissionPolicyMode(*sql, mode);
}

Result<bool> Store::DeleteAdmissionPolicyMode(const std::string& policy) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("DELETE FROM admission_policy_modes WHERE policy = $1", {policy}));
  return rows.affected > 0;
}

// ---- trend ------------------------------------------------------------------------------------

Result<void> Store::RecordDailyStats(const std::string& day,
                                     const std::map<std::string, double>& stats) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<void> {
    for (const auto& [name, value] : stats) {
      MOAT_TRY(
          tx.Query("INSERT INTO daily_stats (day, name, value) VALUES ($1, $2, $3) "
                   "ON CONFLICT (day, name) DO UPDATE SET value = excluded.value",
                   {day, name, value}));
    }
    return Ok();
  });
}

Result<std::vector<DailyStat>> Store::ListDailyStats(const std::string& from_day,
                                                     const std::string& to_day) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT day, name, value FROM daily_stats "
                                              "WHERE day >= $1 AND day <= $2 ORDER BY day, name",
                                              {from_day, to_day}));
  std::vector<DailyStat> stats;
  for (const auto& row : rows.rows) stats.push_back({row.Text(0), row.Text(1), row.Real(2)});
  return stats;
}

Result<std::vector<FindingsFlow>> Store::FindingsFlowByDay(int64_t from, int64_t to) {
  auto sql = pool_->Acquire();
  // Integer division by 86400 is the UTC day in both dialects (times are non-negative).
  MOAT_ASSIGN_OR_RETURN(auto opened,
                        sql->Query("SELECT first_seen / 86400 AS d, COUNT(*) FROM findings "
                                   "WHERE first_seen >= $1 AND first_seen < $2 GROUP BY d",
                                   {from, to}));
  MOAT_ASSIGN_OR_RETURN(auto closed,
                        sql->Query("SELECT resolved_at / 86400 AS d, COUNT(*) FROM findings "
                                   "WHERE resolved_at >= $1 AND resolved_at < $2 GROUP BY d",
                                   {std::max<int64_t>(from, 1), to}));
  std::map<int64_t, FindingsFlow> by_day;
  for (const auto& row : opened.rows) by_day[row.Int(0)].first_seen = row.Int(1);
  for (const auto& row : closed.rows) by_day[row.Int(0)].resolved = row.Int(1);
  std::vector<FindingsFlow> flow;
  for (auto& [day, counts] : by_day) {
    counts.day = FormatUtcDay(static_cast<std::time_t>(day * 86400));
    flow.push_back(counts);
  }
  return flow;
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

Result<size_t> Store::EnqueueJobs(
    const std::string& kind, const std::vector<std::pair<std::string, std::string>>& keys_payloads,
    int64_t run_after) {
  const int64_t created_at = std::time(nullptr);
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<size_t> {
    size_t queued = 0;
    MOAT_TRY(ForEachChunk(keys_payloads.size(), [&](size_t first, size_t size) -> Result<void> {
      std::vector<SqlValue> params;
      for (size_t i = first; i < first + size; ++i) {
        params.insert(params.end(), {kind, keys_payloads[i].first, keys_payloads[i].second,
                                     run_after, created_at});
      }
      MOAT_ASSIGN_OR_RETURN(
          auto rows, tx.Query("INSERT INTO jobs (kind, job_key, payload, run_after, created_at) "
                              "VALUES " +
                                  ValuesTuples(size, 5) + " ON CONFLICT DO NOTHING",
                              params));
      queued += static_cast<size_t>(rows.affected);
      return Ok();
    }));
    return queued;
  });
}

Result<std::optional<Job>> Store::ClaimJob(const std::string& worker, int64_t lease_seconds,
                                           int64_t now, int max_attempts) {
  MOAT_ASSIGN_OR_RETURN(auto jobs, ClaimJobs(worker, lease_seconds, now, max_attempts, "", 1));
  if (jobs.empty()) return std::optional<Job>();
  return std::optional<Job>(std::move(jobs[0]));
}

Result<std::vector<Job>> Store::ClaimJobs(const std::string& worker, int64_t lease_seconds,
                                          int64_t now, int max_attempts, const std::string& kind,
                                          size_t limit) {
  // PostgreSQL: SKIP LOCKED lets concurrent workers take different jobs without waiting; SQLite
  // has one writer at a time, so the subquery alone is exact. On PostgreSQL the subquery is an
  // array, computed once: as "id IN (SELECT ...)", a generic plan made while the table was empty
  // ran it again for every row of a nested loop, and each run locked and claimed `limit` more
  // jobs (a worker took every queued job and left all but its batch to lease expiry).
  const bool postgres = dialect() == SqlDialect::kPostgres;
  auto sql = pool_->Acquire();
  // Every attempt of these ended with its worker gone: no more.
  MOAT_TRY(sql->Query(
      "UPDATE jobs SET state = 'failed', lease_owner = '', finished_at = $1, last_error = "
      "'the lease expired ' || CAST(attempts AS TEXT) || ' times: each worker that took the job "
      "stopped or died during it' WHERE state = 'running' AND lease_until < $1 AND attempts >= $2",
      {now, int64_t{max_attempts}}));
  std::vector<SqlValue> params{worker, now + lease_seconds, now,
                               static_cast<int64_t>(std::max<size_t>(limit, 1))};
  if (!kind.empty()) params.push_back(kind);
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("UPDATE jobs SET state = 'running', lease_owner = $1, lease_until = "
                             "$2, attempts = attempts + 1 WHERE id ") +
                     (postgres ? "= ANY(ARRAY(" : "IN (") +
                     "SELECT id FROM jobs WHERE ((state = 'queued' AND run_after <= $3) OR "
                     "(state = 'running' AND lease_until < $3))" +
                     (kind.empty() ? "" : " AND kind = $5") + " ORDER BY id LIMIT $4" +
                     (postgres ? " FOR UPDATE SKIP LOCKED))" : ")") +
                     " RETURNING id, kind, job_key, payload, attempts",
                 params));
  std::vector<Job> jobs;
  for (const auto& row : rows.rows) {
    jobs.push_back(Job{row.Int(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)});
  }
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  return jobs;
}

Result<bool> Store::RenewJobLease(const JobLease& lease, int64_t lease_until) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("UPDATE jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 "
                            "AND state = 'running'",
                            {lease_until, lease.job_id, lease.worker}));
  return rows.affected > 0;
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

// ---- dashboard views --------------------------------------------------------------------------

double ImageRiskScore(const SeverityCounts& counts, int64_t kev, bool running) {
  double score = 10.0 * counts.critical + 5.0 * counts.high + 2.0 * counts.medium + counts.low;
  if (kev > 0) score *= 2;
  if (running) score *= 2;
  return score;
}

Result<std::vector<ImageRisk>> Store::ListImageRisks() {
  auto sql = pool_->Acquire();
  // One row per image with an open finding, counted when its findings were written.
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query("SELECT c.digest, c.critical, c.high, c.medium, c.low, c.unknown, "
                            "c.fixable, c.kev FROM image_finding_counts c JOIN images i ON "
                            "i.digest = c.digest ORDER BY c.digest"));
  MOAT_ASSIGN_OR_RETURN(auto running_rows,
                        sql->Query("SELECT image_digest FROM containers WHERE state = 'running' "
                                   "UNION SELECT image_digest FROM workload_containers"));
  std::set<std::string> running;
  for (const auto& row : running_rows.rows) running.insert(row.Text(0));
  std::vector<ImageRisk> risks;
  risks.reserve(rows.rows.size());
  for (const auto& row : rows.rows) {
    ImageRisk risk;
    risk.digest = row.Text(0);
    risk.counts =
        SeverityCounts{row.Int(1), row.Int(2), row.Int(3), row.Int(4), row.Int(5), row.Int(6)};
    risk.kev = row.Int(7);
    risk.running = running.count(risk.digest) > 0;
    risk.score = ImageRiskScore(risk.counts, risk.kev, risk.running);
    risks.push_back(std::move(risk));
  }
  return risks;
}

namespace {

bool HasSeverity(const SeverityCounts& c, const std::string& severity) {
  return severity == "CRITICAL" ? c.critical > 0
         : severity == "HIGH"   ? c.high > 0
         : severity == "MEDIUM" ? c.medium > 0
         : severity == "LOW"    ? c.low > 0
                                : c.unknown > 0;
}

}  // namespace

Result<size_t> ParseOffsetCursor(const std::string& cursor) {
  if (cursor.empty()) return size_t{0};
  if (cursor.rfind("o:", 0) != 0 ||
      cursor.find_first_not_of("0123456789", 2) != std::string::npos || cursor.size() == 2 ||
      cursor.size() > 12) {
    return Fail("cursor '", cursor, "': not a cursor of this listing (use next_cursor as given)");
  }
  return static_cast<size_t>(std::stoull(cursor.substr(2)));
}

Result<ImageListing> Store::QueryImages(const ImageQuery& query, const PageRequest& page) {
  MOAT_ASSIGN_OR_RETURN(const size_t offset, ParseOffsetCursor(page.cursor));
  MOAT_ASSIGN_OR_RETURN(auto risk_list, ListImageRisks());
  std::map<std::string, ImageRisk> risks;
  for (auto& risk : risk_list) risks.emplace(risk.digest, std::move(risk));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto running_rows,
                        sql->Query("SELECT image_digest FROM containers WHERE state = 'running' "
                                   "UNION SELECT image_digest FROM workload_containers"));
  std::set<std::string> running;
  for (const auto& row : running_rows.rows) running.insert(row.Text(0));
  // Every image's names (registry, repository, tags) for the repository filter, search and sort.
  MOAT_ASSIGN_OR_RETURN(
      auto name_rows,
      sql->Query("SELECT i.digest, COALESCE(r.registry_id, 0), COALESCE(r.repository, ''), "
                 "COALESCE(t.tag, '') FROM images i LEFT JOIN repository_images r ON r.digest = "
                 "i.digest LEFT JOIN tags t ON t.registry_id = r.registry_id AND t.repository = "
                 "r.repository AND t.digest = r.digest ORDER BY i.digest, 3, 4"));
  struct Candidate {
    std::string digest;
    std::string name;  // first "repository:tag" in order, "" when in no registry
    bool repository_match = false;
    bool search_match = false;
  };
  const std::string search = AsciiLower(query.search);
  std::vector<Candidate> candidates;
  for (const auto& row : name_rows.rows) {
    const std::string digest = row.Text(0);
    if (candidates.empty() || candidates.back().digest != digest) {
      candidates.push_back(Candidate{digest, "", false, search.empty()});
      if (!search.empty() && ContainsFolded(digest, search)) candidates.back().search_match = true;
    }
    Candidate& c = candidates.back();
    const std::string repository = row.Text(2), tag = row.Text(3);
    if (c.name.empty() && !repository.empty()) {
      c.name = repository + (tag.empty() ? "" : ":" + tag);
    }
    const bool registry_ok = query.registry_id == 0 || row.Int(1) == query.registry_id;
    if (registry_ok && !repository.empty() &&
        (query.repository.empty() || repository == query.repository)) {
      c.repository_match = true;
    }
    if (!search.empty() && (ContainsFolded(repository, search) || ContainsFolded(tag, search))) {
      c.search_match = true;
    }
  }
  static const ImageRisk kNoRisk;
  std::vector<std::pair<const Candidate*, ImageRisk>> matches;
  for (const auto& c : candidates) {
    if ((query.registry_id != 0 || !query.repository.empty()) && !c.repository_match) continue;
    if (!c.search_match) continue;
    auto it = risks.find(c.digest);
    ImageRisk risk = it == risks.end() ? kNoRisk : it->second;
    risk.digest = c.digest;
    risk.running = running.count(c.digest) > 0;
    risk.score = ImageRiskScore(risk.counts, risk.kev, risk.running);
    if (!query.severity.empty() && !HasSeverity(risk.counts, query.severity)) continue;
    if (query.fixable && (risk.counts.fixable > 0) != *query.fixable) continue;
    if (query.kev && (risk.kev > 0) != *query.kev) continue;
    if (query.running && risk.running != *query.running) continue;
    matches.emplace_back(&c, std::move(risk));
  }
  auto by_digest = [](const auto& a, const auto& b) { return a.first->digest < b.first->digest; };
  if (query.sort == ImageQuery::Sort::kRisk) {
    std::stable_sort(matches.begin(), matches.end(),
                     [](const auto& a, const auto& b) { return a.second.score > b.second.score; });
  } else if (query.sort == ImageQuery::Sort::kName) {
    std::stable_sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) {
      // Images in no registry last.
      return std::make_tuple(a.first->name.empty(), a.first->name) <
             std::make_tuple(b.first->name.empty(), b.first->name);
    });
  } else {
    std::stable_sort(matches.begin(), matches.end(), by_digest);
  }
  ImageListing listing;
  listing.total = static_cast<int64_t>(matches.size());
  const size_t end = std::min(matches.size(), offset + page.limit);
  for (size_t i = offset; i < end; ++i) {
    MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kImageColumns +
                                                    " FROM images i WHERE i.digest = $1",
                                                {matches[i].first->digest}));
    if (rows.rows.empty()) continue;  // deleted meanwhile
    listing.items.push_back(ReadImage(rows.rows[0]));
    listing.risks.push_back(matches[i].second);
  }
  if (end < matches.size()) listing.next_cursor = "o:" + std::to_string(end);
  MOAT_TRY(FillImageDetails(*sql, listing.items));
  return listing;
}

Result<AlertSummary> Store::SummarizeAlerts() {
  constexpr int64_t kNs = 1'000'000'000;
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto totals,
      sql->Query("SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 "
                 "END), 0) AS BIGINT), COALESCE(MIN(time_ns), 0), COALESCE(MAX(time_ns), 0) "
                 "FROM alerts"));
  AlertSummary summary;
  summary.total = totals.rows[0].Int(0);
  summary.active = totals.rows[0].Int(1);
  const int64_t span_ns = totals.rows[0].Int(3) - totals.rows[0].Int(2);
  summary.bucket_seconds = span_ns <= 2 * 86400 * kNs ? 3600 : 86400;
  // Alerts before 1970 would round towards zero; alert times are after it (the Alert shape).
  MOAT_ASSIGN_OR_RETURN(
      auto buckets,
      sql->Query("SELECT time_ns / $1, priority, COUNT(*) FROM alerts GROUP BY 1, 2 ORDER BY 1, 2",
                 {summary.bucket_seconds * kNs}));
  for (const auto& row : buckets.rows) {
    summary.buckets.push_back(
        AlertSummary::Bucket{row.Int(0) * summary.bucket_seconds, row.Text(1), row.Int(2)});
    summary.by_priority[row.Text(1)] += row.Int(2);
  }
  MOAT_ASSIGN_OR_RETURN(
      auto tactics, sql->Query("SELECT mitre_tactic, COUNT(*) FROM alerts GROUP BY mitre_tactic"));
  for (const auto& row : tactics.rows) summary.by_tactic[row.Text(0)] = row.Int(1);
  return summary;
}

Result<std::vector<RepositorySummary>> Store::ListRepositories(int64_t registry_id) {
  auto sql = pool_->Acquire();
  Conditions where;
  if (registry_id != 0) where.Add("r.registry_id = " + where.Param(registry_id));
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query("SELECT r.registry_id, g.name, r.repository, COUNT(*), MAX(r.pushed_at), "
                 "(SELECT COUNT(*) FROM tags t WHERE t.registry_id = r.registry_id AND "
                 "t.repository = r.repository) FROM repository_images r JOIN registries g ON "
                 "g.id = r.registry_id" +
                     where.Where() +
                     " GROUP BY r.registry_id, g.name, r.repository ORDER BY "
                     "g.name, r.repository",
                 where.params()));
  MOAT_ASSIGN_OR_RETURN(
      auto counts,
      sql->Query("SELECT r.registry_id, r.repository, CAST(SUM(c.critical) AS BIGINT), "
                 "CAST(SUM(c.high) AS BIGINT), CAST(SUM(c.medium) AS BIGINT), CAST(SUM(c.low) AS "
                 "BIGINT), CAST(SUM(c.unknown) AS BIGINT), CAST(SUM(c.fixable) AS BIGINT) FROM "
                 "repository_images r JOIN image_finding_counts c ON c.digest = r.digest" +
                     where.Where() + " GROUP BY r.registry_id, r.repository",
                 where.params()));
  std::map<std::pair<int64_t, std::string>, SeverityCounts> by_repository;
  for (const auto& row : counts.rows) {
    by_repository[{row.Int(0), row.Text(1)}] =
        SeverityCounts{row.Int(2), row.Int(3), row.Int(4), row.Int(5), row.Int(6), row.Int(7)};
  }
  std::vector<RepositorySummary> repositories;
  for (const auto& row : rows.rows) {
    RepositorySummary r;
    r.registry_id = row.Int(0);
    r.registry = row.Text(1);
    r.repository = row.Text(2);
    r.images = row.Int(3);
    r.last_pushed_at = row.Int(4);
    r.tags = row.Int(5);
    r.counts = by_repository[{r.registry_id, r.repository}];
    repositories.push_back(std::move(r));
  }
  return repositories;
}

Result<ImageUsage> Store::ImageUsageOf(const std::string& digest) {
  auto sql = pool_->Acquire();
  ImageUsage usage;
  MOAT_ASSIGN_OR_RETURN(
      auto containers,
      sql->Query("SELECT host_id, id, name, image, image_id, image_digest, state, started_at FROM "
                 "containers WHERE image_digest = $1 ORDER BY host_id, name",
                 {digest}));
  for (const auto& row : containers.rows) {
    usage.containers.push_back(ContainerRecord{row.Text(0), row.Text(1), row.Text(2), row.Text(3),
                                               row.Text(4), row.Text(5), row.Text(6), row.Text(7)});
  }
  MOAT_ASSIGN_OR_RETURN(
      auto workloads,
      sql->Query("SELECT w.id, w.cluster_id, w.namespace_name, w.kind, w.name, c.name FROM "
                 "workload_containers c JOIN workloads w ON w.id = c.workload_id WHERE "
                 "c.image_digest = $1 ORDER BY w.id, c.name",
                 {digest}));
  for (const auto& row : workloads.rows) {
    usage.workloads.push_back(ImageUsage::WorkloadUse{row.Text(0), row.Text(1), row.Text(2),
                                                      row.Text(3), row.Text(4), row.Text(5)});
  }
  return usage;
}

Result<std::vector<StoredAlert>> Store::SimilarAlerts(int64_t id, size_t limit) {
  MOAT_ASSIGN_OR_RETURN(auto alert, GetAlert(id));
  if (!alert) return std::vector<StoredAlert>();
  Conditions where;
  const std::string self = where.Param(id);
  std::vector<std::string> alike;
  if (!alert->container_id.empty() || !alert->image.empty()) {
    const std::string rule = where.Param(alert->rule);
    std::string same_place;
    if (!alert->container_id.empty()) {
      same_place = "container_id = " + where.Param(alert->container_id);
    }
    if (!alert->image.empty()) {
      same_place += (same_place.empty() ? "" : " OR ") + ("image = " + where.Param(alert->image));
    }
    alike.push_back("(rule = " + rule + " AND (" + same_place + "))");
  }
  if (alert->incident_id != 0) alike.push_back("incident_id = " + where.Param(alert->incident_id));
  if (alike.empty()) return std::vector<StoredAlert>();
  std::string any;
  for (const auto& clause : alike) any += (any.empty() ? "(" : " OR ") + clause;
  where.Add(any + ")");
  where.Add("id <> " + self);
  const std::string count = where.Param(static_cast<int64_t>(limit));
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows,
                        sql->Query(std::string("SELECT ") + kAlertColumns + " FROM alerts" +
                                       where.Where() + " ORDER BY time_ns DESC, id LIMIT " + count,
                                   where.params()));
  std::vector<StoredAlert> alerts;
  for (const auto& row : rows.rows) alerts.push_back(ReadAlert(row));
  return alerts;
}

Result<std::vector<StoredAlert>> Store::AlertsAfter(int64_t after_id, size_t limit) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kAlertColumns +
                                                  " FROM alerts WHERE id > $1 ORDER BY id LIMIT $2",
                                              {after_id, static_cast<int64_t>(limit)}));
  std::vector<StoredAlert> alerts;
  for (const auto& row : rows.rows) alerts.push_back(ReadAlert(row));
  return alerts;
}

Result<int64_t> Store::LastAlertId() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("SELECT COALESCE(MAX(id), 0) FROM alerts"));
  return rows.rows[0].Int(0);
}

// ---- users ------------------------------------------------------------------------------------

namespace {

constexpr const char* kUserColumns =
    "id, name, role, password_hash, created_at, created_by, last_sign_in_at";

UserRecord ReadUser(const SqlRow& row) {
  return UserRecord{row.Int(0),  row.Text(1), ParseRole(row.Text(2)).value_or(Role::kReader),
                    row.Text(3), row.Int(4),  row.Text(5),
                    row.Int(6)};
}

}  // namespace

Result<UserRecord> Store::CreateUser(const std::string& name, Role role,
                                     const std::string& password_hash,
                                     const std::string& created_by) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto existing, sql->Query("SELECT 1 FROM users WHERE name = $1", {name}));
  if (!existing.rows.empty()) return Fail("user ", name, " exists already");
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query(std::string("INSERT INTO users (name, role, password_hash, created_at, "
                                        "created_by) VALUES ($1, $2, $3, $4, $5) RETURNING ") +
                                kUserColumns,
                            {name, std::string(RoleName(role)), password_hash,
                             int64_t{std::time(nullptr)}, created_by}));
  return ReadUser(rows.rows.at(0));
}

Result<std::vector<UserRecord>> Store::ListUsers() {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows, sql->Query(std::string("SELECT ") + kUserColumns + " FROM users ORDER BY name"));
  std::vector<UserRecord> users;
  for (const auto& row : rows.rows) users.push_back(ReadUser(row));
  return users;
}

Result<std::optional<UserRecord>> Store::GetUserByName(const std::string& name) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(
      auto rows,
      sql->Query(std::string("SELECT ") + kUserColumns + " FROM users WHERE name = $1", {name}));
  if (rows.rows.empty()) return std::optional<UserRecord>();
  return std::optional<UserRecord>(ReadUser(rows.rows[0]));
}

Result<bool> Store::DeleteUser(int64_t id) {
  auto sql = pool_->Acquire();
  return InTransaction(*sql, [&](SqlConnection& tx) -> Result<bool> {
    MOAT_TRY(tx.Query("UPDATE tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at = 0",
                      {int64_t{std::time(nullptr)}, id}));
    MOAT_ASSIGN_OR_RETURN(auto rows, tx.Query("DELETE FROM users WHERE id = $1", {id}));
    return rows.affected > 0;
  });
}

Result<std::vector<TokenInfo>> Store::ListSessions(int64_t now) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query(std::string("SELECT ") + kTokenColumns +
                                                  " FROM tokens WHERE revoked_at = 0 AND user_id "
                                                  "<> 0 AND expires_at > $1 ORDER BY id",
                                              {now}));
  std::vector<TokenInfo> sessions;
  for (const auto& row : rows.rows) sessions.push_back(ReadToken(row));
  return sessions;
}

Result<bool> Store::RevokeSession(int64_t id) {
  auto sql = pool_->Acquire();
  MOAT_ASSIGN_OR_RETURN(auto rows, sql->Query("UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND "
                                              "revoked_at = 0 AND user_id <> 0 AND expires_at > $1",
                                              {int64_t{std::time(nullptr)}, id}));
  return rows.affected > 0;
}

Result<std::string> Store::CreateSession(const UserRecord& user, int64_t expires_at) {
  std::string token = NewToken();
  const int64_t now = std::time(nullptr);
  auto sql = pool_->Acquire();
  MOAT_TRY(sql->Query(
      "INSERT INTO tokens (name, role, hash, created_at, created_by, expires_at, user_id) VALUES "
      "($1, $2, $3, $4, 'sign-in', $5, $6)",
      {user.name, std::string(RoleName(user.role)), TokenHash(token), now, expires_at, user.id}));
  MOAT_TRY(sql->Query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2", {now, user.id}));
  return token;
}

}  // namespace moat::server
