#include "purl/purl.h"

#include <algorithm>
#include <string>
#include <vector>

#include "core/text.h"

namespace moat {
namespace {

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiUpper(char c) { return c >= 'A' && c <= 'Z'; }

// ECMA-427 leaves only the RFC 3986 unreserved characters and ':' unencoded in every component.
bool IsUnencoded(char c) {
  return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
         c == ':';
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (IsUnencoded(c)) {
      out.push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0xF]);
    }
  }
  return out;
}

// text is a view into whole (the purl), so errors give the offset in the purl.
Result<std::string> PercentDecode(std::string_view text, std::string_view whole,
                                  std::string_view component) {
  const size_t base_offset = static_cast<size_t>(text.data() - whole.data());
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return Fail("truncated percent-encoding in ", component, " at offset ",
                  std::to_string(base_offset + i));
    }
    const int high = HexDigitValue(text[i + 1]);
    const int low = HexDigitValue(text[i + 2]);
    if (high < 0 || low < 0) {
      return Fail("invalid percent-encoding in ", component, " at offset ",
                  std::to_string(base_offset + i));
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string Join(const std::vector<std::string>& parts, char separator) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) out.push_back(separator);
    out += part;
  }
  return out;
}

bool IsValidType(std::string_view type) {
  if (type.empty() || !IsAsciiAlpha(type[0])) return false;
  return std::all_of(type.begin(), type.end(), [](char c) {
    return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '.' || c == '+' || c == '-';
  });
}

bool IsValidQualifierKey(std::string_view key) {
  if (key.empty() || IsAsciiDigit(key[0])) return false;
  return std::all_of(key.begin(), key.end(), [](char c) {
    return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '.' || c == '-' || c == '_';
  });
}

// Subpath segments that are empty, "." or ".." carry no meaning and are dropped when building.
std::vector<std::string> SubpathSegments(std::string_view subpath) {
  std::vector<std::string> segments;
  for (auto segment : Split(subpath, '/')) {
    if (segment.empty() || segment == "." || segment == "..") continue;
    segments.emplace_back(segment);
  }
  return segments;
}

// Rules for the types of purl-spec's type definitions (types/*-definition.json) and of the
// types the older test suite exercises.
enum class Requirement { kOptional, kRequired, kProhibited };

struct TypeRules {
  std::string_view type;
  Requirement namespace_requirement = Requirement::kOptional;
  bool namespace_case_insensitive = false;
  bool name_case_insensitive = false;
  bool version_case_insensitive = false;
  bool version_required = false;
};

constexpr TypeRules kTypeRules[] = {
    {"apk", Requirement::kRequired, true, true},
    {"bitbucket", Requirement::kOptional, true, true},
    {"cargo", Requirement::kProhibited},
    {"composer", Requirement::kOptional, true, true},
    {"cran", Requirement::kOptional, false, false, false, true},
    {"deb", Requirement::kRequired, true, true},
    {"gem", Requirement::kProhibited},
    {"github", Requirement::kOptional, true, true},
    {"golang", Requirement::kRequired},
    {"hackage", Requirement::kOptional, false, false, false, true},
    {"huggingface", Requirement::kOptional, false, false, true},
    {"maven", Requirement::kRequired},
    {"nuget", Requirement::kProhibited},
    {"oci", Requirement::kProhibited, false, true, true},
    {"pypi", Requirement::kProhibited, false, true},
    {"rpm", Requirement::kRequired, true},
    {"swift", Requirement::kRequired, false, false, false, true},
};

const TypeRules* FindTypeRules(std::string_view type) {
  for (const auto& rules : kTypeRules) {
    if (rules.type == type) return &rules;
  }
  return nullptr;
}

// Applies the canonical spellings: lower-case type and qualifier keys, the type's case rules,
// PyPI's '_' -> '-', empty qualifier values dropped.
void Normalize(PackageUrl& purl) {
  purl.type = AsciiLower(purl.type);
  std::map<std::string, std::string> qualifiers;
  for (auto& [key, value] : purl.qualifiers) {
    if (!value.empty()) qualifiers[AsciiLower(key)] = value;
  }
  purl.qualifiers = std::move(qualifiers);
  std::vector<std::string> namespace_segments;
  for (auto segment : Split(purl.namespace_, '/')) {
    if (!segment.empty()) namespace_segments.emplace_back(segment);
  }
  purl.namespace_ = Join(namespace_segments, '/');

  if (const TypeRules* rules = FindTypeRules(purl.type)) {
    if (rules->namespace_case_insensitive) purl.namespace_ = AsciiLower(purl.namespace_);
    if (rules->name_case_insensitive) purl.name = AsciiLower(purl.name);
    if (rules->version_case_insensitive) purl.version = AsciiLower(purl.version);
  }
  if (purl.type == "pypi") std::replace(purl.name.begin(), purl.name.end(), '_', '-');
  if (purl.type == "mlflow") {
    // MLflow model names are case-insensitive on Databricks, case-sensitive on Azure ML.
    auto it = purl.qualifiers.find("repository_url");
    if (it != purl.qualifiers.end() &&
        it->second.find("azuredatabricks.net") != std::string::npos) {
      purl.name = AsciiLower(purl.name);
    }
  }
}

Result<void> ValidateTypeRules(const PackageUrl& purl) {
  const TypeRules* rules = FindTypeRules(purl.type);
  if (rules != nullptr) {
    if (rules->namespace_requirement == Requirement::kRequired && purl.namespace_.empty()) {
      return Fail("purl type '", purl.type, "' requires a namespace");
    }
    if (rules->namespace_requirement == Requirement::kProhibited && !purl.namespace_.empty()) {
      return Fail("purl type '", purl.type, "' does not allow a namespace");
    }
    if (rules->version_required && purl.version.empty()) {
      return Fail("purl type '", purl.type, "' requires a version");
    }
  }
  if (purl.type == "conan") {
    // A Conan user (namespace) and channel only make sense together.
    const bool has_channel = purl.qualifiers.count("channel") > 0;
    if (purl.namespace_.empty() == has_channel) {
      return Fail("purl type 'conan' needs both a namespace and a 'channel' qualifier, or neither");
    }
  }
  if (purl.type == "cpan") {
    // With a namespace (author) the name is a distribution ("Perl-Version"); without one it is a
    // module ("URI::PackageURL").
    if (!purl.namespace_.empty() && purl.name.find("::") != std::string::npos) {
      return Fail("purl type 'cpan': a distribution name (with a namespace) cannot contain '::'");
    }
    if (purl.namespace_.empty() && purl.name.find('-') != std::string::npos) {
      return Fail("purl type 'cpan': a module name (without a namespace) cannot contain '-'");
    }
  }
  return Ok();
}

Result<PackageUrl> ParseImpl(std::string_view text, bool lenient) {
  PackageUrl purl;
  std::string_view rest = text;

  // Subpath: after the first '#'.
  if (const size_t hash = rest.find('#'); hash != std::string_view::npos) {
    std::vector<std::string> segments;
    for (auto segment : SubpathSegments(rest.substr(hash + 1))) {
      MOAT_ASSIGN_OR_RETURN(auto decoded, PercentDecode(segment, text, "subpath"));
      segments.push_back(std::move(decoded));
    }
    purl.subpath = Join(segments, '/');
    rest = rest.substr(0, hash);
  }

  // Qualifiers: after the first '?'.
  if (const size_t question = rest.find('?'); question != std::string_view::npos) {
    const std::string_view query = rest.substr(question + 1);
    size_t offset = question + 1;
    for (auto pair : Split(query, '&')) {
      const size_t pair_offset = offset;
      offset += pair.size() + 1;
      if (pair.empty()) continue;
      const size_t equals = pair.find('=');
      if (equals == std::string_view::npos) {
        return Fail("qualifier without '=' at offset ", std::to_string(pair_offset));
      }
      std::string key(pair.substr(0, equals));
      if (!lenient && std::any_of(key.begin(), key.end(), IsAsciiUpper)) {
        return Fail("qualifier key '", key, "' is not lower-case (offset ",
                    std::to_string(pair_offset), ")");
      }
      key = AsciiLower(key);
      if (!IsValidQualifierKey(key)) {
        return Fail("invalid qualifier key '", key, "' at offset ", std::to_string(pair_offset));
      }
      MOAT_ASSIGN_OR_RETURN(auto value,
                            PercentDecode(pair.substr(equals + 1), text, "qualifier " + key));
      if (value.empty()) continue;
      if (!purl.qualifiers.emplace(key, std::move(value)).second) {
        return Fail("duplicate qualifier key '", key, "'");
      }
    }
    rest = rest.substr(0, question);
  }

  // Scheme.
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos || AsciiLower(rest.substr(0, colon)) != "pkg") {
    return Fail("missing 'pkg:' scheme");
  }
  rest = rest.substr(colon + 1);
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);

  // Type.
  const size_t type_end = rest.find('/');
  if (type_end == std::string_view::npos) return Fail("missing '/' after the type (no name)");
  purl.type = AsciiLower(rest.substr(0, type_end));
  if (!IsValidType(purl.type)) {
    return Fail("invalid type '", std::string(rest.substr(0, type_end)),
                "': letters, digits, '.', '+', '-', not starting with a digit");
  }
  rest = rest.substr(type_end + 1);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);

  // Version: after an '@' in the last path segment, so an unencoded npm scope ("@babel/core")
  // stays in the namespace.
  const size_t last_slash = rest.rfind('/');
  const size_t name_start = last_slash == std::string_view::npos ? 0 : last_slash + 1;
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos && at >= name_start) {
    MOAT_ASSIGN_OR_RETURN(purl.version, PercentDecode(rest.substr(at + 1), text, "version"));
    rest = rest.substr(0, at);
  }

  MOAT_ASSIGN_OR_RETURN(purl.name, PercentDecode(rest.substr(name_start), text, "name"));
  if (name_start > 0) {
    std::vector<std::string> segments;
    for (auto segment : Split(rest.substr(0, name_start - 1), '/')) {
      if (segment.empty()) continue;
      MOAT_ASSIGN_OR_RETURN(auto decoded, PercentDecode(segment, text, "namespace"));
      if (decoded.find('/') != std::string::npos) {
        return Fail("namespace segment '", decoded, "' contains an encoded '/'");
      }
      segments.push_back(std::move(decoded));
    }
    purl.namespace_ = Join(segments, '/');
  }

  Normalize(purl);
  // Trivy writes the Go standard library and toolchain as "pkg:golang/stdlib@v1.22.1", without
  // the namespace the spec requires: read leniently, the name alone is the module path.
  if (lenient && purl.type == "golang" && purl.namespace_.empty() && !purl.name.empty()) {
    return purl;
  }
  MOAT_TRY(purl.Validate());
  return purl;
}

Result<PackageUrl> WrapError(Result<PackageUrl> result, std::string_view text) {
  if (result.ok()) return result;
  return result.error().Wrap("purl '" + std::string(text) + "'");
}

}  // namespace

Result<PackageUrl> PackageUrl::Parse(std::string_view text) {
  return WrapError(ParseImpl(text, /*lenient=*/false), text);
}

Result<PackageUrl> PackageUrl::ParseLenient(std::string_view text) {
  return WrapError(ParseImpl(text, /*lenient=*/true), text);
}

Result<void> PackageUrl::Validate() const {
  if (!IsValidType(type)) {
    return Fail("invalid purl type '", type,
                "': letters, digits, '.', '+', '-', not starting with a digit");
  }
  if (name.empty()) return Fail("purl of type '", type, "' has no name");
  for (const auto& [key, value] : qualifiers) {
    if (!IsValidQualifierKey(key)) return Fail("invalid purl qualifier key '", key, "'");
  }
  PackageUrl normalized = *this;
  Normalize(normalized);
  return ValidateTypeRules(normalized);
}

std::string PackageUrl::ToString() const {
  PackageUrl purl = *this;
  Normalize(purl);
  std::string out = "pkg:" + purl.type + "/";
  if (!purl.namespace_.empty()) {
    for (auto segment : Split(purl.namespace_, '/')) {
      out += PercentEncode(segment);
      out.push_back('/');
    }
  }
  out += PercentEncode(purl.name);
  if (!purl.version.empty()) out += "@" + PercentEncode(purl.version);
  if (!purl.qualifiers.empty()) {
    char separator = '?';
    for (const auto& [key, value] : purl.qualifiers) {
      out.push_back(separator);
      out += key + "=" + PercentEncode(value);
      separator = '&';
    }
  }
  std::vector<std::string> subpath;
  for (const auto& segment : SubpathSegments(purl.subpath))
    subpath.push_back(PercentEncode(segment));
  if (!subpath.empty()) out += "#" + Join(subpath, '/');
  return out;
}

std::string PurlForPackage(const Package& package, const OsInfo& os) {
  PackageUrl purl;
  purl.type = std::string(PackageTypeName(package.type));
  purl.name = package.name;
  purl.version = package.version;
  if (IsOsPackageType(package.type)) {
    purl.namespace_ = os.family;
    if (purl.namespace_.empty()) {
      // Without an os-release the package manager still tells the vendor family.
      switch (package.type) {
        case PackageType::kDeb:
          purl.namespace_ = "debian";
          break;
        case PackageType::kApk:
          purl.namespace_ = "alpine";
          break;
        default:
          purl.namespace_ = "redhat";
          break;
      }
    }
    if (!package.arch.empty()) purl.qualifiers["arch"] = package.arch;
    if (!os.family.empty()) {
      purl.qualifiers["distro"] = os.version.empty() ? os.family : os.family + "-" + os.version;
    }
    if (!package.source_name.empty() && package.source_name != package.name) {
      purl.qualifiers["upstream"] = package.source_name;
    }
  }
  switch (package.type) {
    case PackageType::kRpm:
      if (!package.release.empty()) purl.version += "-" + package.release;
      if (!package.epoch.empty() && package.epoch != "0") purl.qualifiers["epoch"] = package.epoch;
      break;
    case PackageType::kNpm:
      if (!package.name.empty() && package.name[0] == '@') {
        if (const size_t slash = package.name.find('/'); slash != std::string::npos) {
          purl.namespace_ = package.name.substr(0, slash);
          purl.name = package.name.substr(slash + 1);
        }
      }
      break;
    case PackageType::kComposer:  // "vendor/package": the vendor is the namespace
    case PackageType::kGolang:
      if (const size_t slash = package.name.rfind('/'); slash != std::string::npos) {
        purl.namespace_ = package.name.substr(0, slash);
        purl.name = package.name.substr(slash + 1);
      }
      break;
    case PackageType::kMaven:
      if (const size_t colon = package.name.find(':'); colon != std::string::npos) {
        purl.namespace_ = package.name.substr(0, colon);
        purl.name = package.name.substr(colon + 1);
      }
      break;
    default:
      break;
  }
  return purl.ToString();
}

}  // namespace moat
