"""Catalogue rows in the PDS Search API's product shape (``pdsProduct``: id, type, title, times, references,
``metadata`` and a ``properties`` dictionary of string arrays named as in the PDS registry)."""

from __future__ import annotations

from typing import Any

from .stac_model import path_id

__all__ = ["SORTS", "pds_product", "select_fields"]

SORTS = {
    "lidvid": "lidvid", "id": "lidvid", "lid": "lidvid", "title": "title",
    "pds:identification_area.pds:title": "title",
    "start_date_time": "start", "pds:time_coordinates.pds:start_date_time": "start",
    "stop_date_time": "stop", "pds:time_coordinates.pds:stop_date_time": "stop",
    "ops:harvest_info.ops:harvest_date_time": "ingested", "harvest_date_time": "ingested",
}
"""PDS ``sort`` field (lower case, ``/`` read as ``.``) → catalogue sort key."""


def _refs(values: list[str], kind: str) -> list[dict[str, Any]]:
    return [{"id": v, "title": v, "type": kind} for v in values]


def _strings(values: list[Any]) -> list[str]:
    return [str(v) for v in values if v is not None and v != ""]


def _properties(row: dict[str, Any], detail: dict[str, Any], base: str) -> dict[str, list[str]]:
    files = [f for f in detail["files"] if f.get("sha256")]
    label = detail["label"]
    product = f"{base}/products/{path_id(row['lidvid'])}"
    props = {
        "lid": [row["lid"]], "vid": [row["vid"]], "lidvid": [row["lidvid"]],
        "title": _strings([row.get("title")]), "product_class": [row["product_class"]],
        "pds:Identification_Area.pds:logical_identifier": [row["lid"]],
        "pds:Identification_Area.pds:version_id": [row["vid"]],
        "pds:Identification_Area.pds:title": _strings([row.get("title")]),
        "pds:Identification_Area.pds:product_class": [row["product_class"]],
        "pds:Time_Coordinates.pds:start_date_time": _strings([row.get("start")]),
        "pds:Time_Coordinates.pds:stop_date_time": _strings([row.get("stop")]),
        "pds:Target_Identification.pds:name": _strings(row.get("targets") or []),
        "pds:Investigation_Area.pds:name": _strings(row.get("investigations") or []),
        "pds:Observing_System_Component.pds:name": _strings((row.get("instruments") or [])
                                                            + (row.get("instrument_hosts") or [])),
        "pds:Primary_Result_Summary.pds:processing_level": _strings([row.get("processing_level")]),
        "ops:Label_File_Info.ops:file_name": _strings([label.get("name")]),
        "ops:Label_File_Info.ops:file_ref": [f"{product}/label"],
        "ops:Data_File_Info.ops:file_name": [f["name"] for f in files],
        "ops:Data_File_Info.ops:file_ref": [f"{base}/files/{f['sha256']}" for f in files],
        "ops:Data_File_Info.ops:file_size": [str(f["size"]) for f in files],
        "ops:Data_File_Info.ops:md5_checksum": _strings([f["md5"] for f in files]),
        "ops:Data_File_Info.ops:sha256_checksum": [f["sha256"] for f in files],
        "ops:Harvest_Info.ops:harvest_date_time": _strings([detail.get("ingested_at")]),
        "ops:Provenance.ops:parent_collection_identifier": _strings([detail.get("collection")]),
        "lunarchive:label_format": _strings([row.get("label_format")]),
        "lunarchive:valid": ["true" if detail["errors"] == 0 else "false"],
        "lunarchive:errors": [str(detail["errors"])], "lunarchive:warnings": [str(detail["warnings"])],
    }
    fp = detail.get("footprint")
    if fp:
        import json

        props["lunarchive:footprint"] = [json.dumps(fp["geometry"], separators=(",", ":"))]
        props["lunarchive:footprint_body"] = [fp["body"]]
        props["lunarchive:crs"] = _strings([fp["crs"]])
    return {k: v for k, v in props.items() if v}


def pds_product(row: dict[str, Any], detail: dict[str, Any], base: str) -> dict[str, Any]:
    """One product as the PDS Search API shows it (``application/json``)."""
    lidvid = row["lidvid"]
    out: dict[str, Any] = {
        "id": lidvid, "type": row["product_class"], "title": row.get("title") or "",
        "investigations": _refs(row.get("investigations") or [], "investigation"),
        "observing_system_components": _refs((row.get("instruments") or []) + (row.get("instrument_hosts") or []),
                                             "instrument"),
        "targets": _refs(row.get("targets") or [], "target"),
        "metadata": {"label_url": f"{base}/products/{path_id(lidvid)}/label", "version": row["vid"],
                     "creation_date_time": detail.get("ingested_at") or "",
                     "update_date_time": detail.get("ingested_at") or "", "archive_status": "archived"},
        "properties": _properties(row, detail, base),
    }
    if row.get("start"):
        out["start_date_time"] = row["start"]
    if row.get("stop"):
        out["stop_date_time"] = row["stop"]
    return out


def select_fields(product: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """Keep only the requested ``properties`` (the minimal fields ``id`` and ``metadata`` always stay)."""
    if not fields:
        return product
    wanted = {f.replace("/", ".") for f in fields}
    kept = {k: v for k, v in product["properties"].items() if k in wanted}
    top = {k: v for k, v in product.items() if k in wanted and k != "properties"}
    return {"id": product["id"], "metadata": product["metadata"], **top, "properties": kept}
