#include "core/token_file.h"

#include "core/bytes.h"
#include "core/text.h"

namespace moat {

Result<std::string> ReadTokenFile(const std::string& path) {
  MOAT_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 64 * 1024));
  std::string token(TrimSpace(text));
  if (token.empty()) return Fail(path, " is empty");
  return token;
}

}  // namespace moat
