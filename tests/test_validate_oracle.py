"""The oracle: each case of corpus/pds4/invalid/EXPECTED.tsv gives NASA PDS validate's own counts.

The table is read here as it is (its outcome column parsed), never copied. Arguments keep validate's
meaning: ``-t`` the target (relative to the case directory), ``-R pds4.bundle`` the bundle rule set,
``--skip-content-validation`` no table contents; ``--skip-context-validation`` is what lunarchive always
does. A note in parentheses in the arguments column (``collection8.xml => records_mismatch=2``) is a
second target of the same case with its own expected error count.
"""

from __future__ import annotations

import csv
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lunarchive.validate import validate_paths

from .conftest import LOCAL_CORPUS, SHARED_CORPUS

_REL = Path("pds4/invalid/EXPECTED.tsv")


@dataclass
class Case:
    name: str
    target: Path
    rule_set: str | None
    skip_content: bool
    expected: dict[tuple[str, ...], int]


def _expected_file() -> Path | None:
    for base in (LOCAL_CORPUS, SHARED_CORPUS):
        if (base / _REL).is_file():
            return base / _REL
    return None


def _outcome(text: str) -> dict[tuple[str, ...], int]:
    """``summary:totalErrors=1,summary:messageTypes:error.x=1`` → {("totalErrors",): 1, ...}."""
    out = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, _, value = item.rpartition("=")
        parts = key.split(":")
        assert parts[0] == "summary", item
        out[tuple(parts[1:])] = int(value)
    return out


def _cases() -> list[Any]:
    path = _expected_file()
    if path is None:
        return [
            pytest.param(None, marks=pytest.mark.skip(reason="corpus pds4/invalid/EXPECTED.tsv not found"))
        ]
    cases = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            args, _, note = row["nasa_pds_validate_args"].partition("(")
            words = shlex.split(args)
            directory = path.parent / row["case"]
            target = words[words.index("-t") + 1]
            rule_set = words[words.index("-R") + 1] if "-R" in words else None
            skip = "--skip-content-validation" in words
            expected = _outcome(row["expected_outcome_from_validate_feature_files"])
            cases.append(pytest.param(Case(row["case"], directory / target, rule_set, skip, expected),
                                      id=row["case"]))  # fmt: skip
            m = re.match(r"\s*(\S+)\s*=>\s*([\w.]+)=(\d+)", note)
            if m:
                extra = {
                    ("messageTypes", f"error.table.{m.group(2)}"): int(m.group(3)),
                    ("totalErrors",): int(m.group(3)),
                }
                cases.append(pytest.param(Case(row["case"], directory / m.group(1), rule_set, skip, extra),
                                          id=f"{row['case']}-{m.group(1)}"))  # fmt: skip
    return cases


@pytest.mark.parametrize("case", _cases())
def test_validate_agrees_with_nasa_pds_validate(case: Case) -> None:
    report = validate_paths([case.target], rule_set=case.rule_set, skip_content=case.skip_content)
    summary = report.summary()
    for key, want in case.expected.items():
        got: Any = summary
        for part in key[:-1]:
            got = got[part]
        got = got.get(key[-1], 0)
        assert got == want, f"{':'.join(key)}: got {got}, validate says {want}\n{report.to_dict()}"
    # No error type validate did not report (warnings are only compared where the case gives them).
    expected_types = {k[1] for k in case.expected if k[0] == "messageTypes"}
    extra = {t for t in summary["messageTypes"] if t.startswith("error.") and t not in expected_types}
    assert not extra, f"errors validate does not report: {extra}"
    assert report.exit_code == (1 if summary["totalErrors"] else 0)


def test_oracle_table_is_read_not_copied() -> None:
    """Every case of the table is exercised (one more for the note on collection8.xml)."""
    cases = [p.values[0] for p in _cases() if p.values[0] is not None]
    if not cases:
        pytest.skip("corpus pds4/invalid/EXPECTED.tsv not found")
    assert len({c.name for c in cases}) == len(cases) - 1 >= 6
    assert all(c.target.exists() for c in cases)
