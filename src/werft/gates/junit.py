"""A gate report as JUnit XML: one test suite, one test case per check.

GitLab (``artifacts:reports:junit``), GitHub Actions test reporters and
Jenkins read it: a failed check is a ``<failure>`` with the check's message,
a skipped one ``<skipped>``, and the report's context travels as
``<properties>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from werft.gates.entities import Check, GateReport


def junit_xml(report: GateReport) -> str:
    """The report as a JUnit XML document (UTF-8 text with an XML declaration)."""
    failures = len(report.failed)
    skipped = sum(1 for check in report.checks if check.skipped)
    counts = {
        "tests": str(len(report.checks)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", {"name": "werft check", **counts})
    suite = ET.SubElement(
        root,
        "testsuite",
        {
            "name": f"werft check {report.model} {report.version}",
            **counts,
            # JUnit's schema wants a local timestamp without a zone; werft's times are UTC.
            "timestamp": report.created_at.strftime("%Y-%m-%dT%H:%M:%S"),
            "hostname": "werft",
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("model", report.model),
        ("version", report.version),
        ("passed", str(report.passed).lower()),
        ("version_status", report.version_status.value),
        ("report_id", report.id),
        ("data_digest", report.data_digest),
        ("rows", report.rows),
        ("use_case", report.use_case),
        ("use_case_digest", report.use_case_digest),
        ("compared_with", report.compared_with),
        ("created_by", report.created_by),
    ):
        if value is not None:
            ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    for check in report.checks:
        _testcase(suite, check)
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'


def _testcase(suite: ET.Element, check: Check) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        {"name": check.name, "classname": f"werft.check.{check.kind}", "time": "0"},
    )
    if check.skipped:
        ET.SubElement(case, "skipped", {"message": check.message})
    elif not check.passed:
        failure = ET.SubElement(case, "failure", {"message": check.message, "type": "GateFailed"})
        failure.text = _details(check)
    else:
        ET.SubElement(case, "system-out").text = _details(check)


def _details(check: Check) -> str:
    lines = [check.message]
    if check.value is not None:
        lines.append(f"value: {check.value}")
    if check.threshold is not None:
        lines.append(f"threshold: {check.op or ''} {check.threshold}".replace("  ", " "))
    return "\n".join(lines)
