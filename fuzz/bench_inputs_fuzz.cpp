// libFuzzer target for the untrusted inputs of `moat bench docker`: Engine API replies,
// daemon.json, the dockerd command line, audit rules, /proc and /etc files. The first byte picks
// the parser.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cis/docker/facts.h"

using namespace moat::cis::docker;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 16) {
    case 0: {
      auto c = ParseContainerInspect(text);
      if (c.ok()) (void)c->Describe();
      break;
    }
    case 1: {
      auto image = ParseImageInspect(text);
      if (image.ok()) (void)image->Describe();
      break;
    }
    case 2: {
      auto info = ParseInfo(text);
      if (info.ok()) {
        (void)ParseVersion(text, *info);
        (void)info->SecurityOptionValue("seccomp", "profile");
      }
      break;
    }
    case 3:
      (void)ParseNetworks(text);
      break;
    case 4:
      (void)ParseDaemonJson(text, "daemon.json");
      break;
    case 5: {
      auto argv = SplitCmdline(text);
      (void)ParseDockerdFlags(argv);
      break;
    }
    case 6:
      for (const auto& rule : ParseAuditRules(text))
        (void)AuditRuleWatches(rule, "/usr/bin/dockerd");
      break;
    case 7:
      (void)ParseMounts(text);
      break;
    case 8:
      (void)GroupMembers(text, "docker");
      break;
    case 9:
      (void)ParseProcNetTcp(text, data[0] & 16);
      break;
    case 10:
      (void)ParseTopProcesses(text);
      (void)ParseExecInspect(text);
      break;
    case 11:
      (void)ParseServices(text);
      break;
    case 12: {
      SwarmFacts swarm;
      (void)ParseSwarm(text, swarm);
      (void)ParseNodes(text, swarm);
      break;
    }
    case 13:
      (void)ParseImageHistory(text);
      (void)ParseContainerIds(text);
      break;
    case 14:
      (void)ParsePlugins(text);
      (void)ParseVolumeCount(text);
      break;
    default: {
      DaemonConfig config;
      auto keys = ParseDaemonJson(text, "daemon.json");
      if (keys.ok()) config.json = *keys;
      (void)config.Lookup("icc", "icc");
      (void)config.Lookup("host", "hosts");
      break;
    }
  }
  return 0;
}
