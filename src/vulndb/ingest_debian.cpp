// Debian Security Tracker JSON: {source package: {CVE id: {description, scope, debianbug,
// releases: {codename: {status, repositories, fixed_version, urgency, nodsa, nodsa_reason}}}}}.

#include <functional>
#include <map>

#include "vulndb/ingest.h"
#include "vulndb/json_stream.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::Escape;
using json_util::json;
using json_util::Member;
using json_util::String;

std::optional<std::string> DebianNamespace(std::string_view codename) {
  static const std::map<std::string, std::string, std::less<>> kReleases = {
      {"wheezy", "7"},    {"jessie", "8"},  {"stretch", "9"}, {"buster", "10"}, {"bullseye", "11"},
      {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},  {"duke", "15"}};
  if (codename == "sid") return "debian:unstable";
  auto it = kReleases.find(codename);
  if (it == kReleases.end()) return std::nullopt;
  return "debian:" + it->second;
}

namespace {

// One CVE entry of one source package: a record per release that has a namespace.
void AddEntry(const std::string& package, const std::string& cve, const json& entry,
              const std::string& pointer, IngestResult& out,
              const std::function<void(std::string)>& warn) {
  ++out.records;
  Vulnerability vuln;
  vuln.id = cve;
  vuln.description = String(entry, "description");
  const json& releases = Member(entry, "releases");
  if (releases.is_object()) {
    for (const auto& [codename, release] : releases.items()) {
      const std::string release_pointer = pointer + "/releases/" + Escape(codename);
      auto ns = DebianNamespace(codename);
      if (!ns) continue;  // old or unknown release
      if (!release.is_object()) {
        warn(release_pointer + ": not an object");
        continue;
      }
      std::string status = String(release, "status");
      std::string fixed = String(release, "fixed_version");
      std::string urgency = String(release, "urgency");
      while (urgency.ends_with("*")) urgency.pop_back();  // "high**": not confirmed
      std::string nodsa = String(release, "nodsa");
      std::string nodsa_reason = String(release, "nodsa_reason");
      AffectedPackage record;
      record.vuln_id = cve;
      record.ns = *ns;
      record.package = NormalizePackageName(*ns, package);
      record.source = "debian-tracker";
      if (urgency != "not yet assigned" && urgency != "end-of-life" && urgency != "unimportant") {
        record.severity = urgency;
      }
      if (status == "resolved") {
        if (fixed.empty()) {
          warn(release_pointer + ": resolved without fixed_version");
          continue;
        }
        if (fixed == "0") continue;  // the vulnerable code never was in this release
        record.status = Status::kFixed;
        record.ranges.push_back(VersionRange{"", fixed, ""});
      } else if (status == "open") {
        record.status = Status::kAffected;
      } else if (status == "undetermined") {
        record.status = Status::kUndetermined;
      } else {
        warn(release_pointer + "/status: unknown status \"" + status + "\"");
        continue;
      }
      if (record.status != Status::kFixed) {
        if (urgency == "unimportant") {
          record.status = Status::kUnimportant;
        } else if (urgency == "end-of-life") {
          record.status = Status::kEndOfLife;
        } else if (nodsa_reason == "ignored" || (!nodsa.empty() && nodsa_reason.empty())) {
          record.status = Status::kWillNotFix;
        }
      }
      out.affected.push_back(std::move(record));
    }
  } else if (!releases.is_null() && !releases.is_array()) {
    warn(pointer + "/releases: not an object");
  }
  out.vulnerabilities.push_back(std::move(vuln));
}

// The tracker's two levels (source package, then CVE) are walked as a stream; each CVE entry,
// a few KB, is the only part read whole.
class TrackerVisitor : public json_stream::Visitor {
 public:
  TrackerVisitor(const std::string& name, IngestResult& out) : name_(name), out_(out) {}

  Result<bool> Descend(const json_stream::Path& path, bool is_array) override {
    if (path.empty()) {
      if (is_array) return Fail(name_, ": not Debian tracker JSON (top level is not an object)");
      return true;
    }
    if (path.size() == 1) {
      ++packages_;
      return !is_array;  // an array is read whole, then reported
    }
    return false;  // a CVE entry
  }

  Result<void> Value(const json_stream::Path& path, json&& value) override {
    if (path.empty()) return Fail(name_, ": not Debian tracker JSON (top level is not an object)");
    const std::string package_pointer = name_ + ": /" + Escape(path[0]);
    if (path.size() == 1) {
      if (!value.is_array()) ++packages_;  // arrays were counted by Descend
      Warn(package_pointer + ": not an object");
      return Ok();
    }
    const std::string pointer = package_pointer + "/" + Escape(path[1]);
    if (!value.is_object()) {
      Warn(pointer + ": not an object");
      return Ok();
    }
    try {
      AddEntry(path[0], path[1], value, pointer, out_,
               [this](std::string m) { Warn(std::move(m)); });
    } catch (const std::exception& e) {
      return Fail(pointer, ": ", e.what());
    }
    return out_.Flush();
  }

  Result<void> Finish() {
    if (out_.records == 0 && packages_ > 0) {
      return Fail(name_, ": not Debian tracker JSON (no package -> CVE entries)");
    }
    return out_.Flush(true);
  }

 private:
  void Warn(std::string message) {
    if (out_.warnings.size() < 1000) out_.warnings.push_back(std::move(message));
  }

  const std::string& name_;
  IngestResult& out_;
  uint64_t packages_ = 0;
};

}  // namespace

Result<IngestResult> ParseDebianTracker(std::string_view text, const std::string& name) {
  return json_stream::ParseFeed<TrackerVisitor>(text, name);
}

Result<IngestResult> IngestDebianTracker(const std::string& path, const RecordSink& sink) {
  return json_stream::StreamFeedFile<TrackerVisitor>(path, sink);
}

}  // namespace moat::vulndb
