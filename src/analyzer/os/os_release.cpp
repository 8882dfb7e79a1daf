// The "os-release" analyzer: names the operating system of an image from its release files.
//
// Several files may say it; each result carries a priority and the scan keeps the highest:
// etc/os-release, then usr/lib/os-release (the systemd fallback location), then the vendor
// release files (alpine-release, redhat-release and its relatives), then lsb-release, and
// debian_version last because Ubuntu and other derivatives ship one too.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "analyzer/analyzer.h"
#include "core/text.h"

namespace moat {
namespace {

// An Alpine image whose repositories point at edge is matched with edge's data whatever its
// release files say (Alpine's edge snapshots carry a version such as "3.21.0_alpha20240807").
constexpr int kApkEdgePriority = 110;
constexpr int kEtcOsReleasePriority = 100;
constexpr int kUsrLibOsReleasePriority = 90;
constexpr int kVendorReleasePriority = 50;
constexpr int kLsbReleasePriority = 40;
constexpr int kDebianVersionPriority = 10;

// Release files are a few hundred bytes; anything larger is not one and is not worth capturing.
constexpr uint64_t kMaxReleaseFileSize = 1 << 20;

enum class ReleaseFormat {
  kOsRelease,
  kLsbRelease,
  kAlpineRelease,
  kVendorRelease,
  kDebianVersion,
  kApkRepositories
};

struct ReleaseFile {
  std::string_view path;
  ReleaseFormat format;
  int priority;
  /// The family a vendor release file implies when its product line is not one we know.
  std::string_view family_hint;
};

constexpr std::array<ReleaseFile, 13> kReleaseFiles = {{
    {"etc/apk/repositories", ReleaseFormat::kApkRepositories, kApkEdgePriority, "alpine"},
    {"etc/os-release", ReleaseFormat::kOsRelease, kEtcOsReleasePriority, ""},
    {"usr/lib/os-release", ReleaseFormat::kOsRelease, kUsrLibOsReleasePriority, ""},
    {"etc/alpine-release", ReleaseFormat::kAlpineRelease, kVendorReleasePriority, "alpine"},
    {"etc/redhat-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, ""},
    {"etc/centos-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, "centos"},
    {"etc/rocky-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, "rocky"},
    {"etc/almalinux-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, "almalinux"},
    {"etc/fedora-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, "fedora"},
    {"etc/oracle-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, "ol"},
    {"etc/system-release", ReleaseFormat::kVendorRelease, kVendorReleasePriority, ""},
    {"etc/lsb-release", ReleaseFormat::kLsbRelease, kLsbReleasePriority, ""},
    {"etc/debian_version", ReleaseFormat::kDebianVersion, kDebianVersionPriority, "debian"},
}};

const ReleaseFile* FindReleaseFile(std::string_view path) {
  for (const ReleaseFile& file : kReleaseFiles) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (IsBlank(text.front()) || text.front() == '\r')) text.remove_prefix(1);
  while (!text.empty() && (IsBlank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// Control characters never belong in a release value; they mean the file is not text.
bool HasControlCharacter(std::string_view text) {
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return true;
  }
  return false;
}

/// Splits text into lines, numbering them from 1; the last line may lack its newline.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool Next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  size_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t number_ = 0;
};

std::string LineContext(const std::string& file, size_t line) {
  return file + ": line " + std::to_string(line);
}

/// Decodes a shell-style value as os-release(5) defines it: unquoted text with backslash
/// escapes, "double quotes" (where \ escapes only $ " \ and `), and 'single quotes' (literal),
/// concatenated as a shell would.
Result<std::string> DecodeShellValue(std::string_view raw, const std::string& where) {
  std::string value;
  size_t i = 0;
  while (i < raw.size()) {
    char c = raw[i];
    if (c == '"') {
      ++i;
      bool closed = false;
      while (i < raw.size()) {
        char q = raw[i];
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (q == '\\' && i + 1 < raw.size()) {
          char next = raw[i + 1];
          if (next == '"' || next == '\\' || next == '$' || next == '`') {
            value += next;
            i += 2;
            continue;
          }
        }
        value += q;
        ++i;
      }
      if (!closed) return Fail(where, ": unterminated double quote");
    } else if (c == '\'') {
      size_t end = raw.find('\'', i + 1);
      if (end == std::string_view::npos) return Fail(where, ": unterminated single quote");
      value.append(raw.substr(i + 1, end - i - 1));
      i = end + 1;
    } else if (c == '\\') {
      if (i + 1 >= raw.size()) return Fail(where, ": backslash at end of line");
      value += raw[i + 1];
      i += 2;
    } else {
      value += c;
      ++i;
    }
  }
  // Unquoted trailing blanks are not part of a shell word.
  while (!value.empty() && IsBlank(value.back())) value.pop_back();
  return value;
}

bool IsValidKey(std::string_view key) {
  if (key.empty() || IsDigit(key.front())) return false;
  for (char c : key) {
    if (!IsAlnum(c) && c != '_') return false;
  }
  return true;
}

/// Calls `on_pair(key, value)` for every KEY=value line; blank lines and # comments are skipped.
template <typename OnPair>
Result<void> ParseShellAssignments(std::string_view text, const std::string& file,
                                   OnPair&& on_pair) {
  LineReader lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view content = Trim(line);
    if (content.empty() || content.front() == '#') continue;
    size_t equals = content.find('=');
    if (equals == std::string_view::npos || !IsValidKey(content.substr(0, equals))) {
      return Fail(LineContext(file, lines.number()), ": expected KEY=value");
    }
    std::string where = LineContext(file, lines.number());
    MOAT_ASSIGN_OR_RETURN(std::string value, DecodeShellValue(content.substr(equals + 1), where));
    if (HasControlCharacter(value)) return Fail(where, ": control character in value");
    on_pair(content.substr(0, equals), std::move(value));
  }
  return Ok();
}

/// os-release(5) restricts ID to lower-case letters, digits and "._-"; we accept upper case
/// (some vendors wrote it) and fold it.
Result<std::string> NormalizeFamily(std::string_view id, const std::string& file) {
  std::string family = AsciiLower(id);
  for (char c : family) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') {
      return Fail(file, ": invalid distribution ID \"", family, "\"");
    }
  }
  return family;
}

Result<OsInfo> ParseOsRelease(std::string_view text, const std::string& file) {
  std::string id, pretty_name, name, version_id, codename, ubuntu_codename;
  MOAT_TRY(ParseShellAssignments(text, file, [&](std::string_view key, std::string value) {
    if (key == "ID") {
      id = std::move(value);
    } else if (key == "PRETTY_NAME") {
      pretty_name = std::move(value);
    } else if (key == "NAME") {
      name = std::move(value);
    } else if (key == "VERSION_ID") {
      version_id = std::move(value);
    } else if (key == "VERSION_CODENAME") {
      codename = std::move(value);
    } else if (key == "UBUNTU_CODENAME") {
      ubuntu_codename = std::move(value);
    }
  }));
  OsInfo os;
  if (id.empty()) return os;  // says nothing we can use
  MOAT_ASSIGN_OR_RETURN(os.family, NormalizeFamily(id, file));
  os.name = !pretty_name.empty() ? pretty_name : name;
  // Debian testing and sid have no VERSION_ID; the version then comes from debian_version,
  // which the scan uses to fill fields this file leaves empty.
  os.version = version_id;
  os.codename = !codename.empty() ? codename : ubuntu_codename;
  return os;
}

Result<OsInfo> ParseLsbRelease(std::string_view text, const std::string& file) {
  std::string id, release, codename, description;
  MOAT_TRY(ParseShellAssignments(text, file, [&](std::string_view key, std::string value) {
    if (key == "DISTRIB_ID") {
      id = std::move(value);
    } else if (key == "DISTRIB_RELEASE") {
      release = std::move(value);
    } else if (key == "DISTRIB_CODENAME") {
      codename = std::move(value);
    } else if (key == "DISTRIB_DESCRIPTION") {
      description = std::move(value);
    }
  }));
  OsInfo os;
  if (id.empty()) return os;
  MOAT_ASSIGN_OR_RETURN(os.family, NormalizeFamily(id, file));
  os.name = description;
  os.version = release;
  os.codename = codename;
  return os;
}

/// The first non-blank line of a one-line release file.
Result<std::string_view> FirstLine(std::string_view text, const std::string& file) {
  LineReader lines(text);
  std::string_view line;
  while (lines.Next(line)) {
    std::string_view content = Trim(line);
    if (content.empty()) continue;
    if (HasControlCharacter(content)) {
      return Fail(LineContext(file, lines.number()), ": control character in release line");
    }
    return content;
  }
  return Fail(file, ": empty release file");
}

/// A version token such as "3.19.1", "3.21.0_alpha20240807", "12.11" or "trixie/sid".
bool IsVersionToken(std::string_view token) {
  if (token.empty() || token.size() > 64) return false;
  for (char c : token) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-' && c != '+' && c != '~' && c != '/') {
      return false;
    }
  }
  return true;
}

Result<OsInfo> ParseAlpineRelease(std::string_view text, const std::string& file) {
  MOAT_ASSIGN_OR_RETURN(std::string_view line, FirstLine(text, file));
  if (!IsVersionToken(line) || !IsDigit(line.front())) {
    return Fail(file, ": not an Alpine version: \"", std::string(line.substr(0, 64)), "\"");
  }
  OsInfo os;
  os.family = "alpine";
  os.version = std::string(line);
  return os;
}

Result<OsInfo> ParseDebianVersion(std::string_view text, const std::string& file) {
  MOAT_ASSIGN_OR_RETURN(std::string_view line, FirstLine(text, file));
  if (!IsVersionToken(line)) {
    return Fail(file, ": not a Debian version: \"", std::string(line.substr(0, 64)), "\"");
  }
  OsInfo os;
  os.family = "debian";
  os.version = std::string(line);
  return os;
}

/// /etc/apk/repositories: one repository URL per line ("https://dl-cdn.alpinelinux.org/alpine/
/// edge/main", "@testing https://.../edge/testing"), # comments. Says "alpine edge" when a
/// repository's release path segment is "edge" (as Trivy reads it); otherwise nothing, and the
/// release files name the version.
Result<OsInfo> ParseApkRepositories(std::string_view text) {
  LineReader lines(text);
  std::string_view line;
  OsInfo os;
  while (lines.Next(line)) {
    std::string_view content = Trim(line);
    if (content.empty() || content.front() == '#') continue;
    for (std::string_view word : SplitWords(content)) {
      if (word.find("://") == std::string_view::npos && !word.starts_with("/")) continue;
      for (std::string_view segment : Split(word, '/')) {
        if (segment == "edge") {
          os.family = "alpine";
          os.version = "edge";
          return os;
        }
      }
    }
  }
  return os;
}

struct ProductFamily {
  std::string_view product_prefix;
  std::string_view family;
};

// Product names as the vendors' release files spell them ("<product> release <version> (...)").
constexpr std::array<ProductFamily, 8> kProductFamilies = {{
    {"Red Hat Enterprise Linux", "rhel"},
    {"CentOS", "centos"},  // "CentOS Linux", "CentOS Stream"
    {"Rocky Linux", "rocky"},
    {"AlmaLinux", "almalinux"},
    {"Fedora", "fedora"},
    {"Oracle Linux", "ol"},
    {"Amazon Linux", "amzn"},
    {"Scientific Linux", "scientific"},
}};

/// "Red Hat Enterprise Linux release 8.9 (Ootpa)", "CentOS Stream release 9",
/// "Amazon Linux release 2 (Karoo)".
Result<OsInfo> ParseVendorRelease(std::string_view text, const std::string& file,
                                  std::string_view family_hint) {
  MOAT_ASSIGN_OR_RETURN(std::string_view line, FirstLine(text, file));
  constexpr std::string_view kMarker = " release ";
  size_t marker = line.find(kMarker);
  if (marker == std::string_view::npos) {
    return Fail(file, ": expected \"<product> release <version>\", got \"",
                std::string(line.substr(0, 80)), "\"");
  }
  std::string_view product = Trim(line.substr(0, marker));
  std::string_view rest = Trim(line.substr(marker + kMarker.size()));
  size_t version_end = 0;
  while (version_end < rest.size() && !IsBlank(rest[version_end])) ++version_end;
  std::string_view version = rest.substr(0, version_end);
  if (!IsVersionToken(version) || !IsDigit(version.front())) {
    return Fail(file, ": invalid release version \"", std::string(version.substr(0, 64)), "\"");
  }
  std::string_view codename;
  std::string_view tail = Trim(rest.substr(version_end));
  if (tail.size() >= 2 && tail.front() == '(' && tail.back() == ')') {
    codename = Trim(tail.substr(1, tail.size() - 2));
  }

  std::string_view family = family_hint;
  for (const ProductFamily& known : kProductFamilies) {
    if (product.substr(0, known.product_prefix.size()) == known.product_prefix) {
      family = known.family;
      break;
    }
  }
  OsInfo os;
  // A well-formed line from a product we do not know (a rebuild we have no feed for) says
  // nothing we can use; that is not an error.
  if (family.empty()) return os;
  os.family = std::string(family);
  os.name = std::string(line);
  os.version = std::string(version);
  os.codename = std::string(codename);
  return os;
}

class OsReleaseAnalyzer final : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    return file.size <= kMaxReleaseFileSize && FindReleaseFile(file.path) != nullptr;
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string display_path = "/" + std::string(file.path);
    const ReleaseFile* release_file = FindReleaseFile(file.path);
    if (release_file == nullptr) return Fail(display_path, ": not a release file");
    if (content.size() > kMaxReleaseFileSize) {
      return Fail(display_path, ": ", std::to_string(content.size()),
                  " bytes is too large for a release file");
    }
    std::string_view text = AsText(content);
    Result<OsInfo> os = OsInfo{};
    switch (release_file->format) {
      case ReleaseFormat::kOsRelease:
        os = ParseOsRelease(text, display_path);
        break;
      case ReleaseFormat::kLsbRelease:
        os = ParseLsbRelease(text, display_path);
        break;
      case ReleaseFormat::kAlpineRelease:
        os = ParseAlpineRelease(text, display_path);
        break;
      case ReleaseFormat::kVendorRelease:
        os = ParseVendorRelease(text, display_path, release_file->family_hint);
        break;
      case ReleaseFormat::kDebianVersion:
        os = ParseDebianVersion(text, display_path);
        break;
      case ReleaseFormat::kApkRepositories:
        os = ParseApkRepositories(text);
        break;
    }
    if (!os.ok()) return os.error();
    AnalysisResult result;
    result.os = std::move(os).value();
    if (!result.os.empty()) result.os_priority = release_file->priority;
    return result;
  }

 private:
  // Version 2: reads /etc/apk/repositories (Alpine edge).
  AnalyzerDescriptor descriptor_{"os-release", 2, AnalyzerKind::kOs};
};

}  // namespace

std::unique_ptr<Analyzer> MakeOsReleaseAnalyzer() { return std::make_unique<OsReleaseAnalyzer>(); }

}  // namespace moat
