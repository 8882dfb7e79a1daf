#!/usr/bin/python3
"""Validates JSON documents against the official schemas kept in ../shared/data/standards.

Usage: validate_schema.py KIND DOCUMENT...
  KIND: cyclonedx-1.6 (alias cyclonedx), cyclonedx-1.5, cyclonedx-1.7, spdx-2.3 (alias spdx-json),
        sarif-2.1.0, openvex-0.2.0
The data directory is $MOAT_SHARED_DATA_DIR, else ../../shared/data from this file.
Exit code: 0 all valid, 1 some document invalid (errors on stderr), 2 usage or setup error.
Works offline with Debian bookworm's python3-jsonschema (4.10, RefResolver) and newer releases
(the 'referencing' registry): CycloneDX schemas refer to spdx.schema.json and jsf-0.82.schema.json
by relative name, so those are put in a local store instead of being fetched.
"""
import json
import os
import pathlib
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

try:
    import jsonschema
    from jsonschema import validators
except ImportError:
    print("validate_schema.py: python3-jsonschema is not installed", file=sys.stderr)
    sys.exit(2)


def _extras_msg_unsorted(extras):
    # jsonschema 4.10 sorts the extra items to build its "additional items" message, which raises
    # TypeError when they are objects (e.g. a CycloneDX component with three or more licenses,
    # checked against the one-expression branch of "licenses"). Same message, no sorting.
    return ", ".join(repr(extra) for extra in extras), ("was" if len(extras) == 1 else "were")


for _module in ("_utils", "_validators"):
    _mod = getattr(jsonschema, _module, None)
    if _mod is not None and hasattr(_mod, "extras_msg"):
        _mod.extras_msg = _extras_msg_unsorted

HERE = pathlib.Path(__file__).resolve().parent
DATA = pathlib.Path(os.environ.get("MOAT_SHARED_DATA_DIR", HERE.parent.parent / "shared" / "data"))
STANDARDS = DATA / "standards"
CDX = "cyclonedx/schema/"
CDX_REFS = [CDX + "spdx.schema.json", CDX + "jsf-0.82.schema.json"]

KINDS = {
    "cyclonedx-1.5": (CDX + "bom-1.5.schema.json", CDX_REFS),
    "cyclonedx-1.6": (CDX + "bom-1.6.schema.json", CDX_REFS),
    "cyclonedx-1.7": (CDX + "bom-1.7.schema.json", CDX_REFS + [CDX + "cryptography-defs.schema.json"]),
    "spdx-2.3": ("spdx/spdx-2.3-schema.json", []),
    "sarif-2.1.0": ("sarif/sarif-schema-2.1.0.json", []),
    "openvex-0.2.0": ("openvex/openvex_json_schema.json", []),
}
ALIASES = {"cyclonedx": "cyclonedx-1.6", "spdx-json": "spdx-2.3", "spdx": "spdx-2.3",
           "sarif": "sarif-2.1.0", "openvex": "openvex-0.2.0"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def make_validator(schema_rel, ref_rels):
    schema = load(STANDARDS / schema_rel)
    store = {}
    for rel in ref_rels:
        doc = load(STANDARDS / rel)
        store[pathlib.Path(rel).name] = doc
        for key in ("$id", "id"):
            if doc.get(key):
                store[doc[key]] = doc
    base = schema.get("$id") or schema.get("id") or ""
    base_dir = base.rsplit("/", 1)[0] + "/" if "/" in base else ""
    for name in list(store):
        if not name.startswith("http"):
            store[base_dir + name] = store[name]
    cls = validators.validator_for(schema)
    format_checker = getattr(cls, "FORMAT_CHECKER", None)
    try:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7
        registry = Registry().with_resources(
            (uri, Resource.from_contents(doc, default_specification=DRAFT7))
            for uri, doc in store.items())
        return cls(schema, registry=registry, format_checker=format_checker)
    except ImportError:
        resolver = jsonschema.RefResolver(base_uri=base, referrer=schema, store=store)
        return cls(schema, resolver=resolver, format_checker=format_checker)


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    kind = ALIASES.get(argv[1], argv[1])
    if kind not in KINDS:
        print(f"unknown schema kind '{argv[1]}' (one of {', '.join(sorted(KINDS))})", file=sys.stderr)
        return 2
    try:
        validator = make_validator(*KINDS[kind])
    except (OSError, ValueError) as e:
        print(f"cannot load the {kind} schema from {STANDARDS}: {e}", file=sys.stderr)
        return 2
    bad = 0
    for path in argv[2:]:
        try:
            doc = load(path)
        except (OSError, ValueError) as e:
            print(f"{path}: not readable JSON: {e}", file=sys.stderr)
            bad += 1
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors[:20]:
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            print(f"{path}: {kind}: at {where}: {e.message[:300]}", file=sys.stderr)
        if errors:
            bad += 1
        else:
            print(f"{path}: valid {kind}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
