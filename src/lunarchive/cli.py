"""The ``lunarchive`` command line: thin commands over the library, one clear line per user error.

Exit codes: 0 success · 1 findings with ``--strict`` (or validation errors) · 2 usage error / bad input ·
3 not found · 4 conflict · 5 storage or catalogue failure.
"""

from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from . import search as search_mod
from .bodies import resolve_body
from .catalog.rows import cited_dois
from .catalog.sqlite import sqlite_failure
from .config import open_archive
from .errors import InvalidQuery, LunarchiveError, NotFound, PathNotFound, UserError
from .formats.files import open_regular, printable, printable_json
from .formats.gazetteer import default_gazetteer
from .ingest import ingest as run_ingest
from .query import Query

app = typer.Typer(
    name="lunarchive",
    help="Ingest, validate, catalogue and search lunar and deep-space archive data (PDS4, PDS3, ...).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console(soft_wrap=True, emoji=False)
err = Console(stderr=True, emoji=False)

DataDir = Annotated[
    str | None,
    typer.Option("--data-dir", envvar="LUNARCHIVE_DATA", help="Data directory (default ./lunarchive-data)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _shown(text: str) -> str:
    """Label text and file names as a terminal may print them: control characters (an ESC sequence that would
    retitle or clear the terminal, a newline in a file name) written as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _print_json(obj: Any) -> None:
    # a byte of a file name that is not UTF-8 is written \\xNN: valid JSON, in valid UTF-8
    sys.stdout.write(printable_json(json.dumps(obj, ensure_ascii=False, indent=2, default=str)) + "\n")


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files or directories to ingest.")],
    data_dir: DataDir = None,
    as_json: JsonOpt = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any error finding was recorded.")] = False,
    workers: Annotated[int | None, typer.Option(
        min=0, max=64, help="Worker processes that parse, store and validate (default: one per core, up to 4, once a "
        "batch has 64 labels or more; 0: none)."
    )] = None,
    lax_membership: Annotated[bool, typer.Option(
        "--skip-strict-collection-membership", help="A member a collection or bundle lists that is in neither "
        "the tree nor the catalogue is a warning (default: an error, as in validate 4.2).")] = False,
    allow_links_to: Annotated[list[str] | None, typer.Option(
        "--allow-links-to", help="A directory that symbolic links in the tree may lead into (repeatable); "
        "a data file linked from elsewhere is not read.")] = None,
) -> None:
    """Ingest labels and their data files as one batch.

    Example: lunarchive ingest ../shared/corpus/pds4/lro --data-dir ./lunarchive-data
    """
    if any(not p.strip() for p in paths):  # Path("") is the current directory: never walk it by mistake
        raise UserError("an empty path was given; name the files or directories to ingest")
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:  # before the data directory is made: a mistyped path leaves nothing behind
        raise PathNotFound(f"no such file or directory: {', '.join(missing)}")
    with open_archive(data_dir) as archive:
        show_bar = not as_json and err.is_terminal
        with Progress(TextColumn("[bold]ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=err, disable=not show_bar) as bar:
            task = bar.add_task("ingest", total=None)

            def progress(stage: str, done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            report = run_ingest(archive, [Path(p) for p in paths], progress=progress, workers=workers,
                                strict_membership=not lax_membership,
                                allow_links_to=[Path(d) for d in allow_links_to or []])
    errors = [f for f in report.findings if f.severity == "error"]
    if as_json:
        _print_json(report.to_dict())
    else:
        out.print(
            f"batch {report.batch_id}: added {report.added}, unchanged {report.unchanged}, "
            f"new versions {report.new_versions}, failed {report.failed}; "
            f"{report.files_stored} files stored ({report.bytes_hashed / 1e6:.1f} MB hashed); "
            f"{len(report.findings)} findings ({len(errors)} errors)"
        )
        for f in report.findings[:20]:
            where = f"{f.path}:{f.line}" if f.line else f.path
            out.print(_shown(f"  {f.severity:7} {f.message_id}  {where}: {f.message}"), markup=False, highlight=False)
        if len(report.findings) > 20:
            out.print(f"  ... {len(report.findings) - 20} more (use --json)")
    if strict and errors:
        raise typer.Exit(1)


@app.command()
def show(
    ident: Annotated[str, typer.Argument(help="A LIDVID (urn:...::1.0) or a LID (latest version).")],
    data_dir: DataDir = None,
    as_json: JsonOpt = False,
) -> None:
    """Show one product: record, files, references, members, findings, other versions.

    Example: lunarchive show urn:nasa:pds:lro_diviner_derived1:data_calibrated:201401031400_rdr --json
    """
    with open_archive(data_dir, create=False) as archive:
        row = search_mod.get_product(archive.catalog, ident)
    if as_json:
        _print_json(row)
        return
    for key in ("lidvid", "product_class", "title", "targets", "investigations", "instruments", "start",
                "stop", "bbox", "processing_level", "label_format"):
        value = row.get(key)
        if value not in (None, [], ""):
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.print(f"[bold]{key:16}[/] {escape(_shown(text))}", highlight=False)  # label text is not markup
    extra = row.get("extra") or {}
    for key, value in (("doi", extra.get("doi")), ("cites", ", ".join(cited_dois(extra)))):
        if isinstance(value, str) and value:
            out.print(f"[bold]{key:16}[/] {escape(_shown(value))}", highlight=False)
    out.print(f"[bold]{'versions':16}[/] {', '.join(v.rpartition('::')[2] for v in row['versions'])}")
    for section, cols in (("files", ("name", "size", "sha256", "status")),
                          ("references", ("target", "ref_type")), ("members", ("ref", "status")),
                          ("findings", ("severity", "message_id", "message"))):
        if row[section]:
            table = Table(title=section, title_justify="left", show_edge=False)
            for c in cols:
                table.add_column(c, overflow="fold")
            for item in row[section][:50]:
                table.add_row(*(Text(_shown(_cell(item, c, section))) for c in cols))
            out.print(table)


def _cell(item: dict[str, Any], column: str, section: str) -> str:
    """One cell of ``show``'s tables: a file's status says too where it differs from its label."""
    value = str(item.get(column, ""))
    if section == "files" and column == "status":
        differs = [k for k, ok in (item.get("matches_label") or {}).items() if ok is False]
        if differs:
            value += f" ({' and '.join(differs)} differ from the label)"
    return value


@app.command()
def search(
    target: Annotated[list[str] | None, typer.Option(
        "--target", help="Target body (MOON, Mars...), its context LID, or a target type (asteroid).")] = None,
    mission: Annotated[list[str] | None, typer.Option(
        "--mission", help="Investigation or host: a name or id, or words beginning one (LRO, 'Lunar Recon').")] = None,
    instrument: Annotated[list[str] | None, typer.Option(
        "--instrument", help="Instrument: a name or id, or words beginning one (lro.dlre, Diviner).")] = None,
    product_class: Annotated[list[str] | None, typer.Option(
        "--class", help="Product class: Product_SPICE_Kernel, SPICE_Kernel, or words that begin its words "
        "(spice).")] = None,
    start: Annotated[str | None, typer.Option(help="Overlapping products from this UTC time.")] = None,
    stop: Annotated[str | None, typer.Option(help="Overlapping products up to this UTC time.")] = None,
    text: Annotated[str | None, typer.Option(help="Words in the title, identifiers, DOIs or keywords.")] = None,
    latest: Annotated[bool, typer.Option("--latest", help="Only the latest version of each LID.")] = False,
    valid: Annotated[bool | None, typer.Option("--valid/--invalid", help="Only products without / with an "
                                               "error finding.", show_default=False)] = None,
    body: Annotated[str | None, typer.Option(help="Body of the spatial filters (moon, Titan...).")] = None,
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N degrees (0..360 or ±180; W > E wraps).")] = None,
    point: Annotated[str | None, typer.Option(help="LON,LAT: footprints holding this point.")] = None,
    intersects: Annotated[Path | None, typer.Option(help="GeoJSON file: footprints intersecting it.")] = None,
    within_km: Annotated[str | None, typer.Option("--within-km", help="LON,LAT,KM: within KM.")] = None,
    place: Annotated[str | None, typer.Option(help="Lunar place: over its extent (or crater).")] = None,
    near: Annotated[str | None, typer.Option(help="Lunar place: within --radius km of it.")] = None,
    radius: Annotated[float | None, typer.Option(help="Kilometres around --near.")] = None,
    sort: Annotated[str, typer.Option(help="lidvid, start, stop, title or ingested.")] = "lidvid",
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 50,
    offset: Annotated[int, typer.Option(help="Skip this many results.")] = 0,
    data_dir: DataDir = None,
    as_json: JsonOpt = False,
) -> None:
    """Search the catalogue; filters combine with AND, times match by overlap.

    Example: lunarchive search --target moon --start 2014-01-01 --stop 2014-12-31 --json
    Example: lunarchive search --body moon --bbox 40,-83,50,-81 --start 2009-01-01
    """
    query = Query(
        targets=target or [], missions=mission or [], instruments=instrument or [],
        product_classes=product_class or [], start=start, stop=stop, text=text, latest_only=latest, valid=valid,
        sort=sort, limit=limit, offset=offset,
        **_spatial_args(body, bbox, point, intersects, within_km, place, near, radius),
    )
    with open_archive(data_dir, create=False) as archive:
        rows = search_mod.search(archive.catalog, query)
        total = search_mod.count(archive.catalog, query)
    if as_json:
        _print_json(rows)
        return
    table = Table(title=f"{len(rows)} of {total} products", title_justify="left", show_edge=False)
    for col in ("lidvid", "class", "targets", "start", "stop", "title"):
        table.add_column(col, overflow="fold")
    for r in rows:
        cells = (r["lidvid"], r["product_class"], ", ".join(r["targets"]), r["start"] or "", r["stop"] or "",
                 r["title"] or "")
        table.add_row(*(Text(_shown(v)) for v in cells))
    out.print(table)


@app.command()
def validate(
    paths: Annotated[list[str] | None, typer.Argument(help="Labels, directories or bundles.")] = None,
    rule_set: Annotated[str | None, typer.Option(
        "--rule-set", "-R", help="pds4.label, pds4.folder, pds4.collection or pds4.bundle (default: from the "
        "target: a file is pds4.label, a directory with a bundle label pds4.bundle).")] = None,
    skip_content: Annotated[bool, typer.Option(
        "--skip-content-validation", help="Do not read table contents.")] = False,
    lax_membership: Annotated[bool, typer.Option(
        "--skip-strict-collection-membership", help="A member an inventory or bundle lists that is not in the "
        "tree is a warning, as before validate 4.2 (default: an error).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Validate PDS4 products with NASA PDS validate's rules and message ids; exit 1 when an error is found.

    Example: lunarchive validate -R pds4.bundle ../shared/corpus/pds4/clps/pitms_bundle --json
    """
    from .validate import render_text, validate_paths

    report = validate_paths(paths or [], rule_set=rule_set, skip_content=skip_content,
                            strict_membership=not lax_membership)
    if as_json:
        _print_json(report.to_dict())
    else:
        sys.stdout.write(printable(render_text(report)))
    raise typer.Exit(report.exit_code)


def _numbers(text: str | None, n: int, option: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != n:
        raise InvalidQuery(f"{option}: expected {n} comma-separated numbers, got {text!r}")
    return values


_GEOJSON_LIMIT = 64 << 20
"""The largest GeoJSON file ``--intersects`` reads (a query region, not a map)."""


def _geojson_file(path: Path) -> dict[str, Any]:
    """The geometry of a GeoJSON file (a geometry, a Feature, or a FeatureCollection's geometries)."""
    try:
        with open_regular(path) as fh:  # a pipe or device is refused, not read (forever, or without end)
            raw = fh.read(_GEOJSON_LIMIT + 1)
        if len(raw) > _GEOJSON_LIMIT:
            raise InvalidQuery(f"--intersects: {path} holds more than {_GEOJSON_LIMIT >> 20} MiB; give a simpler "
                               "geometry")
        doc = json.loads(raw.decode("utf-8"))
    except FileNotFoundError as exc:
        raise PathNotFound(f"no such file: {path}") from exc
    except (OSError, ValueError) as exc:
        raise InvalidQuery(f"--intersects: {path} is not readable JSON ({exc})") from exc
    if isinstance(doc, dict) and doc.get("type") == "Feature":
        doc = doc.get("geometry")
    elif isinstance(doc, dict) and doc.get("type") == "FeatureCollection":
        doc = {"type": "GeometryCollection",
               "geometries": [f.get("geometry") for f in doc.get("features", []) if f.get("geometry")]}
    if not isinstance(doc, dict):
        raise InvalidQuery(f"--intersects: {path} holds no GeoJSON geometry")
    return doc


def _spatial_args(body: str | None, bbox: str | None, point: str | None, intersects: Path | None,
                  within_km: str | None, place: str | None, near: str | None,
                  radius: float | None) -> dict[str, Any]:
    """Query fields from the spatial options; ``--place``/``--near`` look the name up in the gazetteer."""
    args: dict[str, Any] = {
        "body": body, "bbox": _numbers(bbox, 4, "--bbox"), "point": _numbers(point, 2, "--point"),
        "within": _numbers(within_km, 3, "--within-km"),
        "intersects": None if intersects is None else _geojson_file(intersects),
    }
    for option, value in (("--place", place), ("--near", near)):
        if value is not None and not value.strip():  # not "no filter": a place left out by mistake
            raise InvalidQuery(f"{option}: give a lunar place name (it is empty)")
    if radius is not None and near is None:
        raise InvalidQuery("--radius goes with --near NAME")
    if place is None and near is None:
        return args
    if body and resolve_body(body).name != "MOON":
        raise InvalidQuery("--place and --near name lunar places; use them with --body moon")
    args["body"] = "moon"
    gazetteer = default_gazetteer()
    wanted = dict(gazetteer.resolve(place).filter()) if place else {}
    if near is not None:
        if radius is None:
            raise InvalidQuery("--near NAME needs --radius KM")
        p = gazetteer.resolve(near)
        if "within" in wanted:
            raise InvalidQuery("--place names a crater (a circle), --near another circle: give one of them")
        wanted["within"] = (p.lon, p.lat, radius)
    for key, value in wanted.items():
        if args[key] is not None:
            option = "--within-km" if key == "within" else f"--{key}"
            raise InvalidQuery(f"{option} cannot be combined with --place/--near")
        args[key] = value
    return args


@app.command()
def places(
    name: Annotated[str, typer.Argument(help="A lunar place name (case and accents do not matter).")],
    limit: Annotated[int, typer.Option(min=1, help="At most this many places.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List lunar places (features, craters, domes) by name: exact matches first, then similar names.

    Example: lunarchive places "von karman" --json
    """
    gazetteer = default_gazetteer()
    found = gazetteer.search(name, limit)
    if not found:
        close = gazetteer.suggest(name)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise NotFound(f"no lunar place matches {name!r}{hint}")
    if as_json:
        _print_json([p.to_dict() for p in found])
        return
    table = Table(title=f"{len(found)} places", title_justify="left", show_edge=False)
    for col in ("name", "kind", "lat", "lon", "extent / radius", "source"):
        table.add_column(col, overflow="fold")
    for p in found:
        size = (", ".join(f"{v:.3f}" for v in p.extent) if p.extent else
                f"{p.radius_km:g} km" if p.radius_km is not None else "")
        table.add_row(*(Text(v) for v in (p.name, p.kind, f"{p.lat:.4f}", f"{p.lon:.4f}", size, p.source)))
    out.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    body: Annotated[str, typer.Option(help="Body that spatial filters without one refer to.")] = "moon",
    workers: Annotated[int, typer.Option(help="Worker processes (each with its own connections).")] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the catalogue over HTTP: STAC API, PDS Search API routes and verified downloads.

    Example: lunarchive serve --data-dir ./lunarchive-data --port 8000   (then open http://127.0.0.1:8000/)
    """
    import os

    import uvicorn

    from .api import create_app
    from .config import resolve_data_dir

    root = resolve_data_dir(data_dir)
    err.print(f"lunarchive: serving {root} at http://{host}:{port}/ (STAC API at /, docs at /docs)",
              markup=False, highlight=False)
    if workers > 1:
        os.environ["LUNARCHIVE_DATA"], os.environ["LUNARCHIVE_BODY"] = str(root), body
        create_app(root, default_body=body)  # fail here, once, on a bad data directory
        uvicorn.run("lunarchive.api.app:create_app_from_env", factory=True, host=host, port=port,
                    workers=workers, log_level="warning")
    else:
        uvicorn.run(create_app(root, default_body=body), host=host, port=port, log_level="warning")


def main() -> None:
    """Entry point: user errors (lunarchive's, and usage errors: exit 2) become one line on stderr."""
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 is printed escaped, not as raw bytes
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = app(standalone_mode=False)  # returns the exit code of typer.Exit or --help instead of exiting
    except LunarchiveError as exc:
        _fail(exc.message, exc.exit_code)
    except sqlite3.Error as exc:  # a failure found after the catalogue opened (damage, a lock held too long)
        failure = sqlite_failure(exc, "in the data directory")
        _fail(failure.message, failure.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        _fail(INTERRUPTED, 130)
    except typer.TyperException as exc:  # typer's click exceptions: usage errors, bad parameters
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        exit_code = int(getattr(exc, "exit_code", 2))
        if type(exc).__name__ == "NoArgsIsHelpError":  # no arguments at all: the help text, as click shows it
            err.print(message, markup=False, highlight=False)
            sys.exit(exit_code)
        ctx = getattr(exc, "ctx", None)
        _fail(message + (f" (see '{ctx.command_path} --help')" if ctx is not None else ""), exit_code)
    if code == 130:  # typer's own handling of Ctrl-C
        _fail(INTERRUPTED, 130)
    sys.exit(code if isinstance(code, int) else 0)


INTERRUPTED = "interrupted: an ingest under way stored nothing (the catalogue is as it was before it)"


def _fail(message: str, exit_code: int) -> NoReturn:
    err.print(f"lunarchive: error: {' '.join(message.split())}", markup=False, highlight=False, soft_wrap=True)
    sys.exit(exit_code)


if __name__ == "__main__":
    main()
