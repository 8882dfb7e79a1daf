// libFuzzer target for what `moat k8s cluster` and `moat k8s node` read from outside: API list
// response pages (objects get their kind, Secrets lose their data, ConfigMaps keep theirs for the
// credential check, continue tokens) and process command lines (the kubelet's and kube-proxy's
// flags). The objects read are then assessed and rendered like any other.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cis/docker/facts.h"
#include "cis/kubernetes-node/node.h"
#include "k8s/checks.h"
#include "k8s/cluster.h"
#include "k8s/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  moat::k8s::LoadResult loaded;
  for (const moat::k8s::ResourceKind& kind : moat::k8s::ClusterResourceKinds()) {
    if (kind.kind != "Pod" && kind.kind != "Secret" && kind.kind != "ConfigMap" &&
        kind.kind != "ClusterRoleBinding")
      continue;
    (void)moat::k8s::ParseListPage(text, kind, "https://fuzz/api?limit=500", loaded);
  }
  auto assessment = moat::k8s::Assess(std::move(loaded), moat::k8s::AssessOptions{});
  if (assessment.ok()) {
    for (std::string_view format : {"table", "json", "sarif", "junit"})
      (void)moat::k8s::RenderAssessment(*assessment, format, "fuzz");
  }
  (void)moat::cis::k8s_node::ParseFlags(moat::cis::docker::SplitCmdline(text));
  return 0;
}
