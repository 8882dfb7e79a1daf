#!/usr/bin/env python3
"""Prints the table of docs/admission.md's "Azure Policy bundle" section: every definition of the
seed's Azure Policy for Kubernetes CSV of mode Microsoft.Kubernetes.Data with its Moat policy and
parameters (from `moat k8s checks --format json`), or why it has none; then the definitions of
mode Indexed, which concern Azure resources rather than Kubernetes objects.

  scripts/azure_bundle_table.py build/moat ../shared/data/seed/azure_policy_kubernetes_builtin_definitions.csv
"""

import csv
import json
import subprocess
import sys

# Definitions about AKS's or Gatekeeper's own machinery rather than the workloads.
AKS_INFRASTRUCTURE = {
    "NoAKSSpecificLabels": "AKS infrastructure: keeps users off the kubernetes.azure.com labels "
                           "AKS manages on its nodes",
    "ReservedSystemPoolTaints": "AKS infrastructure: the CriticalAddonsOnly taint of AKS system "
                                "node pools",
    "PrintMutationsAnnotations": "Gatekeeper infrastructure: prints the annotations Gatekeeper's "
                                 "mutators leave (Moat's /mutate answers with the patch itself)",
    "ImageIntegrityNotationVerification": "AKS Image Integrity (Ratify with Notation signatures); "
                                          "Moat verifies cosign signatures: `image-signature`",
}
DEPRECATED = {
    "BlockVulnerableImages": "deprecated by Azure; Moat's image gate does it: "
                             "`image-vulnerabilities`",
    "ContainerAllowedPorts": "deprecated by Azure (container ports do not leave the pod; Services "
                             "and host ports are ServiceAllowedPorts and HostNetworkPorts)",
    "IngressHostnamesConflict": "deprecated by Azure",
}
SHORT_NAMESPACES = ["kube-system", "gatekeeper-system", "azure-arc"]


def reason(row, name):
    if "Mutate" in row["effect_allowed"]:
        return "a mutation (Mutate effect): see [Mutations](#mutations)"
    if row["deprecated"] == "yes":
        return DEPRECATED.get(name, "deprecated by Azure")
    if name.startswith("Windows"):
        return "Windows nodes only"
    return AKS_INFRASTRUCTURE.get(name, "")


def effect_list(allowed):
    """"audit|Audit|deny|Deny" -> "Audit, Deny" (the CSV repeats them in both cases)."""
    out = []
    for effect in allowed.split("|"):
        if effect.lower() not in [e.lower() for e in out]:
            out.append(effect[0].upper() + effect[1:])
    return ", ".join(out)


def parameters(check):
    out = []
    for p in check["parameters"]:
        if p["name"] == "excludedNamespaces":
            continue
        default = p["default"] if p["default"] else "—"
        out.append("`%s` (`%s`)" % (p["name"], default) if p["default"] else "`%s`" % p["name"])
    return ", ".join(out)


def main():
    moat, csv_path = sys.argv[1], sys.argv[2]
    checks = json.loads(subprocess.run([moat, "k8s", "checks", "--format", "json"], check=True,
                                       capture_output=True, text=True).stdout)
    by_alias = {}
    for check in checks:
        for alias in check.get("aliases", []):
            by_alias[alias] = check
    rows = list(csv.DictReader(open(csv_path, newline="")))
    print("| definition | display name | effects (default) | Moat policy | parameters (default) |")
    print("|---|---|---|---|---|")
    in_bundle = 0
    for row in rows:
        if row["mode"] != "Microsoft.Kubernetes.Data":
            continue
        name = row["file"][:-5]
        effects = "%s (%s)" % (effect_list(row["effect_allowed"]), row["effect_default"])
        why = reason(row, name)
        check = by_alias.get(name)
        if why:
            assert check is None or check["group"] != "azure", name
            print("| %s | %s | %s | — | %s |" % (name, row["displayName"], effects, why))
            continue
        assert check is not None and check["group"] == "azure", "%s has no policy" % name
        in_bundle += 1
        ns = json.loads(row["excludedNamespaces_default"])
        mark = " †" if ns == SHORT_NAMESPACES else ""
        print("| %s | %s | %s | `%s`%s | %s |" % (name, row["displayName"], effects, check["id"],
                                               mark, parameters(check)))
    indexed = [r["file"][:-5] for r in rows if r["mode"].lower() == "indexed"]
    print()
    print("%d definitions in the bundle. The %d definitions of mode Indexed judge Azure resources "
          "(the AKS cluster resource, Arc extensions, GitOps configurations), not Kubernetes "
          "objects, and have no Moat policy: %s." % (in_bundle, len(indexed), ", ".join(indexed)))


if __name__ == "__main__":
    main()
