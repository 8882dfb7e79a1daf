// libFuzzer target for the kubeconfig parser: any text either resolves to a connection or is an
// error naming the file and the entry, without crashing. Files the kubeconfig names are never
// read (the reader refuses), so the fuzzer cannot wander the file system.
#include <cstddef>
#include <cstdint>
#include <string>

#include "k8s/kubeconfig.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const moat::k8s::KubeconfigFileReader no_files = [](const std::string& path) {
    return moat::Result<std::string>(moat::Fail(path, ": not read while fuzzing"));
  };
  (void)moat::k8s::ParseKubeconfig({{"/fuzz/kubeconfig", text}}, "", no_files);
  (void)moat::k8s::ParseKubeconfig({{"/fuzz/kubeconfig", text}}, "admin", no_files);
  // Merging: the same text twice, then after an empty file.
  (void)moat::k8s::ParseKubeconfig({{"a", text}, {"b", text}}, "", no_files);
  (void)moat::k8s::ParseKubeconfig({{"empty", ""}, {"a", text}}, "", no_files);
  return 0;
}
