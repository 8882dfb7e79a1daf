// libFuzzer target for the CEL lexer, parser and compiler: any input either compiles or gives an
// error naming a position; nothing may crash, recurse without bound or leak. Compiled programs
// must report their expression back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cel/program.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::cel::CompileOptions options;
  options.allow_unknown_functions = (size % 2) == 0;
  auto program = moat::cel::Compile(text, options);
  if (program.ok()) {
    if (program->expression() != text) std::abort();
  } else if (program.error().message.empty()) {
    std::abort();
  }
  return 0;
}
