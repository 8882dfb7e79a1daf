// libFuzzer target for the /proc and /etc texts the sensor parses from inside containers, which
// their processes control: /proc/PID/maps (mapped file names are any bytes a process chose) for
// the in-use export, and passwd(5) of a container's image for user.name. Any input gives a
// result; nothing reads past it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sensor/in_use.h"
#include "sensor/user_names.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string& file : moat::sensor::ExecutableMappings(text)) {
    if (file.empty() || file.front() != '/') __builtin_trap();
  }
  (void)moat::sensor::ParsePasswd(text);
  return 0;
}
