// Node facts: the kubelet and kube-proxy processes from the host's /proc, their config files and
// the files they name, everything under --host-root.

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "cis/kubernetes-node/node.h"
#include "k8s/loader.h"

namespace moat::cis::k8s_node {
namespace {

using k8s::ParseYamlDocument;

// Where kubeadm, kops, k3s-style installs and distribution packages put things (kube-bench's
// defaults); the first that exists is used when no flag names the file.
constexpr const char* kKubeletConfigCandidates[] = {
    "/var/lib/kubelet/config.yaml",
    "/etc/kubernetes/kubelet-config.yaml",
    "/etc/kubernetes/kubelet/kubelet-config.json",
    "/home/kubernetes/kubelet-config.yaml",
};
constexpr const char* kKubeletKubeconfigCandidates[] = {
    "/etc/kubernetes/kubelet.conf",
    "/etc/kubernetes/kubelet-kubeconfig",
    "/var/lib/kubelet/kubeconfig",
    "/etc/kubernetes/kubelet/kubeconfig",
};
constexpr const char* kKubeletServiceCandidates[] = {
    "/etc/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf",
    "/etc/systemd/system/kubelet.service",
    "/lib/systemd/system/kubelet.service",
    "/usr/lib/systemd/system/kubelet.service",
};
constexpr const char* kProxyKubeconfigCandidates[] = {
    "/etc/kubernetes/proxy.conf",
    "/var/lib/kube-proxy/kubeconfig",
    "/etc/kubernetes/kube-proxy.kubeconfig",
};

template <size_t N>
std::string FirstExisting(const cis::docker::HostFs& host, const char* const (&candidates)[N]) {
  for (const char* path : candidates) {
    if (host.Stat(path).exists) return path;
  }
  return "";
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// The first process whose argv[0] names `binary` (hyperkube-style "kubelet" as argv[1] too).
ProcessInfo FindProcess(const cis::docker::HostFs& host, std::string_view binary) {
  ProcessInfo info;
  auto pids = host.List("/proc");
  if (!pids.ok()) return info;
  std::vector<int> numbers;
  for (const std::string& name : *pids) {
    if (name.empty() || name.size() > 9 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }))
      continue;
    numbers.push_back(std::atoi(name.c_str()));
  }
  std::sort(numbers.begin(), numbers.end());  // stable choice: the oldest pid
  for (int pid : numbers) {
    auto cmdline = host.Read("/proc/" + std::to_string(pid) + "/cmdline", 1 << 20);
    if (!cmdline.ok() || cmdline->empty()) continue;
    std::vector<std::string> argv = cis::docker::SplitCmdline(*cmdline);
    while (!argv.empty() && argv.back().empty()) argv.pop_back();  // the trailing NUL
    if (argv.empty()) continue;
    size_t skip = 1;
    if (BaseName(argv[0]) != binary) {
      if (BaseName(argv[0]) != "hyperkube" || argv.size() < 2 || argv[1] != binary) continue;
      skip = 2;
    }
    info.found = true;
    info.pid = pid;
    info.flags = ParseFlags({argv.begin() + static_cast<long>(skip), argv.end()});
    info.argv = std::move(argv);
    return info;
  }
  return info;
}

/// Reads and parses a config file; a missing file is not an error (the caller decides).
void ReadConfig(const cis::docker::HostFs& host, const std::string& input, ConfigFile& config,
                NodeFacts& facts, std::vector<std::string>& notes) {
  if (config.path.empty()) return;
  cis::docker::StatInfo st = host.Stat(config.path);
  if (!st.error.empty()) {
    facts.input_errors[input] = config.path + ": " + st.error;
  } else if (st.exists) {
    config.exists = true;
    auto text = host.Read(config.path, 4 << 20);
    if (!text.ok()) {
      facts.input_errors[input] = text.error().message;
    } else {
      auto root = ParseYamlDocument(*text, host.Resolve(config.path));
      if (!root.ok()) {
        facts.input_errors[input] = root.error().message;
      } else if (!root->IsMap() && !root->IsNull()) {
        facts.input_errors[input] = config.path + ": not a map";
      } else {
        config.root = std::move(*root);
      }
    }
  }
  if (auto it = facts.input_errors.find(input); it != facts.input_errors.end()) {
    notes.push_back(input + ": " + it->second);
  }
}

}  // namespace

std::map<std::string, std::string> ParseFlags(const std::vector<std::string>& args) {
  std::map<std::string, std::string> flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') continue;
    arg.remove_prefix(arg[1] == '-' ? 2 : 1);
    if (arg.empty()) break;  // "--": the rest are not flags
    size_t equals = arg.find('=');
    if (equals != std::string_view::npos) {
      flags[std::string(arg.substr(0, equals))] = std::string(arg.substr(equals + 1));
    } else if (i + 1 < args.size() && !args[i + 1].empty() && args[i + 1][0] != '-') {
      // pflag: "--name value" for value flags; a boolean flag never takes the next word, but
      // the kubelet's positional arguments are none, so the next word is the value.
      flags[std::string(arg)] = args[++i];
    } else {
      flags[std::string(arg)] = "true";
    }
  }
  return flags;
}

const std::string* ProcessInfo::Flag(std::string_view name) const {
  auto it = flags.find(std::string(name));
  return it == flags.end() ? nullptr : &it->second;
}

const std::string* NodeFacts::InputError(std::string_view input) const {
  auto it = input_errors.find(std::string(input));
  return it == input_errors.end() ? nullptr : &it->second;
}

NodeFacts CollectNodeFacts(const CollectOptions& options, std::vector<std::string>& notes) {
  NodeFacts facts;
  facts.host = cis::docker::HostFs(options.host_root);
  facts.kubelet = FindProcess(facts.host, "kubelet");
  if (!facts.kubelet.found) {
    const std::string why = "no kubelet process found in " + facts.host.Resolve("/proc");
    facts.input_errors["kubelet.process"] = why;
    notes.push_back("kubelet.process: " + why +
                    "; only the files at their default places are checked");
  }
  if (const std::string* config = facts.kubelet.Flag("config")) {
    facts.kubelet_config.path = *config;
  } else {
    facts.kubelet_config.path = FirstExisting(facts.host, kKubeletConfigCandidates);
  }
  ReadConfig(facts.host, "kubelet.config", facts.kubelet_config, facts, notes);
  if (facts.kubelet.Flag("config") != nullptr && !facts.kubelet_config.exists &&
      !facts.InputError("kubelet.config")) {
    facts.input_errors["kubelet.config"] =
        facts.kubelet_config.path + " (named by --config) does not exist";
    notes.push_back("kubelet.config: " + facts.input_errors["kubelet.config"]);
  }
  if (const std::string* kubeconfig = facts.kubelet.Flag("kubeconfig")) {
    facts.kubelet_kubeconfig = *kubeconfig;
  } else {
    facts.kubelet_kubeconfig = FirstExisting(facts.host, kKubeletKubeconfigCandidates);
  }
  facts.kubelet_service = FirstExisting(facts.host, kKubeletServiceCandidates);

  facts.proxy = FindProcess(facts.host, "kube-proxy");
  if (const std::string* config = facts.proxy.Flag("config")) {
    facts.proxy_config.path = *config;
    ReadConfig(facts.host, "proxy.config", facts.proxy_config, facts, notes);
  }
  if (const std::string* kubeconfig = facts.proxy.Flag("kubeconfig")) {
    facts.proxy_kubeconfig = *kubeconfig;
  } else if (const Value* path = facts.proxy_config.root.Path({"clientConnection", "kubeconfig"});
             path != nullptr && !path->Str().empty()) {
    facts.proxy_kubeconfig = path->text;
  } else {
    facts.proxy_kubeconfig = FirstExisting(facts.host, kProxyKubeconfigCandidates);
  }
  return facts;
}

Setting NodeFacts::Kubelet(std::string_view flag, std::string_view config_path,
                           std::optional<std::string> config_default,
                           std::optional<std::string> flag_default) const {
  Setting setting;
  if (const std::string* value = kubelet.Flag(flag)) {
    setting.source = Setting::Source::kFlag;
    setting.value = *value;
    setting.where = "kubelet --" + std::string(flag) + "=" + *value;
    return setting;
  }
  const bool uses_config = kubelet_config.exists;
  if (uses_config && !config_path.empty()) {
    const Value* v = &kubelet_config.root;
    size_t start = 0;
    while (v != nullptr && start <= config_path.size()) {
      size_t dot = config_path.find('.', start);
      if (dot == std::string_view::npos) dot = config_path.size();
      v = v->Field(config_path.substr(start, dot - start));
      start = dot + 1;
    }
    if (v != nullptr) {
      setting.source = Setting::Source::kConfig;
      std::string text;
      if (v->IsScalar()) {
        text = v->text;
      } else {
        for (const Value& item : v->Items()) text += (text.empty() ? "" : ",") + item.text;
        for (const Value& entry : v->Entries()) {
          text += (text.empty() ? "" : ",") + entry.key + "=" + entry.text;
        }
      }
      setting.value = text;
      setting.where = kubelet_config.path + ": " + std::string(config_path) + ": " + text;
      return setting;
    }
  }
  setting.source = Setting::Source::kDefault;
  setting.value = uses_config ? config_default : flag_default;
  const std::string unset =
      "--" + std::string(flag) +
      (config_path.empty() ? std::string() : " and " + std::string(config_path)) + " not set";
  setting.where = setting.value ? unset + " (default " + *setting.value + ")" : unset;
  return setting;
}

}  // namespace moat::cis::k8s_node
