"""Referential-integrity rules over a tree of products (a bundle or a collection), validate's ids.

Each rule takes the labels already read (:class:`Member`) and returns Findings: inventory members and
bundle members that no product in the tree defines, products no collection or bundle lists, references
to products of the bundle that are not there, a collection's ``<records>`` against its members, file and
directory names, files no label names, several information-model versions in one run, and the checksum
manifests a bundle may carry (``*.md5`` files, md5deep ``Checksum_Manifest`` tables).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..formats.files import open_regular
from ..model import Finding, Product
from .label_rules import finding, naming_problem

__all__ = [
    "Member",
    "check_bundle_members",
    "check_collection_members",
    "check_im_versions",
    "check_manifests",
    "check_names",
    "check_references",
    "check_unlabeled_files",
    "check_unreferenced_members",
    "crawl",
]

MEMBER_NOT_FOUND = "error.integrity.member_not_found"
"""A member an inventory or bundle lists that is not in the tree: an error by default since validate 4.2 (its
case github1601), a warning with ``--skip-strict-collection-membership`` (``MEMBER_NOT_FOUND_LAX``)."""
MEMBER_NOT_FOUND_LAX = "warning.integrity.member_not_found"


def lax_membership(f: Finding) -> Finding:
    """``f``, a missing member made the warning it was before validate 4.2 (other findings as they are)."""
    if f.message_id != MEMBER_NOT_FOUND:
        return f
    return Finding(MEMBER_NOT_FOUND_LAX, f.message, f.path, "warning", f.line, f.lidvid)
UNREFERENCED_MEMBER = "warning.integrity.unreferenced_member"
REFERENCE_NOT_FOUND = "warning.integrity.reference_not_found"
MISSING_VERSION = "error.integrity.missing_version"
DUPLICATE_MEMBERS = "error.integrity.duplicate_members"
VERSION_MISMATCH = "warning.integrity.pds4_version_mismatch"
UNLABELED = "warning.file.not_referenced_in_label"
RECORDS = "error.table.records_mismatch"
CHECKSUM = "error.label.checksum_mismatch"
_CONTEXT_LID = re.compile(r"^urn:[^:]+:[^:]+:(?:[^:]+:)?context:")
_CONTEXT_TYPE = re.compile(
    r"(_to_investigation|_to_target|_to_instrument|_to_instrument_host|_to_telescope|"
    r"_to_facility|_to_context)$|^is_"
)
_MD5_LINE = re.compile(r"^([0-9A-Fa-f]{32})\s+\*?(.+?)\s*$")


@dataclass
class Member:
    """One label of the tree, with what the integrity rules need from it."""

    path: str
    product: Product
    inventory_rows: list[tuple[str, str]] = field(default_factory=list)
    inventory_records: int | None = None
    manifests: list[str] = field(default_factory=list)
    """Paths of files this label describes as ``Checksum_Manifest`` objects."""


class Index(dict[str, dict[str, str]]):
    """LID → {VID → label path} of the products in the tree; ``elsewhere`` (when given) says whether a LID or
    LIDVID that is not in the tree is held elsewhere (ingest: catalogued by an earlier batch)."""

    elsewhere: Callable[[str], bool] | None = None


ELSEWHERE = "(catalogued before)"
"""The label path ``_found`` gives for a product held elsewhere."""


def build_index(members: Iterable[Member], elsewhere: Callable[[str], bool] | None = None) -> Index:
    index = Index()
    index.elsewhere = elsewhere
    for m in members:
        index.setdefault(m.product.lid, {})[m.product.vid] = m.path
    return index


def _split(ident: str) -> tuple[str, str | None]:
    lid, sep, vid = ident.strip().partition("::")
    return lid.strip(), (vid.strip() or None) if sep else None


def _found(index: Index, ident: str) -> list[str]:
    lid, vid = _split(ident)
    versions = index.get(lid, {})
    hits = list(versions.values()) if vid is None else [versions[vid]] if vid in versions else []
    if not hits and index.elsewhere is not None and index.elsewhere(ident.strip()):
        hits = [ELSEWHERE]
    return hits


def crawl(root: str) -> tuple[list[str], list[str]]:
    """(files, directories) under ``root``, sorted, both as absolute paths; symlinked dirs not followed."""
    files: list[str] = []
    dirs: list[str] = []
    stack = [root]
    while stack:  # os.walk's top-down order, in a loop: os.walk recurses, and a deep tree overflowed it
        top = stack.pop()
        try:
            with os.scandir(top) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        here_dirs = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                dirs.append(entry.path)
                if not entry.is_symlink():
                    here_dirs.append(entry.path)
            else:
                files.append(entry.path)
        stack += reversed(here_dirs)
    return files, dirs


def check_names(files: list[str], dirs: list[str]) -> list[Finding]:
    """Every file and directory name follows the PDS4 naming rules; names differ in more than case."""
    out: list[Finding] = []
    seen: dict[tuple[str, str], str] = {}
    for path, is_dir in [(d, True) for d in dirs] + [(f, False) for f in files]:
        name = os.path.basename(path)
        problem = naming_problem(name, is_dir=is_dir)
        if problem:
            out.append(finding(problem[0], problem[1], path))
        key = (os.path.dirname(path), name.lower())
        if key in seen and seen[key] != name:
            mid = "error.directory.name_conflicts_in_case" if is_dir else "error.file.name_conflicts_in_case"
            out.append(finding(mid, f"{name!r} differs from {seen[key]!r} only in case", path))
        seen.setdefault(key, name)
    return out


def check_unlabeled_files(files: list[str], labels: set[str], referenced: set[str]) -> list[Finding]:
    """Every file that is not a label is named by some label."""
    return [
        finding(UNLABELED, "file is not referenced by any label", f)
        for f in files
        if f not in labels and f not in referenced
    ]


def check_collection_members(collections: list[Member], index: Index) -> list[Finding]:
    """Members of each collection inventory exist in the tree; ``<records>`` equals the member count."""
    out: list[Finding] = []
    for c in collections:
        lidvid = c.product.lidvid
        for status, ident in c.inventory_rows:
            primary = status.upper().startswith("P")
            lid, vid = _split(ident)
            if primary and vid is None:
                out.append(
                    finding(
                        MISSING_VERSION,
                        f"the primary member '{ident}' should include the version number",
                        c.path,
                        lidvid=lidvid,
                    )
                )
            hits = _found(index, ident)
            if not hits and primary:
                out.append(
                    finding(
                        MEMBER_NOT_FOUND,
                        f"the member '{ident}' could not be found in any product within the given target",
                        c.path,
                        lidvid=lidvid,
                    )
                )
            elif len(hits) > 1 and vid is not None:
                out.append(
                    finding(
                        DUPLICATE_MEMBERS,
                        f"the member '{ident}' is identified in multiple products: {', '.join(hits)}",
                        c.path,
                        lidvid=lidvid,
                    )
                )
        n = len(c.inventory_rows)
        if n and c.inventory_records and n != c.inventory_records:
            out.append(
                finding(
                    RECORDS,
                    f"number of records read is not equal to the defined number of records in "
                    f"the collection (expected {c.inventory_records}, got {n})",
                    c.path,
                    lidvid=lidvid,
                )
            )
    return out


def check_bundle_members(bundles: list[Member], index: Index) -> list[Finding]:
    """Collections a bundle lists as its members exist in the tree."""
    out: list[Finding] = []
    for b in bundles:
        for m in b.product.members:
            if m.status == "P" and not _found(index, m.ref):
                out.append(
                    finding(
                        MEMBER_NOT_FOUND,
                        f"the member '{m.ref}' could not be found in any product within the given target",
                        b.path,
                        lidvid=b.product.lidvid,
                    )
                )
    return out


def check_unreferenced_members(
    members: list[Member], collections: list[Member], bundles: list[Member]
) -> list[Finding]:
    """Every product (but bundles) is listed by a collection inventory or a bundle member entry. A target with
    no bundle (``-R pds4.collection`` on a collection's directory) holds no bundle to list its collections,
    so they are not reported for it."""
    lids: set[str] = set()
    lidvids: set[str] = set()
    for ident in [i for c in collections for _, i in c.inventory_rows] + [
        m.ref for b in bundles for m in b.product.members
    ]:
        lid, vid = _split(ident)
        (lidvids.add(f"{lid}::{vid}") if vid else lids.add(lid))
    out = []
    for m in members:
        p = m.product
        if p.product_class == "Product_Bundle" or p.lid in lids or p.lidvid in lidvids:
            continue
        if p.product_class == "Product_Collection" and not bundles:
            continue
        kind = "bundle" if p.product_class == "Product_Collection" else "collection"
        out.append(
            finding(
                UNREFERENCED_MEMBER,
                f"identifier '{p.lidvid}' is not a member of any {kind} within the given target",
                m.path,
                lidvid=p.lidvid,
            )
        )
    return out


def check_references(members: list[Member], bundle_lid: str | None, index: Index) -> list[Finding]:
    """References (lid/lidvid_reference) from products of the bundle resolve to a product in the tree.

    As validate does, only products whose LID belongs to the bundle are checked, and only their references
    to the bundle's own products, each once per label (a reference to another bundle, such as a mission's
    documents, is not this bundle's to hold). References to context products (a ``context`` LID segment,
    or a context reference type such as ``data_to_investigation`` / ``is_instrument``) are left to the
    context checks.
    """
    if not bundle_lid:
        return []
    out = []
    for m in members:
        p = m.product
        if not _in_bundle(p.lid, bundle_lid):
            continue
        reported: set[str] = set()
        for ref in p.references:
            if (
                ref.target in reported
                or not _in_bundle(_split(ref.target)[0], bundle_lid)
                or _CONTEXT_LID.match(ref.target)
                or _CONTEXT_TYPE.search(ref.ref_type)
                or _found(index, ref.target)
            ):
                continue
            reported.add(ref.target)
            kind = "LIDVID" if ref.kind == "lidvid" else "LID"
            out.append(
                finding(
                    REFERENCE_NOT_FOUND,
                    f"a {kind} reference {ref.target} is referencing a logical "
                    "identifier for a product not found in this bundle",
                    m.path,
                    lidvid=p.lidvid,
                )
            )
    return out


def _in_bundle(lid: str, bundle_lid: str) -> bool:
    return lid == bundle_lid or lid.startswith(bundle_lid + ":")


def check_im_versions(members: list[Member], target: str) -> list[Finding]:
    """All labels of the run use one information-model version (one warning for the run otherwise)."""
    versions = sorted(
        {m.product.information_model_version for m in members if m.product.information_model_version}
    )
    if len(versions) < 2:
        return []
    return [
        finding(
            VERSION_MISMATCH,
            f"multiple versions ({len(versions)}) of the information model found in "
            f"this run: {', '.join(versions)}",
            target,
        )
    ]


def check_manifests(
    root: str, files: list[str], members: list[Member], md5_of: Callable[[str], str]
) -> list[Finding]:
    """Files listed in the bundle's checksum manifests have the listed md5.

    Manifests are ``*.md5`` files in the bundle root and the files of ``Checksum_Manifest`` objects. A
    mismatch is reported on the label naming the file (or the label itself), unless that label declares
    the same md5 (then the file-reference rule has reported it already).
    """
    manifests = [f for f in files if f.lower().endswith(".md5") and os.path.dirname(f) == root]
    owner: dict[str, tuple[Member, str | None]] = {}
    for m in members:
        owner[m.path] = (m, None)
        for ref in m.product.files:
            if ref.path:
                owner[ref.path] = (m, ref.declared_md5)
        manifests += m.manifests
    out: list[Finding] = []
    for manifest in manifests:
        out += _one_manifest(manifest, root, owner, md5_of)
    return out


def _one_manifest(
    manifest: str, root: str, owner: dict[str, tuple[Member, str | None]], md5_of: Callable[[str], str]
) -> list[Finding]:
    out: list[Finding] = []
    try:
        with open_regular(manifest) as fh:
            lines = fh.read(64 << 20).decode("utf-8", "replace").splitlines()
    except OSError:
        return out
    for line in lines:
        m = _MD5_LINE.match(line)
        if m is None:
            continue
        rel = m.group(2).replace("\\", "/").lstrip("/")
        rel = rel[2:] if rel.startswith("./") else rel
        path = os.path.normpath(os.path.join(root, rel))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            continue
        listed = m.group(1).lower()
        actual = md5_of(path)
        if actual == listed:
            continue
        member, declared = owner.get(path, (None, None))
        if declared and declared.lower() == listed:
            continue
        where = member.path if member else manifest
        out.append(
            finding(
                CHECKSUM,
                f"{rel}: the manifest {os.path.basename(manifest)} gives md5 {listed}, the "
                f"file's md5 is {actual}",
                where,
                lidvid=member.product.lidvid if member else None,
            )
        )
    return out
