"""Validation with NASA PDS validate's verdicts: labels, files, inventories, table contents, names, bundles.

Public API::

    validate_paths(paths, rule_set=None, skip_content=False) -> Report   # what `lunarchive validate` runs
    product_findings(product, data=...) -> list[Finding]                  # what ingest stores per product
    tree_findings(products, root) -> list[Finding]                        # bundle checks after an ingest

Rule sets follow validate's ``-R``: ``pds4.label`` (each label on its own), ``pds4.folder`` (every label
under a directory, each on its own), ``pds4.collection`` and ``pds4.bundle`` (labels plus referential
integrity across the tree). Without one, a file is validated as ``pds4.label`` and a directory as
``pds4.bundle`` when it holds a bundle label, ``pds4.collection`` when it holds a collection label,
``pds4.folder`` otherwise. A bundle label given with ``pds4.bundle`` validates its directory; other
bundle labels there are skipped, as validate does. Context products are not looked up
(``--skip-context-validation``), and schematron is not run (one rule is emulated, see label_rules).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ..errors import FormatError, PathNotFound, UserError
from ..formats.files import read_whole
from ..formats.pds3 import starts_as_label
from ..formats.pds4 import is_label_name, is_pds4_label, not_a_label, product_from_tree
from ..formats.tables import TableDef, delimiter_char, line_of, tables_from_tree
from ..formats.xmlsafe import parse_xml
from ..model import Finding, Product
from . import bundle_rules as br
from . import label_rules as lr
from .report import ProductResult, Report, render_text
from .table_rules import check_table_content

__all__ = [
    "RULE_SETS",
    "Options",
    "ProductResult",
    "Report",
    "product_findings",
    "render_text",
    "tree_findings",
    "validate_paths",
]

RULE_SETS = ("pds4.label", "pds4.folder", "pds4.collection", "pds4.bundle")
_P = "{http://pds.nasa.gov/pds4/pds/v1}"
_ROOT_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(Product_Bundle|Product_Collection)[\s>]")


@dataclass
class Options:
    """What to check: ``content`` (table contents), ``max_table_bytes`` (larger tables are not read)."""

    content: bool = True
    max_table_bytes: int | None = None
    cap: int = 200
    """At most this many findings of one kind per table; the rest are counted in one last finding."""
    inventory_content: bool = True
    """Read collection inventories as tables too (ingest reads them itself and turns this off)."""
    strict_membership: bool = True
    """A listed member that is not in the tree is an error (validate 4.2 on); False: a warning."""


@dataclass
class _Checked:
    findings: list[Finding]
    member: br.Member | None
    table_bytes: int = 0
    named: list[tuple[str, str, bool, int | None]] = field(default_factory=list)
    """``(path, name, observational, line)`` of each file a File_Area names (for the run's cross-label rule)."""


class _SharedFiles:
    """validate's cross-label rules. Within one run a data file is named by one File_Area only, once any
    label naming it is a Product_Observational (its CrossLabelFileAreaReferenceChecker): the first label to
    name a file keeps it; every later naming is ``error.label.file_areas_duplicated_reference``. And a LIDVID
    is declared by one label only: every later one is ``error.label.duplicate_identifier``."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[str, str]] = {}
        self._observational: set[str] = set()
        self._lidvids: dict[str, str] = {}

    def check(self, checked: _Checked, label_path: str) -> list[Finding]:
        if checked.member is None:
            return []
        product = checked.member.product
        out = []
        first_label = self._lidvids.setdefault(product.lidvid, label_path)
        if first_label != label_path:  # SR 6D.2: a LIDVID names one product (ingest refuses the second too)
            out.append(lr.finding("conflict", f"{product.lidvid} is also the LIDVID of {first_label}: a LIDVID "
                                  "names one product", label_path, lidvid=product.lidvid))
        for path, name, observational, line in checked.named:
            if observational:
                self._observational.add(path)
            first = self._first.get(path)
            if first is None:
                self._first[path] = (product.lid, label_path)
            elif path in self._observational:
                out.append(lr.finding("shared_file", f"file {name!r} is also named by a file area of {first[0]} "
                                      f"({first[1]}); an observational file belongs to one label", label_path,
                                      line=line, lidvid=product.lidvid))
        return out


def product_findings(
    product: Product,
    *,
    data: bytes | None = None,
    root: etree._Element | None = None,
    options: Options | None = None,
) -> list[Finding]:
    """Product-level findings for one PDS4 label already parsed into ``product``.

    ``data`` (the label's bytes) or ``root`` (its parsed tree) saves reading the label again. FileRefs
    that the caller has already measured (status other than ``pending``) are not re-hashed, and missing
    files among them are not reported again.
    """
    label_path = product.label_path or ""
    if root is None:
        if data is None:
            data = read_whole(label_path)
        root = parse_xml(data, label_path)
    return _product_level(product, root, data or b"", label_path, options or Options()).findings


def _product_level(
    product: Product, root: etree._Element, data: bytes, label_path: str, opts: Options
) -> _Checked:
    lidvid = product.lidvid
    out = lr.check_file_name(label_path)
    out += lr.check_label_notes(product, label_path)
    out += lr.check_lid(product, root, label_path)
    out += lr.check_times(product, root, label_path)
    out += lr.check_file_references(product, label_path, root)
    # a file ingest would not read (a link leading out of the delivered tree) is not read here either
    blocked = {ref.path for ref in product.files if ref.status == "unreadable" and ref.path}
    tables = tables_from_tree(root, os.path.dirname(label_path))
    objects = lr.check_data_objects(root, tables, label_path, lidvid, blocked)
    out += objects
    member = br.Member(label_path, product, manifests=_manifest_files(root, label_path))
    if product.product_class == "Product_Collection":
        inventory = next((t for t in tables if t.inventory), None)
        found, member.inventory_rows = lr.check_inventory(product, inventory, label_path)
        member.inventory_records = inventory.records if inventory else None
        out += found
    elif product.product_class == "Product_Bundle":
        out += lr.check_bundle_entries(product, label_path)
    out += lr.check_schematron_version_history(root, data, label_path, lidvid)
    for ref in product.files:
        if ref.path and ref.status in ("pending", "ok"):
            out += lr.check_image(ref.path, label_path, lidvid)
    read = 0
    if opts.content and not any(f.message_id == lr.MSG["definition"] for f in objects):
        for table in tables:
            if (opts.inventory_content or not table.inventory) and table.path not in blocked \
                    and _small_enough(table, opts):
                check = check_table_content(table, label_path, lidvid, cap=opts.cap)
                out += check.findings
                read += check.bytes_read
    return _Checked(out, member, read)


def _named_files(root: etree._Element, label_path: str) -> list[tuple[str, str, bool, int | None]]:
    """``(path, name, observational, line)`` of the file each File_Area's File names (in label order);
    ``observational``: the label is a Product_Observational (validate counts all of its file areas)."""
    out = []
    here = os.path.dirname(label_path)
    observational = root.tag == _P + "Product_Observational"
    for el in root.iter(_P + "File"):
        area = el.getparent()
        if area is None or not isinstance(area.tag, str) or not area.tag.startswith(_P + "File_Area"):
            continue
        name = next((c.text.strip() for c in el.iterchildren(_P + "file_name") if c.text and c.text.strip()), None)
        if not name:
            continue
        directory = next((c.text.strip() for c in el.iterchildren(_P + "directory_path_name") if c.text), "")
        name = f"{directory.rstrip('/')}/{name}" if directory else name
        out.append((os.path.normpath(os.path.join(here, name)), name, observational, line_of(el)))
    return out


def _small_enough(table: TableDef, opts: Options) -> bool:
    if opts.max_table_bytes is None:
        return True
    try:
        size = os.path.getsize(table.path) if table.path else 0
    except OSError:
        return True
    return size - table.offset <= opts.max_table_bytes


def _manifest_files(root: etree._Element, label_path: str) -> list[str]:
    out = []
    for el in root.iter(_P + "Checksum_Manifest"):
        area = el.getparent()
        name = (
            next((c.text.strip() for c in area.iter(_P + "file_name") if c.text), None)
            if area is not None
            else None
        )
        if name:
            out.append(os.path.normpath(os.path.join(os.path.dirname(label_path), name)))
    return out


def _check_label(path: str, opts: Options) -> _Checked:
    """Read, parse and check one label file; unreadable or non-PDS4 files give one finding."""
    try:
        data = read_whole(path)
    except OSError as exc:
        return _Checked([lr.finding("unreadable", f"cannot read label: {exc.strerror or exc}", path)], None)
    try:
        root = parse_xml(data, path)
        if not is_pds4_label(root):
            raise FormatError(f"{path}: {not_a_label(root)}", line=1)
        product = product_from_tree(root, path)
    except FormatError as exc:
        return _Checked([lr.finding("invalid_label", exc.about(path), path, line=exc.line)], None)
    checked = _product_level(product, root, data, product.label_path or path, opts)
    checked.named = _named_files(root, product.label_path or path)  # for the run's cross-label rule
    return checked


# --------------------------------------------------------------------------------------------- runs


def validate_paths(
    paths: Iterable[str | Path],
    *,
    rule_set: str | None = None,
    skip_content: bool = False,
    strict_membership: bool = True,
    options: Options | None = None,
) -> Report:
    """Validate labels, directories or bundles; see the module docstring for the rule sets."""
    opts = options or Options(content=not skip_content, strict_membership=strict_membership)
    given = [str(p) for p in paths]
    if any(not p.strip() for p in given):  # Path("") is the current directory: never walk it by mistake
        raise UserError("an empty path was given; name the labels or directories to validate")
    targets = _distinct([Path(p) for p in given])
    if not targets:
        raise UserError("nothing to validate: give at least one path")
    missing = [str(p) for p in targets if not p.exists()]
    if missing:
        raise PathNotFound(f"no such file or directory: {', '.join(missing)}")
    odd = [str(p) for p in targets if not p.is_file() and not p.is_dir()]
    if odd:
        raise UserError(f"not a file or directory (a device, socket or pipe?): {', '.join(odd)}")
    if rule_set is not None and rule_set not in RULE_SETS:
        raise UserError(f"unknown rule set {rule_set!r}; use one of {', '.join(RULE_SETS)}")
    t0 = time.perf_counter()
    report = Report(
        targets=[str(p) for p in targets],
        rule_set=rule_set or "auto",
        parameters={"contentValidation": opts.content, "contextValidation": False},
    )
    labels = table_bytes = 0
    shared = _SharedFiles()
    for target in targets:
        n, b = _run_target(target.resolve(), rule_set, opts, report, shared)
        labels, table_bytes = labels + n, table_bytes + b
    report.stats = {"labels": labels, "table_bytes": table_bytes, "seconds": time.perf_counter() - t0}
    return report


def _distinct(targets: list[Path]) -> list[Path]:
    """The targets less repeats: the same file or directory given twice (by any path), and a path inside a
    directory also given, are validated once (a label checked twice fails against itself, its files named
    twice)."""
    real = [os.path.realpath(t) for t in targets]
    dirs = [r for r, t in zip(real, targets, strict=True) if t.is_dir()]
    out, seen = [], set()
    for r, t in zip(real, targets, strict=True):
        if r in seen or any(r.startswith(d.rstrip(os.sep) + os.sep) for d in dirs):
            continue
        seen.add(r)
        out.append(t)
    return out


def _run_target(target: Path, rule_set: str | None, opts: Options, report: Report,
                shared: _SharedFiles) -> tuple[int, int]:
    if target.is_file():
        if report.rule_set == "auto":
            report.rule_set = "pds4.label"
        if rule_set in ("pds4.bundle", "pds4.collection") and _root_class(target) in (
            "Product_Bundle",
            "Product_Collection",
        ):
            return _run_tree(str(target.parent), rule_set, opts, report, shared, main_label=str(target))
        return _run_file(target, opts, report, shared)
    chosen = rule_set or _detect_rule_set(target)
    if report.rule_set == "auto":
        report.rule_set = chosen
    if chosen in ("pds4.bundle", "pds4.collection"):
        return _run_tree(str(target), chosen, opts, report, shared)
    files, _ = br.crawl(str(target))
    n = b = 0
    for f in files:
        if is_label_name(f):
            checked = _take(f, opts, report, shared)
            n, b = n + 1, b + checked.table_bytes
        elif f.lower().endswith(_PDS3_LABEL_SUFFIXES) and starts_as_label(f):  # said, as for one named alone
            report.products.append(ProductResult(f, skipped=True, reason=PDS3_SKIPPED))
    return n, b


_PDS3_LABEL_SUFFIXES = (".lbl", ".lab")
"""Detached PDS3 labels in a folder being validated: listed as skipped (with why), not passed over unsaid."""


def _run_file(target: Path, opts: Options, report: Report, shared: _SharedFiles) -> tuple[int, int]:
    """(labels checked, table bytes read) of one file named on its own."""
    path = str(target)
    if target.suffix.lower() in (".jpg", ".jpeg", ".png"):
        report.products.append(ProductResult(path, findings=lr.check_image(path)))
        return 0, 0
    if starts_as_label(path):
        report.products.append(ProductResult(path, skipped=True, reason=PDS3_SKIPPED))
        return 0, 0
    checked = _take(path, opts, report, shared)
    return 1, checked.table_bytes


PDS3_SKIPPED = ("a PDS3 label: validate's rules are PDS4's; `lunarchive ingest` reads PDS3 labels and records "
                "what they lack and whether their files hold what they say")


def _take(path: str, opts: Options, report: Report, shared: _SharedFiles) -> _Checked:
    """Check one label, then the run's cross-label rule, and report the product."""
    checked = _check_label(path, opts)
    checked.findings += shared.check(checked, checked.member.path if checked.member else path)
    report.products.append(_result(path, checked))
    return checked


def _result(path: str, checked: _Checked) -> ProductResult:
    lidvid = checked.member.product.lidvid if checked.member else None
    return ProductResult(checked.member.path if checked.member else path, lidvid, checked.findings)


def _root_class(path: Path) -> str | None:
    """The root element's local name, read from the first few kB only."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError:
        return None
    m = _ROOT_TAG.search(head)
    return m.group(1).decode() if m else None


def _detect_rule_set(directory: Path) -> str:
    classes = {
        _root_class(p) for p in directory.iterdir() if p.is_file() and is_label_name(p.name)
    }
    if "Product_Bundle" in classes:
        return "pds4.bundle"
    return "pds4.collection" if "Product_Collection" in classes else "pds4.folder"


def _run_tree(
    root: str, rule_set: str, opts: Options, report: Report, shared: _SharedFiles, main_label: str | None = None
) -> tuple[int, int]:
    files, dirs = br.crawl(root)
    labels = [f for f in files if is_label_name(f)]
    members: list[br.Member] = []
    table_bytes = 0
    for path in labels:
        if (
            main_label
            and path != main_label
            and os.path.dirname(path) == root
            and _root_class(Path(path)) == "Product_Bundle"
        ):
            report.products.append(
                ProductResult(path, skipped=True, reason="not the bundle label being validated")
            )
            continue
        checked = _take(path, opts, report, shared)
        table_bytes += checked.table_bytes
        if checked.member is not None:
            members.append(checked.member)
    findings = _integrity(root, rule_set, files, dirs, set(labels), members, _Md5Cache())
    if not opts.strict_membership:
        findings = [br.lax_membership(f) for f in findings]
    report.general += [f for f in findings if f.message_id == br.VERSION_MISMATCH]
    by_path: dict[str, list[Finding]] = {}
    for f in findings:
        if f.message_id != br.VERSION_MISMATCH:
            by_path.setdefault(f.path, []).append(f)
    lidvids = {m.path: m.product.lidvid for m in members}
    report.integrity += [ProductResult(p, lidvids.get(p), fs) for p, fs in sorted(by_path.items())]
    return len(labels), table_bytes


def _integrity(
    root: str,
    rule_set: str,
    files: list[str],
    dirs: list[str],
    labels: set[str],
    members: list[br.Member],
    md5_of: Callable[[str], str] | None,
    elsewhere: Callable[[str], bool] | None = None,
    also_referenced: set[str] | frozenset[str] = frozenset(),
) -> list[Finding]:
    """The referential-integrity rules over one tree; manifests only when ``md5_of`` is given."""
    index = br.build_index(members, elsewhere)
    collections = [m for m in members if m.product.product_class == "Product_Collection"]
    bundles = [m for m in members if m.product.product_class == "Product_Bundle"]
    referenced = {ref.path for m in members for ref in m.product.files if ref.path} | also_referenced
    out = br.check_names(files, dirs)
    out += br.check_unlabeled_files(files, labels, referenced)
    out += br.check_collection_members(collections, index)
    if rule_set == "pds4.bundle":
        out += br.check_bundle_members(bundles, index)
    out += br.check_unreferenced_members(members, collections, bundles)
    out += br.check_references(members, bundles[0].product.lid if bundles else None, index)
    if md5_of is not None:
        out += br.check_manifests(root, files, members, md5_of)
    out += br.check_im_versions(members, root)
    return out


class _Md5Cache:
    """md5 of files by (path, size, mtime), so a file listed twice is read once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int, int], str] = {}

    def __call__(self, path: str) -> str:
        st = os.stat(path)
        key = (path, st.st_size, st.st_mtime_ns)
        if key not in self._seen:
            self._seen[key] = lr.file_md5(path)
        return self._seen[key]


def tree_findings(products: list[Product], root: str | Path, *,
                  catalogued: Callable[[str], bool] | None = None,
                  catalogued_files: Callable[[str], set[str]] | None = None) -> list[Finding]:
    """Referential-integrity findings for products already parsed from the tree ``root`` (after ingest).

    Collection members, bundle members, unreferenced products, references, names, unlabeled files and
    information-model versions; checksum manifests are left to ``validate`` (ingest has hashed the files).
    Inventories are re-read here (line by line) for the members. ``catalogued``: whether a LID or LIDVID
    that is not in the tree is held all the same (a member or reference catalogued by an earlier batch);
    ``catalogued_files``: the files catalogued products under a directory name (asked only when the tree holds
    labels that are not among ``products``, so that the files they name are not taken for unlabelled).
    """
    root_s = os.path.realpath(str(root))
    members = []
    for p in products:
        if not p.label_path or not (p.label_path == root_s or p.label_path.startswith(root_s + os.sep)):
            continue
        m = br.Member(p.label_path, p)
        if p.product_class == "Product_Collection":
            inv = next((f for f in p.files if f.path and p.extra.get("inventory_file") == f.name), None)
            if inv and inv.path and os.path.isfile(inv.path):
                delim = delimiter_char(str(p.extra.get("field_delimiter", "Comma")))
                m.inventory_rows = lr.read_inventory_rows(inv.path, delim)
                m.inventory_records = p.extra.get("inventory_records")
        members.append(m)
    files, dirs = br.crawl(root_s)
    labels = {f for f in files if is_label_name(f)}
    has_bundle = any(m.product.product_class == "Product_Bundle" for m in members)
    rule = "pds4.bundle" if has_bundle else "pds4.collection"
    named_before: set[str] = set()
    if catalogued_files is not None and labels - {m.path for m in members}:
        named_before = catalogued_files(root_s)
    return _integrity(root_s, rule, files, dirs, labels, members, None, catalogued, named_before)
