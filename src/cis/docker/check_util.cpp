#include "cis/docker/check_util.h"

#include <cstdio>

namespace moat::cis::docker {

Outcome ForEachRunning(
    const DockerFacts& facts,
    const std::function<std::optional<std::string>(const ContainerInfo&)>& offender) {
  auto running = facts.Running();
  if (running.empty()) {
    return NotApplicable("no running containers (" + std::to_string(facts.containers.size()) +
                         " stopped)");
  }
  std::vector<std::string> evidence;
  for (const ContainerInfo* c : running) {
    if (auto why = offender(*c)) evidence.push_back(c->Describe() + ": " + *why);
  }
  if (!evidence.empty()) return Failed(std::move(evidence));
  return Pass({std::to_string(running.size()) + " running container(s) checked"});
}

Outcome AuditWatch(const DockerFacts& facts, const std::vector<std::string>& candidates) {
  std::vector<std::string> present;
  for (const auto& path : candidates) {
    if (path.empty()) continue;
    bool seen = false;
    for (const auto& p : present) seen = seen || p == path;
    if (!seen && facts.host.Stat(path).exists) present.push_back(path);
  }
  if (present.empty()) {
    std::string list;
    for (const auto& path : candidates) {
      if (!path.empty()) list += (list.empty() ? "" : ", ") + path;
    }
    return NotApplicable("not present on this host: " + list);
  }
  for (const auto& rule : facts.audit_rules) {
    for (const auto& path : present) {
      if (AuditRuleWatches(rule, path)) {
        return Pass({"audit rule \"" + rule + "\" (from " + facts.audit_source + ")"});
      }
    }
  }
  std::vector<std::string> evidence;
  for (const auto& path : present) {
    evidence.push_back("no audit rule watches " + path + " (" +
                       std::to_string(facts.audit_rules.size()) + " rules read; " +
                       facts.audit_source + ")");
  }
  return Failed(std::move(evidence));
}

std::string Octal(mode_t mode) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%04o", static_cast<unsigned>(mode & 07777));
  return buffer;
}

namespace {

std::optional<std::string> OwnershipProblem(const DockerFacts& facts, const std::string& path,
                                            const StatInfo& st, const std::string& extra_group) {
  bool group_ok = st.gid == 0;
  if (!extra_group.empty()) {
    auto gid = facts.host.GroupId(extra_group);
    group_ok = group_ok || (gid && *gid == st.gid);
  }
  if (st.uid == 0 && group_ok) return std::nullopt;
  return path + ": owner " + facts.host.UserName(st.uid) + ":" + facts.host.GroupName(st.gid) +
         " (uid " + std::to_string(st.uid) + ", gid " + std::to_string(st.gid) +
         "), want root:" + (extra_group.empty() ? "root" : extra_group);
}

std::optional<std::string> ModeProblem(const std::string& path, const StatInfo& st, mode_t max) {
  if ((st.mode & ~max & 07777) == 0) return std::nullopt;
  return path + ": mode " + Octal(st.mode) + ", want " + Octal(max) + " or more restrictive";
}

std::string Label(const std::string& path, const std::string& what) {
  return what.empty() ? path : what + " " + path;
}

void Walk(const DockerFacts& facts, const std::string& dir, int depth,
          std::vector<std::string>& files, std::vector<std::string>& errors) {
  auto names = facts.host.List(dir);
  if (!names.ok()) {
    errors.push_back(names.error().message);
    return;
  }
  for (const auto& name : *names) {
    std::string path = dir + "/" + name;
    StatInfo st = facts.host.Stat(path);
    if (st.is_dir && depth < 8) {
      Walk(facts, path, depth + 1, files, errors);
    } else if (st.exists) {
      files.push_back(path);
    }
  }
}

}  // namespace

Outcome FileOwnership(const DockerFacts& facts, const std::string& path,
                      const std::string& extra_group, const std::string& what) {
  if (path.empty()) return NotApplicable(what + " not found on this host");
  StatInfo st = facts.host.Stat(path);
  if (!st.error.empty()) return Warn("cannot stat " + Label(path, what) + ": " + st.error);
  if (!st.exists) return NotApplicable(Label(path, what) + " does not exist on this host");
  if (auto problem = OwnershipProblem(facts, path, st, extra_group)) return Failed({*problem});
  return Pass(
      {path + ": owner " + facts.host.UserName(st.uid) + ":" + facts.host.GroupName(st.gid)});
}

Outcome FilePermissions(const DockerFacts& facts, const std::string& path, mode_t max_mode,
                        const std::string& what) {
  if (path.empty()) return NotApplicable(what + " not found on this host");
  StatInfo st = facts.host.Stat(path);
  if (!st.error.empty()) return Warn("cannot stat " + Label(path, what) + ": " + st.error);
  if (!st.exists) return NotApplicable(Label(path, what) + " does not exist on this host");
  if (auto problem = ModeProblem(path, st, max_mode)) return Failed({*problem});
  return Pass({path + ": mode " + Octal(st.mode)});
}

Outcome TreeOwnership(const DockerFacts& facts, const std::string& dir) {
  StatInfo st = facts.host.Stat(dir);
  if (!st.error.empty()) return Warn("cannot stat " + dir + ": " + st.error);
  if (!st.exists) return NotApplicable(dir + " does not exist on this host");
  std::vector<std::string> files{dir}, errors;
  Walk(facts, dir, 0, files, errors);
  if (!errors.empty()) return Warn("cannot read " + dir, errors);
  std::vector<std::string> evidence;
  for (const auto& file : files) {
    if (auto problem = OwnershipProblem(facts, file, facts.host.Stat(file), "")) {
      evidence.push_back(*problem);
    }
  }
  if (!evidence.empty()) return Failed(std::move(evidence));
  return Pass({std::to_string(files.size()) + " entries under " + dir + " owned by root:root"});
}

Outcome TreePermissions(const DockerFacts& facts, const std::string& dir, mode_t max_mode) {
  StatInfo st = facts.host.Stat(dir);
  if (!st.error.empty()) return Warn("cannot stat " + dir + ": " + st.error);
  if (!st.exists) return NotApplicable(dir + " does not exist on this host");
  std::vector<std::string> files, errors;
  Walk(facts, dir, 0, files, errors);
  if (!errors.empty()) return Warn("cannot read " + dir, errors);
  if (files.empty()) return NotApplicable("no certificate files under " + dir);
  std::vector<std::string> evidence;
  for (const auto& file : files) {
    if (auto problem = ModeProblem(file, facts.host.Stat(file), max_mode)) {
      evidence.push_back(*problem);
    }
  }
  if (!evidence.empty()) return Failed(std::move(evidence));
  return Pass({std::to_string(files.size()) + " files under " + dir + " at " + Octal(max_mode) +
               " or more restrictive"});
}

std::string UnitFile(const DockerFacts& facts, const std::string& unit) {
  for (const char* dir :
       {"/etc/systemd/system/", "/run/systemd/system/", "/usr/local/lib/systemd/system/",
        "/usr/lib/systemd/system/", "/lib/systemd/system/"}) {
    std::string path = dir + unit;
    StatInfo st = facts.host.Stat(path);
    if (st.exists || !st.error.empty()) return path;
  }
  return "";
}

std::string ContainerdSocket(const DockerFacts& facts) {
  auto setting = facts.daemon.Lookup("containerd", "containerd");
  if (!setting.values.empty() && !setting.values.front().empty()) return setting.values.front();
  return "/run/containerd/containerd.sock";
}

bool IsTrue(const std::string& value) { return value == "true" || value == "1"; }

std::string UnsetWhere(const DockerFacts& facts, const std::string& flag, const std::string& key) {
  std::string where =
      facts.daemon.json_exists
          ? "daemon.json (" + facts.daemon.json_path + "): \"" + key + "\" not set"
          : "daemon.json: absent (" + facts.daemon.json_path + "), \"" + key + "\" not set";
  if (!flag.empty()) where += ", no --" + flag + " on the dockerd command line";
  return where;
}

Outcome BoolSetting(const DockerFacts& facts, const std::string& flag, const std::string& key,
                    bool want, bool default_value) {
  auto setting = facts.daemon.Lookup(flag, key);
  using Source = DaemonConfig::Setting::Source;
  if (setting.source == Source::kUnknown) {
    return Warn("the dockerd command line could not be read and daemon.json does not set \"" + key +
                "\"");
  }
  bool value = default_value;
  std::string evidence;
  if (setting.source == Source::kUnset) {
    evidence =
        UnsetWhere(facts, flag, key) + " (default " + (default_value ? "true" : "false") + ")";
  } else {
    value = !setting.values.empty() && IsTrue(setting.values.back());
    evidence = setting.where;
  }
  if (value == want) return Pass({evidence});
  return Failed({evidence});
}

}  // namespace moat::cis::docker
