#pragma once
// Parser of Python core metadata (PEP 241/314/345/566/643: METADATA, PKG-INFO): the RFC 822 style
// header block of a *.dist-info/METADATA or *.egg-info/PKG-INFO file.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace moat::lang {

struct PythonMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> licenses;
};

/// Parses the header block (up to the first blank line; the body is the long description).
/// `source` names the file in error messages. Fails when Name or Version is missing.
Result<PythonMetadata> ParsePythonMetadata(std::string_view text, std::string_view source);

}  // namespace moat::lang
