"""Usage: openapi-validate.py OPENAPI_DOCUMENT SCHEMA_NAME < values.jsonl

Validates each JSON value on standard input (one a line) against the named schema of the
document's `components.schemas`, with its `$ref`s resolved in the document (OpenAPI 3.1's JSON
Schema dialect). Prints one line per invalid value and exits 1 if there is any. Run with the
interpreter of infra/.venv (openapi-spec-validator brings the validator and PyYAML).
"""

import json
import sys

import yaml
from jsonschema_path import SchemaPath
from openapi_schema_validator import OAS31Validator


def main() -> int:
    document_path, schema_name = sys.argv[1], sys.argv[2]
    with open(document_path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    schema = SchemaPath.from_dict(document) / "components" / "schemas" / schema_name
    with schema.resolve() as resolved:
        validator = OAS31Validator(resolved.contents, _resolver=resolved.resolver)
        invalid = 0
        for number, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            errors = sorted(validator.iter_errors(json.loads(line)), key=lambda e: list(e.path))
            for error in errors:
                invalid += 1
                where = "/".join(str(p) for p in error.absolute_path)
                print(f"line {number}: at /{where}: {error.message}")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
