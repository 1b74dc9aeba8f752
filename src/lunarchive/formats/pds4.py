"""PDS4 product labels → :class:`~lunarchive.model.Product`.

One pass over the parsed tree, descending only into the parts of a label that hold catalogue fields: the
product's top-level areas are dispatched by tag, and each handler reads the children it needs (the table
and array definitions that make up most of a large label are never visited). Child lists come from one
C-level call per element and tags are compared as strings; no XPath and no tag-filtered iterators (whose
per-call set-up costs more than the walk itself on a typical label).

Read wherever it sits: Target_Identification, Investigation_Area and Observing_System in Observation_Area
or Context_Area; Internal_Reference in those, in Reference_List and inside Discipline/Mission areas;
cart:Bounding_Coordinates (any cart namespace version) inside the discipline areas.

Discipline_Area and Mission_Area content is kept as raw nested dicts in ``Product.discipline``: key
``"prefix:LocalName"`` as the label writes the prefix (bare ``LocalName`` for unprefixed elements, i.e. the
common PDS namespace), attributes as ``"@name"`` (``"@unit"``, ``"@xsi:nil"``), text as a string, or as
``"#text"`` next to attributes; repeated children become lists in document order. Ingest, which keeps the
label itself, asks for the product without them (``discipline=False``: the areas are only searched for the
fields above) and builds them from the kept label when a product is shown (:func:`discipline_of`).

``Product.extra`` keys set here (only when the label has them):

* ``description``: Citation_Information/description (stripped; inner line breaks kept); from the same
  element ``doi`` (the product's own), ``author_list``, ``editor_list``, ``publication_year`` (each with its
  white space collapsed) and ``keywords`` (a list);
* ``external_references``: the Reference_List's External_Reference (``doi``, ``reference_text``,
  ``description``) and Source_Product_External entries, each a dict with its ``type``;
* ``declared_product_class``: Identification_Area/product_class when it differs from the root tag;
* ``bundle_type`` / ``collection_type``;
* ``positive_longitude_direction``: the first ``longitude_direction`` (or ``positive_longitude_direction``)
  value in the discipline areas, any namespace (``cart:longitude_direction``, "Positive East" / "Positive
  West"), as PDS3 labels give theirs;
* ``inventory_file`` (file name as in the label), ``field_delimiter`` (as written, e.g. ``Comma``),
  ``inventory_records`` (int) and ``inventory_reference_type`` from a collection's File_Area_Inventory;
* ``problems``: one-line notes about label content that could not be used (a file_size that is not an
  integer, a file name that leaves the label's directory, an unknown member_status, an incomplete
  bounding box...), each naming its line in the label. The product is still returned; validate reports
  each note as ``error.label.schema`` (what NASA PDS validate's schema check says of such content).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lxml import etree

from ..errors import FormatError, InvalidIdentifier
from ..model import BBox, FileRef, Member, Product, Reference, parse_vid, split_lidvid
from .files import real_dir
from .xmlsafe import parse_xml

__all__ = ["PDS4_NS", "discipline_of", "is_pds4_label", "parse_label", "product_from_tree"]

PDS4_NS = "http://pds.nasa.gov/pds4/pds/v1"
_P = "{" + PDS4_NS + "}"
_CART_PREFIX = "{http://pds.nasa.gov/pds4/cart/"
_ATTR_PREFIXES = {
    "{http://www.w3.org/2001/XMLSchema-instance}": "xsi:",
    "{http://www.w3.org/XML/1998/namespace}": "xml:",
}
_HOST_TYPES = frozenset(
    {"host", "spacecraft", "rover", "lander", "aircraft", "airborne", "balloon", "facility",
     "observatory", "laboratory"}
)  # fmt: skip
_STATUS = {"primary": "P", "secondary": "S", "p": "P", "s": "S"}

_Element = etree._Element
# The child elements of an element as a list, in one C call (iterating an element costs ~5x more).
_kids: Callable[[_Element], list[_Element]] = _Element.getchildren  # type: ignore[attr-defined]


def _t(local: str) -> str:
    return _P + local


_LOGICAL_ID, _VERSION_ID, _TITLE = _t("logical_identifier"), _t("version_id"), _t("title")
_IM_VERSION, _PRODUCT_CLASS = _t("information_model_version"), _t("product_class")
_CITATION, _DESCRIPTION, _KEYWORD = _t("Citation_Information"), _t("description"), _t("keyword")
_START, _STOP = _t("start_date_time"), _t("stop_date_time")
_PLEVEL, _PLEVEL_ID = _t("processing_level"), _t("processing_level_id")
_NAME, _TYPE, _COMPONENT = _t("name"), _t("type"), _t("Observing_System_Component")
_INTERNAL_REF, _LID_REF, _LIDVID_REF = _t("Internal_Reference"), _t("lid_reference"), _t("lidvid_reference")
_SOURCE_PRODUCT = _t("Source_Product_Internal")
_EXTERNAL_REFS = {_t("External_Reference"): ("doi", "reference_text", "description"),
                  _t("Source_Product_External"): ("external_source_product_identifier", "reference_type", "doi",
                                                  "curating_facility", "description")}
"""Reference_List entries outside the PDS (a paper's DOI, a product held elsewhere): kept, with their fields,
in ``extra["external_references"]``."""
_REF_TYPE, _COMMENT, _MEMBER_STATUS = _t("reference_type"), _t("comment"), _t("member_status")
_FILE, _DOCUMENT_FILE, _DOCUMENT_EDITION = _t("File"), _t("Document_File"), _t("Document_Edition")
_FILE_NAME, _DIR_PATH, _FILE_SIZE = _t("file_name"), _t("directory_path_name"), _t("file_size")
_MD5, _RECORDS, _LOCAL_ID = _t("md5_checksum"), _t("records"), _t("local_identifier")
_FILE_AREA, _FILE_AREA_INVENTORY, _INVENTORY = _t("File_Area"), _t("File_Area_Inventory"), _t("Inventory")
_FIELD_DELIMITER, _TARGET = _t("field_delimiter"), _t("Target_Identification")
_INVESTIGATION, _INSTRUMENT, _TELESCOPE, _TARGET_SUBJECT = (
    _t("Investigation"), _t("Instrument"), _t("Telescope"), _t("Target"))
_START_DATE, _STOP_DATE = _t("start_date"), _t("stop_date")
_BBOX_SIDES = ("west", "south", "east", "north")
_MISSING: Any = object()


LABEL_SUFFIXES = (".xml", ".lblx")
_LEVEL_LABEL = re.compile(r"\.\d[a-z]?l$", re.I).search
"""CNSA's Chang'e releases name a product's XML label after its level: ``x.2BL`` beside ``x.2B``."""


def is_label_name(name: str) -> bool:
    """Whether a file name is one PDS4 labels are given: ``.xml``, ``.lblx``, or a Chang'e level label
    (``.2AL``, ``.2BL``, ``.2CL``...; ingest reads one only when it begins with XML)."""
    return name.lower().endswith(LABEL_SUFFIXES) or _LEVEL_LABEL(name) is not None


def is_level_label_name(name: str) -> bool:
    """A Chang'e level label's name (``.2BL``): a PDS4 label only if the file holds XML."""
    return _LEVEL_LABEL(name) is not None


def is_pds4_label(root: _Element) -> bool:
    """True when ``root`` is a ``Product_*`` element in the PDS4 common namespace."""
    tag = root.tag
    return isinstance(tag, str) and tag.startswith(_P + "Product_")


def not_a_label(root: _Element) -> str:
    """Why a parsed XML document is not a PDS4 product label, in one line (for a root ``is_pds4_label``
    refuses): a ``Product_*`` root outside the PDS4 namespace is named as such, being a label gone wrong."""
    tag = root.tag if isinstance(root.tag, str) else "?"
    qname = etree.QName(tag) if tag != "?" else None
    if qname is not None and qname.localname.startswith("Product_"):
        where = f"the namespace {qname.namespace}" if qname.namespace else "no namespace"
        return (f"not a PDS4 product label: its root element {qname.localname} is in {where}, not the PDS4 "
                f"namespace {_P[1:-1]}")
    return f"not a PDS4 product label (root element {tag})"


def looks_like_a_label(root: _Element) -> bool:
    """A ``Product_*`` root element in any namespace or none: a PDS4 label, if perhaps a broken one."""
    tag = root.tag
    return isinstance(tag, str) and etree.QName(tag).localname.startswith("Product_")


def parse_label(path: Path, data: bytes | None = None) -> Product:
    """Parse the PDS4 label at ``path`` (its bytes may be given as ``data``) into a Product.

    Raises FormatError when the file cannot be read, is not well-formed XML (UnsafeXML when it declares
    entities) or is not a PDS4 product label.
    """
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise FormatError(f"{path}: cannot read label: {exc.strerror or exc}") from None
    return product_from_tree(parse_xml(data, str(path)), str(path))


def product_from_tree(root: _Element, label_path: str, *, discipline: bool = True) -> Product:
    """Build a Product from the parsed root of a PDS4 label found at ``label_path``.

    ``discipline=False`` leaves ``Product.discipline`` empty (every other field is the same): for callers
    that keep the label and can build the dicts from it later with :func:`discipline_of`.
    """
    if not is_pds4_label(root):
        line = root.sourceline if isinstance(root.sourceline, int) else None
        raise FormatError(f"{label_path}: {not_a_label(root)}", line=line)
    abs_label, label_dir = _locate(label_path)
    product = Product(lid="", vid="", product_class=root.tag[len(_P) :], label_path=abs_label)
    state = _State(label_dir, discipline)
    for area in _kids(root):
        tag = area.tag
        handler = _TOP.get(tag)
        if handler is not None:
            handler(area, product, state)
        elif isinstance(tag, str) and tag.startswith(_FILE_AREA):
            _file_area(area, product, state)
    if not product.lid:
        raise FormatError(f"{label_path}: label has no Identification_Area/logical_identifier", line=1)
    if not product.vid:
        raise FormatError(f"{label_path}: label has no Identification_Area/version_id", line=1)
    try:
        parse_vid(product.vid)
    except InvalidIdentifier:
        raise FormatError(f"{label_path}: version_id {product.vid[:80]!r} is not a version id such as 1.0",
                          line=_line_of(root, _VERSION_ID)) from None
    if "::" in product.lid or _SPACE(product.lid):
        raise FormatError(f"{label_path}: logical_identifier {product.lid[:80]!r} cannot be a LID (it holds "
                          "'::' or whitespace)", line=_line_of(root, _LOGICAL_ID))
    if state.problems:
        product.extra["problems"] = state.problems
    return product


_SPACE = re.compile(r"\s").search


def _line_of(root: _Element, tag: str) -> int | None:
    for el in root.iter(tag):
        return el.sourceline if isinstance(el.sourceline, int) else None
    return None


class _State:
    """What one label walk has seen so far (first-wins fields, notes, the discipline key cache)."""

    __slots__ = ("label_dir", "discipline", "problems", "have_time", "have_level", "have_bbox", "corner_rank", "keys",
                 "seen_refs")

    def __init__(self, label_dir: str, discipline: bool = True) -> None:
        self.label_dir = label_dir
        self.discipline = discipline
        """Whether discipline areas are kept as dicts (else only searched for the fields read from them)."""
        self.problems: list[str] = []
        self.have_time = False
        self.have_level = False
        self.have_bbox = False
        self.corner_rank = 0
        """Preference of the corner set read so far (``_CORNER_SETS``; 0: none)."""
        self.keys: dict[Any, tuple[str, _Handler | None] | None] = {}
        """Per-document cache: tag → (``prefix:LocalName`` key, handler for tags we also extract)."""
        self.seen_refs: set[tuple[str, str]] = set()


_Handler = Callable[[_Element, Product, _State], None]


def _locate(label_path: str) -> tuple[str, str]:
    """(absolute label path, absolute resolved label directory)."""
    directory, name = os.path.split(os.path.abspath(label_path))
    real = real_dir(directory)
    return os.path.join(real, name), real


def _text(el: _Element) -> str | None:
    """Stripped text of ``el``; None when absent, blank or nil."""
    t = el.text
    if t is None:
        return None
    return t.strip() or None


def _collapse(text: str | None) -> str | None:
    """``text`` stripped, with inner runs of whitespace made one space (titles, comments); None if blank."""
    if text is None:
        return None
    text = text.strip()
    if "\n" in text or "  " in text or "\t" in text:
        text = " ".join(text.split())
    return text or None


def _first_text(el: _Element, tag: str) -> str | None:
    for c in _kids(el):
        if c.tag == tag:
            return _text(c)
    return None


def _add_unique(items: list[str], value: str | None) -> None:
    if value and value not in items:
        items.append(value)


_INT64 = 1 << 63
"""Counts and sizes beyond a signed 64-bit integer are no real file's: noted, not kept (nor stored)."""


def _int(el: _Element, what: str, state: _State) -> int | None:
    """The integer text of ``el`` (None when blank; a problem noted when it is not a 64-bit integer)."""
    text = _text(el)
    if text is None:
        return None
    try:
        value = int(text)
    except ValueError:
        state.problems.append(f"{what} on line {el.sourceline} is not an integer: {text[:80]!r}")
        return None
    if not -_INT64 <= value < _INT64:
        state.problems.append(f"{what} on line {el.sourceline} is out of range: {text[:80]!r}")
        return None
    return value


# --------------------------------------------------------------------------------- identity and context


def _identification(el: _Element, p: Product, state: _State) -> None:
    for c in _kids(el):
        tag = c.tag
        if tag == _LOGICAL_ID:
            p.lid = _text(c) or ""
        elif tag == _VERSION_ID:
            p.vid = _text(c) or ""
        elif tag == _TITLE:
            p.title = _collapse(c.text)
        elif tag == _IM_VERSION:
            p.information_model_version = _text(c)
        elif tag == _PRODUCT_CLASS:
            declared = _text(c)
            if declared and declared != p.product_class:
                p.extra["declared_product_class"] = declared
        elif tag == _CITATION:
            _citation(c, p)


_CITATION_FIELDS = {_t("author_list"): "author_list", _t("editor_list"): "editor_list",
                    _t("publication_year"): "publication_year", _t("doi"): "doi"}


def _citation(el: _Element, p: Product) -> None:
    """Citation_Information: its description, the product's own DOI, authors, editors and year, and its
    keywords (a list)."""
    for c in _kids(el):
        tag = c.tag
        if tag == _DESCRIPTION:
            if "description" not in p.extra and (desc := _text(c)):
                p.extra["description"] = desc
        elif tag in _CITATION_FIELDS:
            key = _CITATION_FIELDS[tag]
            if key not in p.extra and (value := _collapse(c.text)):
                p.extra[key] = value
        elif tag == _KEYWORD and (word := _collapse(c.text)):
            p.extra.setdefault("keywords", []).append(word)


def _context_area(el: _Element, p: Product, state: _State) -> None:
    """Observation_Area / Context_Area."""
    for c in _kids(el):
        handler = _IN_CONTEXT.get(c.tag)
        if handler is not None:
            handler(c, p, state)


def _time(el: _Element, p: Product, state: _State) -> None:
    if state.have_time:
        return
    state.have_time = True
    for c in _kids(el):
        tag = c.tag
        if tag == _START:
            p.start = _text(c)
            reason = c.get("nilReason")
            if p.start is None and reason:
                p.extra["start_nil_reason"] = reason.strip()
        elif tag == _STOP:
            p.stop = _text(c)
            reason = c.get("nilReason")
            if p.stop is None and reason:  # unknown, anticipated, missing: the span goes on; inapplicable: an instant
                p.extra["stop_nil_reason"] = reason.strip()


def _result_summary(el: _Element, p: Product, state: _State) -> None:
    """The first processing level is the product's; when the label gives several (processing_level is 0..*),
    all are kept in ``extra["processing_levels"]``."""
    if state.have_level:
        return
    levels = [level for c in _kids(el) if (c.tag == _PLEVEL or c.tag == _PLEVEL_ID) and (level := _text(c))]
    if levels:
        p.processing_level = levels[0]
        state.have_level = True
        if len(levels) > 1:
            p.extra["processing_levels"] = levels


def _names_and_refs(el: _Element, names: list[str], p: Product, state: _State) -> None:
    """An area holding ``name`` and Internal_Reference children: names into ``names``, refs into ``p``."""
    for c in _kids(el):
        tag = c.tag
        if tag == _NAME:
            _add_unique(names, _text(c))
        elif tag == _INTERNAL_REF:
            _internal_reference(c, p, state)


def _investigation(el: _Element, p: Product, state: _State) -> None:
    _names_and_refs(el, p.investigations, p, state)


def _target(el: _Element, p: Product, state: _State) -> None:
    _names_and_refs(el, p.targets, p, state)
    kind = _first_text(el, _TYPE)
    if kind:
        _add_unique(p.extra.setdefault("target_types", []), kind)


def _context_subject(el: _Element, p: Product, state: _State) -> None:
    """What a Product_Context describes (its Investigation, Instrument_Host, Instrument, Target, Facility,
    Telescope or Airborne): its name is the product's investigation, host, instrument or target, as the
    Context_Area of a product taken with it would name it, its type is kept, and an investigation's
    start_date and stop_date are its span (so ``--mission SLIM`` and a time query find the mission itself)."""
    tag = el.tag
    names = {_INVESTIGATION: p.investigations, _INSTRUMENT: p.instruments, _TELESCOPE: p.instruments,
             _TARGET_SUBJECT: p.targets}.get(tag, p.instrument_hosts)
    _add_unique(names, _first_text(el, _NAME))
    kind = _first_text(el, _TYPE)
    if kind:
        p.extra["context_type"] = kind
        if tag == _TARGET_SUBJECT:
            _add_unique(p.extra.setdefault("target_types", []), kind)
    if tag == _INVESTIGATION and not state.have_time:
        start, stop = _first_text(el, _START_DATE), _first_text(el, _STOP_DATE)
        if start or stop:
            state.have_time = True
            p.start, p.stop = start, stop


def _observing_system(el: _Element, p: Product, state: _State) -> None:
    system_name = None
    has_component = False
    for c in _kids(el):
        tag = c.tag
        if tag == _COMPONENT:
            has_component = True
            name = kind = None
            for cc in _kids(c):
                ctag = cc.tag
                if ctag == _NAME:
                    name = _text(cc)
                elif ctag == _TYPE:
                    kind = (_text(cc) or "").lower()
                elif ctag == _INTERNAL_REF:
                    _internal_reference(cc, p, state)
            _add_unique(p.instrument_hosts if kind in _HOST_TYPES else p.instruments, name)
        elif tag == _NAME:
            system_name = _text(c)
    if not has_component:
        _add_unique(p.instruments, system_name)


# ------------------------------------------------------------------------------- references and members


def _reference_list(el: _Element, p: Product, state: _State) -> None:
    for c in _kids(el):
        if c.tag == _INTERNAL_REF:
            _internal_reference(c, p, state)
        elif c.tag == _SOURCE_PRODUCT:
            _source_products(c, p, state)
        elif c.tag in _EXTERNAL_REFS:
            _external_reference(c, _EXTERNAL_REFS[c.tag], p)


def _external_reference(el: _Element, names: tuple[str, ...], p: Product) -> None:
    entry = {"type": etree.QName(el).localname}
    for c in _kids(el):
        name = etree.QName(c).localname if isinstance(c.tag, str) else ""
        if name in names and name not in entry and (value := _collapse(c.text)):
            entry[name] = value
    if len(entry) > 1:
        p.extra.setdefault("external_references", []).append(entry)


def _ref_fields(el: _Element) -> tuple[str | None, str, str | None, str | None, _Element | None]:
    """(reference, kind, reference_type, member_status, comment element) of a reference-like element."""
    ref = ref_type = status = None
    kind = "lid"
    comment = None
    for c in _kids(el):
        tag = c.tag
        if tag == _LIDVID_REF:
            ref, kind = _text(c), "lidvid"
        elif tag == _LID_REF:
            ref, kind = _text(c), "lid"
        elif tag == _REF_TYPE:
            ref_type = _text(c)
        elif tag == _MEMBER_STATUS:
            status = _text(c)
        elif tag == _COMMENT:
            comment = c
    return ref, kind, ref_type, status, comment


def _internal_reference(el: _Element, p: Product, state: _State) -> None:
    ref, kind, ref_type, _, comment_el = _ref_fields(el)
    if not ref:
        state.problems.append(f"Internal_Reference on line {el.sourceline} has no lid/lidvid reference")
        return
    _add_reference(ref, kind, ref_type, comment_el, "Internal_Reference", el, p, state)


def _source_products(el: _Element, p: Product, state: _State) -> None:
    """A Source_Product_Internal: the LIDVIDs (one or more ``lidvid_reference``) of the products this one was
    made from, under one ``reference_type`` (``data_to_raw_source_product``...)."""
    refs = [(_text(c), "lidvid" if c.tag == _LIDVID_REF else "lid")
            for c in _kids(el) if c.tag in (_LIDVID_REF, _LID_REF)]
    _, _, ref_type, _, comment_el = _ref_fields(el)
    if not any(ref for ref, _ in refs):
        state.problems.append(f"Source_Product_Internal on line {el.sourceline} has no lidvid reference")
    for ref, kind in refs:
        if ref:
            _add_reference(ref, kind, ref_type, comment_el, "Source_Product_Internal", el, p, state)


def _add_reference(ref: str, kind: str, ref_type: str | None, comment_el: _Element | None, what: str,
                   el: _Element, p: Product, state: _State) -> None:
    if not _identifier(ref, what, el, state):
        return
    seen = (ref, ref_type or "")
    if seen in state.seen_refs:  # the same reference repeated (e.g. in Observing_System and speclib:)
        return
    state.seen_refs.add(seen)
    comment = _collapse(comment_el.text) if comment_el is not None else None
    p.references.append(
        Reference(target=ref, ref_type=ref_type or "", kind="lidvid" if kind == "lidvid" else "lid",
                  comment=comment)
    )  # fmt: skip


def _identifier(ref: str, what: str, el: _Element, state: _State) -> bool:
    """Whether ``ref`` is a LID or a LIDVID (else a problem is noted and the reference is left out)."""
    try:
        split_lidvid(ref)
    except InvalidIdentifier:
        state.problems.append(f"{what} on line {el.sourceline}: {ref[:80]!r} is not a LID or a LIDVID")
        return False
    return True


def _member_entry(el: _Element, p: Product, state: _State) -> None:
    ref, kind, ref_type, status, _ = _ref_fields(el)
    if not ref:
        state.problems.append(f"Bundle_Member_Entry on line {el.sourceline} has no lid/lidvid reference")
        return
    if not _identifier(ref, "Bundle_Member_Entry", el, state):
        return
    code = _STATUS.get((status or "").lower())
    if code is None:
        state.problems.append(f"Bundle_Member_Entry on line {el.sourceline} ({ref}): unknown member_status "
                              f"{status!r}; taken as P")
        code = "P"
    p.members.append(
        Member(ref=ref, status="S" if code == "S" else "P", kind="lidvid" if kind == "lidvid" else "lid",
               member_type=ref_type)
    )  # fmt: skip


def _collection(el: _Element, p: Product, state: _State) -> None:
    value = _first_text(el, _t("collection_type"))
    if value:
        p.extra["collection_type"] = value


def _bundle(el: _Element, p: Product, state: _State) -> None:
    value = _first_text(el, _t("bundle_type"))
    if value:
        p.extra["bundle_type"] = value


# --------------------------------------------------------------------------------------------- files


def _file_area(el: _Element, p: Product, state: _State) -> None:
    """A File_Area_*: its File, the local_identifier of the first object after it, an Inventory."""
    kids = _kids(el)
    inventory_area = el.tag == _FILE_AREA_INVENTORY
    for i, c in enumerate(kids):
        tag = c.tag
        if tag == _FILE:
            ref = _file(c, p, state)
            if ref is not None:
                ref.local_identifier = _first_object_id(kids, i + 1) or ref.local_identifier
                if inventory_area and "inventory_file" not in p.extra:
                    p.extra["inventory_file"] = ref.name
        elif tag == _INVENTORY:
            _inventory(c, p, state)


def _document(el: _Element, p: Product, state: _State) -> None:
    for edition in _kids(el):
        if edition.tag == _DOCUMENT_EDITION:
            _document_files(edition, p, state)


def _document_files(el: _Element, p: Product, state: _State) -> None:
    """The Document_File children of a Document_Edition, or of the Document_Format_Set that labels of
    information model 1.1 put beside Document instead."""
    for c in _kids(el):
        if c.tag == _DOCUMENT_FILE:
            _file(c, p, state)


_MANIFEST_CHECKSUMS = {_t("checksum_manifest_checksum"): _t("File_Area_Checksum_Manifest"),
                       _t("transfer_manifest_checksum"): _t("File_Area_Transfer_Manifest"),
                       _t("manifest_checksum"): _t("File_Area_SIP_Deep_Archive")}
_CHECKSUM_TYPE = _t("checksum_type")


def _information_package(el: _Element, p: Product, state: _State) -> None:
    """An archive or submission information package (Product_AIP, Product_SIP_Deep_Archive): its manifest
    files (in File_Area_Checksum_Manifest, _Transfer_Manifest, _SIP_Deep_Archive), each with the MD5 the
    package gives it (``checksum_manifest_checksum``, ``transfer_manifest_checksum``, a SIP's
    ``manifest_checksum``) when its File has none,
    and its references."""
    declared: dict[str, str | None] = {}
    checksum_type = "MD5"
    for c in _kids(el):
        tag = c.tag
        if tag == _INTERNAL_REF:
            _internal_reference(c, p, state)
        elif tag in _MANIFEST_CHECKSUMS:
            declared[_MANIFEST_CHECKSUMS[tag]] = (_text(c) or "").lower() or None
        elif tag == _CHECKSUM_TYPE:
            checksum_type = (_text(c) or "MD5").upper()
        elif isinstance(tag, str) and tag.startswith(_FILE_AREA):
            before = len(p.files)
            _file_area(c, p, state)
            md5 = declared.get(tag) if checksum_type == "MD5" else None
            for ref in p.files[before:] if md5 else ():  # the package's checksum of its manifest file
                ref.declared_md5 = ref.declared_md5 or md5


def _file(el: _Element, p: Product, state: _State) -> FileRef | None:
    name = directory = size = md5 = records = own_id = None
    for c in _kids(el):
        tag = c.tag
        if tag == _FILE_NAME:
            name = _text(c)
        elif tag == _DIR_PATH:
            directory = _text(c)
        elif tag == _FILE_SIZE:
            size = _int(c, "file_size", state)
        elif tag == _MD5:
            md5 = (_text(c) or "").lower() or None
        elif tag == _RECORDS:
            records = _int(c, "records", state)
        elif tag == _LOCAL_ID:
            own_id = _text(c)
    if not name:
        state.problems.append(f"{el.tag[len(_P) :]} on line {el.sourceline} has no file_name")
        return None
    absolute = bool(directory) and directory.startswith("/")  # type: ignore[union-attr]
    if directory:
        name = directory.rstrip("/") + "/" + name
    if absolute:  # validate's error.directory.unallowed_name; the file is not looked for
        p.extra.setdefault("absolute_directories", []).append({"directory": directory, "name": name,
                                                               "line": el.sourceline})
        path = None
    else:
        path = _file_path(name, el, state)
    ref = FileRef(name=name, declared_size=size, declared_md5=md5, records=records, local_identifier=own_id,
                  path=path)  # fmt: skip
    p.files.append(ref)
    return ref


def _first_object_id(siblings: list[_Element], start: int) -> str | None:
    """local_identifier of the first content object (after ``File`` in its File_Area) that has one."""
    for sib in siblings[start:]:
        for c in _kids(sib):
            if c.tag == _LOCAL_ID:
                lid = _text(c)
                if lid:
                    return lid
                break
    return None


def _file_path(name: str, el: _Element, state: _State) -> str | None:
    path = os.path.normpath(os.path.join(state.label_dir, name))
    inside = state.label_dir if state.label_dir.endswith(os.sep) else state.label_dir + os.sep
    if os.path.isabs(name) or not path.startswith(inside):
        state.problems.append(f"file name {name!r} on line {el.sourceline} leaves the label's directory; "
                              "path not resolved")
        return None
    return path


def _inventory(el: _Element, p: Product, state: _State) -> None:
    for c in _kids(el):
        tag = c.tag
        if tag == _FIELD_DELIMITER:
            value = _text(c)
            if value:
                p.extra.setdefault("field_delimiter", value)
        elif tag == _RECORDS:
            records = _int(c, "Inventory records", state)
            if records is not None:
                p.extra.setdefault("inventory_records", records)
        elif tag == _REF_TYPE:
            value = _text(c)
            if value:
                p.extra.setdefault("inventory_reference_type", value)


# ------------------------------------------------------------------------------- discipline / mission


def _area(el: _Element, p: Product, state: _State) -> None:
    """Merge the children of a Discipline_Area / Mission_Area into ``p.discipline`` (or, without the dicts,
    only read what the catalogue takes from them)."""
    if "positive_longitude_direction" not in p.extra:
        first = next(el.iter(*_LONGITUDE_DIRECTION), None)
        value = _text(first) if first is not None else None
        if value:
            p.extra["positive_longitude_direction"] = value
    if state.discipline:
        _merge(_kids(el), p.discipline, p, state)
        return
    for c in el.iter(_INTERNAL_REF, _TARGET, "{*}Bounding_Coordinates", "{*}Refined_Corner_Coordinates",
                     "{*}System_Level_Coordinates"):  # the elements _read_in_area takes
        handler = _read_in_area(c.tag, etree.QName(c).localname)
        if handler is not None:
            handler(c, p, state)


_LONGITUDE_DIRECTION = ("{*}longitude_direction", "{*}positive_longitude_direction")
"""Where a discipline area gives the direction of positive longitude (``cart:longitude_direction``)."""


def discipline_of(root: _Element) -> dict[str, Any]:
    """The Discipline_Area and Mission_Area content of a parsed PDS4 label, as ``Product.discipline``."""
    scratch = Product(lid="", vid="", product_class="")
    state = _State("")
    for top in _kids(root) if is_pds4_label(root) else []:
        if top.tag in _CONTEXT_AREAS:
            for area in _kids(top):
                if area.tag in _DISCIPLINE_AREAS:
                    _merge(_kids(area), scratch.discipline, scratch, state)
    return scratch.discipline


def _merge(kids: list[_Element], into: dict[str, Any], p: Product, state: _State) -> None:
    """Add the raw values of ``kids`` to ``into`` (the hot loop: leaves are handled inline)."""
    keys = state.keys
    for c in kids:
        tag = c.tag
        entry = keys.get(tag, _MISSING)
        if entry is _MISSING:
            entry = keys[tag] = _key_entry(c, tag)
        if entry is None:  # a comment or processing instruction (tree parsed elsewhere)
            continue
        key, also = entry
        if also is not None:
            also(c, p, state)
        sub = _kids(c)
        items: list[tuple[str, str]] = c.items()  # type: ignore[assignment]  # str, not bytes, in lxml
        if sub or items:
            value: Any = _node(c, sub, items, p, state)
        else:
            text = c.text
            value = text.strip() if text else ""
        prev = into.get(key, _MISSING)
        if prev is _MISSING:
            into[key] = value
        elif type(prev) is list:
            prev.append(value)
        else:
            into[key] = [prev, value]


def _key_entry(el: _Element, tag: Any) -> tuple[str, _Handler | None] | None:
    if not isinstance(tag, str):
        return None
    local = tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag
    prefix = el.prefix
    key = f"{prefix}:{local}" if prefix else local
    return key, _read_in_area(tag, local)


def _read_in_area(tag: str, local: str) -> _Handler | None:
    """The handler of an element inside a discipline area whose fields the product takes, if any."""
    if tag == _INTERNAL_REF:
        return _internal_reference
    if tag == _TARGET:
        return _target_name
    if local == "Bounding_Coordinates" and tag.startswith(_CART_PREFIX):
        return _bbox
    if local in _CORNER_SETS:
        return _corners
    return None


_CORNER_SETS = {"Refined_Corner_Coordinates": 2, "System_Level_Coordinates": 1}
"""Image corners that ISRO's isda: dictionary gives (Chandrayaan-2 OHRC, TMC-2, IIRS), by preference: the
refined set (after control) over the system-level one (from the SPICE geometry)."""
_CORNERS = ("upper_left", "upper_right", "lower_right", "lower_left")


def _corners(el: _Element, p: Product, state: _State) -> None:
    """``extra["corners"]`` (``[lon, lat]`` in ring order) from a set of four corner latitudes/longitudes,
    the preferred set winning; a set with a missing or unreadable number is noted and left out."""
    local = etree.QName(el).localname
    rank = _CORNER_SETS[local]
    if state.corner_rank >= rank:
        return
    numbers = _child_numbers(el, [f"{corner}_{axis}" for corner in _CORNERS for axis in ("longitude", "latitude")])
    corners = []
    for corner in _CORNERS:
        pair = [numbers[f"{corner}_longitude"], numbers[f"{corner}_latitude"]]
        if pair[0] != pair[0] or pair[1] != pair[1]:
            state.problems.append(f"{local} on line {el.sourceline}: no usable {corner} latitude/longitude")
            return
        corners.append(pair)
    p.extra["corners"] = corners
    p.extra["corners_from"] = local
    state.corner_rank = rank


def _node(el: _Element, kids: list[_Element], items: list[tuple[str, str]], p: Product, state: _State) -> Any:
    """Raw value of an element with attributes or children: ``@attributes``, ``#text`` and children."""
    d: dict[str, Any] = {}
    for name, value in items:
        if name[:1] == "{":
            ns_end = name.index("}") + 1
            name = _ATTR_PREFIXES.get(name[:ns_end], name[:ns_end]) + name[ns_end:]
        d["@" + name] = value
    text = el.text
    if text and not text.isspace():
        d["#text"] = text.strip()
    if kids:
        _merge(kids, d, p, state)
    return d


def _target_name(el: _Element, p: Product, state: _State) -> None:
    _add_unique(p.targets, _first_text(el, _NAME))


def _bbox(el: _Element, p: Product, state: _State) -> None:
    if state.have_bbox:
        return
    numbers = _child_numbers(el, [f"{side}_bounding_coordinate" for side in _BBOX_SIDES])
    values = {side: numbers[f"{side}_bounding_coordinate"] for side in _BBOX_SIDES}
    bad = [side for side, v in values.items() if v != v]
    if bad:
        state.problems.append(f"Bounding_Coordinates on line {el.sourceline}: no usable {', '.join(bad)}")
        return
    state.have_bbox = True
    p.bbox = BBox(west=values["west"], south=values["south"], east=values["east"], north=values["north"])


def _child_numbers(el: _Element, names: list[str]) -> dict[str, float]:
    """The numbers of ``el``'s children of these local names (in ``el``'s namespace); NaN for a child that is
    absent, blank or not a number."""
    ns = el.tag[: el.tag.index("}") + 1] if el.tag[:1] == "{" else ""
    texts = {c.tag: _text(c) for c in _kids(el)}
    out: dict[str, float] = {}
    for name in names:
        text = texts.get(ns + name)
        try:
            out[name] = float(text) if text is not None else float("nan")
        except ValueError:
            out[name] = float("nan")
    return out


_IN_CONTEXT: dict[str, _Handler] = {
    _t("Time_Coordinates"): _time,
    _t("Primary_Result_Summary"): _result_summary,
    _t("Investigation_Area"): _investigation,
    _t("Observing_System"): _observing_system,
    _TARGET: _target,
    _t("Discipline_Area"): _area,
    _t("Mission_Area"): _area,
}

_CONTEXT_AREAS = frozenset({_t("Observation_Area"), _t("Context_Area")})
_DISCIPLINE_AREAS = frozenset({_t("Discipline_Area"), _t("Mission_Area")})

_TOP: dict[Any, _Handler] = {
    _t("Identification_Area"): _identification,
    _t("Observation_Area"): _context_area,
    _t("Context_Area"): _context_area,
    _t("Reference_List"): _reference_list,
    _t("Bundle_Member_Entry"): _member_entry,
    _t("Collection"): _collection,
    _t("Bundle"): _bundle,
    _t("Document"): _document,
    _t("Document_Format_Set"): _document_files,
    _t("Information_Package_Component"): _information_package,
    _t("Information_Package_Component_Deep_Archive"): _information_package,
    **{tag: _context_subject for tag in (_INVESTIGATION, _INSTRUMENT, _TELESCOPE, _TARGET_SUBJECT,
                                         _t("Instrument_Host"), _t("Facility"), _t("Airborne"))},
}
