// Amazon Linux security advisories (ALAS) for Amazon Linux 1, 2 and 2023, in the two forms Amazon
// publishes them:
//  - the advisory pages of https://alas.aws.amazon.com (what vunnel reads: the release in
//    "Amazon Linux 2 Security Advisory: ALAS-2018-939", the CVEs of the "References" block, the
//    fixed builds of "New Packages"), parsed with libxml2's HTML parser;
//  - a yum repository's updateinfo.xml (what the repositories carry and Trivy reads), read with
//    libxml2's streaming reader one <update> at a time.
// One record per CVE and package name (binary or source, as the advisory lists them); the
// advisory id is kept as a reference of the CVE.

#include <libxml/HTMLparser.h>
#include <libxml/xmlreader.h>

#include <filesystem>
#include <memory>
#include <set>

#include "core/text.h"
#include "core/xml.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace {

void Warn(IngestResult& out, std::string text) {
  if (out.warnings.size() < 1000) out.warnings.push_back(std::move(text));
}

using xml::Attribute;
using xml::ReaderDeleter;
xmlNodePtr FindById(xmlNodePtr node, std::string_view id, int depth = 0) {
  for (xmlNodePtr n = node; n != nullptr && depth < 256; n = n->next) {
    if (n->type == XML_ELEMENT_NODE && Attribute(n, "id") == id) return n;
    if (xmlNodePtr found = FindById(n->children, id, depth + 1)) return found;
  }
  return nullptr;
}

std::string AlasSeverity(std::string_view word) {
  std::string lower = AsciiLower(TrimSpace(word));
  if (lower == "important") return "high";
  if (lower == "moderate") return "medium";
  if (lower == "critical" || lower == "high" || lower == "medium" || lower == "low") return lower;
  return "";
}

// "ALAS2023-2024-512" -> "amzn:2023", "ALAS2-2018-939" -> "amzn:2", "ALAS-2018-939" -> "amzn:1".
std::string NamespaceFromId(std::string_view id) {
  if (!id.starts_with("ALAS")) return "";
  std::string_view rest = id.substr(4);
  size_t dash = rest.find('-');
  if (dash == std::string_view::npos) return "";
  std::string release(rest.substr(0, dash));
  return "amzn:" + (release.empty() ? std::string("1") : release);
}

// A build's release tag: "4.9.76-38.79.amzn2" -> "amzn:2", ".amzn2023.0.2" -> "amzn:2023".
std::string NamespaceFromVersion(std::string_view version) {
  size_t at = version.find(".amzn");
  if (at == std::string_view::npos) return "";
  std::string_view rest = version.substr(at + 5);
  size_t end = rest.find_first_not_of("0123456789");
  std::string release(rest.substr(0, end));
  return release.empty() ? "" : "amzn:" + release;
}

struct Nvra {
  std::string name, version;  // version: "[epoch:]version-release"
};

// "kernel-tools-4.9.76-38.79.amzn2.x86_64" -> {"kernel-tools", "4.9.76-38.79.amzn2"}.
std::optional<Nvra> ParseNvra(std::string_view text) {
  size_t dot = text.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  std::string_view nvr = text.substr(0, dot);
  size_t release_dash = nvr.rfind('-');
  if (release_dash == std::string_view::npos || release_dash == 0) return std::nullopt;
  size_t version_dash = nvr.rfind('-', release_dash - 1);
  if (version_dash == std::string_view::npos || version_dash == 0) return std::nullopt;
  return Nvra{std::string(nvr.substr(0, version_dash)), std::string(nvr.substr(version_dash + 1))};
}

void AddRecords(IngestResult& out, const std::string& advisory, const std::string& ns,
                const std::vector<std::string>& cves,
                const std::set<std::pair<std::string, std::string>>& packages,
                const std::string& severity, const std::string& issued, const std::string& link,
                const std::string& description) {
  const std::vector<std::string> ids = cves.empty() ? std::vector<std::string>{advisory} : cves;
  for (const auto& id : ids) {
    for (const auto& [name, version] : packages) {
      AffectedPackage record;
      record.vuln_id = id;
      record.ns = ns;
      record.package = name;
      record.status = Status::kFixed;
      record.ranges.push_back(VersionRange{"", version, ""});
      record.severity = severity;
      record.source = "amazon-alas";
      out.affected.push_back(std::move(record));
    }
    Vulnerability vuln;
    vuln.id = id;
    vuln.published = issued;
    if (!link.empty()) vuln.references.push_back(link);
    if (id == advisory) vuln.description = description;
    out.vulnerabilities.push_back(std::move(vuln));
  }
}

struct HtmlDocDeleter {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

}  // namespace

Result<void> ParseAlasHtml(std::string_view text, const std::string& name, IngestResult& out) {
  if (text.size() > (64u << 20)) return Fail(name, ": larger than an advisory page can be");
  std::unique_ptr<xmlDoc, HtmlDocDeleter> doc(
      htmlReadMemory(text.data(), static_cast<int>(text.size()), nullptr, "UTF-8",
                     HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET));
  if (!doc) return Fail(name, ": not HTML");
  xmlNodePtr root = xmlDocGetRootElement(doc.get());
  xmlNodePtr new_packages = FindById(root, "new_packages");
  if (new_packages == nullptr) return Fail(name, ": not an ALAS advisory page (no New Packages)");
  // "Amazon Linux 2 Security Advisory: ALAS-2018-939", "Amazon Linux 2023 Security Advisory:
  // ALAS2023-2023-126", "Amazon Linux AMI Security Advisory: ALAS-2018-1058".
  std::string page = xml::Text(root);
  constexpr std::string_view kMarker = " Security Advisory:";
  size_t marker = page.find(kMarker);
  if (marker == std::string::npos) return Fail(name, ": no \"Security Advisory:\" heading");
  size_t product = page.rfind("Amazon Linux", marker);
  if (product == std::string::npos) return Fail(name, ": no Amazon Linux release named");
  std::string release(
      TrimSpace(std::string_view(page).substr(product + 12, marker - product - 12)));
  std::vector<std::string_view> after =
      SplitWords(std::string_view(page).substr(marker + kMarker.size(), 200));
  std::string advisory;
  if (!after.empty()) {
    std::string_view word = after.front();
    advisory = std::string(word.substr(0, word.find_first_of(" \t\r\n")));
  }
  std::string ns;
  if (release == "AMI" || release.empty()) {
    ns = "amzn:1";
  } else if (release.find_first_not_of("0123456789") == std::string::npos) {
    ns = "amzn:" + release;
  } else {
    return Fail(name, ": unknown Amazon Linux release \"", release.substr(0, 40), "\"");
  }
  ++out.records;
  std::string severity;
  if (xmlNodePtr node = FindById(root, "severity")) {
    std::string words = xml::Text(node);
    for (std::string_view word : SplitWords(words)) {
      std::string s = AlasSeverity(word);
      if (!s.empty()) severity = s;
    }
  }
  std::vector<std::string> cves;
  if (xmlNodePtr node = FindById(root, "references")) {
    std::string words = xml::Text(node);
    for (std::string_view word : SplitWords(words)) {
      // "CVE-2017-5715&nbsp;" decodes to the id and a no-break space.
      std::string id(word.substr(0, word.find("\xc2\xa0")));
      if (id.starts_with("CVE-") && std::find(cves.begin(), cves.end(), id) == cves.end()) {
        cves.push_back(id);
      }
    }
  }
  std::string description;
  if (xmlNodePtr node = FindById(root, "issue_overview")) {
    description = std::string(TrimSpace(xml::Text(node)));
    if (description.starts_with("Issue Overview:")) {
      description = std::string(TrimSpace(std::string_view(description).substr(15)));
    }
  }
  std::set<std::pair<std::string, std::string>> packages;
  std::string builds = xml::Text(new_packages);
  for (std::string_view word : SplitWords(builds)) {
    word = TrimSpace(word);
    while (word.starts_with("\xc2\xa0")) word.remove_prefix(2);
    if (word.ends_with(":") || word.find('-') == std::string_view::npos) continue;  // "x86_64:"
    if (auto nvra = ParseNvra(word)) packages.insert({nvra->name, nvra->version});
  }
  if (packages.empty()) {
    Warn(out, name + ": " + advisory + ": no packages under New Packages");
    return Ok();
  }
  std::string link = "https://alas.aws.amazon.com/" +
                     std::string(ns == "amzn:1"   ? ""
                                 : ns == "amzn:2" ? "AL2/"
                                                  : "AL" + release + "/") +
                     advisory + ".html";
  AddRecords(out, advisory, ns, cves, packages, severity, "", link, description);
  return Ok();
}

namespace {

void OnReaderError(void* context, xmlError* error) {
  auto* message = static_cast<std::string*>(context);
  if (error == nullptr || error->level < XML_ERR_ERROR || !message->empty()) return;
  *message = "line " + std::to_string(error->line) + ": " +
             std::string(TrimSpace(error->message ? error->message : "XML error"));
}

}  // namespace

Result<void> ParseUpdateinfo(std::string_view text, const std::string& name, IngestResult& out) {
  std::unique_ptr<xmlTextReader, ReaderDeleter> reader(
      xmlReaderForMemory(text.data(), static_cast<int>(text.size()), nullptr, nullptr,
                         XML_PARSE_NONET | XML_PARSE_COMPACT));
  if (!reader) return Fail(name, ": cannot start the XML reader");
  std::string error;
  xmlTextReaderSetStructuredErrorHandler(reader.get(), &OnReaderError, &error);
  bool root_seen = false;
  int status;
  bool positioned = false;  // on the node after a skipped subtree (see ingest_oval.cpp)
  while ((status = positioned ? 1 : xmlTextReaderRead(reader.get())) == 1) {
    positioned = false;
    if (xmlTextReaderNodeType(reader.get()) != XML_READER_TYPE_ELEMENT) continue;
    std::string_view element =
        reinterpret_cast<const char*>(xmlTextReaderConstLocalName(reader.get()));
    if (!root_seen) {
      if (element != "updates") {
        return Fail(name, ": not an updateinfo document (the root element is <",
                    std::string(element), ">)");
      }
      root_seen = true;
      continue;
    }
    if (element != "update") continue;
    const std::string place =
        name + ": line " + std::to_string(xmlTextReaderGetParserLineNumber(reader.get()));
    xmlNodePtr update = xmlTextReaderExpand(reader.get());
    if (update == nullptr) {
      status = -1;
      break;
    }
    if (Attribute(update, "type") == "security") {
      std::string advisory, severity, issued, description;
      std::vector<std::string> cves;
      std::set<std::pair<std::string, std::string>> packages;
      for (xmlNodePtr child = update->children; child; child = child->next) {
        if (child->type != XML_ELEMENT_NODE) continue;
        std::string_view tag = reinterpret_cast<const char*>(child->name);
        if (tag == "id") advisory = std::string(TrimSpace(xml::Text(child)));
        if (tag == "severity") severity = AlasSeverity(xml::Text(child));
        if (tag == "issued") issued = Attribute(child, "date");
        if (tag == "description") description = std::string(TrimSpace(xml::Text(child)));
        if (tag == "references") {
          for (xmlNodePtr ref = child->children; ref; ref = ref->next) {
            if (ref->type != XML_ELEMENT_NODE || Attribute(ref, "type") != "cve") continue;
            std::string id = Attribute(ref, "id");
            if (!id.empty() && std::find(cves.begin(), cves.end(), id) == cves.end()) {
              cves.push_back(id);
            }
          }
        }
        if (tag == "pkglist") {
          for (xmlNodePtr collection = child->children; collection; collection = collection->next) {
            for (xmlNodePtr p = collection->children; p; p = p->next) {
              if (p->type != XML_ELEMENT_NODE) continue;
              std::string package = Attribute(p, "name"), epoch = Attribute(p, "epoch");
              std::string version = Attribute(p, "version"), release = Attribute(p, "release");
              if (package.empty() || version.empty()) continue;
              std::string evr = (epoch.empty() || epoch == "0" ? "" : epoch + ":") + version +
                                (release.empty() ? "" : "-" + release);
              packages.insert({package, evr});
            }
          }
        }
      }
      std::string ns = NamespaceFromId(advisory);
      if (ns.empty() && !packages.empty()) ns = NamespaceFromVersion(packages.begin()->second);
      if (advisory.empty() || ns.empty()) {
        Warn(out, place + ": security update without an ALAS id; skipped");
      } else {
        ++out.records;
        AddRecords(out, advisory, ns, cves, packages, severity, issued, "", description);
      }
    }
    MOAT_TRY(out.Flush());
    if ((status = xmlTextReaderNext(reader.get())) != 1) break;
    positioned = true;
  }
  if (!error.empty()) return Fail(name, ": ", error);
  if (status < 0) return Fail(name, ": XML parse error");
  if (!root_seen) return Fail(name, ": not an updateinfo document");
  return Ok();
}

Result<IngestResult> IngestAlas(const std::string& path, const RecordSink& sink) {
  namespace fs = std::filesystem;
  IngestResult out;
  out.sink = sink;
  std::vector<std::string> files;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    for (fs::recursive_directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_regular_file(ec)) files.push_back(it->path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  for (const auto& file : files) {
    MOAT_ASSIGN_OR_RETURN(std::string text, ReadFeedFile(file, 4ull << 30));
    size_t first = text.find('<');
    bool updateinfo =
        first != std::string::npos && text.find("<updates", first) != std::string::npos &&
        text.find("<html") == std::string::npos && text.find("<HTML") == std::string::npos;
    auto parsed = updateinfo ? ParseUpdateinfo(text, file, out) : ParseAlasHtml(text, file, out);
    if (!parsed.ok()) {
      if (files.size() == 1) return parsed.error();
      Warn(out, parsed.error().message);
    }
    MOAT_TRY(out.Flush());
  }
  MOAT_TRY(out.Flush(true));
  return out;
}

}  // namespace moat::vulndb
