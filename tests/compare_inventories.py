#!/usr/bin/env python3
"""Checks for the integration harness: compares Moat's JSON inventories with each other and with
oracles computed here from the real artifacts (dpkg-query, the image's own layers and history,
package metadata files, `go version -m`). Each subcommand exits 0 when the check holds and 1 with
a readable explanation when it does not.

  same A.json B.json [--no-layers]   package inventories equal (and OS, and layer list)
  dpkg-set REPORT ROOTFS             deb packages == dpkg-query --admindir=ROOTFS/var/lib/dpkg
  absent REPORT NAME...              no deb package of that name is reported
  layers REPORT SAVE_TAR             each deb package carries the layer that introduced it
  in-layer REPORT SAVE_TAR MARK NAME...  NAMEs carry the layer whose created_by contains MARK
  artifact-layers REPORT SAVE_TAR    artifact.layers == the image config's diff_ids and history
  os REPORT ROOTFS                   os.family/version == ROOTFS/etc/os-release ID/VERSION_ID
  lang REPORT ROOTFS                 Python, npm, Maven and Go packages found in ROOTFS are reported
  purls REPORT                       every package has a purl of its type (deb: distro qualifier)
  sbom-purls REPORT SBOM cyclonedx|spdx  the SBOM lists the same purls as the JSON report
  same-debs A.json B.json            deb packages equal in name, version, arch, source name and
                                     version (a missing source is the binary's own)
  same-findings A.json B.json [--only-in-first NAME]...  findings equal in id, package type,
                                     name, installed version, status and fixed versions; the
                                     findings of package NAME must be in A, and only in A
"""

import glob
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile

# The fields that must agree between two scans of the same image.
KEYS = ("type", "name", "version", "arch", "source_name", "source_version", "file_path", "purl",
        "go_version", "main_module")
LAYER_KEYS = ("layer_diff_id", "layer_created_by")


class CheckFailed(Exception):
    pass


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckFailed(f"{path}: not a JSON report: {e}")
    if not isinstance(report.get("packages"), list):
        raise CheckFailed(f"{path}: no packages array")
    return report


def package_tuple(pkg, keys):
    return tuple(str(pkg.get(k, "")) for k in keys)


def show(rows, limit=15):
    rows = sorted(rows)
    lines = ["    " + " | ".join(r) for r in rows[:limit]]
    if len(rows) > limit:
        lines.append(f"    ... and {len(rows) - limit} more")
    return "\n".join(lines)


def debs(report):
    return [p for p in report["packages"] if p.get("type") == "deb"]


def cmd_same(args):
    no_layers = "--no-layers" in args
    a_path, b_path = [x for x in args if not x.startswith("--")]
    a, b = load(a_path), load(b_path)
    keys = KEYS if no_layers else KEYS + LAYER_KEYS
    a_rows = [package_tuple(p, keys) for p in a["packages"]]
    b_rows = [package_tuple(p, keys) for p in b["packages"]]
    problems = []
    if sorted(a_rows) != sorted(b_rows):
        only_a = set(a_rows) - set(b_rows)
        only_b = set(b_rows) - set(a_rows)
        problems.append(f"packages differ ({len(a_rows)} vs {len(b_rows)}); fields: {', '.join(keys)}")
        if only_a:
            problems.append(f"  only in {a_path}:\n{show(only_a)}")
        if only_b:
            problems.append(f"  only in {b_path}:\n{show(only_b)}")
        if not only_a and not only_b:
            problems.append("  same set, different duplicate counts")
    for field in ("family", "name", "version"):
        if a.get("os", {}).get(field) != b.get("os", {}).get(field):
            problems.append(f"os.{field}: {a.get('os', {}).get(field)!r} vs {b.get('os', {}).get(field)!r}")
    if not no_layers:
        la = [l.get("diff_id") for l in a.get("artifact", {}).get("layers", [])]
        lb = [l.get("diff_id") for l in b.get("artifact", {}).get("layers", [])]
        if la != lb:
            problems.append(f"artifact.layers diff_ids differ:\n    {la}\n    {lb}")
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"{len(a_rows)} packages identical")


def dpkg_query(rootfs):
    out = subprocess.run(
        ["dpkg-query", f"--admindir={rootfs}/var/lib/dpkg", "-W",
         "-f", "${db:Status-Status} ${Package} ${Version} ${Architecture}\n"],
        check=True, capture_output=True, text=True).stdout
    rows = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) == 4 and fields[0] == "installed":
            rows.add(tuple(fields[1:]))
    return rows


def cmd_dpkg_set(args):
    report, rootfs = load(args[0]), args[1]
    expected = dpkg_query(rootfs)
    if not expected:
        raise CheckFailed(f"dpkg-query found no installed package under {rootfs}")
    got_list = [(p.get("name", ""), p.get("version", ""), p.get("arch", "")) for p in debs(report)]
    got = set(got_list)
    problems = []
    if len(got_list) != len(got):
        problems.append(f"duplicate deb packages reported ({len(got_list)} rows, {len(got)} distinct)")
    if got != expected:
        if expected - got:
            problems.append(f"installed per dpkg-query but not reported:\n{show(expected - got)}")
        if got - expected:
            problems.append(f"reported but not installed per dpkg-query:\n{show(got - expected)}")
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"{len(got)} deb packages == dpkg-query")


def cmd_absent(args):
    report = load(args[0])
    names = {p.get("name") for p in debs(report)}
    present = [n for n in args[1:] if n in names]
    if present:
        raise CheckFailed(f"reported although not installed: {', '.join(present)}")
    print(f"absent: {', '.join(args[1:])}")


class SavedImage:
    """A `docker save` tarball: its config, history and layer tars, read in place."""

    def __init__(self, path):
        self.tar = tarfile.open(path)
        manifest = json.load(self.tar.extractfile("manifest.json"))[0]
        self.config = json.load(self.tar.extractfile(manifest["Config"]))
        self.layer_paths = manifest["Layers"]
        self.diff_ids = self.config["rootfs"]["diff_ids"]
        history = [h for h in self.config.get("history", []) if not h.get("empty_layer")]
        if len(history) != len(self.diff_ids):
            raise CheckFailed(f"{path}: {len(history)} non-empty history entries, "
                              f"{len(self.diff_ids)} layers")
        self.created_by = [h.get("created_by", "") for h in history]

    def layer_file(self, index, name):
        """The bytes of NAME (no leading slash) in layer INDEX, or None."""
        member = self.tar.extractfile(self.layer_paths[index])
        with tarfile.open(fileobj=member, mode="r|*") as layer:
            for entry in layer:
                if entry.name.lstrip("./") == name and entry.isfile():
                    return layer.extractfile(entry).read()
        return None


def parse_dpkg_status(data):
    installed = set()
    for stanza in re.split(r"\n\s*\n", data.decode("utf-8", "replace")):
        fields = {}
        for line in stanza.splitlines():
            if line[:1] not in (" ", "\t") and ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if fields.get("Status", "").split()[-1:] == ["installed"]:
            installed.add((fields.get("Package"), fields.get("Version"), fields.get("Architecture")))
    return installed


def origin_layers(image):
    """(name, version, arch) -> index of the layer since which the package is installed."""
    since = {}
    for index in range(len(image.diff_ids)):
        status = image.layer_file(index, "var/lib/dpkg/status")
        if status is None:
            continue
        installed = parse_dpkg_status(status)
        since = {pkg: since.get(pkg, index) for pkg in installed}
    return since


def cmd_layers(args):
    report, image = load(args[0]), SavedImage(args[1])
    since = origin_layers(image)
    problems, checked = [], 0
    for p in debs(report):
        key = (p.get("name"), p.get("version"), p.get("arch"))
        if key not in since:
            problems.append(f"{key}: not installed in the image's final dpkg status")
            continue
        index = since[key]
        want = (image.diff_ids[index], image.created_by[index])
        got = (p.get("layer_diff_id", ""), p.get("layer_created_by", ""))
        if got != want:
            problems.append(f"{key[0]}: layer {got} but introduced by layer {index} {want}")
        checked += 1
    if problems:
        raise CheckFailed(f"{len(problems)} packages with a wrong layer:\n" + "\n".join(problems[:15]))
    print(f"{checked} deb packages carry the layer that introduced them")


def cmd_in_layer(args):
    report, image, mark, names = load(args[0]), SavedImage(args[1]), args[2], args[3:]
    matches = [i for i, c in enumerate(image.created_by) if mark in c]
    if len(matches) != 1:
        raise CheckFailed(f"{len(matches)} layers have {mark!r} in created_by")
    index = matches[0]
    by_name = {p.get("name"): p for p in debs(report)}
    problems = []
    for name in names:
        p = by_name.get(name)
        if p is None:
            problems.append(f"{name}: not reported")
        elif p.get("layer_diff_id") != image.diff_ids[index]:
            problems.append(f"{name}: layer {p.get('layer_diff_id')}, want {image.diff_ids[index]}")
        elif p.get("layer_created_by") != image.created_by[index]:
            problems.append(f"{name}: created_by {p.get('layer_created_by')!r}, "
                            f"want {image.created_by[index]!r}")
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"{', '.join(names)} in layer {index} ({image.diff_ids[index][:19]})")


def cmd_artifact_layers(args):
    report, image = load(args[0]), SavedImage(args[1])
    layers = report.get("artifact", {}).get("layers", [])
    got = [(l.get("diff_id", ""), l.get("created_by", "")) for l in layers]
    want = list(zip(image.diff_ids, image.created_by))
    if got != want:
        raise CheckFailed("artifact.layers differ from the image config:\n"
                          + show([("got",) + g for g in got] + [("want",) + w for w in want], 40))
    print(f"{len(got)} layers with diff_id and created_by")


def os_release(rootfs):
    fields = {}
    for candidate in ("etc/os-release", "usr/lib/os-release"):
        path = os.path.join(rootfs, candidate)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if "=" in line:
                        key, value = line.rstrip("\n").split("=", 1)
                        fields[key] = value.strip('"')
            break
    return fields


def cmd_os(args):
    report, fields = load(args[0]), os_release(args[1])
    got = report.get("os", {})
    want = {"family": fields.get("ID"), "version": fields.get("VERSION_ID")}
    wrong = {k: (got.get(k), v) for k, v in want.items() if got.get(k) != v}
    if wrong:
        raise CheckFailed(f"os (got, want): {wrong}")
    print(f"os {want['family']} {want['version']}")


def rfc822_fields(text):
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break
        if ":" in line and line[:1] not in (" ", "\t"):
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return fields


def expected_language_packages(rootfs):
    """(type, name, version-or-None, path prefix) for every language package the rootfs holds."""
    want = []
    for meta in glob.glob(f"{rootfs}/usr/lib/python3/dist-packages/*.dist-info/METADATA") + \
            glob.glob(f"{rootfs}/usr/lib/python3/dist-packages/*.egg-info/PKG-INFO"):
        with open(meta, encoding="utf-8", errors="replace") as f:
            fields = rfc822_fields(f.read())
        want.append(("pypi", fields["Name"], fields["Version"], meta[len(rootfs):]))
    for manifest in glob.glob(f"{rootfs}/app/node_modules/**/package.json", recursive=True):
        with open(manifest, encoding="utf-8") as f:
            data = json.load(f)
        if os.path.basename(os.path.dirname(os.path.dirname(manifest))) != "node_modules":
            continue  # a package.json inside a package's own subfolder, not a package
        want.append(("npm", data["name"], data["version"], manifest[len(rootfs):]))
    for archive in glob.glob(f"{rootfs}/opt/app/*.[jw]ar"):
        for name, version in maven_coordinates(zipfile.ZipFile(archive)):
            want.append(("maven", name, version, archive[len(rootfs):]))
    for binary in glob.glob(f"{rootfs}/usr/local/bin/*"):
        info = subprocess.run(["go", "version", "-m", binary], capture_output=True, text=True)
        if info.returncode != 0:
            continue
        for line in info.stdout.splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) >= 3 and fields[1] in ("mod", "dep"):
                version = None if fields[3:4] == ["(devel)"] or fields[1] == "mod" else fields[3]
                want.append(("golang", fields[2], version, binary[len(rootfs):]))
    return want


def maven_coordinates(archive):
    for name in archive.namelist():
        if name.endswith("pom.properties"):
            props = dict(l.split("=", 1) for l in archive.read(name).decode().splitlines()
                         if "=" in l and not l.startswith("#"))
            yield f"{props['groupId']}:{props['artifactId']}", props["version"]
        elif name.endswith((".jar", ".war", ".ear")):
            yield from maven_coordinates(zipfile.ZipFile(io.BytesIO(archive.read(name))))


def path_prefix(ptype, path):
    # Python and npm packages may be reported at their metadata file or at its folder.
    return os.path.dirname(path) if ptype in ("pypi", "npm") else path


def cmd_lang(args):
    report, rootfs = load(args[0]), args[1]
    want = expected_language_packages(rootfs)
    if not want:
        raise CheckFailed(f"no language package found under {rootfs}: the test image is wrong")
    got = report["packages"]
    missing = []
    for ptype, name, version, path in want:
        if not any(p.get("type") == ptype and p.get("name") == name
                   and (version is None or p.get("version") == version)
                   and p.get("file_path", "").startswith(path_prefix(ptype, path))
                   for p in got):
            missing.append((ptype, name, version or "*", path))
    if missing:
        raise CheckFailed(f"{len(missing)} of {len(want)} language packages not reported:\n"
                          + show(missing))
    print(f"{len(want)} language packages reported ({', '.join(sorted({w[0] for w in want}))})")


def cmd_purls(args):
    report = load(args[0])
    family = report.get("os", {}).get("family", "")
    version = report.get("os", {}).get("version", "")
    bad = []
    for p in report["packages"]:
        purl = p.get("purl", "")
        prefix = f"pkg:{p.get('type')}/"
        if not purl.startswith(prefix):
            bad.append((p.get("type", ""), p.get("name", ""), purl or "(none)"))
        elif p.get("type") == "deb" and (not purl.startswith(f"pkg:deb/{family}/")
                                         or f"distro={family}-{version}" not in purl):
            bad.append((p.get("type", ""), p.get("name", ""), purl))
    if bad:
        raise CheckFailed(f"{len(bad)} packages without a proper purl:\n" + show(bad))
    print(f"{len(report['packages'])} purls")


def sbom_purls(path, kind):
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    purls = []
    if kind == "cyclonedx":
        stack = list(doc.get("components", []))
        while stack:
            c = stack.pop()
            stack.extend(c.get("components", []))
            if c.get("purl"):
                purls.append(c["purl"])
    else:
        for pkg in doc.get("packages", []):
            for ref in pkg.get("externalRefs", []):
                if ref.get("referenceType") == "purl":
                    purls.append(ref["referenceLocator"])
    return purls


def cmd_sbom_purls(args):
    report, path, kind = load(args[0]), args[1], args[2]
    want = sorted(p["purl"] for p in report["packages"] if p.get("purl"))
    # The document may describe the image itself with a pkg:oci/ purl: not a package.
    got = sorted(p for p in sbom_purls(path, kind) if not p.startswith("pkg:oci/"))
    if set(got) != set(want):
        raise CheckFailed(f"{kind} purls differ from the JSON report:\n"
                          f"  only in {kind}:\n{show([(x,) for x in set(got) - set(want)])}\n"
                          f"  only in JSON:\n{show([(x,) for x in set(want) - set(got)])}")
    print(f"{len(set(got))} purls in the {kind} document match the JSON report")


def cmd_same_debs(args):
    a_path, b_path = args
    def rows(report):
        # Moat leaves the source empty when it is the binary package itself; Trivy always names it.
        return sorted((p["name"], p["version"], p.get("arch", ""),
                       p.get("source_name") or p["name"], p.get("source_version") or p["version"])
                      for p in debs(report))
    a, b = rows(load(a_path)), rows(load(b_path))
    if not a:
        raise CheckFailed(f"{a_path}: no deb packages")
    if a != b:
        raise CheckFailed("deb packages differ (name | version | arch | source | source version):\n"
                          f"  only in {a_path}:\n{show(set(a) - set(b))}\n"
                          f"  only in {b_path}:\n{show(set(b) - set(a))}")
    print(f"{len(a)} deb packages identical, sources included")


def finding_rows(path):
    with open(path, encoding="utf-8") as f:
        report = json.load(f)
    if not isinstance(report.get("vulnerabilities"), list):
        raise CheckFailed(f"{path}: no vulnerabilities array (not a vulnerability scan)")
    return sorted((v["id"], v["package"]["type"], v["package"]["name"], v["installed_version"],
                   v["status"], ",".join(v["fixed_versions"])) for v in report["vulnerabilities"])


def cmd_same_findings(args):
    only_in_first = [args[i + 1] for i, x in enumerate(args) if x == "--only-in-first"]
    a_path, b_path = [x for i, x in enumerate(args)
                      if x != "--only-in-first" and (i == 0 or args[i - 1] != "--only-in-first")]
    a, b = finding_rows(a_path), finding_rows(b_path)
    problems = []
    for name in only_in_first:
        # An expected difference must still be one: its findings present in A, absent from B.
        if not any(r[2] == name for r in a):
            problems.append(f"no finding for {name} in {a_path}: the expected difference is gone")
        if any(r[2] == name for r in b):
            problems.append(f"{name} has findings in {b_path} too: the expected difference is gone")
    kept_a = [r for r in a if r[2] not in only_in_first]
    kept_b = [r for r in b if r[2] not in only_in_first]
    if not kept_a:
        problems.append(f"{a_path}: no findings to compare")
    if kept_a != kept_b:
        problems.append("findings differ (id | type | package | installed | status | fixed):\n"
                        f"  only in {a_path}:\n{show(set(kept_a) - set(kept_b))}\n"
                        f"  only in {b_path}:\n{show(set(kept_b) - set(kept_a))}")
    if problems:
        raise CheckFailed("\n".join(problems))
    print(f"{len(kept_a)} findings identical" +
          (f" ({len(a) - len(kept_a)} of {', '.join(only_in_first)} only in the first)"
           if only_in_first else ""))


COMMANDS = {
    "same": cmd_same, "dpkg-set": cmd_dpkg_set, "absent": cmd_absent, "layers": cmd_layers,
    "in-layer": cmd_in_layer, "artifact-layers": cmd_artifact_layers, "os": cmd_os,
    "lang": cmd_lang, "purls": cmd_purls, "sbom-purls": cmd_sbom_purls,
    "same-debs": cmd_same_debs, "same-findings": cmd_same_findings,
}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except CheckFailed as e:
        print(e, file=sys.stderr)
        return 1
    except (KeyError, IndexError, ValueError, OSError, tarfile.TarError, zipfile.BadZipFile,
            subprocess.CalledProcessError) as e:
        print(f"{sys.argv[1]}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
