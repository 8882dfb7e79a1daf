// libFuzzer target for the Kubernetes manifest loader and the checks: any input loads (or is an
// error with a place), every check runs on whatever loaded, and every writer renders the result,
// without crashing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "k8s/checks.h"
#include "k8s/loader.h"
#include "k8s/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::k8s::LoadLimits limits;
  limits.max_nodes_per_document = 200'000;
  limits.max_alias_nodes = 20'000;
  moat::k8s::LoadResult loaded;
  moat::k8s::ParseManifests(text, "fuzz.yaml", loaded, limits);
  for (const moat::k8s::Object& object : loaded.objects) {
    (void)moat::k8s::EvaluatePodSecurity(object, "restricted", -1);
    (void)moat::k8s::EvaluatePodSecurity(object, "baseline", 18);
  }
  moat::k8s::AssessOptions every_check;
  every_check.checks = {"all", "optional"};  // the optional policies too
  auto assessment = moat::k8s::Assess(std::move(loaded), every_check);
  if (!assessment.ok()) return 0;
  for (std::string_view format : {"table", "json", "sarif", "junit"})
    (void)moat::k8s::RenderAssessment(*assessment, format, "fuzz");
  moat::k8s::AssessOptions options;
  (void)moat::k8s::ParseConfig(text, "fuzz-config.yaml", options);
  return 0;
}
