#include "rules/k8s_audit.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "rules/image_name.h"

namespace moat::rules {
namespace {

using Kind = JsonDoc::Kind;
constexpr uint32_t kNone = JsonDoc::kNone;

// How a field is extracted; see kFields for names and docs/rules.md for their meaning.
enum class K8sField : uint8_t {
  kAuditId,
  kStage,
  kAuthDecision,
  kAuthReason,
  kUserName,
  kUserGroups,
  kImpUserName,
  kVerb,
  kUri,
  kUriParam,
  kTargetName,
  kTargetNamespace,
  kTargetResource,
  kTargetSubresource,
  kTargetPodName,
  kBindingSubjects,
  kBindingSubjectUserNames,
  kBindingSubjectServiceAccountNames,
  kBindingSubjectServiceAccountNsNames,
  kBindingSubjectGroupNames,
  kBindingSubjectHasName,
  kBindingRole,
  kConfigMapName,
  kConfigMapObj,
  kContainersImage,
  kContainerImage,
  kContainersImageRepository,
  kContainerImageRepository,
  kHostIpc,
  kHostNetwork,
  kHostPid,
  kContainersHostPort,
  kContainersPrivileged,
  kContainerPrivileged,
  kContainersAllowPrivilegeEscalation,
  kContainersReadOnlyFs,
  kPodRunAsUser,
  kContainersRunAsUser,
  kContainersEffRunAsUser,
  kPodRunAsGroup,
  kContainersRunAsGroup,
  kContainersEffRunAsGroup,
  kContainersProcMount,
  kContainersAddCapabilities,
  kPodFsGroup,
  kPodSupplementalGroups,
  kRoleRules,
  kRoleRulesApiGroups,
  kRoleRulesNonResourceUrls,
  kRoleRulesVerbs,
  kRoleRulesResources,
  kServiceType,
  kServicePorts,
  kVolumesHostPath,
  kVolumeHostPath,
  kVolumesFlexVolumeDriver,
  kVolumesVolumeType,
  kRespName,
  kResponseCode,
  kResponseReason,
  kUserAgent,
  kSourceIps,
  kJevtTime,
  kJevtTimeIso8601,
  kJevtRawTime,
  kJevtValue,
  kJevtObj,
};

// The argument a field takes: none, an index into its list ([0]), a key (uri.param[x]) or a
// required argument (jevt.value[/ptr]).
enum class ArgumentKind : uint8_t { kNone, kIndex, kRequired };

struct FieldSpec {
  std::string_view name;
  K8sField field;
  FieldType type;
  bool is_list;
  ArgumentKind argument;
};

constexpr FieldType S = FieldType::kString;
constexpr FieldType I = FieldType::kInt;
constexpr FieldType B = FieldType::kBool;
constexpr ArgumentKind kNoArg = ArgumentKind::kNone;
constexpr ArgumentKind kIdx = ArgumentKind::kIndex;
constexpr ArgumentKind kReq = ArgumentKind::kRequired;

constexpr FieldSpec kFields[] = {
    {"ka.auditid", K8sField::kAuditId, S, false, kNoArg},
    {"ka.stage", K8sField::kStage, S, false, kNoArg},
    {"ka.auth.decision", K8sField::kAuthDecision, S, false, kNoArg},
    {"ka.auth.reason", K8sField::kAuthReason, S, false, kNoArg},
    {"ka.user.name", K8sField::kUserName, S, false, kNoArg},
    {"ka.user.groups", K8sField::kUserGroups, S, true, kIdx},
    {"ka.impuser.name", K8sField::kImpUserName, S, false, kNoArg},
    {"ka.verb", K8sField::kVerb, S, false, kNoArg},
    {"ka.uri", K8sField::kUri, S, false, kNoArg},
    {"ka.uri.param", K8sField::kUriParam, S, false, kReq},
    {"ka.target.name", K8sField::kTargetName, S, false, kNoArg},
    {"ka.target.namespace", K8sField::kTargetNamespace, S, false, kNoArg},
    {"ka.target.resource", K8sField::kTargetResource, S, false, kNoArg},
    {"ka.target.subresource", K8sField::kTargetSubresource, S, false, kNoArg},
    {"ka.target.pod.name", K8sField::kTargetPodName, S, false, kNoArg},
    {"ka.req.binding.subjects", K8sField::kBindingSubjects, S, true, kIdx},
    {"ka.req.binding.subjects.user_names", K8sField::kBindingSubjectUserNames, S, true, kIdx},
    {"ka.req.binding.subjects.serviceaccount_names", K8sField::kBindingSubjectServiceAccountNames,
     S, true, kIdx},
    {"ka.req.binding.subjects.serviceaccount_ns_names",
     K8sField::kBindingSubjectServiceAccountNsNames, S, true, kIdx},
    {"ka.req.binding.subjects.group_names", K8sField::kBindingSubjectGroupNames, S, true, kIdx},
    {"ka.req.binding.subject.has_name", K8sField::kBindingSubjectHasName, B, false, kReq},
    {"ka.req.binding.role", K8sField::kBindingRole, S, false, kNoArg},
    {"ka.req.configmap.name", K8sField::kConfigMapName, S, false, kNoArg},
    {"ka.req.configmap.obj", K8sField::kConfigMapObj, S, false, kNoArg},
    {"ka.req.pod.containers.image", K8sField::kContainersImage, S, true, kIdx},
    {"ka.req.container.image", K8sField::kContainerImage, S, false, kNoArg},
    {"ka.req.pod.containers.image.repository", K8sField::kContainersImageRepository, S, true, kIdx},
    {"ka.req.container.image.repository", K8sField::kContainerImageRepository, S, false, kNoArg},
    {"ka.req.pod.host_ipc", K8sField::kHostIpc, B, false, kNoArg},
    {"ka.req.pod.host_network", K8sField::kHostNetwork, B, false, kNoArg},
    {"ka.req.container.host_network", K8sField::kHostNetwork, B, false, kNoArg},
    {"ka.req.pod.host_pid", K8sField::kHostPid, B, false, kNoArg},
    {"ka.req.pod.containers.host_port", K8sField::kContainersHostPort, I, true, kIdx},
    {"ka.req.pod.containers.privileged", K8sField::kContainersPrivileged, B, true, kIdx},
    {"ka.req.container.privileged", K8sField::kContainerPrivileged, B, false, kNoArg},
    {"ka.req.pod.containers.allow_privilege_escalation",
     K8sField::kContainersAllowPrivilegeEscalation, B, true, kIdx},
    {"ka.req.pod.containers.read_only_fs", K8sField::kContainersReadOnlyFs, B, true, kIdx},
    {"ka.req.pod.run_as_user", K8sField::kPodRunAsUser, I, false, kNoArg},
    {"ka.req.pod.containers.run_as_user", K8sField::kContainersRunAsUser, I, true, kIdx},
    {"ka.req.pod.containers.eff_run_as_user", K8sField::kContainersEffRunAsUser, I, true, kIdx},
    {"ka.req.pod.run_as_group", K8sField::kPodRunAsGroup, I, false, kNoArg},
    {"ka.req.pod.containers.run_as_group", K8sField::kContainersRunAsGroup, I, true, kIdx},
    {"ka.req.pod.containers.eff_run_as_group", K8sField::kContainersEffRunAsGroup, I, true, kIdx},
    {"ka.req.pod.containers.proc_mount", K8sField::kContainersProcMount, S, true, kIdx},
    {"ka.req.pod.containers.add_capabilities", K8sField::kContainersAddCapabilities, S, true, kIdx},
    {"ka.req.pod.fs_group", K8sField::kPodFsGroup, I, false, kNoArg},
    {"ka.req.pod.supplemental_groups", K8sField::kPodSupplementalGroups, I, true, kIdx},
    {"ka.req.role.rules", K8sField::kRoleRules, S, true, kIdx},
    {"ka.req.role.rules.apiGroups", K8sField::kRoleRulesApiGroups, S, true, kIdx},
    {"ka.req.role.rules.nonResourceURLs", K8sField::kRoleRulesNonResourceUrls, S, true, kIdx},
    {"ka.req.role.rules.verbs", K8sField::kRoleRulesVerbs, S, true, kIdx},
    {"ka.req.role.rules.resources", K8sField::kRoleRulesResources, S, true, kIdx},
    {"ka.req.service.type", K8sField::kServiceType, S, false, kNoArg},
    {"ka.req.service.ports", K8sField::kServicePorts, S, true, kIdx},
    {"ka.req.pod.volumes.hostpath", K8sField::kVolumesHostPath, S, true, kIdx},
    {"ka.req.volume.hostpath", K8sField::kVolumeHostPath, B, false, kReq},
    {"ka.req.pod.volumes.flexvolume_driver", K8sField::kVolumesFlexVolumeDriver, S, true, kIdx},
    {"ka.req.pod.volumes.volume_type", K8sField::kVolumesVolumeType, S, true, kIdx},
    {"ka.resp.name", K8sField::kRespName, S, false, kNoArg},
    {"ka.response.code", K8sField::kResponseCode, S, false, kNoArg},
    {"ka.response.reason", K8sField::kResponseReason, S, false, kNoArg},
    {"ka.useragent", K8sField::kUserAgent, S, false, kNoArg},
    {"ka.sourceips", K8sField::kSourceIps, S, true, kIdx},
    {"jevt.time", K8sField::kJevtTime, S, false, kNoArg},
    {"jevt.time.iso8601", K8sField::kJevtTimeIso8601, S, false, kNoArg},
    {"jevt.rawtime", K8sField::kJevtRawTime, I, false, kNoArg},
    {"jevt.value", K8sField::kJevtValue, S, false, kReq},
    {"jevt.obj", K8sField::kJevtObj, S, false, kNoArg},
};

struct K8sContext {
  K8sField field;
  bool indexed = false;
  size_t index = 0;
  std::string argument;
};

// Values of one field over the pod spec's containers (initContainers are not in Falco's set).
class Extraction {
 public:
  Extraction(const AuditEvent& event, FieldValues& out)
      : doc_(event.doc()), root_(event.root()), out_(out) {}

  uint32_t Request() const { return doc_.Get(root_, "requestObject"); }
  uint32_t PodSpec() const { return doc_.Get(Request(), "spec"); }

  void String(uint32_t node) {
    if (node != kNone && doc_.node(node).kind == Kind::kString) out_.Add(doc_.node(node).text);
  }
  // A scalar as text (numbers and booleans as written); containers as JSON.
  void AnyText(uint32_t node) {
    if (node == kNone) return;
    const JsonDoc::Node& n = doc_.node(node);
    if (n.kind == Kind::kObject || n.kind == Kind::kArray) {
      out_.Add(out_.Own(doc_.Serialize(node)));
    } else {
      out_.Add(n.text);
    }
  }
  void Number(uint32_t node) {
    if (node == kNone || doc_.node(node).kind != Kind::kNumber) return;
    int64_t value = 0;
    const std::string_view text = doc_.node(node).text;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size()) out_.AddNumber(value);
  }
  void Bool(uint32_t node, bool absent_is_false) {
    if (node != kNone && doc_.node(node).kind == Kind::kBool) {
      out_.AddBool(doc_.IsTrue(node));
    } else if (absent_is_false) {
      out_.AddBool(false);
    }
  }

  template <typename F>
  void Containers(F&& visit) {
    doc_.ForEachChild(doc_.Get(PodSpec(), "containers"), visit);
  }

  const JsonDoc& doc_;
  uint32_t root_;
  FieldValues& out_;
};

void ExtractK8s(const Event& base, const void* context, FieldValues& out) {
  const auto& event = static_cast<const AuditEvent&>(base);
  const auto& ctx = *static_cast<const K8sContext*>(context);
  Extraction x(event, out);
  const JsonDoc& doc = event.doc();
  const uint32_t root = event.root();
  const uint32_t object_ref = doc.Get(root, "objectRef");
  switch (ctx.field) {
    case K8sField::kAuditId:
      x.String(doc.Get(root, "auditID"));
      break;
    case K8sField::kStage:
      x.String(doc.Get(root, "stage"));
      break;
    case K8sField::kAuthDecision:
      x.String(doc.Get(doc.Get(root, "annotations"), "authorization.k8s.io/decision"));
      break;
    case K8sField::kAuthReason:
      x.String(doc.Get(doc.Get(root, "annotations"), "authorization.k8s.io/reason"));
      break;
    case K8sField::kUserName:
      x.String(doc.Path(root, {"user", "username"}));
      break;
    case K8sField::kUserGroups:
      doc.ForEachChild(doc.Path(root, {"user", "groups"}), [&](uint32_t g) { x.String(g); });
      break;
    case K8sField::kImpUserName:
      x.String(doc.Path(root, {"impersonatedUser", "username"}));
      break;
    case K8sField::kVerb:
      x.String(doc.Get(root, "verb"));
      break;
    case K8sField::kUri:
      x.String(doc.Get(root, "requestURI"));
      break;
    case K8sField::kUriParam: {
      const std::string_view uri = doc.String(doc.Get(root, "requestURI"));
      const size_t query = uri.find('?');
      if (query == std::string_view::npos) break;
      for (std::string_view pair : Split(uri.substr(query + 1), '&')) {
        const size_t eq = pair.find('=');
        if (pair.substr(0, eq) == ctx.argument) {
          out.Add(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
          break;
        }
      }
      break;
    }
    case K8sField::kTargetName:
      x.String(doc.Get(object_ref, "name"));
      break;
    case K8sField::kTargetNamespace:
      x.String(doc.Get(object_ref, "namespace"));
      break;
    case K8sField::kTargetResource:
      x.String(doc.Get(object_ref, "resource"));
      break;
    case K8sField::kTargetSubresource:
      x.String(doc.Get(object_ref, "subresource"));
      break;
    case K8sField::kTargetPodName:
      if (doc.String(doc.Get(object_ref, "resource")) == "pods") {
        x.String(doc.Get(object_ref, "name"));
      }
      break;
    case K8sField::kBindingSubjects:
      doc.ForEachChild(doc.Get(x.Request(), "subjects"), [&](uint32_t s) { x.AnyText(s); });
      break;
    case K8sField::kBindingSubjectUserNames:
    case K8sField::kBindingSubjectServiceAccountNames:
    case K8sField::kBindingSubjectServiceAccountNsNames:
    case K8sField::kBindingSubjectGroupNames: {
      const std::string_view kind = ctx.field == K8sField::kBindingSubjectUserNames ? "User"
                                    : ctx.field == K8sField::kBindingSubjectGroupNames
                                        ? "Group"
                                        : "ServiceAccount";
      doc.ForEachChild(doc.Get(x.Request(), "subjects"), [&](uint32_t s) {
        if (doc.String(doc.Get(s, "kind")) != kind) return;
        x.String(doc.Get(
            s, ctx.field == K8sField::kBindingSubjectServiceAccountNsNames ? "namespace" : "name"));
      });
      break;
    }
    case K8sField::kBindingSubjectHasName: {
      const uint32_t subjects = doc.Get(x.Request(), "subjects");
      if (subjects == kNone) break;
      bool found = false;
      doc.ForEachChild(subjects, [&](uint32_t s) {
        found = found || doc.String(doc.Get(s, "name")) == ctx.argument;
      });
      out.AddBool(found);
      break;
    }
    case K8sField::kBindingRole:
      x.String(doc.Path(x.Request(), {"roleRef", "name"}));
      break;
    case K8sField::kConfigMapName:
      x.String(doc.Path(x.Request(), {"metadata", "name"}));
      break;
    case K8sField::kConfigMapObj: {
      const uint32_t data = doc.Get(x.Request(), "data");
      if (data != kNone) out.Add(out.Own(doc.Serialize(data)));
      break;
    }
    case K8sField::kContainersImage:
      x.Containers([&](uint32_t c) { x.String(doc.Get(c, "image")); });
      break;
    case K8sField::kContainerImage: {
      bool first = true;
      x.Containers([&](uint32_t c) {
        if (first) x.String(doc.Get(c, "image"));
        first = false;
      });
      break;
    }
    case K8sField::kContainersImageRepository:
      x.Containers([&](uint32_t c) {
        const uint32_t image = doc.Get(c, "image");
        if (image != kNone) out.Add(SplitImageName(doc.String(image)).first);
      });
      break;
    case K8sField::kContainerImageRepository: {
      bool first = true;
      x.Containers([&](uint32_t c) {
        if (first && doc.Get(c, "image") != kNone) {
          out.Add(SplitImageName(doc.String(doc.Get(c, "image"))).first);
        }
        first = false;
      });
      break;
    }
    case K8sField::kHostIpc:
    case K8sField::kHostNetwork:
    case K8sField::kHostPid: {
      const uint32_t spec = x.PodSpec();
      if (spec == kNone) break;
      const std::string_view key = ctx.field == K8sField::kHostIpc       ? "hostIPC"
                                   : ctx.field == K8sField::kHostNetwork ? "hostNetwork"
                                                                         : "hostPID";
      x.Bool(doc.Get(spec, key), /*absent_is_false=*/true);
      break;
    }
    case K8sField::kContainersHostPort:
      x.Containers([&](uint32_t c) {
        doc.ForEachChild(doc.Get(c, "ports"),
                         [&](uint32_t p) { x.Number(doc.Get(p, "hostPort")); });
      });
      break;
    case K8sField::kContainersPrivileged:
      x.Containers([&](uint32_t c) {
        x.Bool(doc.Path(c, {"securityContext", "privileged"}), /*absent_is_false=*/true);
      });
      break;
    case K8sField::kContainerPrivileged: {
      if (x.PodSpec() == kNone) break;
      bool any = false;
      x.Containers([&](uint32_t c) {
        any = any || doc.IsTrue(doc.Path(c, {"securityContext", "privileged"}));
      });
      out.AddBool(any);
      break;
    }
    case K8sField::kContainersAllowPrivilegeEscalation:
      x.Containers([&](uint32_t c) {
        x.Bool(doc.Path(c, {"securityContext", "allowPrivilegeEscalation"}), true);
      });
      break;
    case K8sField::kContainersReadOnlyFs:
      x.Containers([&](uint32_t c) {
        x.Bool(doc.Path(c, {"securityContext", "readOnlyRootFilesystem"}), true);
      });
      break;
    case K8sField::kPodRunAsUser:
      x.Number(doc.Path(x.PodSpec(), {"securityContext", "runAsUser"}));
      break;
    case K8sField::kPodRunAsGroup:
      x.Number(doc.Path(x.PodSpec(), {"securityContext", "runAsGroup"}));
      break;
    case K8sField::kContainersRunAsUser:
    case K8sField::kContainersRunAsGroup: {
      const std::string_view key =
          ctx.field == K8sField::kContainersRunAsUser ? "runAsUser" : "runAsGroup";
      x.Containers([&](uint32_t c) { x.Number(doc.Path(c, {"securityContext", key})); });
      break;
    }
    case K8sField::kContainersEffRunAsUser:
    case K8sField::kContainersEffRunAsGroup: {
      // The container's setting, else the pod's, else 0 (root: the image's USER is not known).
      const std::string_view key =
          ctx.field == K8sField::kContainersEffRunAsUser ? "runAsUser" : "runAsGroup";
      const uint32_t pod_value = doc.Path(x.PodSpec(), {"securityContext", key});
      x.Containers([&](uint32_t c) {
        uint32_t value = doc.Path(c, {"securityContext", key});
        if (value == kNone) value = pod_value;
        if (value == kNone) {
          out.AddNumber(0);
        } else {
          x.Number(value);
        }
      });
      break;
    }
    case K8sField::kContainersProcMount:
      x.Containers([&](uint32_t c) {
        const uint32_t value = doc.Path(c, {"securityContext", "procMount"});
        if (value != kNone) {
          x.String(value);
        } else {
          out.Add("Default");
        }
      });
      break;
    case K8sField::kContainersAddCapabilities:
      x.Containers([&](uint32_t c) {
        doc.ForEachChild(doc.Path(c, {"securityContext", "capabilities", "add"}),
                         [&](uint32_t cap) { x.String(cap); });
      });
      break;
    case K8sField::kPodFsGroup:
      x.Number(doc.Path(x.PodSpec(), {"securityContext", "fsGroup"}));
      break;
    case K8sField::kPodSupplementalGroups:
      doc.ForEachChild(doc.Path(x.PodSpec(), {"securityContext", "supplementalGroups"}),
                       [&](uint32_t g) { x.Number(g); });
      break;
    case K8sField::kRoleRules:
      doc.ForEachChild(doc.Get(x.Request(), "rules"), [&](uint32_t r) { x.AnyText(r); });
      break;
    case K8sField::kRoleRulesApiGroups:
    case K8sField::kRoleRulesNonResourceUrls:
    case K8sField::kRoleRulesVerbs:
    case K8sField::kRoleRulesResources: {
      const std::string_view key = ctx.field == K8sField::kRoleRulesApiGroups ? "apiGroups"
                                   : ctx.field == K8sField::kRoleRulesNonResourceUrls
                                       ? "nonResourceURLs"
                                   : ctx.field == K8sField::kRoleRulesVerbs ? "verbs"
                                                                            : "resources";
      // With an argument, the values of that one rule ([0] = the first rule); else every rule's.
      size_t rule_number = 0;
      doc.ForEachChild(doc.Get(x.Request(), "rules"), [&](uint32_t r) {
        if (!ctx.indexed || rule_number == ctx.index) {
          doc.ForEachChild(doc.Get(r, key), [&](uint32_t v) { x.String(v); });
        }
        ++rule_number;
      });
      return;  // the index selected a rule, not a value
    }
    case K8sField::kServiceType:
      x.String(doc.Path(x.Request(), {"spec", "type"}));
      break;
    case K8sField::kServicePorts:
      doc.ForEachChild(doc.Path(x.Request(), {"spec", "ports"}), [&](uint32_t p) { x.AnyText(p); });
      break;
    case K8sField::kVolumesHostPath:
      doc.ForEachChild(doc.Get(x.PodSpec(), "volumes"), [&](uint32_t v) {
        x.String(doc.Path(v, {"hostPath", "path"}));
      });
      break;
    case K8sField::kVolumeHostPath: {
      const uint32_t volumes = doc.Get(x.PodSpec(), "volumes");
      if (volumes == kNone) break;
      bool found = false;
      doc.ForEachChild(volumes, [&](uint32_t v) {
        const uint32_t path = doc.Path(v, {"hostPath", "path"});
        found = found || (path != kNone && GlobMatch(ctx.argument, doc.String(path)));
      });
      out.AddBool(found);
      break;
    }
    case K8sField::kVolumesFlexVolumeDriver:
      doc.ForEachChild(doc.Get(x.PodSpec(), "volumes"), [&](uint32_t v) {
        x.String(doc.Path(v, {"flexVolume", "driver"}));
      });
      break;
    case K8sField::kVolumesVolumeType:
      doc.ForEachChild(doc.Get(x.PodSpec(), "volumes"), [&](uint32_t v) {
        doc.ForEachChild(v, [&](uint32_t member) {
          if (doc.node(member).key != "name") out.Add(doc.node(member).key);
        });
      });
      break;
    case K8sField::kRespName:
      x.String(doc.Path(root, {"responseObject", "metadata", "name"}));
      break;
    case K8sField::kResponseCode: {
      const uint32_t code = doc.Path(root, {"responseStatus", "code"});
      if (code != kNone && doc.node(code).kind == Kind::kNumber) out.Add(doc.node(code).text);
      break;
    }
    case K8sField::kResponseReason:
      x.String(doc.Path(root, {"responseStatus", "reason"}));
      break;
    case K8sField::kUserAgent:
      x.String(doc.Get(root, "userAgent"));
      break;
    case K8sField::kSourceIps:
      doc.ForEachChild(doc.Get(root, "sourceIPs"), [&](uint32_t ip) { x.String(ip); });
      break;
    case K8sField::kJevtTime:
      out.Add(out.Own(FormatRfc3339Nanos(event.time_ns(), 9).substr(11, 18)));
      break;
    case K8sField::kJevtTimeIso8601:
      out.Add(out.Own(FormatRfc3339Nanos(event.time_ns(), 9)));
      break;
    case K8sField::kJevtRawTime:
      out.AddNumber(event.time_ns());
      break;
    case K8sField::kJevtValue:
      x.AnyText(doc.Pointer(root, ctx.argument));
      break;
    case K8sField::kJevtObj:
      out.Add(out.Own(doc.Serialize(root)));
      break;
  }
  if (ctx.indexed) {
    // field[N]: the N-th value only.
    const auto& values = out.values();
    if (ctx.index >= values.size()) {
      out.Clear();
      return;
    }
    const FieldValue kept = values[ctx.index];
    out.Clear();  // keeps the owned strings allocated: the kept view stays valid
    out.Add(kept.text, kept.number);
  }
}

class K8sAuditSource : public EventSource {
 public:
  std::string_view name() const override { return kK8sAuditSourceName; }

  Result<Field> ResolveField(std::string_view field,
                             std::optional<std::string_view> argument) const override {
    for (const FieldSpec& spec : kFields) {
      if (spec.name != field) continue;
      auto context = std::make_shared<K8sContext>();
      context->field = spec.field;
      Field out;
      out.type = spec.type;
      out.is_list = spec.is_list;
      if (argument) {
        if (spec.argument == ArgumentKind::kNone) {
          return Fail("field ", field, " takes no argument");
        }
        if (spec.argument == ArgumentKind::kIndex) {
          size_t index = 0;
          const auto [end, ec] =
              std::from_chars(argument->data(), argument->data() + argument->size(), index);
          if (ec != std::errc() || end != argument->data() + argument->size()) {
            return Fail("field ", field, ": argument \"", *argument, "\" is not an index");
          }
          context->indexed = true;
          context->index = index;
          // The index of role rules picks a rule: its values remain a list.
          out.is_list = spec.field == K8sField::kRoleRulesApiGroups ||
                        spec.field == K8sField::kRoleRulesNonResourceUrls ||
                        spec.field == K8sField::kRoleRulesVerbs ||
                        spec.field == K8sField::kRoleRulesResources;
        } else {
          context->argument = std::string(*argument);
        }
      } else if (spec.argument == ArgumentKind::kRequired) {
        return Fail("field ", field, " needs an argument in brackets");
      }
      out.extract = &ExtractK8s;
      out.context = context.get();
      out.context_holder = context;
      return out;
    }
    return Fail("not implemented by source k8s_audit");
  }

  std::string_view EventTypeField() const override { return "ka.verb"; }
  std::string_view EventType(const Event& event) const override {
    return static_cast<const AuditEvent&>(event).verb();
  }
  int64_t EventTimeNs(const Event& event) const override {
    return static_cast<const AuditEvent&>(event).time_ns();
  }

  void FillAlertResources(const Event& base, Alert& alert) const override {
    const auto& event = static_cast<const AuditEvent&>(base);
    const JsonDoc& doc = event.doc();
    const uint32_t root = event.root();
    const uint32_t object_ref = doc.Get(root, "objectRef");
    alert.k8s.user = std::string(doc.String(doc.Path(root, {"user", "username"})));
    alert.k8s.namespace_name = std::string(doc.String(doc.Get(object_ref, "namespace")));
    if (doc.String(doc.Get(object_ref, "resource")) == "pods") {
      alert.k8s.pod = std::string(doc.String(doc.Get(object_ref, "name")));
    }
    // The event's identity and object reference travel in output_fields whatever the rule's
    // output names, so that every audit alert can be traced to its event.
    nlohmann::json fields =
        nlohmann::json::parse(alert.output_fields, nullptr, /*allow_exceptions=*/false);
    if (!fields.is_object()) fields = nlohmann::json::object();
    auto add = [&](const char* key, uint32_t node) {
      if (fields.contains(key) || node == kNone || doc.node(node).kind != Kind::kString) return;
      fields[key] = std::string(doc.node(node).text);
    };
    add("ka.auditid", doc.Get(root, "auditID"));
    add("ka.verb", doc.Get(root, "verb"));
    add("ka.user.name", doc.Path(root, {"user", "username"}));
    add("ka.target.resource", doc.Get(object_ref, "resource"));
    add("ka.target.subresource", doc.Get(object_ref, "subresource"));
    add("ka.target.namespace", doc.Get(object_ref, "namespace"));
    add("ka.target.name", doc.Get(object_ref, "name"));
    add("ka.uri", doc.Get(root, "requestURI"));
    alert.output_fields = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
};

// Checks kind and apiVersion and reads the time; `root` is an Event object in `doc`.
Result<void> DecodeEvent(const JsonDoc& doc, uint32_t root, std::string_view where,
                         int64_t& time_ns, std::string_view& audit_id, std::string_view& verb) {
  if (doc.node(root).kind != Kind::kObject) return Fail(where, ": an audit event is a JSON object");
  const std::string_view kind = doc.String(doc.Get(root, "kind"));
  if (kind != "Event") {
    return Fail(where, ": kind \"", kind, "\" is not Event");
  }
  // Falco's fixtures (and some log shippers) drop apiVersion: absent is accepted, another
  // version is not.
  const uint32_t api_version_node = doc.Get(root, "apiVersion");
  const std::string_view api_version = doc.String(api_version_node);
  if (api_version_node != kNone && api_version != "audit.k8s.io/v1" &&
      api_version != "audit.k8s.io/v1beta1") {
    return Fail(where, ": apiVersion \"", api_version, "\" is not audit.k8s.io/v1 or v1beta1");
  }
  std::optional<int64_t> time;
  for (const char* key : {"stageTimestamp", "requestReceivedTimestamp", "timestamp"}) {
    const uint32_t node = doc.Get(root, key);
    if (node == kNone) continue;
    time = ParseRfc3339Nanos(doc.String(node));
    if (!time) return Fail(where, ": ", key, " is not an RFC 3339 time");
    break;
  }
  if (!time) return Fail(where, ": the event has no stageTimestamp or requestReceivedTimestamp");
  time_ns = *time;
  audit_id = doc.String(doc.Get(root, "auditID"));
  verb = doc.String(doc.Get(root, "verb"));
  return Ok();
}

}  // namespace

Result<AuditEvent> ParseAuditEvent(std::string text, std::string_view input_name) {
  if (text.size() > kMaxAuditEventBytes) {
    return Fail(input_name, ": event larger than ", std::to_string(kMaxAuditEventBytes), " bytes");
  }
  MOAT_ASSIGN_OR_RETURN(JsonDoc doc,
                        JsonDoc::Parse(std::move(text), input_name, kMaxAuditEventDepth));
  AuditEvent event;
  event.doc_ = std::make_shared<const JsonDoc>(std::move(doc));
  MOAT_TRY(DecodeEvent(*event.doc_, 0, input_name, event.time_ns_, event.audit_id_, event.verb_));
  return event;
}

Result<std::vector<AuditEvent>> ParseAuditEvents(std::string text, std::string_view input_name) {
  if (text.size() > 8 * kMaxAuditEventBytes) {
    return Fail(input_name, ": batch larger than ", std::to_string(8 * kMaxAuditEventBytes),
                " bytes");
  }
  MOAT_ASSIGN_OR_RETURN(JsonDoc parsed,
                        JsonDoc::Parse(std::move(text), input_name, kMaxAuditEventDepth + 2));
  auto doc = std::make_shared<const JsonDoc>(std::move(parsed));
  std::vector<AuditEvent> events;
  if (doc->node(0).kind != Kind::kObject) return Fail(input_name, ": expected a JSON object");
  if (doc->String(doc->Get(0, "kind")) != "EventList") {
    AuditEvent event;
    event.doc_ = doc;
    MOAT_TRY(DecodeEvent(*doc, 0, input_name, event.time_ns_, event.audit_id_, event.verb_));
    events.push_back(std::move(event));
    return events;
  }
  const std::string_view api_version = doc->String(doc->Get(0, "apiVersion"));
  if (api_version != "audit.k8s.io/v1" && api_version != "audit.k8s.io/v1beta1") {
    return Fail(input_name, ": apiVersion \"", api_version, "\" is not audit.k8s.io/v1 or v1beta1");
  }
  const uint32_t items = doc->Get(0, "items");
  if (items != kNone && doc->node(items).kind != Kind::kArray) {
    return Fail(input_name, ": items: expected an array");
  }
  size_t number = 0;
  Result<void> status = Ok();
  doc->ForEachChild(items, [&](uint32_t item) {
    if (!status.ok()) return;
    AuditEvent event;
    event.doc_ = doc;
    event.root_ = item;
    const std::string where = std::string(input_name) + ": items[" + std::to_string(number++) + "]";
    // Items of an EventList may omit kind/apiVersion (the list carries them).
    const std::string_view kind = doc->String(doc->Get(item, "kind"));
    if (doc->node(item).kind == Kind::kObject && kind.empty()) {
      std::optional<int64_t> time;
      for (const char* key : {"stageTimestamp", "requestReceivedTimestamp", "timestamp"}) {
        if (doc->Get(item, key) != kNone) {
          time = ParseRfc3339Nanos(doc->String(doc->Get(item, key)));
          if (!time) status = Fail(where, ": ", key, " is not an RFC 3339 time");
          break;
        }
      }
      if (!status.ok()) return;
      if (!time) {
        status = Fail(where, ": the event has no stageTimestamp or requestReceivedTimestamp");
        return;
      }
      event.time_ns_ = *time;
      event.audit_id_ = doc->String(doc->Get(item, "auditID"));
      event.verb_ = doc->String(doc->Get(item, "verb"));
    } else {
      status = DecodeEvent(*doc, item, where, event.time_ns_, event.audit_id_, event.verb_);
      if (!status.ok()) return;
    }
    events.push_back(std::move(event));
  });
  if (!status.ok()) return status.error();
  return events;
}

std::shared_ptr<const EventSource> MakeK8sAuditSource() {
  return std::make_shared<K8sAuditSource>();
}

std::vector<std::string_view> K8sAuditFieldNames() {
  std::vector<std::string_view> names;
  for (const FieldSpec& spec : kFields) {
    if (std::find(names.begin(), names.end(), spec.name) == names.end()) names.push_back(spec.name);
  }
  return names;
}

}  // namespace moat::rules
