#!/usr/bin/env python3
"""Writes a directory of Kubernetes manifests shaped like a large cluster's Helm output, for
bench/k8s_scale.sh.

  make_k8s_manifests.py OBJECTS DIR

One file per namespace (a Namespace, a NetworkPolicy in every other namespace, then its apps).
Each app is ten objects: a Deployment, a StatefulSet or CronJob, a standalone Pod, a Service, a
ServiceAccount, a Role, a RoleBinding, a ConfigMap, a HorizontalPodAutoscaler and an Ingress. A
third of the workloads are hardened, the rest have the usual problems (no securityContext, added
capabilities, some privileged or on the host network, hostPath volumes, secrets in env); some Roles
grant wildcards or secrets, some Services are NodePort or LoadBalancer; every 50th app has a
ClusterRole and ClusterRoleBinding, some of them cluster-admin. Deterministic: the same arguments
give the same bytes.
"""

import os
import sys

APPS_PER_NAMESPACE = 50
OBJECTS_PER_APP = 10


def pod_spec(i, indent, hardened):
    """A pod spec (the contents of `spec:`) at `indent` spaces."""
    p = " " * indent
    lines = [f"serviceAccountName: app-{i}"]
    if hardened:
        lines += [
            "automountServiceAccountToken: false",
            "securityContext:",
            "  runAsNonRoot: true",
            "  runAsUser: 10001",
            "  seccompProfile: {type: RuntimeDefault}",
        ]
    elif i % 7 == 0:
        lines.append("hostNetwork: true")
    lines += [
        "containers:",
        "- name: app",
        f"  image: registry.example.com/team/app-{i}:1.{i % 97}",
        "  imagePullPolicy: IfNotPresent",
        '  args: ["--port=8080", "--log-level=info"]',
        "  env:",
        "  - {name: MODE, value: production}",
        "  - name: DB_PASSWORD",
        f"    valueFrom: {{secretKeyRef: {{name: db-{i}, key: password}}}}",
        "  ports:",
        "  - {name: http, containerPort: 8080, protocol: TCP}",
        "  resources:",
        "    requests: {cpu: 100m, memory: 128Mi}",
        "    limits: {cpu: 500m, memory: 512Mi}",
        "  securityContext:",
    ]
    if hardened:
        lines += [
            "    allowPrivilegeEscalation: false",
            "    readOnlyRootFilesystem: true",
            "    capabilities: {drop: [ALL]}",
        ]
    else:
        lines += [
            f"    privileged: {'true' if i % 11 == 0 else 'false'}",
            "    capabilities: {add: [NET_ADMIN]}",
        ]
    lines += [
        "  livenessProbe:",
        "    httpGet: {path: /healthz, port: http}",
        "    initialDelaySeconds: 10",
        "  readinessProbe:",
        "    httpGet: {path: /ready, port: http}",
        "  volumeMounts:",
        "  - {name: config, mountPath: /etc/app}",
        "  - {name: tmp, mountPath: /tmp}",
        "- name: sidecar",
        "  image: docker.io/envoyproxy/envoy:v1.29.1",
        "  resources:",
        "    limits: {cpu: 200m, memory: 128Mi}",
        "volumes:",
        "- name: config",
        f"  configMap: {{name: app-{i}}}",
        "- name: tmp",
        "  emptyDir: {}",
    ]
    if not hardened and i % 5 == 0:
        lines += ["- name: docker", "  hostPath: {path: /var/run/docker.sock}"]
    return "".join(f"{p}{line}\n" for line in lines)


def metadata(name, ns, i, indent=2):
    p = " " * indent
    return (
        f"{p}name: {name}\n{p}namespace: {ns}\n"
        f"{p}labels: {{app.kubernetes.io/name: app-{i}, app.kubernetes.io/instance: r{i}}}\n"
    )


def app(i, ns):
    hardened = i % 3 == 0
    docs = []
    docs.append(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + f"spec:\n  replicas: 3\n  selector:\n    matchLabels: {{app: app-{i}}}\n"
        + f"  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n"
        + pod_spec(i, 6, hardened)
    )
    if i % 2 == 0:
        docs.append(
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n"
            + metadata(f"db-{i}", ns, i)
            + f"spec:\n  serviceName: db-{i}\n  replicas: 1\n"
            + f"  selector:\n    matchLabels: {{app: db-{i}}}\n"
            + f"  template:\n    metadata:\n      labels: {{app: db-{i}}}\n    spec:\n"
            + pod_spec(i, 6, hardened or i % 4 == 0)
        )
    else:
        docs.append(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n"
            + metadata(f"job-{i}", ns, i)
            + 'spec:\n  schedule: "*/5 * * * *"\n  jobTemplate:\n    spec:\n      template:\n'
            + f"        metadata:\n          labels: {{app: job-{i}}}\n        spec:\n"
            + "          restartPolicy: OnFailure\n"
            + pod_spec(i, 10, hardened)
        )
    docs.append(
        "apiVersion: v1\nkind: Pod\nmetadata:\n"
        + metadata(f"debug-{i}", ns, i)
        + "spec:\n"
        + pod_spec(i, 2, i % 4 == 0)
    )
    service_type = "LoadBalancer" if i % 25 == 0 else "NodePort" if i % 10 == 0 else "ClusterIP"
    extra_port = "  - {name: ssh, port: 22, targetPort: 22}\n" if i % 25 == 0 else ""
    docs.append(
        "apiVersion: v1\nkind: Service\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + f"spec:\n  type: {service_type}\n  selector: {{app: app-{i}}}\n  ports:\n"
        + "  - {name: http, port: 80, targetPort: http}\n"
        + extra_port
    )
    docs.append(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + ("automountServiceAccountToken: false\n" if hardened else "")
    )
    if i % 9 == 0:
        rules = '- apiGroups: ["*"]\n  resources: ["*"]\n  verbs: ["*"]\n'
    elif i % 4 == 0:
        rules = '- apiGroups: [""]\n  resources: [secrets]\n  verbs: [get, list, watch]\n'
    elif i % 6 == 1:
        rules = '- apiGroups: [""]\n  resources: [pods/exec, pods]\n  verbs: [create, get]\n'
    else:
        rules = '- apiGroups: [""]\n  resources: [configmaps]\n  verbs: [get, list, watch]\n'
    docs.append(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + "rules:\n"
        + rules
    )
    docs.append(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + f"roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: app-{i}\n"
        + f"subjects:\n- kind: ServiceAccount\n  name: app-{i}\n  namespace: {ns}\n"
    )
    docs.append(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + f"data:\n  app.yaml: |\n    listen: :8080\n    name: app-{i}\n    log: info\n"
    )
    docs.append(
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: app-"
        + f"{i}}}\n  minReplicas: 3\n  maxReplicas: 10\n"
    )
    docs.append(
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n"
        + metadata(f"app-{i}", ns, i)
        + f"spec:\n  rules:\n  - host: app-{i}.example.com\n    http:\n      paths:\n"
        + "      - path: /\n        pathType: Prefix\n"
        + f"        backend: {{service: {{name: app-{i}, port: {{number: 80}}}}}}\n"
    )
    assert len(docs) == OBJECTS_PER_APP
    if i % 50 == 0:
        role = "cluster-admin" if i % 100 == 0 else f"ops-{i}"
        docs.append(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
            + f"  name: ops-{i}\nrules:\n"
            + '- apiGroups: [""]\n  resources: [nodes/proxy, pods/exec]\n  verbs: [get, create]\n'
        )
        docs.append(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
            + f"  name: ops-{i}\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
            + f"  kind: ClusterRole\n  name: {role}\n"
            + f"subjects:\n- kind: ServiceAccount\n  name: app-{i}\n  namespace: {ns}\n"
        )
    return docs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    objects = int(sys.argv[1])
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    apps = max(1, objects // OBJECTS_PER_APP)
    namespaces = (apps + APPS_PER_NAMESPACE - 1) // APPS_PER_NAMESPACE
    for n in range(namespaces):
        ns = f"team-{n:04d}"
        docs = ["apiVersion: v1\nkind: Namespace\nmetadata:\n" + f"  name: {ns}\n"]
        if n % 2 == 0:
            docs.append(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
                + f"  name: default-deny\n  namespace: {ns}\n"
                + "spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n"
            )
        for i in range(n * APPS_PER_NAMESPACE, min(apps, (n + 1) * APPS_PER_NAMESPACE)):
            docs += app(i, ns)
        with open(os.path.join(out_dir, f"{ns}.yaml"), "w") as f:
            for d in docs:
                f.write("---\n# Source: app/templates/resources.yaml\n" + d)


if __name__ == "__main__":
    main()
