// The catalog: which seed recommendations apply to a self-hosted estate, the table that routes
// findings to them, the seed rows that do not apply and the secure score controls. All of it is
// data; docs/server/recommendations.md explains each decision and assess_test.cpp checks it
// against the seed files and the real check libraries.

#include <map>
#include <utility>

#include "core/text.h"
#include "server/assess/assess.h"

namespace moat::server::assess {
namespace {

constexpr const char* kMdc2024 = "mdc_recommendations_containers_2024.csv";
constexpr const char* kAsc2020 = "asc_recommendations_containers_2020.csv";

// Secure score control names, as in mdc_secure_score_controls.csv.
constexpr const char* kManageAccess = "Manage access and permissions";
constexpr const char* kRemediateConfigurations = "Remediate security configurations";
constexpr const char* kRemediateVulnerabilities = "Remediate vulnerabilities";
constexpr const char* kRestrictNetwork = "Restrict unauthorized network access";
constexpr const char* kProtectDdos = "Protect applications against DDoS attacks";
constexpr const char* kEncryptTransit = "Encrypt data in transit";
constexpr const char* kBestPractices = "Implement security best practices";

// Seed rows used by more than one entry (a workload and a Docker host version).
constexpr const char* kPrivileged2024 = "Privileged containers should be avoided";
constexpr const char* kPrivileged2020 = "Privileged containers should be avoided (preview)";
constexpr const char* kEscalation2024 = "Container with privilege escalation should be avoided";
constexpr const char* kEscalation2020 =
    "Container with privilege escalation should be avoided (preview)";
constexpr const char* kNamespaces2024 =
    "Containers sharing sensitive host namespaces should be avoided";
constexpr const char* kNamespaces2020 =
    "Containers sharing sensitive host namespaces should be avoided (preview)";
constexpr const char* kAppArmor2024 = "Containers should only use allowed AppArmor profiles";
constexpr const char* kAppArmor2020 =
    "Overriding or disabling of containers AppArmor profile should be restricted (preview)";
constexpr const char* kReadOnly2024 =
    "Immutable (read-only) root filesystem should be enforced for containers";
constexpr const char* kReadOnly2020 =
    "Immutable (read-only) root filesystem should be enforced for containers (preview)";
constexpr const char* kCapabilities2024 =
    "Least privileged Linux capabilities should be enforced for containers";
constexpr const char* kCapabilities2020 =
    "Least privileged Linux capabilities should be enforced for containers (preview)";
constexpr const char* kRoot2024 = "Running containers as root user should be avoided";
constexpr const char* kRoot2020 = "Running containers as root user should be avoided (preview)";
constexpr const char* kHostNetwork2024 = "Usage of host networking and ports should be restricted";
constexpr const char* kHostNetwork2020 =
    "Usage of host networking and ports should be restricted (preview)";
constexpr const char* kHostPath2024 =
    "Usage of pod HostPath volume mounts should be restricted to a known list to restrict node "
    "access from compromised containers";
constexpr const char* kHostPath2020 =
    "Usage of pod HostPath volume mounts should be restricted to a known list (preview)";
constexpr const char* kLimits2024 = "Container CPU and memory limits should be enforced";
constexpr const char* kLimits2020 = "Container CPU and memory limits should be enforced (preview)";
constexpr const char* kContainerConfig2020 =
    "Vulnerabilities in container security configurations should be remediated  [compute "
    "section; Docker CIS]";

std::string Seeds(const char* a, const char* b) {
  return std::string(a) + " (" + kMdc2024 + "); " + b + " (" + kAsc2020 + ")";
}

std::vector<RecommendationDefinition> BuildCatalog() {
  std::vector<RecommendationDefinition> c;
  // Workloads: the Kubernetes data-plane recommendations, one per seed recommendation.
  c.push_back({"workload-privileged-containers",
               "Privileged containers should be avoided",
               "Medium",
               kManageAccess,
               kWorkload,
               "A privileged container (or a Windows HostProcess container) has every capability "
               "and every host device: escaping it is trivial.",
               "Remove securityContext.privileged (and windowsOptions.hostProcess) or set them to "
               "false.",
               Seeds(kPrivileged2024, kPrivileged2020),
               {kPrivileged2024, kPrivileged2020}});
  c.push_back({"workload-privilege-escalation",
               kEscalation2024,
               "Medium",
               kManageAccess,
               kWorkload,
               "A process that may gain more privileges than its parent (setuid binaries, file "
               "capabilities) can become root in the container.",
               "Set securityContext.allowPrivilegeEscalation: false on every container.",
               Seeds(kEscalation2024, kEscalation2020),
               {kEscalation2024, kEscalation2020}});
  c.push_back({"workload-host-namespaces",
               kNamespaces2024,
               "Medium",
               kManageAccess,
               kWorkload,
               "Pods sharing the host's PID or IPC namespace (or network namespace) see and can "
               "signal or attach to the node's processes.",
               "Remove hostPID, hostIPC and hostNetwork from the pod spec.",
               Seeds(kNamespaces2024, kNamespaces2020),
               {kNamespaces2024, kNamespaces2020}});
  c.push_back({"workload-apparmor",
               kAppArmor2024,
               "High",
               kRemediateConfigurations,
               kWorkload,
               "Overriding or disabling a container's AppArmor profile removes a kernel-enforced "
               "limit on what it may do.",
               "Set the AppArmor profile to runtime/default or an allowed localhost/ profile "
               "(securityContext.appArmorProfile or the container.apparmor annotation).",
               Seeds(kAppArmor2024, kAppArmor2020),
               {kAppArmor2024, kAppArmor2020}});
  c.push_back({"workload-readonly-root-filesystem",
               kReadOnly2024,
               "Medium",
               kManageAccess,
               kWorkload,
               "A writable root filesystem lets an intruder drop and run binaries in the "
               "container.",
               "Set securityContext.readOnlyRootFilesystem: true; mount emptyDir volumes where the "
               "application writes.",
               Seeds(kReadOnly2024, kReadOnly2020),
               {kReadOnly2024, kReadOnly2020}});
  c.push_back({"workload-capabilities",
               kCapabilities2024,
               "Medium",
               kManageAccess,
               kWorkload,
               "Each added Linux capability widens what a compromised container can do.",
               "Drop ALL capabilities and add back only those the container needs.",
               Seeds(kCapabilities2024, kCapabilities2020),
               {kCapabilities2024, kCapabilities2020}});
  c.push_back({"workload-run-as-root",
               kRoot2024,
               "High",
               kManageAccess,
               kWorkload,
               "Root in a container is one kernel bug away from root on the node.",
               "Set runAsNonRoot: true and a non-zero runAsUser; build images with a USER.",
               Seeds(kRoot2024, kRoot2020),
               {kRoot2024, kRoot2020}});
  c.push_back({"workload-host-network-ports",
               kHostNetwork2024,
               "Medium",
               kRestrictNetwork,
               kWorkload,
               "Host networking and host ports expose the pod on the node's interfaces.",
               "Remove hostNetwork and hostPort, or allow the ports the workload needs.",
               Seeds(kHostNetwork2024, kHostNetwork2020),
               {kHostNetwork2024, kHostNetwork2020}});
  c.push_back({"workload-host-paths",
               "Usage of pod HostPath volume mounts should be restricted to a known list",
               "Medium",
               kManageAccess,
               kWorkload,
               "A hostPath volume gives the pod the node's files: its credentials, the container "
               "runtime socket, other pods' data.",
               "Use other volume types, or restrict hostPath to the allowed paths, read-only.",
               Seeds(kHostPath2024, kHostPath2020),
               {kHostPath2024, kHostPath2020}});
  c.push_back({"workload-cpu-memory-limits",
               kLimits2024,
               "Medium",
               kProtectDdos,
               kWorkload,
               "Without CPU and memory limits one container can exhaust the node (a denial of "
               "service for its neighbours).",
               "Set resources.limits.cpu and resources.limits.memory on every container.",
               Seeds(kLimits2024, kLimits2020),
               {kLimits2024, kLimits2020}});
  c.push_back({"workload-trusted-registries",
               "Container images should be deployed from trusted registries only",
               "High",
               kRemediateVulnerabilities,
               kWorkload,
               "Images from unknown registries bypass the scanning and monitoring of the "
               "registries the center watches.",
               "Pull images only from the allowed registries (the allowedImages parameter of "
               "wl-allowed-registries); mirror the others.",
               Seeds("Container images should be deployed from trusted registries only",
                     "Container images should be deployed from trusted registries only (preview)"),
               {"Container images should be deployed from trusted registries only",
                "Container images should be deployed from trusted registries only (preview)"}});
  c.push_back({"workload-automount-api-credentials",
               "Kubernetes clusters should disable automounting API credentials",
               "High",
               kManageAccess,
               kWorkload,
               "A mounted service account token lets whoever compromises the container call the "
               "Kubernetes API with its rights.",
               "Set automountServiceAccountToken: false on the pod (or its service account) "
               "unless it calls the API.",
               std::string("Kubernetes clusters should disable automounting API credentials (") +
                   kMdc2024 + ")",
               {"Kubernetes clusters should disable automounting API credentials"}});
  c.push_back({"workload-sys-admin",
               "Kubernetes clusters should not grant CAP_SYS_ADMIN",
               "High",
               kManageAccess,
               kWorkload,
               "CAP_SYS_ADMIN is nearly root on the node.",
               "Remove SYS_ADMIN (and ALL) from securityContext.capabilities.add.",
               std::string("Kubernetes clusters should not grant CAPSYSADMIN security capabilities "
                           "(") +
                   kMdc2024 + ")",
               {"Kubernetes clusters should not grant CAPSYSADMIN security capabilities"}});
  c.push_back(
      {"workload-default-namespace",
       "Kubernetes clusters should not use the default namespace",
       "Low",
       kBestPractices,
       kWorkload,
       "The default namespace is where everything lands unless told otherwise: policies "
       "and RBAC scoped to real namespaces miss it.",
       "Deploy into a namespace of the application's own.",
       std::string("Kubernetes clusters should not use the default namespace (") + kMdc2024 + ")",
       {"Kubernetes clusters should not use the default namespace"}});
  c.push_back(
      {"ingress-https-only",
       "Kubernetes clusters should be accessible only over HTTPS",
       "High",
       kEncryptTransit,
       kWorkload,
       "An Ingress without TLS serves its hosts over plain HTTP: credentials and session "
       "cookies cross the network in clear text.",
       "Add spec.tls with a certificate Secret for every host.",
       std::string("Kubernetes clusters should be accessible only over HTTPS (") + kMdc2024 + ")",
       {"Kubernetes clusters should be accessible only over HTTPS"}});
  c.push_back({"services-allowed-ports",
               "Services should listen on allowed ports only",
               "Medium",
               kRestrictNetwork,
               kWorkload,
               "Dashboards and databases behind a LoadBalancer or NodePort service listen on "
               "ports reachable from outside the cluster.",
               "Use a ClusterIP service behind an authenticated ingress, or restrict "
               "loadBalancerSourceRanges.",
               Seeds("Services should listen on allowed ports only",
                     "Services should listen on allowed ports only (preview)"),
               {"Services should listen on allowed ports only",
                "Services should listen on allowed ports only (preview)"}});
  c.push_back({"namespace-network-policy",
               "Network policy should be enabled on Kubernetes clusters",
               "Medium",
               kRestrictNetwork,
               kWorkload,
               "Without a network policy every pod of the namespace accepts connections from "
               "every pod in the cluster.",
               "Add a default-deny NetworkPolicy to the namespace and allow the flows it needs.",
               std::string("Network policy should be enabled on GKE clusters (") + kMdc2024 + ")",
               {"Network policy should be enabled on GKE clusters"}});
  c.push_back({"rbac-least-privilege",
               "Role-Based Access Control should be used to restrict access to Kubernetes clusters",
               "High",
               kManageAccess,
               kWorkload,
               "Roles and bindings that grant wildcards, secrets, exec, escalation or "
               "cluster-admin give their subjects (and whoever steals their credentials) the "
               "cluster.",
               "Bind roles that list only the verbs and resources each subject needs.",
               Seeds("Role-Based Access Control should be used on Kubernetes Services",
                     "Role-Based Access Control should be used to restrict access to a "
                     "Kubernetes Service Cluster"),
               {"Role-Based Access Control should be used on Kubernetes Services",
                "Role-Based Access Control should be used to restrict access to a Kubernetes "
                "Service Cluster"}});
  // Images: vulnerability findings.
  c.push_back(
      {"registry-images-vulnerabilities",
       "Registry container images should have vulnerabilities "
       "resolved",
       "High",
       kRemediateVulnerabilities,
       kRegistryImage,
       "Images in the monitored registries contain packages with known vulnerabilities.",
       "Update the vulnerable packages (the fixed versions are listed), rebuild and push the "
       "image; "
       "delete images nobody uses.",
       std::string("Azure registry container images should have vulnerabilities resolved (powered "
                   "by Qualys | by Microsoft Defender Vulnerability Management) (") +
           kMdc2024 +
           "); Vulnerabilities in Azure Container Registry images should be remediated "
           "(powered by Qualys) (" +
           kAsc2020 + ")",
       {"Azure registry container images should have vulnerabilities resolved (powered by Qualys)",
        "Azure registry container images should have vulnerabilities resolved (powered by "
        "Microsoft Defender Vulnerability Management)",
        "Vulnerabilities in Azure Container Registry images should be remediated (powered by "
        "Qualys)"}});
  c.push_back(
      {"running-images-vulnerabilities",
       "Running container images should have vulnerabilities resolved",
       "High",
       kRemediateVulnerabilities,
       kRunningImage,
       "Images that containers run on the monitored hosts and clusters contain packages with "
       "known vulnerabilities; findings in packages seen loaded are in use.",
       "Rebuild the image with the fixed packages and redeploy the containers that run it.",
       std::string("Azure running container images should have vulnerabilities resolved - (powered "
                   "by Qualys) | (powered by Microsoft Defender Vulnerability Management) (") +
           kMdc2024 + ")",
       {"Azure running container images should have vulnerabilities resolved - (powered by Qualys)",
        "Azure running container images should have vulnerabilities resolved (powered by Microsoft "
        "Defender Vulnerability Management)"}});
  // Docker hosts: the CIS Docker Benchmark. Controls about the containers a host runs go to the
  // recommendation a Kubernetes user knows for the same risk; every other failed control goes to
  // the one Defender used for Docker hosts.
  const std::string cis_docker = std::string(" on Docker hosts (CIS Docker Benchmark)");
  auto host = [&](std::string id, const char* title, const char* severity, const char* control,
                  std::string description, std::string remediation, const char* seed_2024,
                  const char* seed_2020) {
    c.push_back({std::move(id),
                 std::string(title) + cis_docker,
                 severity,
                 control,
                 kHost,
                 std::move(description),
                 std::move(remediation),
                 Seeds(seed_2024, seed_2020),
                 {seed_2024, seed_2020}});
  };
  host("host-privileged-containers", kPrivileged2024, "Medium", kManageAccess,
       "Containers run with --privileged, or docker exec --privileged was used (CIS 5.5, 5.23).",
       "Run containers without --privileged; grant the single capability or device needed.",
       kPrivileged2024, kPrivileged2020);
  host("host-privilege-escalation", kEscalation2024, "Medium", kManageAccess,
       "Containers may gain new privileges (no no-new-privileges, CIS 5.26; daemon default, CIS "
       "2.14).",
       "Run containers with --security-opt=no-new-privileges and set \"no-new-privileges\": true "
       "in daemon.json.",
       kEscalation2024, kEscalation2020);
  host("host-host-namespaces", kNamespaces2024, "Medium", kManageAccess,
       "Containers share the host's PID, IPC, UTS or user namespace (CIS 5.16, 5.17, 5.21, 5.31).",
       "Remove --pid=host, --ipc=host, --uts=host and --userns=host.", kNamespaces2024,
       kNamespaces2020);
  host("host-apparmor", kAppArmor2024, "High", kRemediateConfigurations,
       "Containers run without an AppArmor profile (CIS 5.2).",
       "Run containers with the docker-default or a custom AppArmor profile "
       "(--security-opt apparmor=PROFILE).",
       kAppArmor2024, kAppArmor2020);
  host("host-readonly-root-filesystem", kReadOnly2024, "Medium", kManageAccess,
       "Containers run with a writable root filesystem (CIS 5.13).",
       "Run containers with --read-only and volumes or tmpfs where they write.", kReadOnly2024,
       kReadOnly2020);
  host("host-capabilities", kCapabilities2024, "Medium", kManageAccess,
       "Containers add Linux capabilities beyond the default set (CIS 5.4).",
       "Run with --cap-drop=ALL and --cap-add only what is needed.", kCapabilities2024,
       kCapabilities2020);
  host("host-run-as-root", kRoot2024, "High", kManageAccess,
       "Containers run as root (no user in the image or on the command line, CIS 4.1).",
       "Add a USER to the image or run with --user UID.", kRoot2024, kRoot2020);
  host("host-network-ports", kHostNetwork2024, "Medium", kRestrictNetwork,
       "Containers share the host's network namespace, map privileged ports, or publish ports on "
       "every host interface (CIS 5.10, 5.8, 5.14).",
       "Remove --network=host; publish unprivileged ports bound to one interface "
       "(-p 127.0.0.1:8080:80).",
       kHostNetwork2024, kHostNetwork2020);
  host("host-sensitive-mounts", "Usage of host directory mounts should be restricted", "Medium",
       kManageAccess,
       "Containers mount sensitive host directories or the Docker socket (CIS 5.6, 5.32).",
       "Do not mount /, /boot, /dev, /etc, /lib, /proc, /sys, /usr or docker.sock into "
       "containers; mount application directories read-only.",
       kHostPath2024, kHostPath2020);
  host("host-cpu-memory-limits", kLimits2024, "Medium", kProtectDdos,
       "Containers run without a memory limit or CPU shares (CIS 5.11, 5.12).",
       "Run containers with --memory and --cpu-shares (or --cpus).", kLimits2024, kLimits2020);
  c.push_back({"host-security-configurations",
               "Vulnerabilities in container security configurations should be remediated",
               "Medium",
               kRemediateConfigurations,
               kHost,
               "The Docker host fails controls of the CIS Docker Benchmark v1.6.0 (host, daemon, "
               "files, images, runtime, operations, swarm) that no more specific recommendation "
               "lists.",
               "Apply each failed control's remediation (moat bench docker shows them).",
               std::string(kContainerConfig2020) + " (" + kAsc2020 + ")",
               {kContainerConfig2020}});
  c.push_back({"cluster-node-security-configurations",
               "Vulnerabilities in Kubernetes node security configurations should be remediated",
               "Medium",
               kRemediateConfigurations,
               kCluster,
               "Nodes of the cluster fail controls of the CIS Kubernetes Benchmark worker node "
               "section (kubelet configuration files, kubelet, kube-proxy).",
               "Apply each failed control's remediation (moat k8s node shows them).",
               std::string(kContainerConfig2020) + " (" + kAsc2020 + ")",
               {kContainerConfig2020}});
  return c;
}

std::vector<FindingMapping> BuildMappings() {
  std::vector<FindingMapping> rows;
  auto add = [&rows](const char* kind, const char* source, const char* recommendation,
                     std::initializer_list<const char*> ids) {
    for (const char* id : ids) rows.push_back({kind, source, id, recommendation});
  };
  add(kWorkload, "k8s", "workload-privileged-containers",
      {"wl-privileged", "pss-baseline-privileged", "pss-baseline-hostprocess",
       "azure-no-privileged"});
  add(kWorkload, "k8s", "workload-privilege-escalation",
      {"wl-privilege-escalation", "pss-restricted-privilege-escalation",
       "azure-privilege-escalation"});
  add(kWorkload, "k8s", "workload-host-namespaces",
      {"wl-host-namespaces", "pss-baseline-host-namespaces", "azure-host-namespace"});
  add(kWorkload, "k8s", "workload-apparmor",
      {"wl-apparmor", "pss-baseline-apparmor", "azure-apparmor"});
  add(kWorkload, "k8s", "workload-readonly-root-filesystem",
      {"wl-readonly-rootfs", "azure-readonly-rootfs"});
  add(kWorkload, "k8s", "workload-capabilities",
      {"wl-allowed-capabilities", "wl-drop-net-raw", "pss-baseline-capabilities",
       "pss-restricted-capabilities", "azure-allowed-capabilities",
       "azure-disallowed-capabilities"});
  add(kWorkload, "k8s", "workload-run-as-root",
      {"wl-run-as-non-root", "pss-restricted-run-as-non-root",
       "pss-restricted-run-as-non-root-user", "azure-users-groups"});
  add(kWorkload, "k8s", "workload-host-network-ports",
      {"wl-host-ports", "pss-baseline-host-ports", "azure-host-network-ports"});
  add(kWorkload, "k8s", "workload-host-paths",
      {"wl-host-paths", "pss-baseline-hostpath-volumes", "azure-host-paths"});
  add(kWorkload, "k8s", "workload-cpu-memory-limits",
      {"wl-cpu-limits", "wl-memory-limits", "azure-resource-limits"});
  add(kWorkload, "k8s", "workload-trusted-registries",
      {"wl-allowed-registries", "azure-allowed-images"});
  add(kWorkload, "k8s", "workload-automount-api-credentials",
      {"wl-automount-sa-token", "azure-automount-token"});
  add(kWorkload, "k8s", "workload-sys-admin", {"wl-sys-admin", "azure-sys-admin"});
  add(kWorkload, "k8s", "workload-default-namespace",
      {"wl-default-namespace", "azure-default-namespace"});
  add(kWorkload, "k8s", "ingress-https-only", {"net-ingress-tls", "azure-ingress-https"});
  add(kWorkload, "k8s", "services-allowed-ports",
      {"net-sensitive-exposure", "azure-service-ports"});
  add(kWorkload, "k8s", "namespace-network-policy", {"net-namespace-without-networkpolicy"});
  add(kWorkload, "k8s", "rbac-least-privilege",
      {"rbac-*", "azure-cluster-admin-binding", "azure-wildcard-roles",
       "azure-endpoint-edit-role"});
  add(kRegistryImage, "vulnerability", "registry-images-vulnerabilities", {"*"});
  add(kRunningImage, "vulnerability", "running-images-vulnerabilities", {"*"});
  add(kHost, "cis-docker", "host-privileged-containers", {"5.5", "5.23"});
  add(kHost, "cis-docker", "host-privilege-escalation", {"5.26", "2.14"});
  add(kHost, "cis-docker", "host-host-namespaces", {"5.16", "5.17", "5.21", "5.31"});
  add(kHost, "cis-docker", "host-apparmor", {"5.2"});
  add(kHost, "cis-docker", "host-readonly-root-filesystem", {"5.13"});
  add(kHost, "cis-docker", "host-capabilities", {"5.4"});
  add(kHost, "cis-docker", "host-run-as-root", {"4.1"});
  add(kHost, "cis-docker", "host-network-ports", {"5.10", "5.8", "5.14"});
  add(kHost, "cis-docker", "host-sensitive-mounts", {"5.6", "5.32"});
  add(kHost, "cis-docker", "host-cpu-memory-limits", {"5.11", "5.12"});
  add(kHost, "cis-docker", "host-security-configurations", {"*"});  // last: the rest
  add(kCluster, "k8s-node", "cluster-node-security-configurations", {"*"});
  return rows;
}

std::vector<NotApplicableSeed> BuildNotApplicable() {
  const std::string cloud_plan =
      "enables or provisions a part of Microsoft Defender for Cloud; in a self-hosted estate "
      "Moat's own agent and server do that job, and an estate without them has nothing to assess";
  const std::string azure_policy =
      "installs Azure Policy (Gatekeeper) into a managed cluster; Moat's equivalent is moat "
      "admission, whose absence is not a finding of any check";
  const std::string gke_setting =
      "a GKE cluster setting in Google's API, which a self-hosted cluster does not have";
  const std::string api_exposure =
      "restricts which networks reach a managed control plane (authorized IP ranges); a "
      "self-hosted API server's exposure is decided by the network in front of it, which no Moat "
      "check observes";
  return {
      {kMdc2024,
       "(Enable if required) Container registries should be encrypted with a "
       "customer-managed key (CMK)",
       "encryption at rest with a cloud key vault; a v2 registry's storage encryption is a "
       "property of its storage backend, invisible through the registry API"},
      {kMdc2024,
       "Azure Arc-enabled Kubernetes clusters should have the Azure Policy extension "
       "installed",
       azure_policy},
      {kMdc2024,
       "Azure Arc-enabled Kubernetes clusters should have the Defender extension "
       "installed",
       cloud_plan},
      {kMdc2024, "Azure Kubernetes Service clusters should have Defender profile enabled",
       cloud_plan},
      {kMdc2024,
       "Azure Kubernetes Service clusters should have the Azure Policy add-on for "
       "Kubernetes installed",
       azure_policy},
      {kMdc2024, "Container registries should not allow unrestricted network access",
       "a network rule of a cloud registry resource; a self-hosted registry's reachability is "
       "decided by the network in front of it, which the v2 API does not reveal"},
      {kMdc2024, "Container registries should use private link", "Azure Private Link"},
      {kMdc2024, "Diagnostic logs in Kubernetes services should be enabled",
       "an AKS resource's diagnostic settings; for a self-hosted cluster whether the API server "
       "writes an audit log is an API server flag, and Moat assesses only node (kubelet) "
       "configuration"},
      {kMdc2024, "Kubernetes API server should be configured with restricted access", api_exposure},
      {kMdc2024, "Microsoft Defender for Containers should be enabled", cloud_plan},
      {kMdc2024,
       "EKS clusters should grant the required AWS permissions to Microsoft Defender "
       "for Cloud",
       cloud_plan},
      {kMdc2024, "EKS clusters should have Microsoft Defender's extension for Azure Arc installed",
       cloud_plan},
      {kMdc2024, "Microsoft Defender for Containers should be enabled on AWS connectors",
       cloud_plan},
      {kMdc2024,
       "Advanced configuration of Defender for Containers should be enabled on GCP "
       "connectors",
       cloud_plan},
      {kMdc2024, "GKE clusters should have Microsoft Defender's extension for Azure Arc installed",
       cloud_plan},
      {kMdc2024, "GKE clusters should have the Azure Policy extension installed", azure_policy},
      {kMdc2024, "Microsoft Defender for Containers should be enabled on GCP connectors",
       cloud_plan},
      {kMdc2024, "GKE cluster's auto repair feature should be enabled", gke_setting},
      {kMdc2024, "GKE cluster's auto upgrade feature should be enabled", gke_setting},
      {kMdc2024, "Monitoring on GKE clusters should be enabled", gke_setting},
      {kMdc2024, "Logging for GKE clusters should be enabled", gke_setting},
      {kMdc2024, "GKE web dashboard should be disabled",
       gke_setting + "; a self-hosted dashboard exposed outside the cluster is a finding of "
                     "net-sensitive-exposure (services-allowed-ports)"},
      {kMdc2024, "Legacy Authorization should be disabled on GKE clusters",
       gke_setting + "; the self-hosted equivalent is the API server's --authorization-mode, "
                     "which Moat does not read"},
      {kMdc2024, "Control Plane Authorized Networks should be enabled on GKE clusters",
       gke_setting + "; " + api_exposure},
      {kMdc2024, "GKE clusters should have alias IP ranges enabled", gke_setting},
      {kMdc2024, "GKE clusters should have Private clusters enabled", gke_setting},
      {kAsc2020, "Azure Defender for container registries should be enabled", cloud_plan},
      {kAsc2020, "Azure Defender for Kubernetes should be enabled", cloud_plan},
      {kAsc2020, "Authorized IP ranges should be defined on Kubernetes Services", api_exposure},
      {kAsc2020,
       "Azure Policy add-on for Kubernetes should be installed and enabled on your "
       "clusters (preview)",
       azure_policy},
      {kAsc2020, "Containers should listen on allowed ports only (preview)",
       "its Azure policy (440b515e) is deprecated and no Moat check keeps an allowed list of "
       "container ports; ports that reach outside the pod are covered by "
       "workload-host-network-ports (hostPort) and services-allowed-ports (Services)"},
      {kAsc2020, "The Kubernetes Service should be upgraded to the latest Kubernetes version",
       "no Moat check compares a cluster's Kubernetes version with advisories yet (api-removed "
       "and api-deprecated look at manifests, not at the server)"},
  };
}

std::vector<CheckWithoutRecommendation> BuildUnmapped() {
  const char* no_seed = "no seed recommendation covers it";
  const char* azure_only = "an Azure Policy definition no seed recommendation names";
  return {
      {"k8s", "pss-baseline-host-probes", no_seed},
      {"k8s", "pss-baseline-selinux", no_seed},
      {"k8s", "pss-baseline-procmount", no_seed},
      {"k8s", "pss-baseline-seccomp",
       "no seed recommendation covers seccomp (the AppArmor one names AppArmor only)"},
      {"k8s", "pss-baseline-sysctls", no_seed},
      {"k8s", "pss-restricted-volume-types",
       "volume types beyond the restricted set; hostPath itself is workload-host-paths"},
      {"k8s", "pss-restricted-seccomp",
       "no seed recommendation covers seccomp (the AppArmor one names AppArmor only)"},
      {"k8s", "pss-restricted-procmount", no_seed},
      {"k8s", "wl-cpu-requests", "the seed's recommendation is about limits, not requests"},
      {"k8s", "wl-memory-requests", "the seed's recommendation is about limits, not requests"},
      {"k8s", "wl-image-tag", no_seed},
      {"k8s", "wl-seccomp",
       "no seed recommendation covers seccomp (the AppArmor one names AppArmor only)"},
      {"k8s", "wl-liveness-probe", "availability, not security"},
      {"k8s", "wl-readiness-probe", "availability, not security"},
      {"k8s", "wl-secrets-in-env", no_seed},
      {"k8s", "wl-volume-types",
       "volume types beyond the allowed set; hostPath itself is workload-host-paths"},
      {"k8s", "wl-root-group",
       "the seed's root-user policy allows any group by default (runAsGroupRule RunAsAny)"},
      {"k8s", "wl-no-hardening", no_seed},
      {"k8s", "wl-kube-system", no_seed},
      {"k8s", "wl-high-uid-gid", "optional policy beyond the seed's root-user recommendation"},
      {"k8s", "wl-image-digest", "optional policy; no seed recommendation covers it"},
      {"k8s", "k8s-invalid-field", "a malformed manifest, not a security configuration"},
      {"k8s", "net-external-exposure",
       "an inventory of every path in from outside to review, not a failure (sensitive ones are "
       "net-sensitive-exposure)"},
      {"k8s", "ns-pod-security-labels", no_seed},
      {"k8s", "cred-env-plaintext", no_seed},
      {"k8s", "cred-configmap-plaintext", no_seed},
      {"k8s", "api-removed", "an upgrade blocker, not a security configuration"},
      {"k8s", "api-deprecated", "an upgrade blocker, not a security configuration"},
      // Azure Policy bundle definitions (docs/admission.md) that no seed recommendation names.
      {"k8s", "azure-node-edits", azure_only},
      {"k8s", "azure-container-probes", azure_only},
      {"k8s", "azure-prestop-hook", azure_only},
      {"k8s", "azure-no-latest-image", azure_only},
      {"k8s", "azure-resource-requests", azure_only},
      {"k8s", "azure-forbidden-sysctls", azure_only},
      {"k8s", "azure-image-pull-secrets", azure_only},
      {"k8s", "azure-proc-mount", azure_only},
      {"k8s", "azure-pull-policy", azure_only},
      {"k8s", "azure-seccomp", azure_only},
      {"k8s", "azure-flexvolume-drivers", azure_only},
      {"k8s", "azure-selinux", azure_only},
      {"k8s", "azure-volume-types", azure_only},
      {"k8s", "azure-pod-labels", azure_only},
      {"k8s", "azure-external-ips", azure_only},
      {"k8s", "azure-unique-service-selectors", azure_only},
      {"k8s", "azure-naked-pods", azure_only},
      {"k8s", "azure-ingress-host", azure_only},
      {"k8s", "azure-csi-storage-class", azure_only},
      {"k8s", "azure-internal-load-balancer", azure_only},
      {"k8s", "azure-required-annotations", azure_only},
      {"k8s", "azure-anti-affinity", azure_only},
      {"k8s", "azure-allowed-sysctls", azure_only},
      {"k8s", "azure-pod-disruption-budget", azure_only},
      {"k8s", "azure-blocked-kinds", azure_only},
  };
}

}  // namespace

const std::vector<RecommendationDefinition>& RecommendationCatalog() {
  static const std::vector<RecommendationDefinition> catalog = BuildCatalog();
  return catalog;
}

const RecommendationDefinition* FindRecommendation(std::string_view id) {
  for (const RecommendationDefinition& definition : RecommendationCatalog()) {
    if (definition.id == id) return &definition;
  }
  return nullptr;
}

const std::vector<FindingMapping>& FindingMappings() {
  static const std::vector<FindingMapping> rows = BuildMappings();
  return rows;
}

const RecommendationDefinition* RecommendationFor(const FindingFacts& finding) {
  // The rows of one kind and source, in table order, with their definitions resolved once.
  using Route = std::pair<const FindingMapping*, const RecommendationDefinition*>;
  static const std::map<std::pair<std::string, std::string>, std::vector<Route>> routes = [] {
    std::map<std::pair<std::string, std::string>, std::vector<Route>> by_origin;
    for (const FindingMapping& row : FindingMappings()) {
      by_origin[{row.resource_kind, row.source}].emplace_back(
          &row, FindRecommendation(row.recommendation_id));
    }
    return by_origin;
  }();
  auto it = routes.find({finding.resource_kind, finding.source});
  if (it == routes.end()) return nullptr;
  for (const auto& [row, definition] : it->second) {
    if (GlobMatch(row->finding_id, finding.finding_id)) return definition;
  }
  return nullptr;
}

const std::vector<NotApplicableSeed>& NotApplicableSeedRecommendations() {
  static const std::vector<NotApplicableSeed> rows = BuildNotApplicable();
  return rows;
}

const std::vector<CheckWithoutRecommendation>& ChecksWithoutRecommendation() {
  static const std::vector<CheckWithoutRecommendation> rows = BuildUnmapped();
  return rows;
}

const std::vector<SecurityControl>& SecurityControls() {
  // mdc_secure_score_controls.csv, in its order (by points).
  static const std::vector<SecurityControl> controls = {
      {"Enable MFA", 10},
      {"Secure management ports", 8},
      {"Apply system updates", 6},
      {"Remediate vulnerabilities", 6},
      {"Remediate security configurations", 4},
      {"Manage access and permissions", 4},
      {"Enable encryption at rest", 4},
      {"Encrypt data in transit", 4},
      {"Restrict unauthorized network access", 4},
      {"Apply adaptive application control", 3},
      {"Protect applications against DDoS attacks", 2},
      {"Enable endpoint protection", 2},
      {"Enable auditing and logging", 1},
      {"Enable enhanced security features", 0},
      {"Implement security best practices", 0},
  };
  return controls;
}

}  // namespace moat::server::assess
