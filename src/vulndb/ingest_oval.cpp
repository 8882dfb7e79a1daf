// OVAL 5 definitions of rpm distributions: Oracle Linux ELSA
// (https://linux.oracle.com/security/oval/), SUSE and openSUSE
// (https://ftp.suse.com/pub/projects/security/oval/) and Azure Linux / CBL-Mariner
// (https://github.com/microsoft/AzureLinuxVulnerabilityData).
//
// The files are large (SUSE's SLES 15 file is over 1 GB uncompressed) and are read with
// libxml2's streaming reader: each <definition>, *_test, *_object and *_state element is expanded
// alone, reduced to the few fields used and freed. Definitions come before the tables they refer
// to, so the reduced definitions are kept until the end of the file and resolved then.
//
// A definition's criteria tree pairs platform criteria ("Oracle Linux 8 is installed", "SUSE
// Linux Enterprise Server 15 SP5 is installed") with package criteria (an rpminfo test whose
// state is "evr less than X": fixed at X; "less than or equal": affected up to X; SUSE's "is not
// affected"), as vunnel and Trivy read them. A package criterion applies to the platforms of the
// nearest enclosing AND that names some. Definitions without platform criteria (Azure Linux) take
// the file's namespace.

#include <archive.h>
#include <archive_entry.h>
#include <libxml/xmlreader.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include "core/text.h"
#include "core/xml.h"
#include "vulndb/ingest.h"

namespace moat::vulndb {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

using xml::Attribute;
using xml::ReaderDeleter;
using xml::Text;

template <typename Fn>
void ForEachChildElement(xmlNodePtr node, Fn&& fn) {
  for (xmlNodePtr child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE) fn(child);
  }
}

xmlNodePtr FirstChild(xmlNodePtr node, std::string_view name) {
  for (xmlNodePtr child = node->children; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && xml::Name(child) == name) return child;
  }
  return nullptr;
}

struct Criterion {
  std::string test_ref;
  std::string comment;
};

struct Criteria {
  bool all = true;  // AND (the OVAL default) or OR
  std::vector<Criterion> leaves;
  std::vector<Criteria> children;
};

struct Definition {
  std::string id;
  std::string place;  // "file: line N" for messages
  std::vector<std::string> vuln_ids;
  std::vector<std::string> references;
  std::string description;
  std::string severity;
  std::string issued;
  std::vector<CvssScore> cvss;
  Criteria criteria;
};

struct Test {
  std::string object_ref;
  std::string state_ref;
};

struct State {
  std::string evr;
  std::string evr_operation;
  std::string version;
};

void ReadCriteria(xmlNodePtr node, Criteria& out, int depth) {
  out.all = AsciiLower(Attribute(node, "operator")) != "or";
  if (depth > 32) return;
  ForEachChildElement(node, [&](xmlNodePtr child) {
    if (xml::Name(child) == "criterion") {
      out.leaves.push_back(Criterion{Attribute(child, "test_ref"), Attribute(child, "comment")});
    } else if (xml::Name(child) == "criteria") {
      out.children.emplace_back();
      ReadCriteria(child, out.children.back(), depth + 1);
    }
  });
}

std::string NormalizeSeverity(std::string_view word) {
  std::string lower = AsciiLower(TrimSpace(word));
  if (lower == "moderate" || lower == "medium") return "medium";
  if (lower == "important" || lower == "high") return "high";
  if (lower == "low" || lower == "critical") return lower;
  return "";
}

void AddUnique(std::vector<std::string>& list, std::string value) {
  if (!value.empty() && std::find(list.begin(), list.end(), value) == list.end()) {
    list.push_back(std::move(value));
  }
}

// The CVE ids a text names: "Mitre CVE-2021-29154", "CVE-2010-1323 at NVD".
void AddCveIds(std::vector<std::string>& list, std::string_view text) {
  for (std::string_view word : SplitWords(text)) {
    word = TrimSpace(word);
    if (word.starts_with("CVE-")) AddUnique(list, std::string(word));
  }
}

Definition ReadDefinition(xmlNodePtr node, const std::string& place) {
  Definition d;
  d.id = Attribute(node, "id");
  d.place = place;
  std::string title;
  std::string advisory_id;
  if (xmlNodePtr metadata = FirstChild(node, "metadata")) {
    ForEachChildElement(metadata, [&](xmlNodePtr child) {
      std::string_view name = xml::Name(child);
      if (name == "title") {
        title = Text(child);
      } else if (name == "description") {
        d.description = Text(child);
      } else if (name == "severity") {  // Azure Linux
        d.severity = NormalizeSeverity(Text(child));
      } else if (name == "advisory_date") {
        d.issued = Text(child);
      } else if (name == "advisory_id") {
        advisory_id = Text(child);
      } else if (name == "reference") {
        std::string source = AsciiLower(Attribute(child, "source"));
        std::string ref_id = Attribute(child, "ref_id");
        AddUnique(d.references, Attribute(child, "ref_url"));
        if (source == "cve") {
          AddCveIds(d.vuln_ids, ref_id);  // SUSE writes "Mitre CVE-2021-29154"
        } else if (source == "elsa") {
          advisory_id = ref_id;
        }
      } else if (name == "advisory") {
        ForEachChildElement(child, [&](xmlNodePtr a) {
          if (xml::Name(a) == "severity") d.severity = NormalizeSeverity(Text(a));
          if (xml::Name(a) == "issued") d.issued = Attribute(a, "date");
          if (xml::Name(a) != "cve") return;
          AddCveIds(d.vuln_ids, Text(a));
          // SUSE: cvss3="7/CVSS:3.1/AV:L/..." (score, then the vector).
          std::string cvss3 = Attribute(a, "cvss3");
          size_t slash = cvss3.find('/');
          if (slash == std::string::npos || !cvss3.substr(slash + 1).starts_with("CVSS:3")) return;
          CvssScore score;
          score.vector = cvss3.substr(slash + 1);
          score.version = score.vector.substr(5, 3);
          score.score = std::strtod(cvss3.c_str(), nullptr);
          score.source = "suse";
          d.cvss.push_back(std::move(score));
        });
      }
    });
  }
  // Oracle's titles end with the severity: "ELSA-2018-4250: ... (IMPORTANT)".
  if (d.severity.empty() && title.ends_with(")")) {
    size_t open = title.rfind('(');
    if (open != std::string::npos) {
      d.severity = NormalizeSeverity(title.substr(open + 1, title.size() - open - 2));
    }
  }
  if (d.vuln_ids.empty() && title.starts_with("CVE-")) AddCveIds(d.vuln_ids, title);
  if (d.vuln_ids.empty() && !advisory_id.empty()) d.vuln_ids.push_back(advisory_id);
  if (xmlNodePtr criteria = FirstChild(node, "criteria")) ReadCriteria(criteria, d.criteria, 0);
  return d;
}

// One criterion, classified.
struct Leaf {
  enum class Kind { kNeutral, kPlatform, kPackage } kind = Kind::kNeutral;
  std::string ns;       // kPlatform: "" for a product we have no namespace for
  std::string release;  // kPlatform: the release package tested ("sles-ltss-release")
  std::string package;
  std::string fixed;
  std::string last_affected;
  bool not_affected = false;
};

struct PackageFix {
  std::string package;
  std::string fixed;
  std::string last_affected;
  bool not_affected = false;
  bool operator<(const PackageFix& o) const {
    return std::tie(package, fixed, last_affected, not_affected) <
           std::tie(o.package, o.fixed, o.last_affected, o.not_affected);
  }
};

class OvalReader {
 public:
  OvalReader(std::string name, std::string ns_hint, const RecordSink& sink)
      : name_(std::move(name)), ns_hint_(std::move(ns_hint)) {
    out_.sink = sink;
  }

  // OVAL lists the definitions before the tests, objects and states they use. Holding every
  // parsed definition until the end would cost memory in proportion to the file (a SUSE file
  // has tens of thousands); the file is read twice instead: the tables first, then each
  // definition resolved and handed over as it is read.
  enum class Pass { kTables, kDefinitions };

  Result<void> Read(xmlTextReader* reader, Pass pass) {
    xmlTextReaderSetStructuredErrorHandler(reader, &OvalReader::OnError, this);
    bool root_seen = false;
    int status;
    // After skipping an expanded subtree the reader already stands on the next node (an
    // element itself when the file has no blanks between elements): it is not read past.
    bool positioned = false;
    while ((status = positioned ? 1 : xmlTextReaderRead(reader)) == 1) {
      positioned = false;
      if (xmlTextReaderNodeType(reader) != XML_READER_TYPE_ELEMENT) continue;
      const xmlChar* raw = xmlTextReaderConstLocalName(reader);
      std::string_view name = raw ? reinterpret_cast<const char*>(raw) : "";
      if (!root_seen) {
        if (name != "oval_definitions") {
          return Fail(name_, ": not OVAL definitions (the root element is <", std::string(name),
                      ">)");
        }
        root_seen = true;
        continue;
      }
      // Each pass skips the other's sections whole.
      const bool tables = name == "tests" || name == "objects" || name == "states";
      if ((pass == Pass::kTables && name == "definitions") ||
          (pass == Pass::kDefinitions && tables)) {
        if ((status = xmlTextReaderNext(reader)) != 1) break;
        positioned = true;
        continue;
      }
      const bool wanted = pass == Pass::kDefinitions
                              ? name == "definition"
                              : name == "timestamp" || name.ends_with("_test") ||
                                    name.ends_with("_object") || name.ends_with("_state");
      if (!wanted) continue;
      const std::string place =
          name_ + ": line " + std::to_string(xmlTextReaderGetParserLineNumber(reader));
      xmlNodePtr node = xmlTextReaderExpand(reader);
      if (node == nullptr) {  // the error handler has the reason
        status = -1;
        break;
      }
      if (name == "definition") {
        std::string definition_class = Attribute(node, "class");
        if (definition_class == "vulnerability" || definition_class == "patch") {
          MOAT_TRY(Resolve(ReadDefinition(node, place)));
          MOAT_TRY(out_.Flush());
        }
      } else if (name == "timestamp") {
        out_.date = Text(node);
      } else if (name.ends_with("_test")) {
        Test test;
        ForEachChildElement(node, [&](xmlNodePtr child) {
          if (xml::Name(child) == "object") test.object_ref = Attribute(child, "object_ref");
          if (xml::Name(child) == "state") test.state_ref = Attribute(child, "state_ref");
        });
        tests_[Attribute(node, "id")] = std::move(test);
      } else if (name.ends_with("_object")) {
        if (xmlNodePtr n = FirstChild(node, "name")) objects_[Attribute(node, "id")] = Text(n);
      } else {
        State state;
        ForEachChildElement(node, [&](xmlNodePtr child) {
          if (xml::Name(child) == "evr") {
            state.evr = Text(child);
            state.evr_operation = AsciiLower(Attribute(child, "operation"));
          } else if (xml::Name(child) == "version") {
            state.version = Text(child);
          }
        });
        states_[Attribute(node, "id")] = std::move(state);
      }
      if ((status = xmlTextReaderNext(reader)) != 1) break;  // skip the expanded subtree
      positioned = true;
    }
    if (!error_.empty()) return Fail(error_);
    if (status < 0) return Fail(name_, ": XML parse error");
    if (!root_seen) return Fail(name_, ": not OVAL definitions (no root element)");
    return Ok();
  }

  Result<IngestResult> Finish() {
    MOAT_TRY(out_.Flush(true));
    return std::move(out_);
  }

 private:
  static void OnError(void* self, xmlError* error) {
    auto* reader = static_cast<OvalReader*>(self);
    if (error == nullptr || error->level < XML_ERR_ERROR || !reader->error_.empty()) return;
    std::string message = error->message ? error->message : "XML error";
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    reader->error_ = reader->name_ + ": line " + std::to_string(error->line) + ": " + message;
  }

  void Warn(std::string text) {
    if (out_.warnings.size() < 1000) out_.warnings.push_back(std::move(text));
  }

  // The namespace a product name stands for, or "" (a product Moat has no namespace for: SUSE
  // modules, SAP and desktop editions, workstation extensions).
  std::string PlatformNamespace(std::string_view product, const State* state) const {
    auto after = [&product](std::string_view prefix) -> std::string {
      if (!product.starts_with(prefix)) return "";
      std::vector<std::string_view> words = SplitWords(product.substr(prefix.size()));
      return words.empty() ? "" : std::string(words.front());
    };
    if (std::string major = after("Oracle Linux ");
        !major.empty() && major.find_first_not_of("0123456789") == std::string::npos) {
      return "ol:" + major;
    }
    constexpr std::string_view kSles = "SUSE Linux Enterprise Server ";
    if (product.starts_with(kSles) && product.size() > kSles.size() &&
        std::isdigit(static_cast<unsigned char>(product[kSles.size()]))) {
      // The release package's version says it: "15" or "15.1" (SP1).
      if (state != nullptr && !state->version.empty()) return "sles:" + state->version;
      std::vector<std::string_view> words = SplitWords(product.substr(kSles.size()));
      std::string release(words.front().substr(0, words.front().find('-')));
      if (words.size() > 1 && words[1].starts_with("SP")) {
        std::string_view sp = words[1].substr(2);
        release += "." + std::string(sp.substr(0, sp.find('-')));
      }
      return "sles:" + release;
    }
    if (std::string v = after("openSUSE Leap "); !v.empty()) return "opensuse-leap:" + v;
    if (std::string v = after("SUSE Linux Enterprise Micro "); !v.empty()) return "sle-micro:" + v;
    if (std::string v = after("SUSE Linux Micro "); !v.empty()) return "sl-micro:" + v;
    return "";
  }

  Leaf Classify(const Criterion& criterion) const {
    Leaf leaf;
    const Test* test = nullptr;
    const State* state = nullptr;
    std::string object;
    if (auto it = tests_.find(criterion.test_ref); it != tests_.end()) {
      test = &it->second;
      if (auto o = objects_.find(test->object_ref); o != objects_.end()) object = o->second;
      if (auto s = states_.find(test->state_ref); s != states_.end()) state = &s->second;
    }
    std::string_view comment = criterion.comment;
    if (comment.find(" is signed with ") != std::string_view::npos ||
        comment.find(" arch is ") != std::string_view::npos) {
      return leaf;
    }
    constexpr std::string_view kInstalled = " is installed";
    if (comment.ends_with(kInstalled)) {
      std::string_view product = comment.substr(0, comment.size() - kInstalled.size());
      // "Oracle Linux 8", "SUSE Linux Enterprise Server 15 SP1-LTSS" (a product) versus
      // "krb5-1.15.2-4.25" (SUSE's form of a package criterion; its test says "evr less than").
      bool is_product = product.find(' ') != std::string_view::npos;
      if (is_product && (state == nullptr || state->evr.empty())) {
        leaf.kind = Leaf::Kind::kPlatform;
        leaf.ns = PlatformNamespace(product, state);
        leaf.release = object;
        return leaf;
      }
    }
    constexpr std::string_view kNotAffected = " is not affected";
    if (comment.ends_with(kNotAffected)) {
      leaf.kind = Leaf::Kind::kPackage;
      leaf.package = !object.empty()
                         ? object
                         : std::string(comment.substr(0, comment.size() - kNotAffected.size()));
      leaf.not_affected = true;
      return leaf;
    }
    if (state != nullptr && !state->evr.empty() && !object.empty()) {
      leaf.kind = Leaf::Kind::kPackage;
      leaf.package = object;
      // Vulnerability definitions test "installed evr < fix"; "less than or equal" marks the
      // last affected build of a package with no fix (Azure Linux). SUSE files carry a few
      // states with a numeric operation; they are fixes like the rest.
      if (state->evr_operation == "less than or equal") {
        leaf.last_affected = state->evr;
      } else {
        leaf.fixed = state->evr;
      }
      return leaf;
    }
    // The test is not in the file (vunnel's Oracle fixture, truncated feeds): the comment says
    // it. "bind is earlier than 30:9.3.3-8.el5", "Package ceph is earlier than 18.2.1-1, ...".
    constexpr std::string_view kEarlier = " is earlier than ";
    if (size_t at = comment.find(kEarlier); at != std::string_view::npos) {
      std::string_view name = comment.substr(0, at);
      if (name.starts_with("Package ")) name.remove_prefix(8);
      std::string_view version = comment.substr(at + kEarlier.size());
      version = version.substr(0, version.find(','));
      if (!name.empty() && name.find(' ') == std::string_view::npos && !version.empty()) {
        leaf.kind = Leaf::Kind::kPackage;
        leaf.package = std::string(name);
        leaf.fixed = std::string(TrimSpace(version));
      }
    }
    return leaf;
  }

  // Platform ns -> release package -> the fixes criteria give under that platform.
  using Pairs = std::map<std::string, std::map<std::string, std::set<PackageFix>>>;

  struct Summary {
    std::vector<Leaf> platforms;
    std::vector<Leaf> packages;
  };

  // Leaves of a subtree that holds only one kind (plus neutral ones); false when mixed.
  bool Uniform(const Criteria& node, Summary& into, int depth) const {
    for (const auto& criterion : node.leaves) {
      Leaf leaf = Classify(criterion);
      if (leaf.kind == Leaf::Kind::kPlatform) into.platforms.push_back(std::move(leaf));
      if (leaf.kind == Leaf::Kind::kPackage) into.packages.push_back(std::move(leaf));
    }
    for (const auto& child : node.children) {
      if (depth > 32 || !Uniform(child, into, depth + 1)) return false;
    }
    return into.platforms.empty() || into.packages.empty();
  }

  void Walk(const Criteria& node, const std::vector<Leaf>& inherited, Pairs& pairs,
            int depth) const {
    if (depth > 32) return;
    Summary local;
    std::vector<const Criteria*> mixed;
    for (const auto& criterion : node.leaves) {
      Leaf leaf = Classify(criterion);
      if (leaf.kind == Leaf::Kind::kPlatform) local.platforms.push_back(std::move(leaf));
      if (leaf.kind == Leaf::Kind::kPackage) local.packages.push_back(std::move(leaf));
    }
    for (const auto& child : node.children) {
      Summary sub;
      if (Uniform(child, sub, depth + 1)) {
        for (auto& l : sub.platforms) local.platforms.push_back(std::move(l));
        for (auto& l : sub.packages) local.packages.push_back(std::move(l));
      } else {
        mixed.push_back(&child);
      }
    }
    const std::vector<Leaf>& platforms = local.platforms.empty() ? inherited : local.platforms;
    for (const Criteria* child : mixed) Walk(*child, platforms, pairs, depth + 1);
    if (local.packages.empty()) return;
    std::vector<Leaf> fallback;
    const std::vector<Leaf>* applied = &platforms;
    if (platforms.empty()) {
      // No platform criteria at all: the file's own namespace (Azure Linux, CBL-Mariner).
      Leaf file_ns;
      file_ns.ns = FileNamespace(local.packages);
      if (file_ns.ns.empty()) pairs[""];  // tells Resolve that these packages have none
      fallback.push_back(std::move(file_ns));
      applied = &fallback;
    }
    for (const Leaf& platform : *applied) {
      if (platform.ns.empty()) continue;
      for (const Leaf& package : local.packages) {
        pairs[platform.ns][platform.release].insert(PackageFix{
            package.package, package.fixed, package.last_affected, package.not_affected});
      }
    }
  }

  // Azure Linux / CBL-Mariner: the hint, else the file name ("azurelinux-3.0-oval.xml",
  // "cbl-mariner-2.0-oval.xml"), else the release tag of a fixed version (".azl3", ".cm2").
  std::string FileNamespace(const std::vector<Leaf>& packages) const {
    if (!ns_hint_.empty()) return ns_hint_;
    std::string base = AsciiLower(std::filesystem::path(name_).filename().string());
    for (const auto& [prefix, ns] :
         {std::pair<std::string_view, std::string_view>{"azurelinux-", "azurelinux:"},
          {"azure-linux-", "azurelinux:"},
          {"cbl-mariner-", "mariner:"},
          {"mariner-", "mariner:"}}) {
      size_t at = base.find(prefix);
      if (at == std::string::npos) continue;
      std::string_view rest = std::string_view(base).substr(at + prefix.size());
      // "truncated-3.0-oval.xml" in a test fixture's name: the first digit run on.
      size_t digit = rest.find_first_of("0123456789");
      if (digit == std::string_view::npos) continue;
      size_t end = rest.find_first_not_of("0123456789.", digit);
      std::string version(rest.substr(digit, end - digit));
      while (!version.empty() && version.back() == '.') version.pop_back();
      if (!version.empty()) return std::string(ns) + version;
    }
    for (const Leaf& package : packages) {
      std::string_view v = package.fixed.empty() ? package.last_affected : package.fixed;
      size_t dot = v.rfind('.');
      if (dot == std::string_view::npos) continue;
      std::string_view tag = v.substr(dot + 1);
      if (tag.starts_with("azl") && tag.size() > 3) {
        return "azurelinux:" + std::string(tag.substr(3)) + ".0";
      }
      if (tag.starts_with("cm") && tag.size() > 2) {
        return "mariner:" + std::string(tag.substr(2)) + ".0";
      }
    }
    return "";
  }

  static std::string SourceName(std::string_view ns) {
    if (ns.starts_with("ol:")) return "oracle-oval";
    if (ns.starts_with("azurelinux:") || ns.starts_with("mariner:")) return "azurelinux-oval";
    return "suse-oval";
  }

  // One definition's records.
  Result<void> Resolve(const Definition& d) {
    {
      if (d.vuln_ids.empty()) {
        Warn(d.place + ": definition " + d.id + ": no CVE or advisory id; skipped");
        return Ok();
      }
      ++out_.records;
      Pairs pairs;
      Walk(d.criteria, {}, pairs, 0);
      bool unresolved_namespace = false;
      for (const auto& [ns, by_release] : pairs) {
        if (ns.empty()) {
          unresolved_namespace = true;
          continue;
        }
        // One platform may be tested through two release packages with different fixes (SLES
        // 15 SP1 and its LTSS): the general one is what images carry (as vunnel decides).
        const std::set<PackageFix>* fixes = nullptr;
        if (by_release.size() == 1) {
          fixes = &by_release.begin()->second;
        } else {
          for (const char* preferred : {"sles-release", "sles-ltss-release"}) {
            if (auto it = by_release.find(preferred); it != by_release.end() && !fixes) {
              fixes = &it->second;
            }
          }
        }
        if (fixes == nullptr) continue;
        for (const PackageFix& fix : *fixes) {
          for (const std::string& id : d.vuln_ids) {
            AffectedPackage record;
            record.vuln_id = id;
            record.ns = ns;
            record.package = fix.package;
            record.severity = d.severity;
            record.source = SourceName(ns);
            if (fix.not_affected) {
              record.status = Status::kNotAffected;
            } else if (!fix.fixed.empty()) {
              record.status = Status::kFixed;
              record.ranges.push_back(VersionRange{"", fix.fixed, ""});
            } else {
              record.ranges.push_back(VersionRange{"", "", fix.last_affected});
            }
            out_.affected.push_back(std::move(record));
          }
        }
      }
      // Definitions for products Moat has no namespace for (SUSE modules) give no pairs and
      // are left out quietly; packages with no namespace at all are worth a warning.
      if (unresolved_namespace) {
        Warn(d.place + ": definition " + d.id +
             ": no namespace for its packages (no platform criteria; name the file "
             "azurelinux-X.Y-oval.xml or give the namespace)");
      }
      for (const std::string& id : d.vuln_ids) {
        Vulnerability vuln;
        vuln.id = id;
        vuln.description = d.description;
        vuln.references = d.references;
        vuln.published = d.issued;
        vuln.cvss = d.cvss;
        out_.vulnerabilities.push_back(std::move(vuln));
      }
    }
    return Ok();
  }

  std::string name_;
  std::string ns_hint_;
  std::string error_;
  IngestResult out_;
  std::unordered_map<std::string, Test> tests_;
  std::unordered_map<std::string, std::string> objects_;
  std::unordered_map<std::string, State> states_;
};

// libxml2 pulls the bytes through libarchive, which undoes any compression on the way.
int ReadFromArchive(void* context, char* buffer, int length) {
  la_ssize_t n = archive_read_data(static_cast<archive*>(context), buffer, length);
  return n < 0 ? -1 : static_cast<int>(n);
}

using ArchivePtr = std::unique_ptr<archive, ArchiveDeleter>;

// Opens the file (or bytes) again for each pass.
Result<IngestResult> ReadOval(const std::function<Result<ArchivePtr>()>& open,
                              const std::string& name, const std::string& ns_hint,
                              const RecordSink& sink) {
  OvalReader oval(name, ns_hint, sink);
  for (auto pass : {OvalReader::Pass::kTables, OvalReader::Pass::kDefinitions}) {
    MOAT_ASSIGN_OR_RETURN(ArchivePtr a, open());
    archive_entry* entry = nullptr;
    int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) return Fail(name, ": empty file");
    if (status != ARCHIVE_OK) {
      const char* text = archive_error_string(a.get());
      return Fail(name, ": ", text ? text : "cannot read");
    }
    std::unique_ptr<xmlTextReader, ReaderDeleter> reader(xmlReaderForIO(
        &ReadFromArchive, nullptr, a.get(), nullptr, nullptr, XML_PARSE_NONET | XML_PARSE_COMPACT));
    if (!reader) return Fail(name, ": cannot start the XML reader");
    MOAT_TRY(oval.Read(reader.get(), pass));
  }
  return oval.Finish();
}

std::unique_ptr<archive, ArchiveDeleter> RawArchive() {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  return a;
}

}  // namespace

Result<IngestResult> IngestOval(const std::string& path, const std::string& ns_hint,
                                const RecordSink& sink) {
  auto open = [&path]() -> Result<ArchivePtr> {
    ArchivePtr a = RawArchive();
    if (archive_read_open_filename(a.get(), path.c_str(), 1 << 16) != ARCHIVE_OK) {
      const char* text = archive_error_string(a.get());
      return Fail(path, ": ", text ? text : "cannot open");
    }
    return a;
  };
  return ReadOval(open, path, ns_hint, sink);
}

Result<IngestResult> ParseOval(std::string_view text, const std::string& name,
                               const std::string& ns_hint) {
  if (text.empty()) return Fail(name, ": empty file");
  auto open = [&]() -> Result<ArchivePtr> {
    ArchivePtr a = RawArchive();
    if (archive_read_open_memory(a.get(), text.data(), text.size()) != ARCHIVE_OK) {
      const char* message = archive_error_string(a.get());
      return Fail(name, ": ", message ? message : "cannot open");
    }
    return a;
  };
  return ReadOval(open, name, ns_hint, {});
}

}  // namespace moat::vulndb
