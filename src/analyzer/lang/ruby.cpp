// Ruby gems: the specifications `gem install` writes for installed gems
// (".../specifications/NAME-VERSION.gemspec", Ruby source of one Gem::Specification.new block),
// and Bundler's Gemfile.lock in source trees.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "analyzer/analyzer.h"
#include "analyzer/lang/lockfile.h"
#include "analyzer/lang/text_util.h"
#include "core/utf8.h"

namespace moat {
namespace {

constexpr uint64_t kMaxGemspecSize = 4ull << 20;
constexpr uint64_t kMaxGemfileLockSize = 32ull << 20;

// Reads one Ruby string literal at the start of `text` ("..." with escapes, '...', %q<...>,
// %Q{...}, %(...)), skipping a trailing ".freeze"; advances `text` past it. nullopt when no
// string literal starts there.
std::optional<std::string> ReadRubyString(std::string_view& text) {
  text = TrimSpace(text);
  if (text.empty()) return std::nullopt;
  std::string out;
  size_t i = 0;
  if (text[0] == '"') {
    for (i = 1; i < text.size() && text[i] != '"'; ++i) {
      if (text[i] != '\\' || i + 1 >= text.size()) {
        out += text[i];
        continue;
      }
      char e = text[++i];
      if (e == 'n') {
        out += '\n';
      } else if (e == 't') {
        out += '\t';
      } else if (e == 'u') {
        // \uXXXX or \u{X...}: what `gem` writes for non-ASCII characters.
        std::string_view hex;
        size_t end = i + 1;
        if (end < text.size() && text[end] == '{') {
          size_t close = text.find('}', end);
          if (close == std::string_view::npos) return std::nullopt;
          hex = text.substr(end + 1, close - end - 1);
          i = close;
        } else {
          hex = text.substr(end, 4);
          i = end + hex.size() - 1;
        }
        uint32_t code = 0;
        for (char h : hex) {
          int v = HexDigitValue(h);
          if (v < 0 || code > 0x10FFFF) return std::nullopt;
          code = code * 16 + static_cast<uint32_t>(v);
        }
        if (hex.empty() || code > 0x10FFFF) return std::nullopt;
        AppendUtf8(out, code);
      } else {
        out += e;  // \" \\ \# and the rest stand for themselves
      }
    }
    if (i >= text.size()) return std::nullopt;
    ++i;
  } else if (text[0] == '\'') {
    for (i = 1; i < text.size() && text[i] != '\''; ++i) {
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '\'' || text[i + 1] == '\\')) {
        ++i;
      }
      out += text[i];
    }
    if (i >= text.size()) return std::nullopt;
    ++i;
  } else if (text[0] == '%') {
    i = 1;
    if (i < text.size() && (text[i] == 'q' || text[i] == 'Q')) ++i;
    if (i >= text.size()) return std::nullopt;
    char open = text[i];
    char close = open == '<'   ? '>'
                 : open == '{' ? '}'
                 : open == '(' ? ')'
                 : open == '[' ? ']'
                               : open;
    if (std::isalnum(static_cast<unsigned char>(open)) || open == ' ') return std::nullopt;
    size_t end = text.find(close, i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    out = std::string(text.substr(i + 1, end - i - 1));
    i = end + 1;
  } else {
    return std::nullopt;
  }
  text.remove_prefix(i);
  if (text.starts_with(".freeze")) text.remove_prefix(7);
  return out;
}

// "  s.name = ..." / "  spec.licenses = [...]": the attribute and what follows "=", for the
// attributes read here; nullopt for every other line.
std::optional<std::pair<std::string_view, std::string_view>> Assignment(std::string_view line) {
  line = TrimSpace(line);
  size_t dot = line.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  for (char c : line.substr(0, dot)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return std::nullopt;
  }
  std::string_view rest = line.substr(dot + 1);
  for (std::string_view attribute : {"name", "version", "licenses", "license"}) {
    if (!rest.starts_with(attribute)) continue;
    std::string_view after = TrimSpace(rest.substr(attribute.size()));
    if (!after.starts_with('=') || after.starts_with("==")) continue;
    return std::pair(attribute, TrimSpace(after.substr(1)));
  }
  return std::nullopt;
}

class GemspecAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  // Installed gems only ("specifications/NAME-VERSION.gemspec" under a gem home, default gems
  // in "specifications/default/"): a .gemspec in a source tree is a build recipe (Ruby code that
  // computes its values), not a record of an installed gem.
  bool Wants(const FileMeta& file) const override {
    if (file.size > kMaxGemspecSize || !lang::EndsWith(file.path, ".gemspec")) return false;
    std::string_view path = file.path;
    size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return false;
    std::string_view dir = path.substr(0, slash);
    return lang::EndsWith(dir, "/specifications") || dir == "specifications" ||
           lang::EndsWith(dir, "/specifications/default");
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    std::string_view text(reinterpret_cast<const char*>(content.data()), content.size());
    Package package;
    package.type = PackageType::kGem;
    package.file_path = file_path;
    size_t line_number = 0;
    AnalysisResult result;
    for (std::string_view line : SplitLines(text)) {
      ++line_number;
      auto assignment = Assignment(line);
      if (!assignment) continue;
      auto [attribute, value] = *assignment;
      const std::string place = file_path + ": line " + std::to_string(line_number);
      if (attribute == "licenses") {
        if (!value.starts_with('[')) continue;  // computed in Ruby: nothing to read
        value.remove_prefix(1);
        while (auto license = ReadRubyString(value)) {
          if (!license->empty()) package.licenses.push_back(std::move(*license));
          value = TrimSpace(value);
          if (!value.starts_with(',')) break;
          value.remove_prefix(1);
        }
        continue;
      }
      // `s.version = Gem::Version.new("1.0")` in hand-written specifications.
      if (value.starts_with("Gem::Version.new(")) value.remove_prefix(17);
      auto literal = ReadRubyString(value);
      if (!literal) {
        if (attribute != "license") {
          result.AddProblem(place + ": the " + std::string(attribute) +
                            " is not a string literal; skipped");
        }
        continue;
      }
      if (attribute == "name" && package.name.empty()) package.name = *literal;
      if (attribute == "version" && package.version.empty()) package.version = *literal;
      if (attribute == "license" && !literal->empty()) package.licenses.push_back(*literal);
    }
    if (package.name.empty() || package.version.empty()) {
      return Fail(file_path, ": no ", package.name.empty() ? "name" : "version",
                  " assignment (`s.name = \"...\"`) in the specification");
    }
    result.packages.push_back(std::move(package));
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"gemspec", 1, AnalyzerKind::kLanguage, /*installed_only=*/true};
};

// Bundler's lock file: the "specs:" of each GEM, GIT and PATH section list every resolved gem
// as "    NAME (VERSION[-PLATFORM])", four spaces in; its dependencies follow six spaces in.
class GemfileLockAnalyzer : public Analyzer {
 public:
  const AnalyzerDescriptor& descriptor() const override { return descriptor_; }

  bool Wants(const FileMeta& file) const override {
    std::string_view base = lang::BaseName(file.path);
    return file.size <= kMaxGemfileLockSize && (base == "Gemfile.lock" || base == "gems.locked");
  }

  Result<AnalysisResult> Analyze(const FileMeta& file, ByteSpan content) const override {
    const std::string file_path = "/" + std::string(file.path);
    std::string_view text(reinterpret_cast<const char*>(content.data()), content.size());
    lang::LockfilePackages packages(PackageType::kGem, file_path);
    AnalysisResult result;
    bool in_specs = false;
    bool saw_section = false;
    size_t line_number = 0;
    for (std::string_view line : SplitLines(text)) {
      ++line_number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (line.front() != ' ') {  // a section: GEM, GIT, PATH, PLATFORMS, DEPENDENCIES, ...
        saw_section = true;
        in_specs = false;
        continue;
      }
      if (line == "  specs:") {
        in_specs = true;
        continue;
      }
      if (!in_specs || !line.starts_with("    ") || line.starts_with("     ")) continue;
      std::string_view spec = line.substr(4);
      // Bundler's NAME_VERSION: "name (version)" with the platform after the first "-".
      size_t open = spec.find(" (");
      if (open == std::string_view::npos || !spec.ends_with(')')) {
        result.AddProblem(file_path + ": line " + std::to_string(line_number) +
                          ": expected \"NAME (VERSION)\" in specs; skipped");
        continue;
      }
      std::string_view name = spec.substr(0, open);
      std::string_view version = spec.substr(open + 2, spec.size() - open - 3);
      version = version.substr(0, version.find('-'));
      if (name.empty() || version.empty()) {
        result.AddProblem(file_path + ": line " + std::to_string(line_number) +
                          ": empty name or version; skipped");
        continue;
      }
      packages.Add(name, version, /*dev=*/false);
    }
    if (!saw_section) {
      return Fail(file_path, ": not a Gemfile.lock (no GEM, GIT or PATH section)");
    }
    packages.MoveTo(result);
    return result;
  }

 private:
  AnalyzerDescriptor descriptor_{"gemfile-lock", 1, AnalyzerKind::kLanguage};
};

}  // namespace

std::unique_ptr<Analyzer> MakeGemspecAnalyzer() { return std::make_unique<GemspecAnalyzer>(); }
std::unique_ptr<Analyzer> MakeGemfileLockAnalyzer() {
  return std::make_unique<GemfileLockAnalyzer>();
}

}  // namespace moat
