// libFuzzer target for Kubernetes audit events (the input of `moat audit-log scan/watch/serve`):
// one event and an EventList batch are decoded, then every ka.*/jevt.* field of the k8s_audit
// source is extracted from each decoded event through a rule that names them all, and an alert is
// made (output formatting, output_fields JSON, resources) whose canonical JSON must parse back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/alert.h"
#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace {

struct Setup {
  moat::rules::Engine engine;
  std::shared_ptr<const moat::rules::EventSource> source = moat::rules::MakeK8sAuditSource();

  Setup() {
    engine.AddSource(source);
    // One rule whose output names every field (with an argument where the field takes one), and
    // whose condition is always true, so every extractor runs on every decoded event.
    std::string output;
    for (std::string_view field : moat::rules::K8sAuditFieldNames()) {
      std::string name(field);
      if (name == "ka.uri.param") name += "[command]";
      if (name == "jevt.value") name += "[/requestObject/spec/containers/0]";
      if (name == "ka.req.binding.subject.has_name") name += "[admin]";
      if (name == "ka.req.volume.hostpath") name += "[/etc*]";
      output += name + "=%" + name + " ";
    }
    output += "first_image=%ka.req.pod.containers.image[0] rule1=%ka.req.role.rules.verbs[1]";
    const std::string rules =
        "- rule: all fields\n  desc: d\n  condition: ka.verb exists or not "
        "ka.verb exists\n  output: \"" +
        output + "\"\n  priority: info\n  source: k8s_audit\n";
    if (!engine.AddRulesText(rules, "fuzz-rules.yaml").ok() || !engine.Compile().ok()) {
      std::abort();
    }
  }
};

void Check(const Setup& setup, const moat::rules::AuditEvent& event) {
  for (const moat::Alert& alert : setup.engine.Evaluate(*setup.source, event)) {
    auto again = moat::ParseAlert(moat::AlertToJson(alert), "canonical");
    if (!again.ok()) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Setup setup;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto one = moat::rules::ParseAuditEvent(text, "fuzz.json");
  if (one.ok()) Check(setup, *one);
  auto batch = moat::rules::ParseAuditEvents(text, "fuzz-batch.json");
  if (batch.ok()) {
    for (const auto& event : *batch) Check(setup, event);
  }
  return 0;
}
