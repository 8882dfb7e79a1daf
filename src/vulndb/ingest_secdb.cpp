// Alpine secdb JSON ({distroversion, reponame, urlprefix, packages: [{pkg: {name, secfixes:
// {fixed version: [ids]}}}]}), the same format from Wolfi and Chainguard, and the older YAML form
// of it that Alpine published up to v3.15.

#include <yaml.h>

#include <memory>
#include <sstream>

#include "vulndb/ingest.h"
#include "vulndb/json_util.h"

namespace moat::vulndb {

using json_util::json;
using json_util::Member;
using json_util::String;

namespace {

struct YamlParserDeleter {
  void operator()(yaml_parser_t* parser) const {
    yaml_parser_delete(parser);
    delete parser;
  }
};

// The secdb YAML as the JSON document it mirrors: mappings become objects, sequences arrays and
// every scalar a string (secdb has no other types). Anchors and aliases are refused: secdb does
// not use them, and they are how a small YAML file expands into a huge one.
Result<json> YamlToJson(std::string_view text, const std::string& name) {
  std::unique_ptr<yaml_parser_t, YamlParserDeleter> parser(new yaml_parser_t);
  if (!yaml_parser_initialize(parser.get())) return Fail(name, ": cannot start the YAML parser");
  yaml_parser_set_input_string(parser.get(), reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  json root;
  std::vector<json*> stack;       // open containers
  std::vector<std::string> keys;  // per open mapping: the pending key ("" = expecting a key)
  std::vector<bool> key_pending;
  bool done = false;
  while (!done) {
    yaml_event_t event;
    if (!yaml_parser_parse(parser.get(), &event)) {
      return Fail(name, ": line ", std::to_string(parser->problem_mark.line + 1),
                  ": YAML: ", parser->problem ? parser->problem : "syntax error");
    }
    std::unique_ptr<yaml_event_t, void (*)(yaml_event_t*)> guard(&event, yaml_event_delete);
    const std::string place = name + ": line " + std::to_string(event.start_mark.line + 1);
    // Where a new value goes: the root, the open sequence, or the open mapping's pending key.
    auto place_value = [&](json value) -> Result<json*> {
      if (stack.empty()) {
        root = std::move(value);
        return &root;
      }
      json& parent = *stack.back();
      if (parent.is_array()) {
        parent.push_back(std::move(value));
        return &parent.back();
      }
      if (!key_pending.back()) {
        if (!value.is_string()) return Fail(place, ": a mapping key must be a scalar");
        keys.back() = value.get<std::string>();
        key_pending.back() = true;
        return nullptr;
      }
      key_pending.back() = false;
      json& slot = parent[keys.back()];
      slot = std::move(value);
      return &slot;
    };
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
      case YAML_DOCUMENT_END_EVENT:
        done = event.type == YAML_STREAM_END_EVENT || stack.empty();
        break;
      case YAML_ALIAS_EVENT:
        return Fail(place, ": YAML aliases are not accepted in secdb");
      case YAML_SCALAR_EVENT: {
        if (event.data.scalar.anchor) {
          return Fail(place, ": YAML anchors are not accepted in secdb");
        }
        std::string value(reinterpret_cast<const char*>(event.data.scalar.value),
                          event.data.scalar.length);
        // A key with nothing after it ("2.1-r2:" with an empty list) is null, as in JSON.
        bool plain_empty = value.empty() && event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        MOAT_TRY(place_value(plain_empty ? json() : json(std::move(value))));
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        if (stack.size() > 64) return Fail(place, ": nested too deeply");
        bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        if (sequence ? event.data.sequence_start.anchor != nullptr
                     : event.data.mapping_start.anchor != nullptr) {
          return Fail(place, ": YAML anchors are not accepted in secdb");
        }
        MOAT_ASSIGN_OR_RETURN(json * slot, place_value(sequence ? json::array() : json::object()));
        if (slot == nullptr) return Fail(place, ": a mapping key must be a scalar");
        stack.push_back(slot);
        keys.emplace_back();
        key_pending.push_back(false);
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (stack.empty()) return Fail(place, ": unbalanced YAML");
        stack.pop_back();
        keys.pop_back();
        key_pending.pop_back();
        break;
      default:
        break;
    }
  }
  return root;
}

Result<IngestResult> ParseSecdbDocument(const json& doc, const std::string& name,
                                        const std::string& ns_hint) {
  const json& packages = Member(doc, "packages");
  if (!doc.is_object() || !packages.is_array()) {
    return Fail(name, ": not secdb JSON (no \"packages\" array)");
  }
  std::string ns = ns_hint;
  if (ns.empty()) {
    std::string distroversion = String(doc, "distroversion");
    std::string urlprefix = String(doc, "urlprefix");
    std::string reponame = String(doc, "reponame");
    if (!distroversion.empty()) {
      if (distroversion.starts_with("v")) distroversion.erase(0, 1);
      ns = "alpine:" + distroversion;
    } else if (urlprefix.find("wolfi.dev") != std::string::npos) {
      ns = "wolfi";
    } else if (urlprefix.find("cgr.dev") != std::string::npos || reponame == "chainguard") {
      ns = "chainguard";
    } else {
      return Fail(name,
                  ": secdb without \"distroversion\" and not Wolfi or Chainguard; "
                  "name the namespace");
    }
  }
  IngestResult out;
  std::string reponame = String(doc, "reponame");
  out.source_hint = reponame.empty() ? ns : ns + "/" + reponame;
  auto warn = [&out](std::string message) {
    if (out.warnings.size() < 1000) out.warnings.push_back(std::move(message));
  };
  std::string source = ns.starts_with("alpine:") ? "alpine-secdb" : ns + "-secdb";
  try {
    for (size_t i = 0; i < packages.size(); ++i) {
      const std::string pointer = name + ": /packages/" + std::to_string(i);
      const json& pkg = Member(packages[i], "pkg");
      std::string package = String(pkg, "name");
      if (package.empty()) {
        warn(pointer + "/pkg/name: missing");
        continue;
      }
      const json& secfixes = Member(pkg, "secfixes");
      if (secfixes.is_null()) continue;
      if (!secfixes.is_object()) {
        warn(pointer + "/pkg/secfixes: not an object");
        continue;
      }
      ++out.records;
      for (const auto& [version, ids] : secfixes.items()) {
        if (!ids.is_array()) {
          if (!ids.is_null()) warn(pointer + "/pkg/secfixes/" + version + ": not a list");
          continue;
        }
        for (const json& id_text : ids) {
          if (!id_text.is_string()) continue;
          // Entries are "CVE-2019-1 CVE-2019-2", " CVE-..." or "CVE-... (comment)".
          std::istringstream words(id_text.get<std::string>());
          std::string id;
          while (words >> id) {
            if (id.find('-') == std::string::npos || id.starts_with("(")) break;
            if (version == "0") continue;  // the CVE never affected this package
            AffectedPackage record;
            record.vuln_id = id;
            record.ns = ns;
            record.package = package;
            record.source = source;
            record.status = Status::kFixed;
            record.ranges.push_back(VersionRange{"", version, ""});
            out.affected.push_back(std::move(record));
            Vulnerability vuln;
            vuln.id = id;
            out.vulnerabilities.push_back(std::move(vuln));
          }
        }
      }
    }
  } catch (const std::exception& e) {
    return Fail(name, ": ", e.what());
  }
  return out;
}

}  // namespace

Result<IngestResult> ParseSecdb(std::string_view text, const std::string& name,
                                const std::string& ns_hint) {
  // The older secdb files are YAML; JSON starts with '{' (after any blank space).
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text[first] != '{') {
    return ParseSecdbYaml(text, name, ns_hint);
  }
  MOAT_ASSIGN_OR_RETURN(json doc, json_util::Parse(text, name));
  return ParseSecdbDocument(doc, name, ns_hint);
}

Result<IngestResult> ParseSecdbYaml(std::string_view text, const std::string& name,
                                    const std::string& ns_hint) {
  MOAT_ASSIGN_OR_RETURN(json doc, YamlToJson(text, name));
  return ParseSecdbDocument(doc, name, ns_hint);
}

}  // namespace moat::vulndb
