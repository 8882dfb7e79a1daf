#include "artifact/reference.h"

#include <cctype>
#include <vector>

namespace moat {
namespace {

constexpr std::string_view kDockerHub = "docker.io";
constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// One path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)*
bool IsValidPathComponent(std::string_view component) {
  if (component.empty() || !IsLowerAlnum(component.front()) || !IsLowerAlnum(component.back())) {
    return false;
  }
  size_t i = 0;
  while (i < component.size()) {
    if (IsLowerAlnum(component[i])) {
      ++i;
      continue;
    }
    // A separator run, followed by an alphanumeric (guaranteed by the back() check).
    size_t start = i;
    while (i < component.size() && !IsLowerAlnum(component[i])) ++i;
    std::string_view separator = component.substr(start, i - start);
    bool all_dashes = separator.find_first_not_of('-') == std::string_view::npos;
    if (!(separator == "." || separator == "_" || separator == "__" || all_dashes)) return false;
  }
  return true;
}

// host[:port], host = labels of [A-Za-z0-9-] separated by "." or a bracketed IPv6 address.
bool IsValidDomain(std::string_view domain) {
  if (domain.empty()) return false;
  std::string_view host = domain;
  std::string_view port;
  if (host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : host.substr(1, close - 1)) {
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':')) return false;
    }
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    size_t label_start = 0;
    while (label_start <= host.size()) {
      size_t dot = host.find('.', label_start);
      if (dot == std::string_view::npos) dot = host.size();
      std::string_view label = host.substr(label_start, dot - label_start);
      if (label.empty() || label.front() == '-' || label.back() == '-') return false;
      for (char c : label) {
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-')) return false;
      }
      label_start = dot + 1;
    }
  }
  for (char c : port) {
    if (c < '0' || c > '9') return false;
  }
  return port.size() <= 5;
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag) {
    if (!(word(c) || c == '.' || c == '-')) return false;
  }
  return true;
}

Result<std::string> ValidateDigest(std::string_view digest, std::string_view text) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) {
    return Fail("invalid image reference \"", text, "\": digest \"", digest,
                "\" lacks an algorithm");
  }
  std::string_view algorithm = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  if (algorithm != "sha256") {
    return Fail("invalid image reference \"", text, "\": unsupported digest algorithm \"",
                algorithm, "\"");
  }
  if (hex.size() != 64) {
    return Fail("invalid image reference \"", text, "\": sha256 digest must have 64 hex digits");
  }
  for (char c : hex) {
    if (!IsHex(c)) {
      return Fail("invalid image reference \"", text, "\": digest must be lower-case hexadecimal");
    }
  }
  return std::string(digest);
}

}  // namespace

Result<ImageReference> ImageReference::Parse(std::string_view text) {
  if (text.empty()) return Fail("invalid image reference: empty");
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
      return Fail("invalid image reference \"", text, "\": contains a space or control character");
    }
  }
  ImageReference reference;
  std::string_view name = text;
  size_t at = name.find('@');
  if (at != std::string_view::npos) {
    MOAT_ASSIGN_OR_RETURN(reference.digest, ValidateDigest(name.substr(at + 1), text));
    name = name.substr(0, at);
  }
  size_t last_slash = name.rfind('/');
  size_t last_colon = name.rfind(':');
  if (last_colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || last_colon > last_slash)) {
    std::string_view tag = name.substr(last_colon + 1);
    if (!IsValidTag(tag))
      return Fail("invalid image reference \"", text, "\": bad tag \"", tag, "\"");
    reference.tag = std::string(tag);
    name = name.substr(0, last_colon);
  }
  if (name.empty()) return Fail("invalid image reference \"", text, "\": empty repository name");

  std::string_view remainder = name;
  size_t first_slash = name.find('/');
  if (first_slash != std::string_view::npos) {
    std::string_view first = name.substr(0, first_slash);
    if (first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
        first == "localhost") {
      if (!IsValidDomain(first)) {
        return Fail("invalid image reference \"", text, "\": bad registry host \"", first, "\"");
      }
      reference.registry = std::string(first);
      remainder = name.substr(first_slash + 1);
    }
  }
  if (reference.registry.empty() || reference.registry == "index.docker.io") {
    reference.registry = std::string(kDockerHub);
  }
  if (remainder.empty())
    return Fail("invalid image reference \"", text, "\": empty repository name");
  size_t start = 0;
  while (start <= remainder.size()) {
    size_t slash = remainder.find('/', start);
    if (slash == std::string_view::npos) slash = remainder.size();
    std::string_view component = remainder.substr(start, slash - start);
    if (!IsValidPathComponent(component)) {
      bool has_upper = false;
      for (char c : component) has_upper = has_upper || (c >= 'A' && c <= 'Z');
      if (has_upper) {
        return Fail("invalid image reference \"", text, "\": repository name must be lowercase");
      }
      return Fail("invalid image reference \"", text, "\": bad repository path component \"",
                  component, "\"");
    }
    start = slash + 1;
  }
  reference.repository = std::string(remainder);
  if (reference.registry == kDockerHub && reference.repository.find('/') == std::string::npos) {
    reference.repository = "library/" + reference.repository;
  }
  if (reference.registry.size() + 1 + reference.repository.size() > kMaxNameLength) {
    return Fail("invalid image reference \"", text, "\": repository name longer than ",
                std::to_string(kMaxNameLength), " characters");
  }
  if (reference.tag.empty() && reference.digest.empty()) reference.tag = "latest";
  return reference;
}

std::string ImageReference::ToString() const {
  std::string name = registry + "/" + repository;
  if (!digest.empty()) return name + "@" + digest;
  return name + ":" + tag;
}

std::string ImageReference::FamiliarName() const {
  if (registry != kDockerHub) return registry + "/" + repository;
  if (repository.rfind("library/", 0) == 0 && repository.find('/', 8) == std::string::npos) {
    return repository.substr(8);
  }
  return repository;
}

std::string ImageReference::ApiHost() const {
  if (registry == kDockerHub) return "registry-1.docker.io";
  return registry;
}

}  // namespace moat
