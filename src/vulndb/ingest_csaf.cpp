// Red Hat's CSAF 2.0 documents (https://docs.oasis-open.org/csaf/csaf/v2.0/csaf-v2.0.html as
// Red Hat writes them: https://security.access.redhat.com/data/csaf/v2/): VEX files, one CVE
// with the status of every product, and security advisories (fixed builds only).
//
// A product status names "<platform product id>:<component product id>"; the relationships of
// the product tree say which is which, the platform's CPE gives the namespace and the
// component's purl the package. Statuses and remediations map as Trivy maps them:
//   fixed                                   -> fixed at the component's version
//   known_affected + no_fix_planned "Will not fix"     -> will_not_fix
//   known_affected + none_available "Fix deferred" (or "Deferred") -> fix_deferred
//   known_affected + "Out of support scope"            -> end_of_life
//   known_affected otherwise ("Affected")              -> affected
//   known_not_affected                      -> not_affected (suppresses other feeds' records)
//   under_investigation                     -> undetermined

#include <set>
#include <unordered_map>

#include "core/text.h"
#include "purl/purl.h"
#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::json;
using json_util::Member;
using json_util::String;

std::string ModuleStream(std::string_view modularity_label) {
  std::vector<std::string_view> parts = Split(modularity_label, ':');
  if (parts.size() < 2 || parts[0].empty() || parts[1].empty()) return "";
  return std::string(parts[0]) + ":" + std::string(parts[1]);
}

std::string RpmModuleKey(std::string_view module_stream, std::string_view name) {
  return std::string(module_stream) + "::" + std::string(name);
}

std::optional<std::string> RedHatNamespace(std::string_view cpe) {
  // cpe:/<part>:redhat:enterprise_linux:<major>[.<minor>][:...]
  std::vector<std::string_view> parts = Split(cpe, ':');
  if (parts.size() < 5 || parts[0] != "cpe" || parts[2] != "redhat" ||
      parts[3] != "enterprise_linux") {
    return std::nullopt;
  }
  std::string_view version = parts[4];
  size_t digits = 0;
  while (digits < version.size() && version[digits] >= '0' && version[digits] <= '9') ++digits;
  if (digits == 0) return std::nullopt;
  return "rhel:" + std::string(version.substr(0, digits));
}

namespace {

void AddWarning(IngestResult& out, std::string text) {
  if (out.warnings.size() < 1000) out.warnings.push_back(std::move(text));
}

// Red Hat's impact words -> Moat severities.
std::string RedHatSeverity(std::string_view impact) {
  std::string lower = AsciiLower(impact);
  if (lower == "moderate") return "medium";
  if (lower == "important") return "high";
  if (lower == "low" || lower == "critical") return lower;
  return "";
}

struct Product {
  std::string cpe;
  std::string purl;
  std::string name;
};

struct Component {
  std::string name;     // rpm name, "module:stream::name" for a module's package
  std::string version;  // "[epoch:]version-release"; empty for an unfixed component
  std::string arch;     // "src", "x86_64", "noarch", "" when not said
};

// Collects every product of the tree, however deep its branches go.
void CollectProducts(const json& node, std::unordered_map<std::string, Product>& products,
                     int depth) {
  if (!node.is_object() || depth > 64) return;
  const json& product = Member(node, "product");
  if (product.is_object()) {
    std::string id = String(product, "product_id");
    if (!id.empty()) {
      const json& helper = Member(product, "product_identification_helper");
      products[id] =
          Product{String(helper, "cpe"), String(helper, "purl"), String(product, "name")};
    }
  }
  const json& branches = Member(node, "branches");
  if (branches.is_array()) {
    for (const json& branch : branches) CollectProducts(branch, products, depth + 1);
  }
}

// "pkg:rpm/redhat/nodejs@18.20.4-1.module%2Bel9.4.0?arch=src&epoch=1&rpmmod=nodejs:18:940:a"
std::optional<Component> ComponentFromPurl(std::string_view text) {
  auto purl = PackageUrl::ParseLenient(text);
  if (!purl.ok() || purl->type != "rpm" || purl->name.empty()) return std::nullopt;
  Component c;
  c.name = purl->name;
  auto qualifier = [&purl](const char* key) -> std::string {
    auto it = purl->qualifiers.find(key);
    return it == purl->qualifiers.end() ? "" : it->second;
  };
  c.arch = qualifier("arch");
  std::string epoch = qualifier("epoch");
  if (!purl->version.empty()) {
    c.version = (epoch.empty() || epoch == "0" ? "" : epoch + ":") + purl->version;
  }
  std::string module = ModuleStream(qualifier("rpmmod"));
  if (!module.empty()) c.name = RpmModuleKey(module, c.name);
  return c;
}

// "python3.9-0:3.9.18-3.el9_4.5.src" (name-epoch:version-release.arch), the product_version
// name when there is no purl; "bind" alone for an unfixed component.
Component ComponentFromNevra(std::string_view text) {
  Component c;
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    c.name = std::string(text);
    return c;
  }
  size_t dash = text.rfind('-', colon);
  if (dash == std::string_view::npos) {
    c.name = std::string(text);
    return c;
  }
  c.name = std::string(text.substr(0, dash));
  std::string epoch(text.substr(dash + 1, colon - dash - 1));
  std::string_view vra = text.substr(colon + 1);
  if (size_t dot = vra.rfind('.'); dot != std::string_view::npos) {
    c.arch = std::string(vra.substr(dot + 1));
    vra = vra.substr(0, dot);
  }
  c.version = (epoch.empty() || epoch == "0" ? "" : epoch + ":") + std::string(vra);
  return c;
}

Status AffectedStatus(const std::vector<std::pair<std::string, std::string>>& remediations) {
  for (const auto& [category, details] : remediations) {
    std::string lower = AsciiLower(details);
    if (lower.find("will not fix") != std::string::npos) return Status::kWillNotFix;
    if (lower.find("deferred") != std::string::npos) return Status::kFixDeferred;
    if (lower.find("out of support scope") != std::string::npos) return Status::kEndOfLife;
    if (category == "no_fix_planned") return Status::kWillNotFix;
  }
  return Status::kAffected;
}

}  // namespace

Result<void> ParseCsafJson(std::string_view text, const std::string& name, IngestResult& out) {
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  const json& document = Member(doc, "document");
  std::string category = String(document, "category");
  if (!category.starts_with("csaf_")) {
    return Fail(name, ": not a CSAF document (/document/category is \"", category, "\")");
  }
  try {
    std::unordered_map<std::string, Product> products;
    CollectProducts(Member(doc, "product_tree"), products, 0);
    // "<platform>:<component>" -> (platform id, component id)
    std::unordered_map<std::string, std::pair<std::string, std::string>> relationships;
    const json& relations = Member(Member(doc, "product_tree"), "relationships");
    if (relations.is_array()) {
      for (const json& r : relations) {
        std::string id = String(Member(r, "full_product_name"), "product_id");
        if (id.empty()) continue;
        relationships[id] = {String(r, "relates_to_product_reference"),
                             String(r, "product_reference")};
      }
    }
    std::string date = String(Member(document, "tracking"), "current_release_date");
    if (date > out.date) out.date = date;
    std::string document_severity =
        RedHatSeverity(String(Member(document, "aggregate_severity"), "text"));

    const json& vulnerabilities = Member(doc, "vulnerabilities");
    if (!vulnerabilities.is_array()) return Fail(name, ": /vulnerabilities: missing");
    for (size_t vi = 0; vi < vulnerabilities.size(); ++vi) {
      const json& v = vulnerabilities[vi];
      const std::string place = name + ": /vulnerabilities/" + std::to_string(vi);
      std::string cve = String(v, "cve");
      if (cve.empty()) {
        AddWarning(out, place + "/cve: missing");
        continue;
      }
      ++out.records;
      Vulnerability vuln;
      vuln.id = cve;
      vuln.title = String(v, "title");
      vuln.published = String(v, "release_date");
      const json& notes = Member(v, "notes");
      if (notes.is_array()) {
        for (const json& note : notes) {
          if (String(note, "category") == "description") vuln.description = String(note, "text");
        }
      }
      std::string cwe = String(Member(v, "cwe"), "id");
      if (!cwe.empty()) vuln.cwes.push_back(cwe);
      const json& refs = Member(v, "references");
      if (refs.is_array()) {
        for (const json& ref : refs) {
          std::string url = String(ref, "url");
          if (!url.empty()) vuln.references.push_back(url);
        }
      }
      const json& scores = Member(v, "scores");
      if (scores.is_array()) {
        for (const json& score : scores) {
          for (const char* key : {"cvss_v3", "cvss_v4"}) {
            const json& cvss = Member(score, key);
            const json& base = Member(cvss, "baseScore");
            if (!cvss.is_object() || !base.is_number()) continue;
            vuln.cvss.push_back(CvssScore{String(cvss, "version"), String(cvss, "vectorString"),
                                          base.get<double>(), "redhat"});
            break;
          }
        }
      }
      std::string severity = document_severity;
      const json& threats = Member(v, "threats");
      if (threats.is_array()) {
        for (const json& threat : threats) {
          if (String(threat, "category") == "impact") {
            std::string s = RedHatSeverity(String(threat, "details"));
            if (!s.empty()) severity = s;
          }
        }
      }
      vuln.severity = severity;
      if (!severity.empty()) vuln.severity_source = "redhat";

      // product id -> its remediations (category, details)
      std::unordered_map<std::string, std::vector<std::pair<std::string, std::string>>> remedies;
      const json& remediations = Member(v, "remediations");
      if (remediations.is_array()) {
        for (const json& r : remediations) {
          const json& ids = Member(r, "product_ids");
          if (!ids.is_array()) continue;
          for (const json& id : ids) {
            if (id.is_string()) {
              remedies[id.get<std::string>()].emplace_back(String(r, "category"),
                                                           String(r, "details"));
            }
          }
        }
      }

      const json& product_status = Member(v, "product_status");
      std::set<std::string> seen;  // ns|package|status|fixed
      for (const char* list_name :
           {"fixed", "known_affected", "known_not_affected", "under_investigation"}) {
        const json& list = Member(product_status, list_name);
        if (!list.is_array()) continue;
        const std::string list_key(list_name);
        // Binary builds of a fixed source rpm are the same fix: only the source is kept.
        std::set<std::pair<std::string, std::string>> fixed_sources;  // (platform, version)
        struct Entry {
          std::string ns;
          Component component;
          std::string product_id;
        };
        std::vector<Entry> entries;
        for (const json& id_value : list) {
          if (!id_value.is_string()) continue;
          const std::string id = id_value.get<std::string>();
          auto relation = relationships.find(id);
          if (relation == relationships.end()) continue;  // a product with no component
          auto platform = products.find(relation->second.first);
          if (platform == products.end()) continue;
          auto ns = RedHatNamespace(platform->second.cpe);
          if (!ns) continue;  // not a RHEL product
          auto component_product = products.find(relation->second.second);
          std::optional<Component> component;
          if (component_product != products.end() && !component_product->second.purl.empty()) {
            component = ComponentFromPurl(component_product->second.purl);
          }
          if (!component) component = ComponentFromNevra(relation->second.second);
          if (component->name.empty()) continue;
          if (list_key == "fixed") {
            if (component->version.empty()) {
              AddWarning(out, place + "/product_status/fixed: " + id + ": no version");
              continue;
            }
            if (component->arch == "src") fixed_sources.emplace(*ns, component->version);
          }
          entries.push_back(Entry{*ns, std::move(*component), id});
        }
        for (const auto& [ns, component, product_id] : entries) {
          AffectedPackage record;
          record.vuln_id = cve;
          record.ns = ns;
          record.package = component.name;
          record.severity = severity;
          record.source = "redhat-csaf";
          if (list_key == "fixed") {
            if (component.arch != "src" && fixed_sources.count({ns, component.version})) continue;
            record.status = Status::kFixed;
            record.ranges.push_back(VersionRange{"", component.version, ""});
          } else if (list_key == "known_affected") {
            record.status = AffectedStatus(remedies[product_id]);
          } else if (list_key == "known_not_affected") {
            record.status = Status::kNotAffected;
          } else {
            record.status = Status::kUndetermined;
          }
          std::string key = ns + "|" + record.package + "|" +
                            std::string(StatusName(record.status)) + "|" + component.version;
          if (!seen.insert(key).second) continue;
          out.affected.push_back(std::move(record));
        }
      }
      out.vulnerabilities.push_back(std::move(vuln));
    }
  } catch (const std::exception& e) {
    return Fail(name, ": ", e.what());
  }
  return Ok();
}

Result<IngestResult> IngestCsaf(const std::string& path, const RecordSink& sink) {
  IngestResult out;
  out.sink = sink;
  uint64_t documents = 0;
  MOAT_TRY(ForEachJsonDocument(path, [&](const std::string& name, std::string&& text) {
    // Red Hat's archives carry index and changes files next to the documents.
    if (!name.ends_with(".json") && !name.ends_with(".json.gz")) return Result<void>(Ok());
    ++documents;
    auto parsed = ParseCsafJson(text, name, out);
    if (!parsed.ok()) AddWarning(out, parsed.error().message);
    return out.Flush();
  }));
  if (out.records == 0 && documents == 1 && !out.warnings.empty()) {
    return Fail(out.warnings.front());  // one file that is not CSAF at all
  }
  MOAT_TRY(out.Flush(true));
  return out;
}

}  // namespace moat::vulndb
