"""Test helper: validates Atom documents against the RFC 4287 schema; asserts nothing.

`validate_atom` runs `corpus/schema/atom.rng` (RELAX NG, lxml) and `atom-rules.sch`
(ISO Schematron, lxml.isoschematron) from the shared directory beside the repo. The
Schematron file declares no queryBinding, so lxml runs it with its default XSLT 1.0
binding; its three XPath 1.0 assertions need nothing more. Test modules that import
this skip themselves when `SCHEMA_AVAILABLE` is false (no `../shared` checkout).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import lxml.isoschematron as isoschematron  # type: ignore[import-not-found]
from lxml import etree

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "schema"
RELAXNG_PATH = SCHEMA_DIR / "atom.rng"
SCHEMATRON_PATH = SCHEMA_DIR / "atom-rules.sch"
SCHEMA_AVAILABLE = RELAXNG_PATH.is_file() and SCHEMATRON_PATH.is_file()

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
# Feeds are untrusted input in other tests: no DTDs, entities or network.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def validate_atom(data: bytes) -> list[str]:
    """The problems found in `data`, one line each; empty when it is valid Atom 1.0."""
    try:
        document = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    return _relaxng_problems(document) + _schematron_problems(document)


def _relaxng_problems(document: etree._Element) -> list[str]:
    schema = _relaxng()
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def _schematron_problems(document: etree._Element) -> list[str]:
    schema = _schematron()
    if schema.validate(document):
        return []
    report: etree._ElementTree = schema.validation_report
    return [_describe_failure(failure) for failure in report.iter(f"{SVRL}failed-assert")]


def _describe_failure(failure: etree._Element) -> str:
    text = " ".join((failure.findtext(f"{SVRL}text") or "").split())
    return f"{failure.get('location')}: {text}"


@cache
def _relaxng() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RELAXNG_PATH)))


@cache
def _schematron() -> isoschematron.Schematron:
    return isoschematron.Schematron(etree.parse(str(SCHEMATRON_PATH)), store_report=True)
