#pragma once
// For the tests of the Azure Policy bundle (src/k8s/azure_checks_test.cpp through `moat k8s`'s
// check runner, src/admission/bundle_test.cpp through the webhook): for every policy, an object
// that violates it and one that complies, with the parameters the case needs.

#include <string>
#include <vector>

namespace moat::k8s::testing {

struct AzureCase {
  std::string id;          // check id
  std::string definition;  // the CSV's file name without .json
  std::string parameters;  // YAML map of the policy's parameters ("" = defaults)
  std::string bad;         // YAML: the violating object (or objects)
  std::string good;        // YAML: the compliant object
  /// Set for a policy about edits: the objects arrive as an UPDATE by this user (bad) / that
  /// user (good); `moat k8s` sees no request and reports nothing.
  std::string bad_user = {};
  std::string good_user = {};
  /// The rule compares the object with others of the input (`moat k8s`, audit), which one
  /// admission request does not carry.
  bool needs_inventory = false;
};

/// A Pod in namespace shop with `spec` (YAML flow map) and extra metadata entries.
inline std::string Pod(const std::string& spec, const std::string& metadata = "") {
  return "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop" +
         (metadata.empty() ? "" : ", " + metadata) + "}\nspec: " + spec + "\n";
}

/// A Deployment in namespace shop whose pod template has `spec` (YAML flow map).
inline std::string Deployment(const std::string& spec, const std::string& replicas = "1",
                              const std::string& metadata = "") {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop" +
         (metadata.empty() ? "" : ", " + metadata) + "}\nspec:\n  replicas: " + replicas +
         "\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: "
         "web}}\n    spec: " +
         spec + "\n";
}

/// One container named app with `fields` (YAML flow entries) added.
inline std::string Containers(const std::string& fields = "") {
  return "[{name: app, image: \"registry.example.com/app:1.2\"" +
         (fields.empty() ? "" : ", " + fields) + "}]";
}

inline std::string Spec(const std::string& container_fields = "", const std::string& pod = "") {
  return "{containers: " + Containers(container_fields) + (pod.empty() ? "" : ", " + pod) + "}";
}

inline std::string Service(const std::string& spec, const std::string& metadata = "",
                           const std::string& name = "web", const std::string& ns = "shop") {
  return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + ", namespace: " + ns +
         (metadata.empty() ? "" : ", " + metadata) + "}\nspec: " + spec + "\n";
}

inline std::string Ingress(const std::string& spec, const std::string& metadata = "") {
  return "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: shop" +
         (metadata.empty() ? "" : ", " + metadata) + "}\nspec: " + spec + "\n";
}

inline const std::vector<AzureCase>& AzureCases() {
  static const std::vector<AzureCase> kCases = [] {
    const std::string probes =
        "livenessProbe: {httpGet: {path: /healthz, port: 8080}}, readinessProbe: {tcpSocket: "
        "{port: 8080}}";
    const std::string node =
        "apiVersion: v1\nkind: Node\nmetadata: {name: aks-nodepool1-0, labels: {team: a}}\nspec: "
        "{unschedulable: true}\n";
    std::vector<AzureCase> c = {
        {"azure-node-edits", "CannotEditIndividualNodes", "", node, node, "alice", "nodeclient"},
        {"azure-container-probes", "ContainerEnforceProbes", "",
         Pod(Spec("livenessProbe: {httpGet: {path: /healthz, port: 8080}}")), Pod(Spec(probes))},
        {"azure-prestop-hook", "ContainerEnforcePreStopHook", "", Deployment(Spec()),
         Deployment(Spec("lifecycle: {preStop: {exec: {command: [sleep, \"5\"]}}}"))},
        {"azure-no-latest-image", "ImagesDoNotUseLatest", "",
         Pod("{containers: [{name: app, image: \"nginx:latest\"}]}"), Pod(Spec())},
        {"azure-resource-limits", "ContainerResourceLimits", "{cpuLimit: 500m, memoryLimit: 256Mi}",
         Pod(Spec("resources: {limits: {cpu: \"1\", memory: 128Mi}}")),
         Pod(Spec("resources: {limits: {cpu: 200m, memory: 128Mi}}"))},
        {"azure-resource-requests", "ContainerResourceRequests", "", Pod(Spec()),
         Pod(Spec("resources: {requests: {cpu: 100m, memory: 64Mi}}"))},
        {"azure-host-namespace", "BlockHostNamespace", "", Pod(Spec("", "hostPID: true")),
         Pod(Spec("", "hostPID: false"))},
        {"azure-forbidden-sysctls", "ForbiddenSysctlInterfaces",
         "{forbiddenSysctls: [\"kernel.*\"]}",
         Pod(Spec("",
                  "securityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: \"1\"}]}")),
         Pod(Spec("",
                  "securityContext: {sysctls: [{name: net.ipv4.ping_group_range, value: \"0 "
                  "1\"}]}"))},
        {"azure-image-pull-secrets", "ContainerRestrictedImagePulls", "", Pod(Spec()),
         Pod(Spec("", "imagePullSecrets: [{name: regcred}]"))},
        {"azure-apparmor", "EnforceAppArmorProfile", "", Pod(Spec()),
         Pod(Spec("", "securityContext: {appArmorProfile: {type: RuntimeDefault}}"))},
        {"azure-proc-mount", "AllowedProcMountType", "",
         Pod(Spec("securityContext: {procMount: Unmasked}")),
         Pod(Spec("securityContext: {procMount: Default}"))},
        {"azure-allowed-capabilities", "ContainerAllowedCapabilities",
         "{allowedCapabilities: [NET_BIND_SERVICE], requiredDropCapabilities: [NET_RAW]}",
         Pod(Spec("securityContext: {capabilities: {add: [SYS_TIME], drop: [NET_RAW]}}")),
         Pod(Spec("securityContext: {capabilities: {add: [NET_BIND_SERVICE], drop: [ALL]}}"))},
        {"azure-allowed-images", "ContainerAllowedImages",
         "{allowedContainerImagesRegex: '^registry\\.example\\.com/.+$'}",
         Pod("{containers: [{name: app, image: \"docker.io/library/nginx:1.27\"}]}"), Pod(Spec())},
        {"azure-pull-policy", "ContainerAllowedPullPolicy", "",
         Pod(Spec("imagePullPolicy: Always")), Pod(Spec("imagePullPolicy: IfNotPresent"))},
        {"azure-seccomp", "AllowedSeccompProfile", "{allowedProfiles: [runtime/default]}",
         Pod(Spec("securityContext: {seccompProfile: {type: Unconfined}}")),
         Pod(Spec("", "securityContext: {seccompProfile: {type: RuntimeDefault}}"))},
        {"azure-readonly-rootfs", "ReadOnlyRootFileSystem", "", Pod(Spec()),
         Pod(Spec("securityContext: {readOnlyRootFilesystem: true}"))},
        {"azure-flexvolume-drivers", "FlexVolumeDrivers",
         "{allowedFlexVolumeDrivers: [example.com/lvm]}",
         Pod(Spec("", "volumes: [{name: v, flexVolume: {driver: other.com/cifs}}]")),
         Pod(Spec("", "volumes: [{name: v, flexVolume: {driver: example.com/lvm}}]"))},
        {"azure-host-paths", "AllowedHostPaths",
         "{allowedHostPaths: {paths: [{pathPrefix: /var/log, readOnly: true}]}}",
         Pod(Spec("volumeMounts: [{name: logs, mountPath: /logs}]",
                  "volumes: [{name: logs, hostPath: {path: /var/log/app}}]")),
         Pod(Spec("volumeMounts: [{name: logs, mountPath: /logs, readOnly: true}]",
                  "volumes: [{name: logs, hostPath: {path: /var/log/app}}]"))},
        {"azure-selinux", "SELinux",
         "{allowedSELinuxOptions: {options: [{level: \"s0:c123,c456\"}]}}",
         Pod(Spec("securityContext: {seLinuxOptions: {level: \"s0:c1,c2\"}}")),
         Pod(Spec("securityContext: {seLinuxOptions: {level: \"s0:c123,c456\"}}"))},
        {"azure-users-groups", "AllowedUsersGroups",
         "{runAsUserRule: MustRunAs, runAsUserRanges: {ranges: [{min: 1000, max: 2000}]}, "
         "fsGroupRule: MayRunAs, fsGroupRanges: {ranges: [{min: 1000, max: 2000}]}}",
         Pod(Spec("", "securityContext: {runAsUser: 3000, fsGroup: 1000}")),
         Pod(Spec("", "securityContext: {runAsUser: 1500, fsGroup: 1000}"))},
        {"azure-volume-types", "AllowedVolumeTypes", "{allowedVolumeTypes: [emptyDir, configMap]}",
         Pod(Spec("", "volumes: [{name: v, hostPath: {path: /data}}]")),
         Pod(Spec("", "volumes: [{name: v, emptyDir: {}}]"))},
        {"azure-host-network-ports", "HostNetworkPorts", "", Pod(Spec("", "hostNetwork: true")),
         Pod(Spec("ports: [{containerPort: 8080}]"))},
        {"azure-pod-labels", "PodEnforceLabels", "{labelsList: [team]}", Deployment(Spec()),
         "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop, labels: {team: "
         "payments}}\nspec: " +
             Spec() + "\n"},
        {"azure-service-ports", "ServiceAllowedPorts", "{allowedServicePortsList: [\"443\"]}",
         Service("{selector: {app: web}, ports: [{port: 80}]}"),
         Service("{selector: {app: web}, ports: [{port: 443}]}")},
        {"azure-external-ips", "AllowedExternalIPs", "",
         Service("{selector: {app: web}, ports: [{port: 443}], externalIPs: [203.0.113.7]}"),
         Service("{selector: {app: web}, ports: [{port: 443}]}")},
        {"azure-unique-service-selectors", "UniqueServiceSelectors", "",
         Service("{selector: {app: web}, ports: [{port: 443}]}") + "---\n" +
             Service("{selector: {app: web}, ports: [{port: 8443}]}", "", "web-admin"),
         Service("{selector: {app: web}, ports: [{port: 443}]}") + "---\n" +
             Service("{selector: {app: web-admin}, ports: [{port: 8443}]}", "", "web-admin"),
         "", "", true},
        {"azure-no-privileged", "ContainerNoPrivilege", "",
         Pod(Spec("securityContext: {privileged: true}")),
         Pod(Spec("securityContext: {privileged: false}"))},
        {"azure-naked-pods", "BlockNakedPods", "", Pod(Spec()),
         Pod(Spec(),
             "ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d8f, "
             "uid: 3f1c, controller: true}]")},
        {"azure-ingress-https", "IngressHttpsOnly", "",
         Ingress("{rules: [{host: shop.example.com}]}"),
         Ingress("{tls: [{hosts: [shop.example.com], secretName: shop-tls}], rules: [{host: "
                 "shop.example.com}]}",
                 "annotations: {kubernetes.io/ingress.allow-http: \"false\"}")},
        {"azure-automount-token", "BlockAutomountToken", "", Pod(Spec()),
         Pod(Spec("", "automountServiceAccountToken: false"))},
        {"azure-cluster-admin-binding", "BlockAdminRolebindings", "",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: "
         "ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
         "cluster-admin}\nsubjects: [{kind: ServiceAccount, name: ci, namespace: ci}]\n",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: "
         "ci}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "
         "view}\nsubjects: [{kind: ServiceAccount, name: ci, namespace: ci}]\n"},
        {"azure-wildcard-roles", "BlockWildcardRoles", "",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: "
         "shop}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [\"*\"]}]\n",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: "
         "shop}\nrules: [{apiGroups: [\"\"], resources: [pods], verbs: [get, list]}]\n"},
        {"azure-privilege-escalation", "ContainerNoPrivilegeEscalation", "",
         Pod(Spec("securityContext: {allowPrivilegeEscalation: true}")),
         Pod(Spec("securityContext: {allowPrivilegeEscalation: false}"))},
        {"azure-endpoint-edit-role", "BlockEndpointEditDefaultRole", "",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: "
         "\"system:aggregate-to-edit\"}\nrules: [{apiGroups: [\"\"], resources: [endpoints], "
         "verbs: [create, delete, patch, update]}]\n",
         "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: "
         "\"system:aggregate-to-edit\"}\nrules: [{apiGroups: [\"\"], resources: [endpoints], "
         "verbs: [get, list, watch]}]\n"},
        {"azure-sys-admin", "ContainerDisallowedSysAdminCapability", "",
         Pod(Spec("securityContext: {capabilities: {add: [SYS_ADMIN]}}")),
         Pod(Spec("securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}"))},
        {"azure-disallowed-capabilities", "ContainerDisallowedCapabilities",
         "{disallowedCapabilities: [NET_ADMIN]}",
         Pod(Spec("securityContext: {capabilities: {add: [CAP_NET_ADMIN]}}")),
         Pod(Spec("securityContext: {capabilities: {add: [NET_BIND_SERVICE]}}"))},
        {"azure-default-namespace", "BlockDefaultNamespace", "",
         Service("{selector: {app: web}, ports: [{port: 443}]}", "", "web", "default"),
         Service("{selector: {app: web}, ports: [{port: 443}]}")},
        {"azure-ingress-host", "RequireIngressHost", "",
         Ingress("{rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: "
                 "web, port: {number: 443}}}}]}}]}"),
         Ingress("{rules: [{host: shop.example.com}]}")},
        {"azure-csi-storage-class", "EnforceCSIDriver", "",
         "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: "
         "managed}\nprovisioner: kubernetes.io/azure-disk\n",
         "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: "
         "managed-csi}\nprovisioner: disk.csi.azure.com\n"},
        {"azure-internal-load-balancer", "LoadbalancerNoPublicIPs", "",
         Service("{type: LoadBalancer, selector: {app: web}, ports: [{port: 443}]}"),
         Service("{type: LoadBalancer, selector: {app: web}, ports: [{port: 443}]}",
                 "annotations: {service.beta.kubernetes.io/azure-load-balancer-internal: "
                 "\"true\"}")},
        {"azure-required-annotations", "EnforceResourceAnnotation",
         "{kind: [Deployment], annotations: {annotations: [{key: owner, allowedRegex: "
         "\"^team-\"}]}}",
         Deployment(Spec(), "1", "annotations: {owner: nobody}"),
         Deployment(Spec(), "1", "annotations: {owner: team-payments}")},
        {"azure-anti-affinity", "MustHaveAntiAffinityRulesSet", "", Deployment(Spec(), "3"),
         Deployment(Spec("",
                         "topologySpreadConstraints: [{maxSkew: 1, topologyKey: "
                         "kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, "
                         "labelSelector: {matchLabels: {app: web}}}]"),
                    "3")},
        {"azure-allowed-sysctls", "AllowedSysctlInterfaces",
         "{allowedSysctls: [net.ipv4.ping_group_range]}",
         Pod(Spec("",
                  "securityContext: {sysctls: [{name: kernel.shm_rmid_forced, value: \"1\"}]}")),
         Pod(Spec("",
                  "securityContext: {sysctls: [{name: net.ipv4.ping_group_range, value: \"0 "
                  "1\"}]}"))},
        {"azure-pod-disruption-budget", "DisallowedBadPodDisruptionBudgets", "",
         "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: "
         "shop}\nspec: {maxUnavailable: 0, selector: {matchLabels: {app: web}}}\n",
         "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: web, namespace: "
         "shop}\nspec: {maxUnavailable: 1, selector: {matchLabels: {app: web}}}\n"},
        {"azure-blocked-kinds", "BlockResource", "{kind: [LimitRange]}",
         "apiVersion: v1\nkind: LimitRange\nmetadata: {name: l, namespace: shop}\nspec: {limits: "
         "[{type: Container, max: {cpu: \"2\"}}]}\n",
         "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: shop}\nspec: {hard: "
         "{pods: \"10\"}}\n"},
    };
    return c;
  }();
  return kCases;
}

}  // namespace moat::k8s::testing
