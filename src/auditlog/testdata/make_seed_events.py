#!/usr/bin/env python3
"""Writes seed_events.jsonl: a positive and a negative Kubernetes audit event for every rule of
src/auditlog/rules/k8s_audit_rules.yaml, as the API server logs them (audit.k8s.io/v1 Event,
stage ResponseComplete, level RequestResponse; shape per the Kubernetes "Auditing" docs).

The request objects come from the captured AdmissionReview requests in
../shared/data/k8s/admission-review/ (request.object, request.userInfo, request.namespace),
changed as each case says; objects of kinds no capture has (RBAC, events) are written as the
Kubernetes API reference defines them. Each event names what it must (or must not) raise in
its annotations:
  moat.test/expect: a seed alert type (K8S_...) or a rule name that must fire
  moat.test/expect-not: one that must not fire

Run from the repository root: python3 src/auditlog/testdata/make_seed_events.py
"""

import copy
import json
import os
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("MOAT_SHARED_DATA_DIR",
                        os.path.join(HERE, "..", "..", "..", "..", "shared", "data"))
REVIEWS = os.path.join(SHARED, "k8s", "admission-review")


def review_request(relative):
    with open(os.path.join(REVIEWS, relative)) as f:
        review = json.load(f)
    return review.get("request", review)


def load_webhook_configuration():
    # The capture is YAML; PyYAML is Debian's python3-yaml.
    import yaml
    with open(os.path.join(REVIEWS, "canonical", "validatingwebhookconfiguration.yaml")) as f:
        return yaml.safe_load(f)


CORE_RESOURCES = {"pods", "services", "configmaps", "secrets", "events", "namespaces",
                  "serviceaccounts"}
GROUP_OF = {
    "clusterrolebindings": ("rbac.authorization.k8s.io", "v1"),
    "rolebindings": ("rbac.authorization.k8s.io", "v1"),
    "clusterroles": ("rbac.authorization.k8s.io", "v1"),
    "roles": ("rbac.authorization.k8s.io", "v1"),
    "validatingwebhookconfigurations": ("admissionregistration.k8s.io", "v1"),
    "mutatingwebhookconfigurations": ("admissionregistration.k8s.io", "v1"),
    "deployments": ("apps", "v1"),
}
KUBECTL = "kubectl/v1.30.2 (linux/amd64) kubernetes/3968350"
ADMIN = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}
counter = [0]


def request_uri(resource, namespace, name, subresource, verb):
    if resource in CORE_RESOURCES:
        base = "/api/v1"
    else:
        group, version = GROUP_OF[resource]
        base = f"/apis/{group}/{version}"
    path = base + (f"/namespaces/{namespace}" if namespace else "") + f"/{resource}"
    if name and verb != "create" or subresource:
        path += f"/{name}"
    if subresource:
        path += f"/{subresource}"
    return path


def event(resource, verb, obj=None, namespace="", name="", user=None, subresource="",
          code=None, agent=KUBECTL, source_ips=("10.240.0.4",), query="", uri=None):
    counter[0] += 1
    group, version = GROUP_OF.get(resource, ("", "v1"))
    if obj is not None:
        name = name or obj.get("metadata", {}).get("name", "")
        namespace = namespace or obj.get("metadata", {}).get("namespace", "")
    object_ref = {"resource": resource, "apiVersion": version}
    if namespace:
        object_ref["namespace"] = namespace
    if name:
        object_ref["name"] = name
    if group:
        object_ref["apiGroup"] = group
    if subresource:
        object_ref["subresource"] = subresource
    if code is None:
        code = {"create": 201}.get(verb, 200)
        if subresource in ("exec", "attach"):
            code = 101
    second = f"{counter[0] % 60:02d}"
    out = {
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "RequestResponse" if obj is not None else "Metadata",
        "auditID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"moat-seed-{counter[0]}")),
        "stage": "ResponseComplete",
        "requestURI": uri or (request_uri(resource, namespace, name, subresource, verb) + query),
        "verb": verb,
        "user": copy.deepcopy(user or ADMIN),
        "sourceIPs": list(source_ips),
        "userAgent": agent,
        "objectRef": object_ref,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": f"2024-05-01T12:00:{second}.100000Z",
        "stageTimestamp": f"2024-05-01T12:00:{second}.180000Z",
        "annotations": {"authorization.k8s.io/decision": "allow",
                        "authorization.k8s.io/reason": ""},
    }
    if obj is not None:
        out["requestObject"] = obj
        response = copy.deepcopy(obj)
        response.setdefault("metadata", {}).setdefault("uid", str(uuid.uuid5(
            uuid.NAMESPACE_URL, f"moat-seed-object-{counter[0]}")))
        out["responseObject"] = response
    return out


def expect(ev, positive, what):
    ev["annotations"]["moat.test/expect" if positive else "moat.test/expect-not"] = what
    return ev


# ---- Base objects from the captured AdmissionReviews ------------------------------------------

PRIVILEGED_POD_REQUEST = review_request("canonical/request_create_pod.json")
PLAIN_POD_REQUEST = review_request(
    "kubewarden/allow-privilege-escalation-psp-policy__req_pod_with_container_with_security"
    "_context_and_allowPrivilegeEscalation.json")
SERVICE_REQUEST = review_request("kubewarden/disallow-service-nodeport-policy__service_nodeport.json")
CONFIGMAP_REQUEST = review_request("canonical/request_delete_configmap.json")


def user_of(request):
    info = request["userInfo"]
    return {k: info[k] for k in ("username", "uid", "groups") if k in info}


def privileged_pod():
    return copy.deepcopy(PRIVILEGED_POD_REQUEST["object"])


def plain_pod(namespace="default", image=None, name=None):
    pod = copy.deepcopy(PLAIN_POD_REQUEST["object"])
    for key in ("uid", "creationTimestamp", "managedFields", "annotations"):
        pod["metadata"].pop(key, None)
    pod.pop("status", None)
    for container in pod["spec"]["containers"]:
        container.pop("securityContext", None)
    pod["metadata"]["namespace"] = namespace
    if name:
        pod["metadata"]["name"] = name
    if image:  # every container: the capture has a sidecar
        for container in pod["spec"]["containers"]:
            container["image"] = image
    return pod


def with_host_path(pod, path):
    pod["spec"].setdefault("volumes", []).append(
        {"name": "host", "hostPath": {"path": path, "type": ""}})
    pod["spec"]["containers"][0].setdefault("volumeMounts", []).append(
        {"name": "host", "mountPath": "/host"})
    return pod


def service(name, namespace, service_type, ports, selector=None, source_ranges=None):
    svc = copy.deepcopy(SERVICE_REQUEST["object"])
    for key in ("uid", "creationTimestamp"):
        svc["metadata"].pop(key, None)
    svc["metadata"]["name"] = name
    svc["metadata"]["namespace"] = namespace
    svc["spec"]["type"] = service_type
    svc["spec"]["ports"] = [{"port": p, "targetPort": p, "protocol": "TCP"} for p in ports]
    if service_type != "NodePort":
        svc["spec"].pop("externalTrafficPolicy", None)
    if selector:
        svc["spec"]["selector"] = selector
    if source_ranges:
        svc["spec"]["loadBalancerSourceRanges"] = source_ranges
    return svc


def configmap(name, namespace, data):
    cm = copy.deepcopy(CONFIGMAP_REQUEST["oldObject"] or CONFIGMAP_REQUEST["object"])
    cm["metadata"] = {"name": name, "namespace": namespace}
    cm["data"] = data
    return cm


def cluster_role_binding(name, role, subjects, kind="ClusterRoleBinding", namespace=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role},
            "subjects": subjects}


def cluster_role(name, rules):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}


def main():
    ci_deployer = user_of(CONFIGMAP_REQUEST)  # system:serviceaccount:ci:deployer
    events = []
    add = events.append

    # K8S_PrivilegedContainer
    add(expect(event("pods", "create", privileged_pod(), user=user_of(PRIVILEGED_POD_REQUEST)),
               True, "K8S_PrivilegedContainer"))
    add(expect(event("pods", "create", plain_pod()), False, "K8S_PrivilegedContainer"))
    denied = event("pods", "create", privileged_pod(), code=403)
    denied.pop("responseObject")
    add(expect(denied, False, "K8S_PrivilegedContainer"))  # refused: nothing was created

    # K8S_SensitiveMount
    add(expect(event("pods", "create", with_host_path(plain_pod(), "/var/run/docker.sock")),
               True, "K8S_SensitiveMount"))
    add(expect(event("pods", "create", with_host_path(plain_pod(), "/etc/kubernetes/pki")),
               True, "K8S_SensitiveMount"))
    add(expect(event("pods", "create", with_host_path(plain_pod(), "/mnt/data/cache")),
               False, "K8S_SensitiveMount"))

    # K8S_KubeSystemContainer
    add(expect(event("pods", "create", plain_pod("kube-system", "nginx:1.27", "helper")),
               True, "K8S_KubeSystemContainer"))
    add(expect(event("pods", "create", plain_pod("kube-system",
                                                 "registry.k8s.io/coredns/coredns:v1.11.1",
                                                 "coredns-5d78c9869d-x2h7v")),
               False, "K8S_KubeSystemContainer"))

    # K8S_ClusterAdminBinding
    add(expect(event("clusterrolebindings", "create",
                     cluster_role_binding("ci-admin", "cluster-admin",
                                          [{"kind": "ServiceAccount", "name": "deployer",
                                            "namespace": "ci"}]),
                     user=ci_deployer), True, "K8S_ClusterAdminBinding"))
    add(expect(event("rolebindings", "create",
                     cluster_role_binding("ci-view", "view",
                                          [{"kind": "ServiceAccount", "name": "deployer",
                                            "namespace": "ci"}], "RoleBinding", "ci")),
               False, "K8S_ClusterAdminBinding"))

    # K8S_HighPrivilegesRole
    add(expect(event("clusterroles", "create",
                     cluster_role("pod-anything", [{"apiGroups": [""], "resources": ["pods"],
                                                    "verbs": ["*"]}])),
               True, "K8S_HighPrivilegesRole"))
    add(expect(event("clusterroles", "create",
                     cluster_role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"],
                                                     "verbs": ["get", "list"]}])),
               True, "K8S_HighPrivilegesRole"))
    add(expect(event("clusterroles", "create",
                     cluster_role("pod-reader", [{"apiGroups": [""], "resources": ["pods"],
                                                 "verbs": ["get", "list", "watch"]}])),
               False, "K8S_HighPrivilegesRole"))

    # K8S_AdmissionController
    webhook = load_webhook_configuration()
    add(expect(event("validatingwebhookconfigurations", "create", webhook),
               True, "K8S_AdmissionController"))
    add(expect(event("validatingwebhookconfigurations", "get", None,
                     name=webhook["metadata"]["name"]), False, "K8S_AdmissionController"))

    # K8S_CoreDnsModification
    corefile = {"Corefile": ".:53 {\n    forward . 203.0.113.53\n}\n"}
    add(expect(event("configmaps", "update", configmap("coredns", "kube-system", corefile)),
               True, "K8S_CoreDnsModification"))
    add(expect(event("configmaps", "update", configmap("kube-proxy", "kube-system",
                                                       {"config.conf": "mode: ipvs\n"})),
               False, "K8S_CoreDnsModification"))

    # K8S_DeleteEvents
    add(expect(event("events", "deletecollection", None, namespace="prod", user=ci_deployer),
               True, "K8S_DeleteEvents"))
    add(expect(event("events", "deletecollection", None, namespace="old-team",
                     user={"username": "system:serviceaccount:kube-system:namespace-controller",
                           "groups": ["system:serviceaccounts",
                                      "system:serviceaccounts:kube-system",
                                      "system:authenticated"]}),
               False, "K8S_DeleteEvents"))

    # K8S_ExposedDashboard
    add(expect(event("services", "create",
                     service("kubernetes-dashboard", "kubernetes-dashboard", "LoadBalancer",
                             [443], {"k8s-app": "kubernetes-dashboard"})),
               True, "K8S_ExposedDashboard"))
    add(expect(event("services", "create",
                     service("kubernetes-dashboard", "kubernetes-dashboard", "ClusterIP", [443],
                             {"k8s-app": "kubernetes-dashboard"})),
               False, "K8S_ExposedDashboard"))

    # K8S_ExposedKubeflow
    add(expect(event("services", "patch",
                     service("centraldashboard", "kubeflow", "LoadBalancer", [80],
                             {"app": "centraldashboard"})),
               True, "K8S_ExposedKubeflow"))
    add(expect(event("services", "create",
                     service("istio-ingressgateway", "istio-system", "LoadBalancer", [80, 443],
                             {"istio": "ingressgateway"})),
               False, "K8S_ExposedKubeflow"))

    # K8S_ExposedService
    add(expect(event("services", "create",
                     service("docker-api", "build", "LoadBalancer", [2375], {"app": "dind"})),
               True, "K8S_ExposedService"))
    add(expect(event("services", "create", service("web", "default", "LoadBalancer", [80, 443])),
               False, "K8S_ExposedService"))

    # K8S_ExposedRedis
    add(expect(event("services", "create",
                     service("cache", "shop", "LoadBalancer", [6379], {"app": "redis"})),
               True, "K8S_ExposedRedis"))
    add(expect(event("services", "create",
                     service("cache", "shop", "ClusterIP", [6379], {"app": "redis"})),
               False, "K8S_ExposedRedis"))

    # K8S_ExposedPostgresBroadIPRange
    add(expect(event("services", "create",
                     service("db", "shop", "LoadBalancer", [5432], {"app": "postgres"})),
               True, "K8S_ExposedPostgresBroadIPRange"))
    add(expect(event("services", "create",
                     service("db", "shop", "LoadBalancer", [5432], {"app": "postgres"},
                             ["0.0.0.0/0"])),
               True, "K8S_ExposedPostgresBroadIPRange"))
    add(expect(event("services", "create",
                     service("db", "shop", "LoadBalancer", [5432], {"app": "postgres"},
                             ["10.20.0.0/16"])),
               False, "K8S_ExposedPostgresBroadIPRange"))

    # K8S_ExposedPostgresTrustAuth
    trust_pod = plain_pod("shop", "postgres:16", "db-0")
    trust_pod["spec"]["containers"][0]["env"] = [
        {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "trust"}]
    add(expect(event("pods", "create", trust_pod), True, "K8S_ExposedPostgresTrustAuth"))
    add(expect(event("configmaps", "create",
                     configmap("db-hba", "shop", {
                         "pg_hba.conf": "local all all peer\nhost all all 0.0.0.0/0 trust\n"})),
               True, "K8S_ExposedPostgresTrustAuth"))
    password_pod = plain_pod("shop", "postgres:16", "db-0")
    password_pod["spec"]["containers"][0]["env"] = [
        {"name": "POSTGRES_HOST_AUTH_METHOD", "value": "scram-sha-256"},
        {"name": "POSTGRES_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db",
                                                                     "key": "password"}}}]
    add(expect(event("pods", "create", password_pod), False, "K8S_ExposedPostgresTrustAuth"))
    add(expect(event("configmaps", "create",
                     configmap("db-hba", "shop", {
                         "pg_hba.conf": "local all all trust\nhost all all 0.0.0.0/0 "
                                        "scram-sha-256\n"})),
               False, "K8S_ExposedPostgresTrustAuth"))

    # K8S_MaliciousContainerImage
    add(expect(event("pods", "create", plain_pod("default", "xmrig/xmrig:6.21.0", "worker")),
               True, "K8S_MaliciousContainerImage"))
    add(expect(event("pods", "create",
                     plain_pod("default", "registry.example:5000/tools/xmrig-proxy:1", "worker")),
               True, "K8S_MaliciousContainerImage"))
    add(expect(event("pods", "create", plain_pod("default", "nginx:1.27", "worker")),
               False, "K8S_MaliciousContainerImage"))

    # K8S_PenTestToolsKubeHunter
    add(expect(event("pods", "list", None, agent="kube-hunter", code=403,
                     uri="/api/v1/pods", user={"username": "system:anonymous",
                                               "groups": ["system:unauthenticated"]}),
               True, "K8S_PenTestToolsKubeHunter"))
    add(expect(event("pods", "list", None, namespace="default"), False,
               "K8S_PenTestToolsKubeHunter"))

    # K8S_TI_Proxy: the test appends 185.220.101.34 (a documented TOR exit) to
    # moat_proxy_source_ips, as a deployment would from its feed.
    add(expect(event("secrets", "list", None, namespace="prod", user=ci_deployer,
                     source_ips=("185.220.101.34",)), True, "K8S_TI_Proxy"))
    add(expect(event("secrets", "list", None, namespace="prod", user=ci_deployer),
               False, "K8S_TI_Proxy"))

    # Rules beyond the seed's alert types.
    add(expect(event("clusterrolebindings", "create",
                     cluster_role_binding("open-door", "view",
                                          [{"kind": "Group", "name": "system:unauthenticated",
                                            "apiGroup": "rbac.authorization.k8s.io"}])),
               True, "Moat Anonymous Access Granted"))
    add(expect(event("clusterrolebindings", "create",
                     cluster_role_binding("team-view", "view",
                                          [{"kind": "Group", "name": "team",
                                            "apiGroup": "rbac.authorization.k8s.io"}])),
               False, "Moat Anonymous Access Granted"))
    add(expect(event("namespaces", "get", None, name="kube-system",
                     user={"username": "system:anonymous", "groups": ["system:unauthenticated"]}),
               True, "Moat Anonymous Request Accepted"))
    add(expect(event("namespaces", "get", None, name="kube-system", code=403,
                     user={"username": "system:anonymous", "groups": ["system:unauthenticated"]}),
               False, "Moat Anonymous Request Accepted"))
    add(expect(event("pods", "create", None, namespace="default", name="nginx",
                     subresource="exec", query="?command=sh&container=nginx&stdin=true&tty=true"),
               True, "Moat Exec Or Attach Into Pod"))
    add(expect(event("pods", "get", None, namespace="default", name="nginx", subresource="log"),
               False, "Moat Exec Or Attach Into Pod"))
    add(expect(event("secrets", "list", None, user=ci_deployer, uri="/api/v1/secrets"),
               True, "Moat Secrets Read Across Namespaces"))
    add(expect(event("secrets", "get", None, namespace="ci", name="deploy-key", user=ci_deployer),
               False, "Moat Secrets Read Across Namespaces"))

    out_path = os.path.join(HERE, "seed_events.jsonl")
    with open(out_path, "w") as f:
        for ev in events:
            f.write(json.dumps(ev, separators=(",", ":"), sort_keys=False) + "\n")
    print(f"{out_path}: {len(events)} events", file=sys.stderr)


if __name__ == "__main__":
    main()
