#include "match/match.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/parallel.h"
#include "core/text.h"
#include "purl/purl.h"
#include "vulndb/ingest.h"

namespace moat::match {
namespace {

// "3.20.3" -> "3.20"; "9.4" -> "9" with parts = 1.
std::string LeadingParts(std::string_view version, int parts) {
  std::string out;
  int seen = 0;
  for (char c : version) {
    if (c == '.') {
      if (++seen == parts) break;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      break;
    }
    out.push_back(c);
  }
  return out;
}

bool IsCve(const std::string& id) { return id.starts_with("CVE-"); }

// Primary id preference: CVE, then the others in a fixed order (GHSA, PYSEC, GO, ...), then
// alphabetical.
int IdPreference(const std::string& id) {
  if (IsCve(id)) return 0;
  if (id.starts_with("GHSA-")) return 1;
  return 2;
}

}  // namespace

std::string OsNamespace(const OsInfo& os) {
  const std::string family = AsciiLower(os.family);
  if (family == "debian") {
    std::string major = LeadingParts(os.version, 1);
    if (!major.empty()) return "debian:" + major;
    if (!os.codename.empty()) {
      if (auto ns = vulndb::DebianNamespace(AsciiLower(os.codename))) return *ns;
    }
    return "debian:unstable";
  }
  if (family == "ubuntu") return os.version.empty() ? "" : "ubuntu:" + LeadingParts(os.version, 2);
  if (family == "alpine") {
    // The os-release analyzer reports "edge" when /etc/apk/repositories points at edge.
    if (os.version == "edge") return "alpine:edge";
    return os.version.empty() ? "" : "alpine:" + LeadingParts(os.version, 2);
  }
  if (family == "wolfi" || family == "chainguard") return family;
  if (family == "amzn") {
    // Amazon Linux 1 is versioned by date (VERSION_ID "2018.03"); 2 and 2023 by their number.
    std::string major = LeadingParts(os.version, 1);
    if (major.size() == 4 && major < "2023") return "amzn:1";
    return major.empty() ? "" : "amzn:" + major;
  }
  // Distributions whose advisories name a minor release (SUSE service packs, Azure Linux 3.0,
  // Photon 5.0): os-release ID, then VERSION_ID's first two parts.
  std::string base = family;
  if (family == "sles_sap" || family == "sled") base = "sles";
  if (base == "sles" || base == "opensuse-leap" || base == "sle-micro" || base == "sl-micro" ||
      base == "azurelinux" || base == "mariner" || base == "photon") {
    std::string release = LeadingParts(os.version, 2);
    return release.empty() ? "" : base + ":" + release;
  }
  if (family == "almalinux") base = "alma";
  if (family == "redhat" || family == "red hat") base = "rhel";
  if (family == "oracle") base = "ol";
  if (base == "rhel" || base == "centos" || base == "rocky" || base == "alma" || base == "ol" ||
      base == "fedora") {
    std::string major = LeadingParts(os.version, 1);
    return major.empty() ? "" : base + ":" + major;
  }
  return "";
}

std::string DataNamespace(const std::string& os_ns, const std::vector<std::string>& namespaces) {
  auto has = [&namespaces](const std::string& ns) {
    return !ns.empty() && std::binary_search(namespaces.begin(), namespaces.end(), ns);
  };
  if (has(os_ns)) return os_ns;
  // CentOS rebuilds RHEL from the same sources and has no security data of its own: Red Hat's
  // applies (as Trivy and Grype do).
  if (os_ns.starts_with("centos:")) {
    std::string rhel = "rhel:" + os_ns.substr(7);
    if (has(rhel)) return rhel;
  }
  return "";
}

std::string LanguageNamespace(PackageType type) {
  switch (type) {
    case PackageType::kPypi:
      return "pypi";
    case PackageType::kNpm:
      return "npm";
    case PackageType::kGolang:
      return "go";
    case PackageType::kMaven:
      return "maven";
    // The OSV ecosystem names (the database keeps them as its namespaces).
    case PackageType::kGem:
      return "rubygems";
    case PackageType::kCargo:
      return "crates.io";
    case PackageType::kNuget:
      return "nuget";
    case PackageType::kComposer:
      return "packagist";
    default:
      return "";
  }
}

version::Scheme SchemeFor(PackageType type) {
  switch (type) {
    case PackageType::kDeb:
      return version::Scheme::kDeb;
    case PackageType::kRpm:
      return version::Scheme::kRpm;
    case PackageType::kApk:
      return version::Scheme::kApk;
    case PackageType::kPypi:
      return version::Scheme::kPep440;
    case PackageType::kNpm:
      return version::Scheme::kSemver;
    case PackageType::kGolang:
      return version::Scheme::kGo;
    case PackageType::kMaven:
      return version::Scheme::kMaven;
    case PackageType::kGem:
      return version::Scheme::kGem;
    case PackageType::kCargo:  // crates are SemVer 2.0, as Cargo's semver crate orders them
      return version::Scheme::kSemver;
    case PackageType::kNuget:
      return version::Scheme::kNuget;
    case PackageType::kComposer:
      return version::Scheme::kComposer;
  }
  return version::Scheme::kSemver;
}

std::string LookupName(std::string_view ns, const Package& package) {
  std::string name = package.name;
  if (IsOsPackageType(package.type) && !package.source_name.empty()) name = package.source_name;
  return vulndb::NormalizePackageName(ns, name);
}

std::vector<std::string> LookupNames(std::string_view ns, const Package& package) {
  std::vector<std::string> names{LookupName(ns, package)};
  // The Go vulnerability database files the standard library as "stdlib" and the go command
  // as "toolchain"; a binary carries the library, and both name flaws of the code it ran.
  if (package.type == PackageType::kGolang && package.name == "stdlib") {
    names.push_back("toolchain");
  }
  if (package.type != PackageType::kRpm) return names;
  // rpm feeds disagree on the key: Red Hat CSAF, Oracle and Amazon name the source rpm, Rocky
  // and AlmaLinux OSV, SUSE and Azure Linux OVAL the binary rpm ("openssl-libs"). Both are looked
  // up; records of one flaw found through both merge into one finding.
  std::string binary = vulndb::NormalizePackageName(ns, package.name);
  if (binary != names.front()) names.push_back(binary);
  // A package from a module stream is fixed by that stream's builds only: Red Hat's records for
  // it are keyed "module:stream::name" (vulndb::RpmModuleKey), and the plain name's records
  // (another stream or the non-modular package) do not apply.
  if (ns.starts_with("rhel:")) {
    std::string module = vulndb::ModuleStream(package.modularity_label);
    if (!module.empty()) {
      for (auto& name : names) name = vulndb::RpmModuleKey(module, name);
    }
  }
  return names;
}

std::string ComparableVersion(const Package& package) {
  switch (package.type) {
    case PackageType::kDeb:
      return package.source_version.empty() ? package.version : package.source_version;
    case PackageType::kRpm: {
      std::string out = package.epoch.empty() ? "" : package.epoch + ":";
      out += package.version;
      if (!package.release.empty()) out += "-" + package.release;
      return out;
    }
    case PackageType::kGolang: {
      std::string_view v = package.version;
      if (v.starts_with("go")) v.remove_prefix(2);
      return std::string(v);
    }
    default:
      return package.version;
  }
}

std::string SeverityFromScore(double score) {
  if (score >= 9.0) return "critical";
  if (score >= 7.0) return "high";
  if (score >= 4.0) return "medium";
  if (score > 0.0) return "low";
  return "none";
}

SeverityChoice ChooseSeverity(bool os_package, const vulndb::AffectedPackage& record,
                              const vulndb::Vulnerability* vuln) {
  auto known = [](const std::string& s) { return !s.empty() && s != "unknown"; };
  // The record's own rating: the distro's urgency for OS packages, the advisory's per-package
  // severity (OSV ecosystem_specific/database_specific) for language packages.
  if (known(record.severity)) {
    return {AsciiLower(record.severity), record.source.empty() ? "vendor" : record.source};
  }
  (void)os_package;
  if (vuln != nullptr) {
    // The advisory's own rating (GHSA database_specific) unless the database derived it from
    // one of the CVSS scores it carries.
    bool derived = std::any_of(vuln->cvss.begin(), vuln->cvss.end(),
                               [&](const auto& c) { return c.source == vuln->severity_source; });
    if (known(vuln->severity) && !derived) return {vuln->severity, vuln->severity_source};
    for (std::string_view prefix : {"4", "3", "2"}) {
      const vulndb::CvssScore* best = nullptr;
      for (const auto& cvss : vuln->cvss) {
        if (!cvss.version.starts_with(prefix) || cvss.score <= 0) continue;
        // NVD first (the primary scorer), then the highest version (3.1 over 3.0).
        if (best == nullptr || (cvss.source == "nvd" && best->source != "nvd") ||
            (cvss.source == best->source && cvss.version > best->version)) {
          best = &cvss;
        }
      }
      if (best != nullptr) return {SeverityFromScore(best->score), best->source};
    }
    if (known(vuln->severity)) return {vuln->severity, vuln->severity_source};
  }
  return {"unknown", ""};
}

Result<RecordMatch> MatchRecord(version::Scheme scheme, std::string_view version,
                                const vulndb::AffectedPackage& record) {
  RecordMatch out;
  for (const auto& explicit_version : record.versions) {
    if (explicit_version == version) {
      out.affected = true;
      break;
    }
    auto cmp = version::Compare(scheme, version, explicit_version);
    if (cmp.ok() && *cmp == 0) {
      out.affected = true;
      break;
    }
  }
  for (const auto& range : record.ranges) {
    if (!range.introduced.empty() && range.introduced != "0") {
      MOAT_ASSIGN_OR_RETURN(int cmp, version::Compare(scheme, version, range.introduced));
      if (cmp < 0) continue;
    }
    if (!range.fixed.empty()) {
      MOAT_ASSIGN_OR_RETURN(int cmp, version::Compare(scheme, version, range.fixed));
      if (cmp >= 0) continue;
      out.affected = true;
      out.fixed_versions.push_back(range.fixed);
    } else if (!range.last_affected.empty()) {
      MOAT_ASSIGN_OR_RETURN(int cmp, version::Compare(scheme, version, range.last_affected));
      if (cmp > 0) continue;
      out.affected = true;
    } else {
      out.affected = true;
    }
  }
  // No ranges and no version list: the tracker says the package is affected in this release
  // (open, no-dsa, end-of-life, undetermined) without a fix.
  if (record.ranges.empty() && record.versions.empty() && record.status != vulndb::Status::kFixed) {
    out.affected = true;
  }
  return out;
}

namespace {

struct RawFinding {
  const vulndb::AffectedPackage* record;
  std::shared_ptr<const vulndb::Vulnerability> vuln;  // null when the database has no details
  std::vector<std::string> fixed;
};

// Advisory details by id, read and decoded once per scan: the binary packages built from one
// source package, and one library found in several places, share their advisories. Shared by the
// matcher's threads.
class AdvisoryCache {
 public:
  explicit AdvisoryCache(const vulndb::Database& db) : db_(db) {}

  std::shared_ptr<const vulndb::Vulnerability> Get(const std::string& id) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    }
    std::shared_ptr<const vulndb::Vulnerability> details;
    if (auto found = db_.Get(id); found.ok() && found->has_value()) {
      details = std::make_shared<const vulndb::Vulnerability>(std::move(**found));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    return cache_.emplace(id, std::move(details)).first->second;
  }

 private:
  const vulndb::Database& db_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const vulndb::Vulnerability>> cache_;
};

std::string PackageKey(const Package& p) {
  return std::string(PackageTypeName(p.type)) + "|" + p.name + "|" + p.DisplayVersion() + "|" +
         p.arch + "|" + p.file_path + "|" + p.layer_diff_id;
}

void AddUnique(std::vector<std::string>& list, const std::string& value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(value);
  }
}

// Groups one package's raw findings whose ids overlap (id or alias shared) into one finding.
std::vector<DetectedVulnerability> Merge(const Package& package, const OsInfo& os,
                                         const std::string& ns, std::vector<RawFinding>& raws) {
  const size_t n = raws.size();
  std::vector<size_t> parent(n);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  std::map<std::string, size_t> owner;
  for (size_t i = 0; i < n; ++i) {
    std::vector<std::string> ids{raws[i].record->vuln_id};
    if (raws[i].vuln) {
      ids.push_back(raws[i].vuln->id);
      for (const auto& alias : raws[i].vuln->aliases) ids.push_back(alias);
    }
    for (const auto& id : ids) {
      auto [it, inserted] = owner.emplace(id, i);
      if (!inserted) parent[find(i)] = find(it->second);
    }
  }
  std::map<size_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[find(i)].push_back(i);

  const bool os_package = IsOsPackageType(package.type);
  std::vector<DetectedVulnerability> out;
  for (auto& [root, members] : groups) {
    // Primary: a CVE id among the members' own ids, else the preferred advisory id.
    std::vector<std::string> ids;
    for (size_t i : members) AddUnique(ids, raws[i].record->vuln_id);
    std::sort(ids.begin(), ids.end(), [](const std::string& a, const std::string& b) {
      return std::pair(IdPreference(a), a) < std::pair(IdPreference(b), b);
    });
    std::set<std::string> all_ids;
    for (size_t i : members) {
      all_ids.insert(raws[i].record->vuln_id);
      if (raws[i].vuln) {
        for (const auto& alias : raws[i].vuln->aliases) all_ids.insert(alias);
      }
    }
    std::string primary = ids.front();
    for (const auto& id : all_ids) {
      if (IsCve(id) && !IsCve(primary)) primary = id;  // an alias CVE beats a GHSA id
    }
    // The member whose record gives the details: the primary's own record when there is one.
    size_t lead = members.front();
    for (size_t i : members) {
      if (raws[i].record->vuln_id == primary) lead = i;
    }
    DetectedVulnerability f;
    f.id = primary;
    for (const auto& id : all_ids) {
      if (id != primary) f.aliases.push_back(id);
    }
    f.package_name = package.name;
    f.package_version = package.DisplayVersion();
    f.package_type = std::string(PackageTypeName(package.type));
    f.package_purl = package.purl.empty() ? PurlForPackage(package, os) : package.purl;
    f.package_id = PackageKey(package);
    if (os_package)
      f.source_package = package.source_name.empty() ? package.name : package.source_name;
    f.installed_version = ComparableVersion(package);
    f.namespace_ = ns;
    f.layer_diff_id = package.layer_diff_id;
    f.layer_created_by = package.layer_created_by;
    f.file_path = package.file_path;
    std::vector<std::string> sources;
    bool has_fix = false;
    vulndb::Status status = raws[lead].record->status;
    for (size_t i : members) {
      for (const auto& fixed : raws[i].fixed) AddUnique(f.fixed_versions, fixed);
      AddUnique(sources, raws[i].record->source);
    }
    has_fix = !f.fixed_versions.empty();
    f.status = has_fix ? "fixed" : std::string(vulndb::StatusName(status));
    if (!has_fix && status == vulndb::Status::kFixed) f.status = "affected";
    for (const auto& s : sources) f.data_source += (f.data_source.empty() ? "" : ",") + s;
    // Severity: the lead's record and details first, then any member's.
    SeverityChoice choice = ChooseSeverity(os_package, *raws[lead].record, raws[lead].vuln.get());
    for (size_t i : members) {
      if (choice.severity != "unknown") break;
      choice = ChooseSeverity(os_package, *raws[i].record, raws[i].vuln.get());
    }
    f.severity = choice.severity;
    f.severity_source = choice.source;
    // Details: the lead's, completed from the others.
    std::vector<size_t> order{lead};
    for (size_t i : members) {
      if (i != lead) order.push_back(i);
    }
    for (size_t i : order) {
      if (!raws[i].vuln) continue;
      const vulndb::Vulnerability& v = *raws[i].vuln;
      if (f.title.empty()) f.title = v.title;
      if (f.description.empty()) f.description = v.description;
      if (f.published.empty()) f.published = v.published;
      if (f.modified.empty()) f.modified = v.modified;
      for (const auto& r : v.references) AddUnique(f.references, r);
      for (const auto& c : v.cwes) AddUnique(f.cwes, c);
      for (const auto& c : v.cvss) {
        bool seen = std::any_of(f.cvss.begin(), f.cvss.end(), [&](const CvssRating& x) {
          return x.vector == c.vector && x.source == c.source;
        });
        if (!seen) f.cvss.push_back(CvssRating{c.version, c.vector, c.score, c.source});
      }
      if (v.known_exploited && !f.known_exploited) {
        f.known_exploited = true;
        f.kev_date_added = v.kev_date_added;
      }
      if (!f.epss_score && v.epss_score) {
        f.epss_score = v.epss_score;
        f.epss_percentile = v.epss_percentile;
      }
    }
    if (IsCve(f.id)) {
      f.primary_url = "https://nvd.nist.gov/vuln/detail/" + f.id;
    } else if (f.id.starts_with("GHSA-")) {
      f.primary_url = "https://github.com/advisories/" + f.id;
    } else if (f.id.starts_with("GO-")) {
      f.primary_url = "https://pkg.go.dev/vuln/" + f.id;
    } else if (!f.references.empty()) {
      f.primary_url = f.references.front();
    }
    out.push_back(std::move(f));
  }
  return out;
}

// The gap for OS packages that cannot be matched: an OS the database has no data for (told by
// the database's own list of namespaces, not by a list of supported distributions here), or one
// that is not recognized at all.
AssessmentGap OsNotAssessed(const Inventory& inventory, const std::string& os_ns,
                            const vulndb::Database& db) {
  AssessmentGap gap;
  gap.kind = AssessmentGap::Kind::kNoVulnerabilityData;
  gap.source = "vulnerability database";
  const OsInfo& os = inventory.os;
  gap.subject =
      !os.name.empty() ? os.name : os.family + (os.version.empty() ? "" : " " + os.version);
  if (gap.subject.empty()) gap.subject = "unknown OS";
  for (const Package& package : inventory.packages) gap.packages += IsOsPackageType(package.type);
  if (os_ns.empty()) {
    gap.details.push_back(os.family.empty() ? "the OS was not identified (no readable release file)"
                                            : "no vulnerability namespace is known for OS \"" +
                                                  os.family + "\" version \"" + os.version + "\"");
  } else {
    gap.details.push_back("the vulnerability database (built " + db.metadata().built_at +
                          ") has no records for namespace \"" + os_ns + "\"");
  }
  return gap;
}

// One gap per package whose version (or an advisory's) its ecosystem's ordering cannot compare:
// the advisories it leaves undecided are listed, so the report says what was not checked.
void AddVersionNotCompared(std::optional<AssessmentGap>& gap, const Package& package,
                           const std::string& version, version::Scheme scheme,
                           const std::string& vuln_id, const std::string& problem) {
  if (!gap) {
    gap.emplace();
    gap->kind = AssessmentGap::Kind::kVersionNotCompared;
    gap->subject = std::string(PackageTypeName(package.type)) + " " + package.name + " " + version +
                   (package.file_path.empty() ? "" : " (" + package.file_path + ")");
    gap->source = "vulnerability matching";
    gap->packages = 1;
  }
  constexpr size_t kMaxListed = 20;
  if (gap->details.size() < kMaxListed) {
    gap->details.push_back(vuln_id + ": not decided, " + std::string(version::SchemeName(scheme)) +
                           " ordering: " + problem);
  } else if (gap->details.size() == kMaxListed) {
    gap->details.push_back("more advisories not decided for the same reason");
  }
}

}  // namespace

MatchResult MatchInventory(const Inventory& inventory, const vulndb::Database& db,
                           const MatchOptions& options) {
  const std::string os_ns = OsNamespace(inventory.os);
  const std::string data_ns = DataNamespace(os_ns, db.metadata().namespaces);
  const bool os_has_data = !data_ns.empty();
  MatchResult result;
  if (!os_has_data) {
    if (AssessmentGap gap = OsNotAssessed(inventory, os_ns, db); gap.packages > 0) {
      result.gaps.push_back(std::move(gap));
    }
  }
  const size_t count = inventory.packages.size();
  std::vector<std::vector<DetectedVulnerability>> per_package(count);
  std::vector<std::vector<std::string>> per_warnings(count);
  std::vector<std::optional<AssessmentGap>> per_gap(count);
  AdvisoryCache advisories(db);
  ParallelFor(count, options.threads, [&](size_t index) {
    const Package& package = inventory.packages[index];
    const bool os_package = IsOsPackageType(package.type);
    if (os_package && !os_has_data) return;
    if (!package.owned_by.empty() && !options.match_os_owned) return;
    const std::string ns = os_package ? data_ns : LanguageNamespace(package.type);
    if (ns.empty()) return;
    const version::Scheme scheme = SchemeFor(package.type);
    const std::string version = ComparableVersion(package);
    if (version.empty()) return;
    std::vector<std::string> names = LookupNames(ns, package);
    std::vector<vulndb::AffectedPackage> records;
    for (const auto& name : names) {
      auto found = db.Lookup(ns, name);
      if (!found.ok()) {
        per_warnings[index].push_back("vulnerability lookup " + ns + "/" + name + ": " +
                                      found.error().message);
        continue;
      }
      for (auto& r : *found) records.push_back(std::move(r));
    }
    if (records.empty()) return;
    // The vendor's "not affected" for this package outweighs any other feed's record of the
    // same flaw (an OSV range written for every build of a source package, say).
    std::set<std::string> not_affected;
    for (const auto& record : records) {
      if (record.status == vulndb::Status::kNotAffected) not_affected.insert(record.vuln_id);
    }
    std::vector<RawFinding> raws;
    for (const auto& record : records) {
      if (record.status == vulndb::Status::kNotAffected) continue;
      auto matched = MatchRecord(scheme, version, record);
      if (!matched.ok()) {
        // Neither affected nor clear: the advisory is reported as not assessed, never dropped.
        AddVersionNotCompared(per_gap[index], package, version, scheme, record.vuln_id,
                              matched.error().message);
        continue;
      }
      if (!matched->affected) continue;
      RawFinding raw{&record, advisories.Get(record.vuln_id), std::move(matched->fixed_versions)};
      if (raw.vuln && raw.vuln->withdrawn) continue;
      if (!not_affected.empty()) {
        bool vendor_says_not_affected = not_affected.count(record.vuln_id) > 0;
        if (raw.vuln) {
          for (const auto& alias : raw.vuln->aliases) {
            vendor_says_not_affected = vendor_says_not_affected || not_affected.count(alias) > 0;
          }
        }
        if (vendor_says_not_affected) continue;
      }
      raws.push_back(std::move(raw));
    }
    if (raws.empty()) return;
    per_package[index] = Merge(package, inventory.os, ns, raws);
  });
  for (size_t i = 0; i < count; ++i) {
    for (auto& f : per_package[i]) result.findings.push_back(std::move(f));
    for (auto& w : per_warnings[i]) result.warnings.push_back(std::move(w));
    if (per_gap[i]) result.gaps.push_back(std::move(*per_gap[i]));
  }
  std::stable_sort(result.findings.begin(), result.findings.end(),
                   [](const DetectedVulnerability& a, const DetectedVulnerability& b) {
                     int ra = SeverityRank(a.severity), rb = SeverityRank(b.severity);
                     if (ra != rb) return ra > rb;
                     if (a.package_name != b.package_name) return a.package_name < b.package_name;
                     if (a.id != b.id) return a.id < b.id;
                     return a.package_id < b.package_id;
                   });
  return result;
}

}  // namespace moat::match
