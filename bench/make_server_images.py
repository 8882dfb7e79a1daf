#!/usr/bin/env python3
"""Inputs of bench/server_images.sh: stored image inventories and two Debian tracker versions.

Usage: make_server_images.py OUT_DIR [IMAGES] [PACKAGES_PER_IMAGE]   (apt-cache dumpavail on stdin)

Writes, from real Debian bookworm package names, versions and source packages (this machine's
apt lists on stdin, and the packages installed here, `dpkg-query -W`):
  images.sql      IMAGES images as `moat server` stores a scanned image (the inventory JSON the
                  scan writes and the package index, without findings) in one registry, one
                  repository each; every image holds the required/important packages of a
                  Debian image and a random sample of the packages installed on this machine up
                  to PACKAGES_PER_IMAGE.
  debian-v1.json  a Debian Security Tracker JSON for the source packages the images hold: 40 % of
                  them have 1-6 CVEs for bookworm, each fixed after the installed version
                  (vulnerable, patchable), fixed before it (not vulnerable) or open; then other
                  source packages of the archive up to a real tracker's 6,000 (20 CVEs each).
  debian-v2.json  the next day's tracker: a new CVE in 10 source packages that every image holds
                  (so every image is re-matched) and 2 % of the open CVEs fixed.
Deterministic (fixed seed).
"""

import hashlib
import json
import random
import subprocess
import sys


def stanzas(text):
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields = {}
        elif not line[0].isspace() and ":" in line:
            key, value = line.split(":", 1)
            fields[key] = value.strip()
    if fields:
        yield fields


def package_of(fields):
    name, version = fields["Package"], fields["Version"]
    source, source_version = name, version
    if "Source" in fields:
        parts = fields["Source"].split()
        source = parts[0]
        if len(parts) > 1:
            source_version = parts[1].strip("()")
    return {"type": "deb", "name": name, "version": version,
            "arch": fields.get("Architecture", "amd64"), "source_name": source,
            "source_version": source_version, "maintainer": fields.get("Maintainer", ""),
            "file_path": "var/lib/dpkg/status"}


def sql_text(value):
    return "'" + value.replace("'", "''") + "'"


def main():
    out = sys.argv[1]
    images = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    per_image = int(sys.argv[3]) if len(sys.argv) > 3 else 300
    rng = random.Random(10)

    archive = {}
    for fields in stanzas(sys.stdin.read()):
        if "Package" in fields and "Version" in fields and \
                fields.get("Architecture", "all") in ("amd64", "all"):
            archive.setdefault(fields["Package"], fields)
    base = sorted(name for name, f in archive.items()
                  if f.get("Priority") in ("required", "important"))
    installed = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\\n"], check=True,
                               capture_output=True, text=True).stdout.split()
    pool = sorted(set(name for name in installed if name in archive) - set(base))

    sources_in_every_image = sorted({package_of(archive[name])["source_name"] for name in base})
    sources = {}  # source name -> installed source version
    with open(f"{out}/images.sql", "w") as sql:
        sql.write("INSERT INTO registries (name, url, created_at) "
                  "VALUES ('bench', 'http://127.0.0.1:9', 1764633600);\n")
        for i in range(images):
            names = base + rng.sample(pool, min(len(pool), per_image - len(base)))
            packages = [package_of(archive[name]) for name in names]
            for p in packages:
                sources.setdefault(p["source_name"], p["source_version"])
            digest = "sha256:" + hashlib.sha256(f"bench-image-{i}".encode()).hexdigest()
            inventory = {
                "artifact": {"name": f"127.0.0.1:9/app-{i}@{digest}", "type": "container_image",
                             "manifest_digest": digest, "os": "linux", "architecture": "amd64"},
                "os": {"family": "debian", "name": "Debian GNU/Linux", "version": "12.8",
                       "codename": "bookworm"},
                "packages": packages, "warnings": [], "assessment_gaps": []}
            sql.write("INSERT INTO images (digest, os, platform, scan_status, scanned_at, "
                      "first_seen, package_count) VALUES "
                      f"({sql_text(digest)}, 'debian 12.8', 'linux/amd64', 'scanned', "
                      f"1764633600, 1764633600, {len(packages)});\n")
            sql.write("INSERT INTO image_inventories (digest, inventory) VALUES "
                      f"({sql_text(digest)}, "
                      f"{sql_text(json.dumps(inventory, separators=(',', ':')))});\n")
            for source in sorted({p["source_name"] for p in packages}):  # the package index
                sql.write("INSERT INTO image_packages (digest, ecosystem, name) VALUES "
                          f"({sql_text(digest)}, 'debian:12', {sql_text(source)});\n")
            sql.write("INSERT INTO repository_images (registry_id, repository, digest, pushed_at) "
                      f"VALUES (1, 'app-{i}', {sql_text(digest)}, 1764633600);\n")
            sql.write("INSERT INTO tags (registry_id, repository, tag, digest, updated_at) "
                      f"VALUES (1, 'app-{i}', 'latest', {sql_text(digest)}, 1764633600);\n")

    tracker, n = {}, 0
    for source in sorted(sources):
        if rng.random() >= 0.4:
            continue
        cves = {}
        for _ in range(rng.randint(1, 6)):
            n += 1
            kind = rng.random()
            if kind < 0.45:
                release = {"status": "resolved", "urgency": "medium",
                           "fixed_version": sources[source] + "+deb12u9"}
            elif kind < 0.8:
                release = {"status": "resolved", "urgency": "low", "fixed_version": "0.0.1-1"}
            else:
                release = {"status": "open", "urgency": rng.choice(["unimportant", "low"])}
            release["repositories"] = {"bookworm": sources[source]}
            cves[f"CVE-2091-{n:06d}"] = {"description": f"synthetic advisory in {source}",
                                         "releases": {"bookworm": release}}
        tracker[source] = cves
    # The rest of a real tracker's scale (about 6,000 source packages, 120,000 records): source
    # packages that no image holds, so that the database and its diff are of a real size.
    others = sorted({package_of(f)["source_name"] for f in archive.values()} - set(sources))
    for source in rng.sample(others, min(len(others), 6000 - len(tracker))):
        cves = {}
        for _ in range(20):
            n += 1
            release = ({"status": "resolved", "urgency": "low", "fixed_version": "1.0-2"}
                       if rng.random() < 0.7 else {"status": "open", "urgency": "low"})
            release["repositories"] = {"bookworm": "1.0-1"}
            cves[f"CVE-2091-{n:06d}"] = {"description": f"synthetic advisory in {source}",
                                         "releases": {"bookworm": release}}
        tracker[source] = cves
    with open(f"{out}/debian-v1.json", "w") as f:
        json.dump(tracker, f)

    for source in rng.sample(sources_in_every_image, 10):
        n += 1
        tracker.setdefault(source, {})[f"CVE-2091-{n:06d}"] = {
            "description": f"synthetic advisory in {source}, published the next day",
            "releases": {"bookworm": {"status": "resolved", "urgency": "high",
                                      "fixed_version": sources[source] + "+deb12u10",
                                      "repositories": {"bookworm": sources[source]}}}}
    for cves in tracker.values():
        for cve in cves.values():
            release = cve["releases"]["bookworm"]
            if release["status"] == "open" and rng.random() < 0.02:
                release.update(status="resolved", fixed_version=release["repositories"]["bookworm"]
                               + "+deb12u10")
    with open(f"{out}/debian-v2.json", "w") as f:
        json.dump(tracker, f)
    print(f"{images} images of {per_image} packages ({len(base)} in every image, the rest of "
          f"{len(pool)} installed here, {len(sources)} source packages); tracker: {len(tracker)} "
          f"source packages, {n} CVEs")


if __name__ == "__main__":
    main()
