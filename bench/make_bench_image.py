#!/usr/bin/python3
"""Builds a two-layer `docker save` archive from two root filesystem tarballs, without a daemon.

Layer 1 is BASE as is (a debootstrap minbase); layer 2 holds what FULL (the same debootstrap with
more packages) adds or changes, with whiteouts for what it removes: the layer an
`apt-get install` would have made. Usage: make_bench_image.py BASE.tar FULL.tar OUT.tar TAG
"""
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile


def signature(member):
    return (member.type, member.size, member.mtime, member.mode, member.linkname, member.uid,
            member.gid)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def diff_layer(base_path, full_path, out_path):
    with tarfile.open(base_path) as base:
        base_members = {m.name.lstrip("./"): signature(m) for m in base}
    seen = set()
    with tarfile.open(full_path) as full, tarfile.open(out_path, "w", format=tarfile.PAX_FORMAT) as out:
        for member in full:
            name = member.name.lstrip("./")
            seen.add(name)
            if base_members.get(name) == signature(member) and not member.isdir():
                continue
            if member.isdir() and name in base_members:
                continue
            data = full.extractfile(member) if member.isreg() else None
            out.addfile(member, data)
        for name in base_members:
            if name and name not in seen:
                parent, leaf = os.path.split(name)
                whiteout = tarfile.TarInfo(os.path.join(parent, ".wh." + leaf))
                out.addfile(whiteout, io.BytesIO(b""))


def main():
    base, full, out, tag = sys.argv[1:5]
    work = tempfile.mkdtemp(dir=os.path.dirname(os.path.abspath(out)))
    try:
        layer2 = os.path.join(work, "layer2.tar")
        diff_layer(base, full, layer2)
        layers = [base, layer2]
        diff_ids = [sha256_file(p) for p in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + d for d in diff_ids]},
            "history": [
                {"created": "2026-01-01T00:00:00Z", "created_by": "debootstrap --variant=minbase bookworm"},
                {"created": "2026-01-01T00:00:00Z", "created_by": "apt-get install (bench packages)"},
            ],
        }
        config_bytes = json.dumps(config).encode()
        config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
        manifest = [{"Config": config_name, "RepoTags": [tag],
                     "Layers": [d + "/layer.tar" for d in diff_ids]}]
        with tarfile.open(out + ".tmp", "w") as archive:
            for diff_id, path in zip(diff_ids, layers):
                archive.add(path, arcname=diff_id + "/layer.tar")
            for name, data in ((config_name, config_bytes),
                               ("manifest.json", json.dumps(manifest).encode())):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
        os.replace(out + ".tmp", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
