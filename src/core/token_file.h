#pragma once
// Bearer tokens kept in files (`--token-file`, a Kubernetes Secret mounted as a file).

#include <string>

#include "core/result.h"

namespace moat {

/// The token in `path`: the file's text without surrounding whitespace. A missing, unreadable,
/// larger than 64 KiB or empty file is an error naming the file.
Result<std::string> ReadTokenFile(const std::string& path);

}  // namespace moat
