#include "analyzer/lang/python_metadata.h"

#include <cctype>
#include <utility>

#include "analyzer/lang/text_util.h"

namespace moat::lang {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

struct Header {
  std::string_view key;
  std::string value;
};

// Reads header fields the way Python's email parser does for this purpose: a line starting with
// whitespace continues the previous field, a blank line ends the block, and a line that is
// neither a field nor a continuation also ends it (Python treats it as the start of the body).
std::vector<Header> ReadHeaderBlock(std::string_view text, size_t& end_line) {
  std::vector<Header> headers;
  std::vector<std::string_view> lines = SplitLines(text);
  end_line = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (TrimSpace(line).empty()) {
      end_line = i + 1;
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (headers.empty()) {
        end_line = i + 1;
        break;
      }
      headers.back().value += '\n';
      headers.back().value += TrimSpace(line);
      continue;
    }
    size_t colon = line.find(':');
    std::string_view key = colon == std::string_view::npos ? "" : TrimSpace(line.substr(0, colon));
    if (key.empty() || key.find_first_of(" \t") != std::string_view::npos) {
      end_line = i + 1;
      break;
    }
    headers.push_back({key, std::string(TrimSpace(line.substr(colon + 1)))});
  }
  return headers;
}

// "License :: OSI Approved :: MIT License" -> "MIT License"; classifiers that name no licence
// ("License :: OSI Approved") give nothing.
std::string LicenseFromClassifier(std::string_view classifier) {
  constexpr std::string_view kPrefix = "License ::";
  if (classifier.substr(0, kPrefix.size()) != kPrefix) return "";
  std::string_view name = TrimSpace(classifier.substr(classifier.rfind("::") + 2));
  if (name.empty() || name == "OSI Approved") return "";
  return std::string(name);
}

}  // namespace

Result<PythonMetadata> ParsePythonMetadata(std::string_view text, std::string_view source) {
  size_t end_line = 0;
  std::vector<Header> headers = ReadHeaderBlock(text, end_line);

  PythonMetadata metadata;
  std::string license_expression;
  std::string license;
  std::vector<std::string> classifier_licenses;
  for (Header& header : headers) {
    if (EqualsIgnoreCase(header.key, "Name")) {
      if (metadata.name.empty()) metadata.name = std::move(header.value);
    } else if (EqualsIgnoreCase(header.key, "Version")) {
      if (metadata.version.empty()) metadata.version = std::move(header.value);
    } else if (EqualsIgnoreCase(header.key, "License-Expression")) {
      license_expression = std::move(header.value);
    } else if (EqualsIgnoreCase(header.key, "License")) {
      license = std::move(header.value);
    } else if (EqualsIgnoreCase(header.key, "Classifier")) {
      std::string from_classifier = LicenseFromClassifier(header.value);
      if (!from_classifier.empty()) classifier_licenses.push_back(std::move(from_classifier));
    }
  }
  if (metadata.name.empty() || metadata.version.empty()) {
    return Fail(source, ": no ", metadata.name.empty() ? "Name" : "Version",
                " field in the metadata header (header block ends at line ",
                std::to_string(end_line), ")");
  }

  // License-Expression (PEP 639) is the authoritative SPDX expression. The free-text License
  // field comes next, unless it holds a whole licence text (several lines): then the trove
  // classifiers say it better, and a licence text without classifiers gives no name at all.
  if (!license_expression.empty()) {
    metadata.licenses.push_back(std::move(license_expression));
  } else if (!license.empty() && license != "UNKNOWN" && license.find('\n') == std::string::npos) {
    metadata.licenses.push_back(std::move(license));
  } else {
    for (std::string& name : classifier_licenses) {
      bool seen = false;
      for (const std::string& existing : metadata.licenses) seen = seen || existing == name;
      if (!seen) metadata.licenses.push_back(std::move(name));
    }
  }
  return metadata;
}

}  // namespace moat::lang
