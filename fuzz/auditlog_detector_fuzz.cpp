// libFuzzer target for what `moat audit-log serve` and `watch` do with untrusted audit events
// (their request bodies are whatever a cluster user sent the API server): the input is one
// webhook batch (an EventList or an Event), run through the built-in rules and a baseline that is
// past learning, so that every anomaly path (operations, images of every workload kind, role
// bindings of service accounts) is judged. Nothing may crash; a bad batch is only counted.
#include <cstddef>
#include <cstdint>
#include <string>

#include "auditlog/baseline.h"
#include "auditlog/detector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using moat::auditlog::Baseline;
  using moat::auditlog::Detector;
  static Baseline* baseline = [] {
    moat::auditlog::BaselineOptions options;
    options.window = std::chrono::seconds(0);  // judging from the first event
    options.max_identities = 64;               // and hitting the bounds
    options.max_operations_per_identity = 64;
    options.max_images_per_namespace = 64;
    options.max_namespaces = 64;
    return Baseline::Open(options)->release();
  }();
  static Detector* detector = Detector::Create({}, nullptr, baseline)->release();
  detector->ProcessBatch(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  return 0;
}
