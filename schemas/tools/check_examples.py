#!/usr/bin/env python3
"""Validate JSON documents against an aicc-notify JSON Schema with python-jsonschema.

Prints one verdict line per file, tab-separated:

    valid<TAB>PATH
    invalid<TAB>PATH<TAB>REASON

The Swift test suite (Tests/NotifyCoreTests/SchemaAgreementTests.swift) runs this
next to the Swift validator over schemas/examples and fails on any disagreement.

Besides the schema proper it enforces what the schema declares but plain JSON
Schema cannot express:

* ``x-documentLimits`` at the root: {"maxBytes", "maxDepth"}; plus strict UTF-8
  (no BOM), unique object keys, no NaN/Infinity, no lone surrogates;
* ``x-encodedMaxLength``: length of the encoded AICC voiceContent string;
* ``x-maxTotalLength``: total length of an object's keys and string values.

Format checking (date-time via rfc3339-validator) is on.
Requires: pip install jsonschema rfc3339-validator
Exit status: 0 when every file got a verdict, 2 on a usage error.
"""

import argparse
import json
import os
import sys

try:
    import jsonschema
    from jsonschema import Draft202012Validator, ValidationError, validators
    import rfc3339_validator  # noqa: F401  (date-time format checks need it)
except ImportError as error:  # pragma: no cover
    print(f"check_examples.py: missing module: {error} (pip install jsonschema rfc3339-validator)", file=sys.stderr)
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "notification-request.v1.schema.json")


def encoded_voice_content_length(value):
    """Length of the AICC string a voiceContent encodes to, or None if malformed."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list) or not value:
        return None
    total = len(value) - 1  # the '~' separators
    for segment in value:
        if not isinstance(segment, dict) or len(segment) != 1:
            return None
        if isinstance(segment.get("voiceId"), str):
            total += len(segment["voiceId"])
        elif isinstance(segment.get("text"), str):
            total += len(segment["text"]) + 2  # $text$
        else:
            return None
    return total


def x_encoded_max_length(validator, limit, instance, schema):
    length = encoded_voice_content_length(instance)
    if length is not None and length > limit:
        yield ValidationError(f"encoded voiceContent is {length} characters, more than {limit}")


def x_max_total_length(validator, limit, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    total = sum(len(k) + (len(v) if isinstance(v, str) else 0) for k, v in instance.items())
    if total > limit:
        yield ValidationError(f"keys and values total {total} characters, more than {limit}")


ContractValidator = validators.extend(
    Draft202012Validator,
    {"x-encodedMaxLength": x_encoded_max_length, "x-maxTotalLength": x_max_total_length},
)


class DocumentError(Exception):
    pass


def _reject_duplicates(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise DocumentError("duplicate key")
        seen.add(key)
    return dict(pairs)


def _reject_constant(name):
    raise DocumentError(f"non-JSON constant {name}")


def _nesting_depth(text):
    """Deepest nesting of arrays/objects, counted outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _check_strings(value):
    if isinstance(value, str):
        value.encode("utf-8")  # raises on lone surrogates
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)


def load_document(data, limits):
    max_bytes = limits.get("maxBytes")
    if max_bytes is not None and len(data) > max_bytes:
        raise DocumentError(f"larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise DocumentError("not UTF-8")
    max_depth = limits.get("maxDepth")
    if max_depth is not None and _nesting_depth(text) > max_depth:
        raise DocumentError(f"nested deeper than {max_depth}")
    try:
        value = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
        _check_strings(value)
    except (ValueError, RecursionError, UnicodeEncodeError) as error:
        raise DocumentError(f"not JSON: {error}")
    return value


def verdict(path, validator, limits):
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        document = load_document(data, limits)
    except DocumentError as error:
        return f"invalid\t{path}\t{error}"
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if not errors:
        return f"valid\t{path}"
    first = errors[0]
    where = "/" + "/".join(str(p) for p in first.absolute_path)
    message = first.message.replace("\t", " ").replace("\n", " ")
    if len(message) > 160:
        message = message[:157] + "..."
    return f"invalid\t{path}\t{len(errors)} error(s); first at {where}: {message}"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default=DEFAULT_SCHEMA, help="schema file (default: notification-request v1)")
    parser.add_argument("files", nargs="+", help="JSON documents, or directories (searched for *.json)")
    args = parser.parse_args(argv)

    with open(args.schema, "rb") as handle:
        schema = json.load(handle)
    ContractValidator.check_schema(schema)
    validator = ContractValidator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    limits = schema.get("x-documentLimits", {})

    paths = []
    for item in args.files:
        if os.path.isdir(item):
            for root, _, names in os.walk(item):
                paths.extend(os.path.join(root, n) for n in names if n.endswith(".json"))
        elif os.path.isfile(item):
            paths.append(item)
        else:
            print(f"check_examples.py: no such file: {item}", file=sys.stderr)
            return 2
    for path in sorted(paths):
        print(verdict(path, validator, limits))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
