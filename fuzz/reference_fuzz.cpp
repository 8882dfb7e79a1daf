// Fuzzes image reference parsing; a parsed reference must survive a round trip unchanged.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "artifact/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto reference = moat::ImageReference::Parse(text);
  if (!reference.ok()) return 0;
  std::string normalized = reference->ToString();
  auto again = moat::ImageReference::Parse(normalized);
  if (!again.ok() || again->ToString() != normalized) __builtin_trap();
  (void)reference->FamiliarName();
  (void)reference->ApiHost();
  return 0;
}
