// libFuzzer target for the agent's spool segments as found on disk after a crash or damage: the
// input is one segment file (after a valid first record, so that the fuzzer reaches the record
// walk quickly). Opening must cut off what is damaged and never crash, and what is kept must read
// back as a gap-free stream of JSON objects that appends continue.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "agent/spool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    char pattern[] = "/tmp/moat-spool-fuzz-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) std::abort();
    return std::string(pattern);
  }();
  static const std::string first_record = [] {
    std::filesystem::remove_all(dir + "/s");
    auto spool = moat::agent::Spool::Open(dir + "/s", {});
    if (!spool.ok() || !(*spool)->Append(moat::agent::MessageKind::kHeartbeat, "t", "{}").ok()) {
      std::abort();
    }
    std::ifstream in(dir + "/s/seg-00000000000000000001.spool", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  std::filesystem::remove_all(dir + "/s");
  std::filesystem::create_directories(dir + "/s");
  {
    std::ofstream out(dir + "/s/seg-00000000000000000001.spool", std::ios::binary);
    out << first_record;
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto spool = moat::agent::Spool::Open(dir + "/s", {});
  if (!spool.ok()) return 0;
  auto messages = (*spool)->ReadFrom(1, 1u << 20, 1ull << 40);
  if (!messages.ok() || messages->empty() || messages->front().seq != 1) std::abort();
  uint64_t expected = 1;
  for (const auto& message : *messages) {
    if (message.seq != expected || message.json.front() != '{' || message.json.back() != '}') {
      std::abort();
    }
    expected = message.through + 1;
  }
  auto next = (*spool)->Append(moat::agent::MessageKind::kHeartbeat, "t", "{}");
  if (!next.ok() || *next != expected) std::abort();
  return 0;
}
