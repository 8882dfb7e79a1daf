#pragma once
// Feed ingesters: each parses one upstream format (from memory, so fuzzers and tests can feed
// bytes) into normalized AffectedPackage + Vulnerability records. Feeds are untrusted input: a
// file that is not the format at all is an Error; a bad record is reported in `warnings` and
// skipped, the rest goes on.

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "vulndb/vulndb.h"

namespace moat::vulndb {

struct IngestResult;
/// Where the database builder takes the records of a feed while it is read: it stores them on
/// disk, so that no feed is held whole in memory. Empty: the records stay in the IngestResult.
using RecordSink = std::function<Result<void>(IngestResult&)>;

/// What one or more feed files gave.
struct IngestResult {
  std::vector<AffectedPackage> affected;  // the records not yet handed to `sink`
  std::vector<Vulnerability> vulnerabilities;
  RecordSink sink;
  uint64_t affected_handed_over = 0;  // affected records already given to `sink`
  std::vector<std::string> warnings;  // "<file>: <place>: <problem>" for each skipped record
  uint64_t records = 0;               // advisories (or CVE entries) read
  uint64_t git_ranges_skipped = 0;    // OSV GIT ranges (commit hashes, not versions)
  std::string date;                   // the feed's own date when it states one
  std::string source_hint;            // a better source name when the file says ("wolfi/os")

  /// Hands the records read so far to `sink` (when there is one) once a batch has gathered, or
  /// always with `all`; ingesters call it between records.
  Result<void> Flush(bool all = false);
  uint64_t affected_total() const { return affected_handed_over + affected.size(); }
};

// ---- OSV (https://ossf.github.io/osv-schema/) ----

/// Maps an OSV ecosystem ("Debian:12", "PyPI", "Ubuntu:Pro:22.04:LTS", ...) and the package's
/// purl to a Moat namespace ("debian:12", "pypi", "ubuntu:22.04"); nullopt when unknown.
std::optional<std::string> OsvNamespace(std::string_view ecosystem, std::string_view purl = {});
/// Normalizes a package name for a namespace (PEP 503 for pypi, lower case for distros, ...).
std::string NormalizePackageName(std::string_view ns, std::string_view name);

/// One OSV JSON document (an object, or an array of objects as some exports give).
Result<void> ParseOsvJson(std::string_view text, const std::string& name, IngestResult& out);
/// A directory of *.json (recursively), a .zip (as OSV's all.zip), or one .json file.
Result<IngestResult> IngestOsv(const std::string& path, const RecordSink& sink = {});

// ---- Debian Security Tracker JSON (https://security-tracker.debian.org/tracker/data/json) ----

/// "bookworm" -> "debian:12", "sid" -> "debian:unstable"; nullopt for unknown codenames.
std::optional<std::string> DebianNamespace(std::string_view codename);
Result<IngestResult> ParseDebianTracker(std::string_view text, const std::string& name);
/// The same read from a file (plain or compressed) as a stream, one CVE entry in memory at a time.
Result<IngestResult> IngestDebianTracker(const std::string& path, const RecordSink& sink = {});

// ---- Alpine secdb JSON (and the same format from Wolfi, Chainguard) ----

/// ns_hint: "" = detect ("distroversion" -> alpine:X.Y, urlprefix wolfi.dev -> wolfi,
/// cgr.dev/chainguard -> chainguard).
Result<IngestResult> ParseSecdb(std::string_view text, const std::string& name,
                                const std::string& ns_hint = "");

/// The older secdb form in YAML (Alpine v3.15 and before published both); same rules as ParseSecdb.
Result<IngestResult> ParseSecdbYaml(std::string_view text, const std::string& name,
                                    const std::string& ns_hint = "");

// ---- Red Hat CSAF (https://security.access.redhat.com/data/csaf/v2/, VEX and advisories) ----

/// "nodejs:18:8100020240807:a3f2" (an rpm's MODULARITYLABEL, a CSAF purl's rpmmod) or "nodejs:18"
/// -> "nodejs:18"; "" when there is no module.
std::string ModuleStream(std::string_view modularity_label);
/// The key of a module stream's package in Red Hat namespaces: ("nodejs:18", "npm") ->
/// "nodejs:18::npm".
std::string RpmModuleKey(std::string_view module_stream, std::string_view name);
/// "cpe:/o:redhat:enterprise_linux:8::baseos" or "cpe:/a:redhat:enterprise_linux:9" -> "rhel:8";
/// nullopt for every other product (EUS/AUS/E4S/TUS/ELS streams, OpenShift, ...), whose builds
/// a RHEL or UBI image does not get from its default repositories.
std::optional<std::string> RedHatNamespace(std::string_view cpe);
/// One CSAF 2.0 document: a VEX file (one CVE, every product's status) or an advisory.
Result<void> ParseCsafJson(std::string_view text, const std::string& name, IngestResult& out);
/// A directory of CSAF JSON files (recursively), a tar archive of them (Red Hat's
/// csaf_vex_YYYY-MM-DD.tar.zst; any compression), or one file; one document in memory at a time.
Result<IngestResult> IngestCsaf(const std::string& path, const RecordSink& sink = {});

// ---- OVAL 5 definitions (Oracle ELSA, SUSE/openSUSE, Azure Linux and CBL-Mariner) ----

/// Reads with libxml2's streaming reader (xmlTextReader), one definition/test/object/state
/// element at a time, in two passes (the tests, objects and states, then the definitions, each
/// resolved as it is read); plain or compressed (gzip, bzip2, xz, zstd) through libarchive. The
/// namespace comes from each definition's platform criteria ("Oracle Linux 8 is installed",
/// "SUSE Linux Enterprise Server 15 SP5 is installed", "openSUSE Leap 15.5 is installed") or, for
/// Azure Linux/CBL-Mariner, which have none, from `ns_hint`, the file name
/// ("azurelinux-3.0-oval.xml") or the fixed versions' release tag (".azl3", ".cm2").
Result<IngestResult> IngestOval(const std::string& path, const std::string& ns_hint = "",
                                const RecordSink& sink = {});
/// The same from memory (tests, fuzzing).
Result<IngestResult> ParseOval(std::string_view text, const std::string& name,
                               const std::string& ns_hint = "");

// ---- Amazon Linux (ALAS) ----

/// One advisory page of https://alas.aws.amazon.com (AL1 /ALAS-*.html, /AL2/ALAS-*.html,
/// /AL2023/ALAS-*.html) as vunnel reads it: the release from "Amazon Linux 2 Security Advisory",
/// the CVEs of "References", the fixed builds of "New Packages"; one record per CVE and package.
Result<void> ParseAlasHtml(std::string_view text, const std::string& name, IngestResult& out);
/// A yum repository's updateinfo.xml (what Amazon's repositories publish, plain or gzip), read
/// streaming: each <update> of type security, its namespace from its id (ALAS2-, ALAS2023-,
/// ALAS-) or the builds' ".amzn2" tag.
Result<void> ParseUpdateinfo(std::string_view text, const std::string& name, IngestResult& out);
/// A directory of advisory pages (and/or updateinfo files), one page, or one updateinfo file.
Result<IngestResult> IngestAlas(const std::string& path, const RecordSink& sink = {});

// ---- Photon OS (https://packages.broadcom.com/photon/photon_cve_metadata/) ----

/// cve_data_photon<release>.json: [{"cve_id", "pkg", "cve_score", "aff_ver", "res_ver"}]. The
/// release comes from `ns_hint` ("photon:5.0") or the file name.
Result<IngestResult> ParsePhotonCves(std::string_view text, const std::string& name,
                                     const std::string& ns_hint = "");

// ---- Enrichment ----

/// NVD CVE JSON 2.0 (a feed file or an API page). Records come back as Vulnerability values
/// with description, CVSS, CWEs, references and dates.
Result<IngestResult> ParseNvdJson(std::string_view text, const std::string& name);
/// The same read from a file (plain or .gz) as a stream, one CVE in memory at a time.
Result<IngestResult> IngestNvdFile(const std::string& path, const RecordSink& sink = {});

struct KevEntry {
  std::string date_added;
};
struct KevCatalog {
  std::string date;  // dateReleased
  std::unordered_map<std::string, KevEntry> entries;
};
Result<KevCatalog> ParseKev(std::string_view text, const std::string& name);

struct EpssEntry {
  double score = 0;
  double percentile = 0;
};
struct EpssScores {
  std::string date;  // score_date from the header comment
  std::unordered_map<std::string, EpssEntry> entries;
};
Result<EpssScores> ParseEpssCsv(std::string_view text, const std::string& name);

// ---- Files ----

/// Calls fn(name, bytes) for each JSON document of a feed given as a directory (*.json and
/// *.json.gz, recursively, sorted), a zip or tar archive, or one (possibly gzipped) file.
Result<void> ForEachJsonDocument(
    const std::string& path,
    const std::function<Result<void>(const std::string&, std::string&&)>& fn);

/// Calls fn with the file's bytes as a stream, decompressed when compressed (gzip, bzip2, xz,
/// zstd: libarchive); a read or decompression error is reported naming the file.
Result<void> ReadFeedStream(const std::string& path,
                            const std::function<Result<void>(std::istream&)>& fn);
/// Reads a file, transparently gunzipping .gz / gzip-magic content (libarchive).
Result<std::string> ReadFeedFile(const std::string& path, uint64_t max_bytes = 8ull << 30);
/// Calls fn(member_name, bytes) for each regular *.json entry of a zip or tar archive (tar
/// compressed in any way libarchive reads: gzip, zstd, xz, bzip2), one entry in memory at a time.
Result<void> ForEachArchiveJson(
    const std::string& path,
    const std::function<Result<void>(const std::string&, std::string&&)>& fn);

}  // namespace moat::vulndb
