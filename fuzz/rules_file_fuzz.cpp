// libFuzzer target for Falco-format rule files (`--rules`, which may come from anyone who can
// write a ConfigMap): the YAML, lists, macros, exceptions, append/override and the condition
// language are read and compiled against the k8s_audit source; whatever compiles is evaluated on
// one audit event.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rules/engine.h"
#include "rules/k8s_audit.h"

namespace {

constexpr std::string_view kEvent =
    R"({"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"f","stage":"ResponseComplete",)"
    R"("verb":"create","requestURI":"/api/v1/namespaces/a/pods?x=1","user":{"username":"u",)"
    R"("groups":["g"]},"objectRef":{"resource":"pods","namespace":"a","name":"p"},)"
    R"("responseStatus":{"code":201},"requestObject":{"spec":{"containers":[{"image":"i:1",)"
    R"("securityContext":{"privileged":true}}],"volumes":[{"hostPath":{"path":"/etc"}}]}},)"
    R"("stageTimestamp":"2024-01-01T00:00:00Z"})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto source = moat::rules::MakeK8sAuditSource();
  static const moat::rules::AuditEvent event =
      moat::rules::ParseAuditEvent(std::string(kEvent), "event").value();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::rules::Engine engine;
  engine.AddSource(source);
  // A base file first, so that appends and overrides in the input have something to extend.
  if (!engine
           .AddRulesText("- list: base\n  items: [create]\n- macro: base_macro\n  condition: "
                         "ka.verb in (base)\n",
                         "base.yaml")
           .ok()) {
    std::abort();
  }
  if (!engine.AddRulesText(text, "fuzz.yaml").ok()) return 0;
  auto report = engine.Compile();
  if (!report.ok()) return 0;
  // Twice: a rule with a `threshold` of 2 completes its burst on the second.
  (void)engine.Evaluate(*source, event);
  (void)engine.Evaluate(*source, event);
  return 0;
}
