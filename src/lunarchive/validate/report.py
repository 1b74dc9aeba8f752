"""The validation report: per-product results, validate's summary, JSON and text renderings.

Counting follows NASA PDS validate's report: a product FAILs when it has at least one error; warnings
do not fail it. Product-level results and referential-integrity results are counted separately
(``productValidation`` and ``referentialIntegrity``); run-level messages (several information-model
versions) count in the totals and ``messageTypes`` but belong to no product. Info messages are kept in
the per-product lists but, as in validate at its default WARNING level, not counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from ..model import Finding

__all__ = ["ProductResult", "Report", "render_text"]

Status = Literal["PASS", "FAIL", "SKIP"]


@dataclass
class ProductResult:
    """One label (or file) and what was found in one phase of the run."""

    path: str
    lidvid: str | None = None
    findings: list[Finding] = field(default_factory=list)
    skipped: bool = False
    reason: str | None = None

    @property
    def status(self) -> Status:
        if self.skipped:
            return "SKIP"
        return "FAIL" if any(f.severity == "error" for f in self.findings) else "PASS"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "status": self.status,
            "label": self.path,
            "lidvid": self.lidvid,
            "messages": [_message(f) for f in self.findings],
        }
        if self.reason:
            d["reason"] = self.reason
        return d


def _message(f: Finding) -> dict[str, Any]:
    d: dict[str, Any] = {"severity": f.severity.upper(), "type": f.message_id, "message": f.message}
    if f.line:
        d["line"] = f.line
    if f.path:
        d["path"] = f.path
    return d


@dataclass
class Report:
    """Everything one run of ``validate`` found."""

    targets: list[str]
    rule_set: str
    products: list[ProductResult] = field(default_factory=list)
    integrity: list[ProductResult] = field(default_factory=list)
    general: list[Finding] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, float] = field(default_factory=dict)
    """Labels read, table bytes checked, seconds: for benchmarks and the text report's last line."""

    def all_findings(self) -> list[Finding]:
        return [f for r in self.products + self.integrity for f in r.findings] + self.general

    def summary(self) -> dict[str, Any]:
        counted = [f for f in self.all_findings() if f.severity in ("error", "warning")]
        return {
            "totalErrors": sum(f.severity == "error" for f in counted),
            "totalWarnings": sum(f.severity == "warning" for f in counted),
            "productValidation": _phase(self.products),
            "referentialIntegrity": _phase(self.integrity),
            "messageTypes": dict(sorted(Counter(f.message_id for f in counted).items())),
        }

    @property
    def exit_code(self) -> int:
        """0 when no error was found, 1 otherwise."""
        return 1 if any(f.severity == "error" for f in self.all_findings()) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": "lunarchive validate report (NASA PDS validate message ids)",
            "parameters": {"targets": self.targets, "ruleType": self.rule_set, **self.parameters},
            "summary": self.summary(),
            "products": [r.to_dict() for r in self.products],
            "referentialIntegrity": [r.to_dict() for r in self.integrity],
            "general": [_message(f) for f in self.general],
            "stats": self.stats,
        }


def _phase(results: list[ProductResult]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    passed, failed, skipped = counts["PASS"], counts["FAIL"], counts["SKIP"]
    return {"passed": passed, "failed": failed, "skipped": skipped, "total": passed + failed}


def render_text(report: Report, *, max_messages: int = 50) -> str:
    """A readable report: per product PASS/FAIL/SKIP with its messages, then the summary."""
    lines = [f"lunarchive validate: {', '.join(report.targets)}  (rule set {report.rule_set})", ""]
    for title, results in (
        ("Product level validation", report.products),
        ("Referential integrity", report.integrity),
    ):
        if not results:
            continue
        lines.append(f"{title}:")
        for r in results:
            if title != "Product level validation" and r.status == "PASS" and not r.findings:
                continue
            lines.append(f"  {r.status}: {r.path}" + (f"  ({r.reason})" if r.reason else ""))
            for f in r.findings[:max_messages]:
                where = f"line {f.line}: " if f.line else ""
                lines.append(f"      {f.severity.upper():7}  [{f.message_id}]  {where}{f.message}")
            if len(r.findings) > max_messages:
                lines.append(f"      ... {len(r.findings) - max_messages} more (use --json)")
        lines.append("")
    for f in report.general:
        lines.append(f"  {f.severity.upper():7}  [{f.message_id}]  {f.message}")
    s = report.summary()
    lines += ["Summary:", f"  {s['totalErrors']} error(s)", f"  {s['totalWarnings']} warning(s)"]
    for key, title in (
        ("productValidation", "Product validation"),
        ("referentialIntegrity", "Referential integrity"),
    ):
        p = s[key]
        lines.append(f"  {title}: {p['passed']} passed, {p['failed']} failed, {p['skipped']} skipped")
    if s["messageTypes"]:
        lines.append("  Message types:")
        lines += [f"    {n:<8} {mid}" for mid, n in s["messageTypes"].items()]
    return "\n".join(lines) + "\n"
