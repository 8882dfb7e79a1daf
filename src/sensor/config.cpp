#include "sensor/config.h"

#include <cstdlib>

#include "artifact/sources.h"
#include "k8s/loader.h"
#include "scan/scanner.h"

namespace moat::sensor {

std::vector<std::string> DefaultSensitiveReadPrefixes() {
  return {"/etc/shadow",
          "/etc/gshadow",
          "/etc/sudoers",
          "/root/.ssh/",
          "/var/run/secrets/kubernetes.io/",
          "/run/secrets/kubernetes.io/",
          "/etc/kubernetes/",
          "/root/.kube/",
          "/var/lib/kubelet/pki/",
          "/root/.aws/",
          "/root/.config/gcloud/",
          "/root/.azure/",
          "/root/.docker/config.json",
          "/root/.bash_history",
          "/etc/ssh/ssh_host_"};
}

namespace {

Result<int64_t> IntValue(const k8s::Value& value, const std::string& where) {
  if (!value.IsInt()) return Fail(where, ": not an integer");
  char* end = nullptr;
  long long number = std::strtoll(value.text.c_str(), &end, 10);
  if (end == value.text.c_str() || *end != '\0') return Fail(where, ": not an integer");
  return static_cast<int64_t>(number);
}

}  // namespace

Result<SensorConfig> ParseSensorConfig(std::string_view text, const std::string& name) {
  SensorConfig config;
  config.docker_socket = DefaultDockerSocket();
  config.sensitive_read_prefixes = DefaultSensitiveReadPrefixes();
  config.image_cache_dir = DefaultCacheDir();
  MOAT_ASSIGN_OR_RETURN(k8s::Value root, k8s::ParseYamlDocument(text, name));
  if (root.IsNull()) return config;
  if (!root.IsMap()) return Fail(name, ": the configuration must be a mapping");
  for (const k8s::Value& entry : root.children) {
    const std::string where = name + ": " + entry.key;
    if (entry.key == "ringBufferMiB") {
      MOAT_ASSIGN_OR_RETURN(int64_t mib, IntValue(entry, where));
      if (mib < 1 || mib > 1024 || (mib & (mib - 1)) != 0) {
        return Fail(where, ": ", std::to_string(mib), " is not a power of two from 1 to 1024");
      }
      config.ring_buffer_bytes = static_cast<uint32_t>(mib) << 20;
    } else if (entry.key == "statsInterval") {
      MOAT_ASSIGN_OR_RETURN(int64_t seconds, IntValue(entry, where));
      if (seconds < 0 || seconds > 86400) return Fail(where, ": must be 0-86400 seconds");
      config.stats_interval_seconds = static_cast<int>(seconds);
    } else if (entry.key == "parentLevels") {
      MOAT_ASSIGN_OR_RETURN(int64_t levels, IntValue(entry, where));
      if (levels < 4 || levels > 64) return Fail(where, ": must be 4-64");
      config.parent_levels = static_cast<size_t>(levels);
    } else if (entry.key == "dockerSocket") {
      if (!entry.IsScalar()) return Fail(where, ": not a string");
      config.docker_socket = entry.IsNull() ? "" : entry.text;
    } else if (entry.key == "imageCache") {
      if (!entry.IsScalar()) return Fail(where, ": not a string");
      config.image_cache_dir = entry.IsNull() ? "" : entry.text;
    } else if (entry.key == "sensitiveReadPrefixes") {
      if (!entry.IsSequence()) return Fail(where, ": not a list");
      config.sensitive_read_prefixes.clear();
      for (const k8s::Value& item : entry.children) {
        if (!item.IsString() || item.text.empty() || item.text.size() > 64) {
          return Fail(where, ": each entry is a path prefix of 1-64 bytes");
        }
        config.sensitive_read_prefixes.push_back(item.text);
      }
      if (config.sensitive_read_prefixes.size() > 16) {
        return Fail(where, ": at most 16 prefixes (the kernel compares each open against them)");
      }
    } else if (entry.key == "syscallAttach") {
      if (!entry.IsString()) return Fail(where, ": expected auto, tracepoints or raw");
      if (entry.text == "auto") {
        config.syscall_attach = SyscallAttach::kAuto;
      } else if (entry.text == "tracepoints") {
        config.syscall_attach = SyscallAttach::kTracepoints;
      } else if (entry.text == "raw") {
        config.syscall_attach = SyscallAttach::kRaw;
      } else {
        return Fail(where, ": \"", entry.text, "\": expected auto, tracepoints or raw");
      }
    } else {
      return Fail(where,
                  ": unknown setting (ringBufferMiB, statsInterval, parentLevels, "
                  "dockerSocket, imageCache, sensitiveReadPrefixes, syscallAttach)");
    }
  }
  return config;
}

}  // namespace moat::sensor
