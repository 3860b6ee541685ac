"""docs/staff.md: its JSON examples match the spec's schemas and its paths exist."""

from __future__ import annotations

import re
from pathlib import Path

from jsonschema import Draft202012Validator

DOC = Path(__file__).resolve().parents[2] / "docs" / "staff.md"


def test_json_examples_match_their_schemas(openapi):
    import json

    text = DOC.read_text(encoding="utf-8")
    examples = re.findall(r"<!-- schema: (\w+) -->\s*```json\n(.*?)```", text, flags=re.S)
    assert len(examples) >= 2
    for name, body in examples:
        schema = {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}
        Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(json.loads(body))


def test_documented_paths_are_in_the_spec(openapi):
    text = DOC.read_text(encoding="utf-8")
    documented = set(re.findall(r"`(?:GET|POST) /api/v1(/[^`?\s]*)`", text))
    documented |= {p.split("?")[0] for p in re.findall(r"https://sesame\.example\.org/api/v1(/\S+)", text)}
    templates = [re.compile("^" + re.sub(r"\{[a-z_]+\}", "[^/]+", p) + "$") for p in openapi["paths"]]
    assert len(documented) >= 8
    for path in documented:
        assert any(t.match(path) for t in templates), path
