#include "vulndb/update.h"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/bytes.h"
#include "core/http.h"
#include "core/log.h"
#include "core/sha256.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {
namespace fs = std::filesystem;
using nlohmann::json;

std::vector<UpdateSource> DefaultUpdateSources() {
  std::vector<UpdateSource> sources;
  const std::string osv = "https://osv-vulnerabilities.storage.googleapis.com/";
  for (const char* ecosystem : {"PyPI", "Go", "npm", "Maven", "RubyGems", "NuGet", "crates.io",
                                "Ubuntu", "Red Hat", "Rocky Linux", "AlmaLinux"}) {
    std::string path = ecosystem;
    for (size_t i = 0; (i = path.find(' ', i)) != std::string::npos;) path.replace(i, 1, "%20");
    sources.push_back({std::string("osv:") + ecosystem, FeedKind::kOsv, osv + path + "/all.zip"});
  }
  sources.push_back({"debian-tracker", FeedKind::kDebianTracker,
                     "https://security-tracker.debian.org/tracker/data/json"});
  for (const char* release : {"v3.18", "v3.19", "v3.20", "v3.21", "v3.22", "edge"}) {
    for (const char* repo : {"main", "community"}) {
      sources.push_back(
          {std::string("alpine:") + release + "/" + repo, FeedKind::kSecdb,
           std::string("https://secdb.alpinelinux.org/") + release + "/" + repo + ".json"});
    }
  }
  sources.push_back({"wolfi", FeedKind::kSecdb, "https://packages.wolfi.dev/os/security.json"});
  // Red Hat's VEX files, one archive; archive_latest.txt names the newest (see ResolveUrl).
  sources.push_back({"redhat-csaf", FeedKind::kCsaf,
                     "https://security.access.redhat.com/data/csaf/v2/vex/archive_latest.txt"});
  sources.push_back({"oracle-oval", FeedKind::kOval,
                     "https://linux.oracle.com/security/oval/com.oracle.elsa-all.xml.bz2"});
  const std::string suse = "https://ftp.suse.com/pub/projects/security/oval/";
  for (const char* file : {"suse.linux.enterprise.server.12", "suse.linux.enterprise.server.15",
                           "opensuse.leap.15.5", "opensuse.leap.15.6"}) {
    sources.push_back({std::string("suse-oval:") + file, FeedKind::kOval, suse + file + ".xml.gz"});
  }
  // The Azure Linux files have no platform criteria: the source name (the cached file's name)
  // carries the release, as ingest_oval.cpp reads it.
  const std::string azure =
      "https://raw.githubusercontent.com/microsoft/AzureLinuxVulnerabilityData/main/";
  for (const char* release : {"azurelinux-3.0", "cbl-mariner-2.0"}) {
    sources.push_back({release, FeedKind::kOval, azure + release + "-oval.xml"});
  }
  // Amazon's repositories carry the advisories as updateinfo.xml; the mirror list names the
  // current repository (see ResolveUrl).
  sources.push_back({"amazon-alas:2", FeedKind::kAlas,
                     "https://cdn.amazonlinux.com/2/core/latest/x86_64/mirror.list"});
  sources.push_back({"amazon-alas:2023", FeedKind::kAlas,
                     "https://cdn.amazonlinux.com/al2023/core/mirrors/latest/x86_64/mirror.list"});
  for (const char* release : {"3.0", "4.0", "5.0"}) {
    // The file name carries the release (ingest_photon.cpp reads it), as does the source name
    // the cached copy is named after.
    sources.push_back({std::string("cve_data_photon") + release, FeedKind::kPhoton,
                       std::string("https://packages.broadcom.com/photon/photon_cve_metadata/"
                                   "cve_data_photon") +
                           release + ".json"});
  }
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  for (int year = 2002; year <= tm.tm_year + 1900; ++year) {
    sources.push_back({"nvd:" + std::to_string(year), FeedKind::kNvd,
                       "https://nvd.nist.gov/feeds/json/cve/2.0/nvdcve-2.0-" +
                           std::to_string(year) + ".json.gz"});
  }
  sources.push_back({"kev", FeedKind::kKev,
                     "https://www.cisa.gov/sites/default/files/feeds/"
                     "known_exploited_vulnerabilities.json"});
  sources.push_back(
      {"epss", FeedKind::kEpss, "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz"});
  return sources;
}

Result<std::vector<UpdateSource>> LoadUpdateSources(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 16u << 20));
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, path));
  const json& list = json_util::Member(doc, "sources");
  if (!list.is_array()) return Fail(path, ": expected {\"sources\": [...]}");
  std::vector<UpdateSource> sources;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string place = path + ": /sources/" + std::to_string(i);
    UpdateSource source;
    source.name = json_util::String(list[i], "name");
    source.url = json_util::String(list[i], "url");
    auto kind = ParseFeedKind(json_util::String(list[i], "kind"));
    if (source.name.empty() || source.url.empty() || !kind) {
      return Fail(
          place,
          ": needs name, url and kind (osv, debian-tracker, secdb, csaf, oval, alas, photon, "
          "nvd, kev, epss)");
    }
    for (const auto& other : sources) {
      if (other.name == source.name) return Fail(place, ": duplicate name ", source.name);
    }
    source.kind = *kind;
    sources.push_back(std::move(source));
  }
  return sources;
}

namespace {

class FileSink : public ByteSink {
 public:
  explicit FileSink(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  ~FileSink() override {
    if (file_) std::fclose(file_);
  }
  bool ok() const { return file_ != nullptr; }
  Result<void> Write(ByteSpan chunk) override {
    if (std::fwrite(chunk.data(), 1, chunk.size(), file_) != chunk.size()) {
      return Fail(path_, ": write failed: ", std::strerror(errno));
    }
    return Ok();
  }
  Result<void> Close() override {
    if (!file_) return Ok();
    int rc = std::fflush(file_) | ::fsync(fileno(file_)) | std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) return Fail(path_, ": write failed");
    return Ok();
  }

 private:
  std::string path_;
  FILE* file_ = nullptr;
};

// A source whose URL names a pointer file ("archive_latest.txt": Red Hat publishes its VEX
// archive under a dated name and the newest name in this file) is fetched from the URL the
// pointer gives, resolved against the pointer's directory.
Result<std::string> FetchSmall(const std::string& source_name, const std::string& url) {
  HttpRequest request;
  request.url = url;
  request.headers.emplace_back("User-Agent", "moat-db-update");
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, HttpFetch(request));
  if (response.status != 200) {
    return Fail(source_name, ": ", url, ": HTTP ", std::to_string(response.status));
  }
  if (response.body.size() > (1u << 20)) return Fail(source_name, ": ", url, ": too large");
  return response.body;
}

// A yum repository's updateinfo: mirror.list names the repository, its repodata/repomd.xml the
// updateinfo file ("<data type=\"updateinfo\"> ... <location href=\"repodata/...\"/>").
Result<std::string> ResolveUpdateinfo(const UpdateSource& source) {
  MOAT_ASSIGN_OR_RETURN(std::string mirrors, FetchSmall(source.name, source.url));
  std::string base = json_util::Trim(mirrors.substr(0, mirrors.find('\n')));
  if (!base.starts_with("https://") && !base.starts_with("http://")) {
    return Fail(source.name, ": ", source.url, ": no repository URL in the mirror list");
  }
  while (base.ends_with("/")) base.pop_back();
  MOAT_ASSIGN_OR_RETURN(std::string repomd, FetchSmall(source.name, base + "/repodata/repomd.xml"));
  size_t data = repomd.find("type=\"updateinfo\"");
  size_t href = data == std::string::npos ? data : repomd.find("href=\"", data);
  size_t end = href == std::string::npos ? href : repomd.find('"', href + 6);
  if (end == std::string::npos) {
    return Fail(source.name, ": ", base, "/repodata/repomd.xml: no updateinfo");
  }
  std::string location = repomd.substr(href + 6, end - href - 6);
  if (location.find("..") != std::string::npos || location.find("://") != std::string::npos) {
    return Fail(source.name, ": repomd.xml: unexpected updateinfo location \"", location, "\"");
  }
  return base + "/" + location;
}

Result<std::string> ResolveUrl(const UpdateSource& source) {
  if (source.url.ends_with("/mirror.list")) return ResolveUpdateinfo(source);
  constexpr std::string_view kPointer = "archive_latest.txt";
  if (!source.url.ends_with(kPointer)) return source.url;
  MOAT_ASSIGN_OR_RETURN(std::string body, FetchSmall(source.name, source.url));
  std::string target = json_util::Trim(body);
  if (target.empty() || target.size() > 200 || target.find('/') != std::string::npos ||
      target.find("..") != std::string::npos) {
    return Fail(source.name, ": ", source.url, ": not a file name: \"", target.substr(0, 80), "\"");
  }
  return source.url.substr(0, source.url.size() - kPointer.size()) + target;
}

std::string SafeFileName(const std::string& name) {
  std::string out;
  for (char c : name) {
    out +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  }
  return out;
}

Result<void> WriteFileAtomically(const std::string& path, std::string_view text) {
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  {
    FileSink sink(temp);
    if (!sink.ok()) return Fail(temp, ": cannot create: ", std::strerror(errno));
    MOAT_TRY(sink.Write(AsBytes(text)));
    MOAT_TRY(sink.Close());
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    fs::remove(temp, ec);
    return Fail(path, ": rename failed: ", std::strerror(errno));
  }
  return Ok();
}

}  // namespace

Result<UpdateReport> UpdateDatabase(const std::string& db_path,
                                    const std::vector<UpdateSource>& sources,
                                    const BuildOptions& options) {
  if (sources.empty()) return Fail("no sources to update from");
  std::error_code ec;
  fs::path db(db_path);
  if (db.has_parent_path()) fs::create_directories(db.parent_path(), ec);
  const std::string state_path = db_path + ".state.json";
  const std::string cache_dir = db_path + ".sources";
  fs::create_directories(cache_dir, ec);
  if (ec) return Fail(cache_dir, ": ", ec.message());

  json state = json::object();
  if (fs::exists(state_path, ec)) {
    auto text = ReadFileToString(state_path, 16u << 20);
    if (text.ok()) state = json::parse(*text, nullptr, false);
    if (!state.is_object()) state = json::object();  // a damaged state only costs a download
  }
  bool db_usable = fs::exists(db_path, ec) && VerifyDatabaseFile(db_path, false).ok();

  UpdateReport report;
  std::vector<std::string> temps;  // downloads not yet promoted to the cache
  auto cleanup = [&temps] {
    std::error_code ignored;
    for (const auto& temp : temps) fs::remove(temp, ignored);
  };
  std::vector<FeedInput> inputs;
  json new_state = json::object();
  for (const auto& source : sources) {
    std::string cached = cache_dir + "/" + SafeFileName(source.name);
    std::string temp = cached + ".part-" + std::to_string(::getpid());
    const json& previous = json_util::Member(json_util::Member(state, "sources"), source.name);
    auto resolved = ResolveUrl(source);
    if (!resolved.ok()) {
      cleanup();
      return resolved.error();
    }
    HttpRequest request;
    request.url = *resolved;
    request.headers.emplace_back("User-Agent", "moat-db-update");
    bool have_cached = db_usable && fs::exists(cached, ec) &&
                       json_util::String(previous, "url") == source.url &&
                       json_util::String(previous, "resolved_url") == *resolved;
    if (have_cached) {
      std::string etag = json_util::String(previous, "etag");
      std::string modified = json_util::String(previous, "last_modified");
      if (!etag.empty()) request.headers.emplace_back("If-None-Match", etag);
      if (!modified.empty()) request.headers.emplace_back("If-Modified-Since", modified);
    }
    if (options.progress) options.progress("fetching " + source.name + " " + source.url);
    FileSink sink(temp);
    if (!sink.ok()) {
      cleanup();
      return Fail(temp, ": cannot create: ", std::strerror(errno));
    }
    temps.push_back(temp);
    auto response = HttpFetch(request, &sink);
    auto closed = sink.Close();
    if (!response.ok()) {
      cleanup();
      return response.error().Wrap(source.name);
    }
    if (!closed.ok()) {
      cleanup();
      return closed.error();
    }
    json entry = previous.is_object() ? previous : json::object();
    if (response->status == 304 && have_cached) {
      report.unchanged.push_back(source.name);
      inputs.push_back(FeedInput{source.kind, cached, source.name});
    } else if (response->status >= 200 && response->status < 300) {
      report.changed.push_back(source.name);
      inputs.push_back(FeedInput{source.kind, temp, source.name});
      entry["etag"] = response->Header("ETag");
      entry["last_modified"] = response->Header("Last-Modified");
      entry["fetched_at"] = static_cast<int64_t>(std::time(nullptr));
    } else {
      cleanup();
      return Fail(source.name, ": ", source.url, ": HTTP ", std::to_string(response->status));
    }
    entry["url"] = source.url;
    entry["resolved_url"] = *resolved;
    new_state[source.name] = entry;
  }
  if (report.changed.empty() && db_usable) {
    cleanup();
    return report;  // everything 304: nothing to rebuild
  }
  BuildOptions build_options = options;
  build_options.require_records = true;  // verification: every feed parses and is not empty
  auto stats = BuildDatabase(inputs, db_path, build_options);
  if (!stats.ok()) {
    cleanup();
    return stats.error().Wrap("update failed, the previous database is unchanged");
  }
  report.rebuilt = true;
  report.stats = std::move(*stats);
  // Promote the verified downloads to the cache, then record their validators.
  for (const auto& input : inputs) {
    if (input.path.find(".part-") == std::string::npos) continue;
    std::string cached = cache_dir + "/" + SafeFileName(input.name);
    if (::rename(input.path.c_str(), cached.c_str()) != 0) {
      log::Warn(cached + ": cannot keep the download: " + std::strerror(errno));
    }
  }
  cleanup();
  json state_out = {{"sources", new_state}};
  MOAT_TRY(WriteFileAtomically(state_path, state_out.dump(1)));
  return report;
}

namespace {
constexpr std::string_view kBundleMagic = "MOATDB-BUNDLE 1\n";
}

Result<void> ExportBundle(const std::string& db_path, const std::string& bundle_path) {
  MOAT_TRY(VerifyDatabaseFile(db_path, true));
  MOAT_ASSIGN_OR_RETURN(std::string data, ReadFileToString(db_path, 16ull << 30));
  std::string packed(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(packed.data(), packed.size(), data.data(), data.size(), 9);
  if (ZSTD_isError(n)) return Fail(db_path, ": zstd: ", ZSTD_getErrorName(n));
  packed.resize(n);
  json header = {{"size", data.size()},
                 {"sha256", Sha256Hex(AsBytes(data))},
                 {"compressed_sha256", Sha256Hex(AsBytes(packed))}};
  std::string out(kBundleMagic);
  out += header.dump() + "\n";
  out += packed;
  return WriteFileAtomically(bundle_path, out);
}

Result<void> ImportBundle(const std::string& bundle_path, const std::string& db_path) {
  MOAT_ASSIGN_OR_RETURN(std::string bundle, ReadFileToString(bundle_path, 16ull << 30));
  if (!bundle.starts_with(kBundleMagic)) return Fail(bundle_path, ": not a Moat database bundle");
  size_t newline = bundle.find('\n', kBundleMagic.size());
  if (newline == std::string::npos) return Fail(bundle_path, ": truncated bundle header");
  json header = json::parse(bundle.substr(kBundleMagic.size(), newline - kBundleMagic.size()),
                            nullptr, false);
  const json& size_value = json_util::Member(header, "size");
  std::string sha = json_util::String(header, "sha256");
  std::string packed_sha = json_util::String(header, "compressed_sha256");
  if (!size_value.is_number_unsigned() || sha.empty() || packed_sha.empty()) {
    return Fail(bundle_path, ": bad bundle header");
  }
  std::string_view packed = std::string_view(bundle).substr(newline + 1);
  if (Sha256Hex(AsBytes(packed)) != packed_sha) {
    return Fail(bundle_path, ": checksum mismatch (corrupt or truncated bundle)");
  }
  uint64_t size = size_value.get<uint64_t>();
  if (size > (64ull << 30)) return Fail(bundle_path, ": database size out of range");
  std::string data(size, '\0');
  size_t n = ZSTD_decompress(data.data(), data.size(), packed.data(), packed.size());
  if (ZSTD_isError(n) || n != size) return Fail(bundle_path, ": corrupt compressed data");
  if (Sha256Hex(AsBytes(data)) != sha) return Fail(bundle_path, ": database checksum mismatch");
  fs::path db(db_path);
  std::error_code ec;
  if (db.has_parent_path()) fs::create_directories(db.parent_path(), ec);
  std::string temp = db_path + ".import-" + std::to_string(::getpid());
  MOAT_TRY(WriteFileAtomically(temp, data));
  auto verified = VerifyDatabaseFile(temp, true);
  if (!verified.ok()) {
    fs::remove(temp, ec);
    return verified.error().Wrap(bundle_path);
  }
  if (::rename(temp.c_str(), db_path.c_str()) != 0) {
    fs::remove(temp, ec);
    return Fail(db_path, ": rename failed: ", std::strerror(errno));
  }
  return Ok();
}

}  // namespace moat::vulndb
