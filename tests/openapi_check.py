#!/usr/bin/env python3
"""Checks src/server/api/openapi.json, the OpenAPI 3.1 document of moat server's REST API.

- It is JSON with the structure of an OpenAPI 3.1 document: every $ref resolves, every operation
  has responses with valid status codes and a unique operationId, every path template parameter is
  declared (and only those), parameters and request bodies are well-formed, schema types exist.
- It describes exactly the routes that src/server/api/api.cpp serves (its `s.Add(METHOD, PATTERN,
  Access::kX, ...)` calls, parsed from the source), each with x-moat-access equal to the route's
  access, security [] exactly on the public routes and a request body on every POST.
- The examples in the document validate against their schemas (python3-jsonschema), and so does
  the alert of docs/alerts.md against the Alert schema.
- Where openapi-spec-validator is installed it validates the document too.

Usage: tests/openapi_check.py [SOURCE_ROOT]   (default: the checkout this script is in)
"""

import json
import pathlib
import re
import sys
import warnings

ROOT = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent)
DOCUMENT = ROOT / "src/server/api/openapi.json"
API_SOURCE = ROOT / "src/server/api/api.cpp"
ALERTS_DOC = ROOT / "docs/alerts.md"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ACCESS_NAMES = {"kPublic": "public", "kRead": "read", "kTriage": "triage", "kIngest": "ingest",
                "kAdmin": "admin", "kPolicies": "policies"}
SCHEMA_TYPES = {"null", "boolean", "object", "array", "number", "string", "integer"}
PARAMETER_LOCATIONS = {"query", "header", "path", "cookie"}

passed = 0
failed = 0


def check(name, problems):
    """Reports one check: passes when `problems` (a list of strings) is empty."""
    global passed, failed
    if problems:
        failed += 1
        print(f"FAIL {name}")
        for problem in problems[:20]:
            print(f"  {problem}")
        if len(problems) > 20:
            print(f"  ... {len(problems) - 20} more")
    else:
        passed += 1
        print(f"PASS {name}")


def resolve(doc, ref):
    """The object a local $ref ("#/a/b") points to, or None."""
    if not ref.startswith("#/"):
        return None
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def walk(node, path="#"):
    """Yields (json pointer, node) for every object and array in the document."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, (dict, list)):
                yield from walk(value, f"{path}/{index}")


def operations(doc):
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def served_routes():
    """(METHOD, pattern) -> access name, from the s.Add(...) calls of api.cpp."""
    source = API_SOURCE.read_text()
    calls = re.findall(r'\bs\.Add\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,\s*Access::(k[A-Za-z]+)', source)
    return {(method, pattern): ACCESS_NAMES.get(access, access) for method, pattern, access in calls}


def structure_problems(doc):
    problems = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        problems.append(f"openapi: expected 3.1.x, got {doc.get('openapi')!r}")
    info = doc.get("info", {})
    for key in ("title", "version"):
        if not isinstance(info.get(key), str) or not info.get(key):
            problems.append(f"info.{key}: required string")
    for server in doc.get("servers", []):
        if "url" not in server:
            problems.append("servers[]: url required")
    schemes = doc.get("components", {}).get("securitySchemes", {})
    for requirement in doc.get("security", []):
        for scheme in requirement:
            if scheme not in schemes:
                problems.append(f"security: unknown scheme {scheme}")
    for pointer, node in walk(doc):
        if isinstance(node, dict) and "$ref" in node and isinstance(node["$ref"], str):
            if resolve(doc, node["$ref"]) is None:
                problems.append(f"{pointer}: $ref {node['$ref']} does not resolve")
        # A "type" member of a properties map is a property named type, and a security scheme's
        # type is not a schema type.
        in_schema = not pointer.endswith("/properties") and "/securitySchemes/" not in pointer
        if in_schema and isinstance(node, dict) and "type" in node:
            types = node["type"] if isinstance(node["type"], list) else [node["type"]]
            if not set(types) <= SCHEMA_TYPES:
                problems.append(f"{pointer}: unknown schema type {node['type']}")
    operation_ids = {}
    for path, method, operation in operations(doc):
        where = f"{method.upper()} {path}"
        if not path.startswith("/"):
            problems.append(f"{where}: a path starts with /")
        responses = operation.get("responses")
        if not isinstance(responses, dict) or not responses:
            problems.append(f"{where}: no responses")
            responses = {}
        for code, response in responses.items():
            if not re.fullmatch(r"[1-5](\d\d|XX)|default", code):
                problems.append(f"{where}: response code {code!r}")
            if "description" not in deref(doc, response):
                problems.append(f"{where}: response {code} has no description")
        operation_id = operation.get("operationId")
        if operation_id in operation_ids:
            problems.append(f"{where}: operationId {operation_id} also on {operation_ids[operation_id]}")
        operation_ids[operation_id] = where
        declared = set()
        for parameter in doc["paths"][path].get("parameters", []) + operation.get("parameters", []):
            parameter = deref(doc, parameter)
            if parameter.get("in") not in PARAMETER_LOCATIONS or not parameter.get("name"):
                problems.append(f"{where}: parameter {parameter}: name and in required")
            if ("schema" in parameter) == ("content" in parameter):
                problems.append(f"{where}: parameter {parameter.get('name')}: schema or content")
            if parameter.get("in") == "path":
                if parameter.get("required") is not True:
                    problems.append(f"{where}: path parameter {parameter['name']} must be required")
                declared.add(parameter["name"])
        templated = set(re.findall(r"\{([^}]+)\}", path))
        if declared != templated:
            problems.append(f"{where}: path parameters {sorted(declared)}, template {sorted(templated)}")
        body = deref(doc, operation.get("requestBody"))
        if body is not None and not body.get("content"):
            problems.append(f"{where}: requestBody without content")
    return problems


def route_problems(doc):
    served = served_routes()
    problems = []
    if len(served) < 10:
        problems.append(f"only {len(served)} s.Add(...) routes found in {API_SOURCE}: the parser is out of date")
    documented = {(method.upper(), path): operation for path, method, operation in operations(doc)}
    for route in sorted(set(served) - set(documented)):
        problems.append(f"served, not documented: {route[0]} {route[1]}")
    for route in sorted(set(documented) - set(served)):
        problems.append(f"documented, not served: {route[0]} {route[1]}")
    for route in sorted(set(served) & set(documented)):
        operation = documented[route]
        where = f"{route[0]} {route[1]}"
        access = served[route]
        if operation.get("x-moat-access") != access:
            problems.append(f"{where}: x-moat-access {operation.get('x-moat-access')!r}, api.cpp says {access!r}")
        public_security = operation.get("security") == []
        if public_security != (access == "public"):
            problems.append(f"{where}: security [] must be set exactly on public routes")
        codes = set(operation.get("responses", {}))
        if access != "public" and not {"401", "403", "429"} <= codes:
            problems.append(f"{where}: a route with a token answers 401, 403 and 429")
        if route[0] == "POST":
            if "requestBody" not in operation:
                problems.append(f"{where}: no requestBody")
            if "400" not in codes or "413" not in codes:
                problems.append(f"{where}: a POST answers 400 and 413")
    return problems


def example_problems(doc):
    try:
        import jsonschema
    except ImportError:
        return ["python3-jsonschema is not installed (scripts/install-deps.sh test)"]
    with warnings.catch_warnings():  # RefResolver is deprecated in newer jsonschema, not in Debian's
        warnings.simplefilter("ignore", DeprecationWarning)
        resolver = jsonschema.RefResolver(base_uri="", referrer=doc)
    problems = []

    def validate(where, schema, instance):
        validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
        for error in validator.iter_errors(instance):
            problems.append(f"{where}: {'/'.join(map(str, error.absolute_path))}: {error.message}")

    count = 0
    for pointer, node in walk(doc):
        if isinstance(node, dict) and "schema" in node and "example" in node:
            validate(pointer, node["schema"], node["example"])
            count += 1
    # The alert of docs/alerts.md is an Alert, and a stored alert wraps it.
    text = ALERTS_DOC.read_text()
    match = re.search(r"## The shape\s+```json\n(.*?)```", text, re.S)
    if match is None:
        problems.append(f"{ALERTS_DOC}: no JSON example under '## The shape'")
    else:
        alert = json.loads(match.group(1))
        validate("docs/alerts.md alert", {"$ref": "#/components/schemas/Alert"}, alert)
        stored = {"id": 1, "status": "dismissed", "status_by": "analyst", "status_reason": "test",
                  "count": 3, "first_time": alert["time"], "last_time": alert["time"],
                  "incident_id": 1, "alert": alert}
        validate("stored alert", {"$ref": "#/components/schemas/StoredAlert"}, stored)
        count += 2
    # An alert without its required members is refused by the schema, as by the server.
    bad = jsonschema.Draft202012Validator({"$ref": "#/components/schemas/Alert"}, resolver=resolver)
    if bad.is_valid({"rule": "r", "priority": "Warning"}):
        problems.append("Alert schema accepts an alert without time and output")
    if count < 5:
        problems.append(f"only {count} examples checked")
    return problems


def validator_problems(doc):
    try:
        from openapi_spec_validator import validate
    except ImportError:
        print("SKIP openapi-spec-validator is not installed")
        return None
    try:
        validate(doc)
    except Exception as error:  # the validator's own error types differ between versions
        return [str(error).splitlines()[0][:300]]
    return []


def main():
    try:
        doc = json.loads(DOCUMENT.read_text())
    except (OSError, json.JSONDecodeError) as error:
        check(f"{DOCUMENT} is JSON", [str(error)])
        print(f"openapi_check: {passed} passed, {failed} failed")
        return 1
    check("document is JSON", [])
    check("OpenAPI 3.1 structure", structure_problems(doc))
    check("exactly the routes of api.cpp, with their access", route_problems(doc))
    check("examples match their schemas", example_problems(doc))
    problems = validator_problems(doc)
    if problems is not None:
        check("openapi-spec-validator", problems)
    print(f"openapi_check: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
