"""The `fakelens` command line.

Exit codes: 0 every input analysed (no_face counts), 1 some input or step failed
(the others are still processed and printed), 2 usage error.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

from fakelens.store.writer import prestart

prestart(sys.argv)  # `analyze` saves its results: the history database opens while typer and the models load
import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Column, Table  # noqa: E402
from rich.text import Text  # noqa: E402

from fakelens.errors import FakelensError, one_line  # noqa: E402
from fakelens.train.config import TrainConfig as T, VideoTrainConfig as V  # noqa: E402 (the CLI's training defaults)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Tell whether faces in images are deepfakes, and show why.")
data_app = typer.Typer(no_args_is_help=True, help="Inspect datasets before training.")
app.add_typer(data_app, name="data")
keys_app = typer.Typer(no_args_is_help=True, help="API keys of `fakelens serve` (stored hashed in the history database).")
app.add_typer(keys_app, name="keys")
# Neither markup nor emoji codes: file names are printed as they are ("[bold]x.jpg", ":x:.jpg"), styles come
# only from Text objects, and control characters in names are shown escaped (see `shown`).
out = Console(markup=False, emoji=False)
err = Console(stderr=True, markup=False, emoji=False)
MAX_BUDGET_S = 1e6  # seconds per file: past this (11 days), "no limit" is what is meant; 1e308 overflowed deadlines


def shown(text) -> str:
    """Text from outside (a file name, an error naming one) as printed: control characters escaped, so a
    name cannot move the cursor or recolour the terminal."""
    return "".join(c if c.isprintable() or c == " " else ascii(c)[1:-1] for c in str(text))


def warn(message: str) -> None:
    err.print(Text.assemble(("warning:", "yellow"), " ", shown(message)), highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> None:
    err.print(Text.assemble(("error:", "red"), " ", shown(message)), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _need_torch(what: str) -> None:
    from fakelens.detector import require_torch

    try:
        require_torch(what)
    except FakelensError as e:
        fail(str(e))


def _check_face_detector(name: str) -> None:
    from fakelens.faces import BACKENDS

    if name not in BACKENDS:
        fail(f"--face-detector must be one of {', '.join(BACKENDS)}, not {name!r}", 2)


def _split_list(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _store():
    """The history database, or a one-line error (exit 1) when it cannot be opened."""
    from fakelens.store import HistoryStore

    try:
        return HistoryStore()
    except Exception as e:  # noqa: BLE001 - a bad URL, a data folder that is a file, a server that refuses
        fail(f"history database: cannot open it: {one_line(e)}")


def _writable_dir(folder: Path, flag: str) -> None:
    """Make `folder` (as the output of `flag` would) now, so an unwritable place fails before any work."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):  # a real write: root passes os.access where /proc refuses
            pass
    except OSError as e:
        fail(f"{flag}: cannot write into {folder} ({one_line(e)})", 2)


@app.command()
def analyze(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files to analyze.", show_default=False, readable=False)],
    whole_image: Annotated[bool, typer.Option("--whole-image", help="Skip face detection: each image is already a face crop.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="table or json (JSON Lines, one object per input).")] = "table",
    model: Annotated[Optional[Path], typer.Option(help="Image checkpoint (.safetensors); default: the shipped model.")] = None,
    threshold: Annotated[Optional[float], typer.Option(help="Images: fake if score >= threshold, in [0, 1]; default: the image model's (videos keep the video model's, in their JSON).")] = None,
    landmarks: Annotated[bool, typer.Option("--landmarks", help="Include the 68 landmarks per face in JSON.")] = False,
    frames: Annotated[int, typer.Option("--frames", help="Videos: frames sampled uniformly.")] = 32,
    every: Annotated[Optional[int], typer.Option("--every", help="Videos: every k-th frame instead.")] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Videos: frames per second instead.")] = None,
    video_model: Annotated[Optional[Path], typer.Option(help="Video model; default: the shipped one.")] = None,
    explain: Annotated[Optional[str], typer.Option("--explain", help="Also explain with these methods (e.g. gradcam,lime) and add a plain-language summary.")] = None,
    explain_out: Annotated[Path, typer.Option(help="Where --explain writes maps and overlays.")] = Path("explanations"),
    report: Annotated[Optional[Path], typer.Option(help="Write a self-contained HTML report: this file for one input, else one file per input in this folder.")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Record each result in the history database (see `fakelens history`).")] = True,
    time_budget: Annotated[float, typer.Option("--time-budget", help="Seconds per file before it is given up as an error (0: no limit).")] = 300,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
) -> None:
    """Score every face in each image or video: label real/fake/no_face/error and the probability of fake."""
    from fakelens.store.writer import HistoryWriter

    writer = HistoryWriter.take() if save else None  # the database opens on another core while the models load
    if fmt not in ("table", "json"):
        fail(f"--format must be table or json, not {fmt!r}", 2)
    options = _options(model, video_model, threshold, face_detector, whole_image, frames, every, fps, time_budget)
    options.landmarks = landmarks
    from fakelens.media import file_sha256, safe_stem
    from fakelens.pipeline import Analyzer

    if report is not None and not explain:
        from fakelens.explain.run import default_methods

        explain = ",".join(default_methods())  # a report always shows evidence: the validated defaults unless told otherwise
    methods = _methods(explain) if explain else []
    if methods:
        _writable_dir(explain_out, "--explain-out")
    if report is not None:
        single = len(paths) == 1 and report.suffix.lower() in (".html", ".htm")
        _writable_dir(report.parent if single else report, "--report")
    analyzer = Analyzer(options)
    analyzer.read_ahead(paths[0])  # a first video decodes on another core while the models load
    try:
        det = analyzer.images
    except FakelensError as e:
        fail(str(e))
    failed = False
    table, summaries, saved = None, [], []
    if fmt == "table":
        table = Table(Column("path", overflow="fold"), "kind", "label", "score", "faces", Column("note", overflow="fold"),
                      title=f"fakelens analyze (model {det.name}, threshold {det.threshold:.2f})")
    try:
        for analysis in analyzer.analyze_many([str(p) for p in paths]):
            result, path = analysis.record, analysis.record.path
            records = []
            if methods and analysis.ok:
                try:
                    records = analyzer.explain(analysis, methods, explain_out)
                except FakelensError as e:
                    fail(str(e))
            if report is not None:
                from fakelens.report import write_report

                target = report if single else report / f"{safe_stem(path)}.html"
                try:
                    write_report(result, target, records, picture=analysis.image)
                except OSError as e:  # a disk that filled up: the analyses so far are kept (below)
                    fail(f"--report: cannot write {target} ({one_line(e)})")
            plain = result.to_dict()  # once, for the history and the JSON line alike
            if writer is not None:
                p = Path(path)
                saved.append(path)
                writer.add(plain, sha256=file_sha256(p) if p.is_file() else None,
                           report=str(target.resolve()) if report is not None else None)
            failed |= result.label == "error"
            if fmt == "json":
                print(json.dumps(result.to_dict(landmarks=True) if landmarks else plain), flush=True)
            else:
                colour = {"fake": "red", "real": "green", "error": "yellow"}.get(result.label, "")
                note = result.error or ", ".join(sorted({fl for f in result.faces for fl in f.flags}))
                if result.manipulation:
                    note = "; ".join(filter(None, [KIND_WORDS[result.manipulation], note]))
                if result.kind == "video" and result.frames is not None:
                    note = "; ".join(filter(None, [KIND_WORDS.get(result.manipulation),
                                                   f"{len({f.index for f in result.frames})} frames with faces, "
                                                   f"{len(result.tracks)} tracks", *(result.warnings or [])]))
                table.add_row(shown(result.path), result.kind, Text(result.label, style=colour),
                              "-" if result.score is None else f"{result.score:.3f}", str(len(result.faces)), shown(note))
                if result.summary:
                    summaries.append(Text.assemble((shown(result.path), "bold"), f": {result.summary}"))
    except BaseException as stop:  # an interrupted run (Ctrl-C, a failed step) still keeps every finished analysis
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        if isinstance(stop, KeyboardInterrupt) and table is not None and table.row_count:
            out.print(table)  # what finished is shown too, not only saved
            err.print(f"interrupted after {table.row_count} of {len(paths)} inputs", highlight=False)
        raise
    history_error = None
    if writer is not None:
        try:
            replies = writer.close()
        except FakelensError as e:  # the verdicts are still shown; the error comes after them
            history_error, replies = str(e), []
        for path, reply in zip(saved, replies):
            if reply["seen"] and fmt == "table":
                summaries.append(Text.assemble((shown(path), "bold"), ": the same file (SHA-256) was analyzed before: "
                                               + ", ".join(f"#{r['id']} {r['label']}" for r in reply["seen"][:5])))
    if table is not None:
        out.print(table)
        for line in summaries:
            out.print(line, highlight=False)
    if history_error is not None:
        fail(f"{history_error} (nothing was saved; the verdicts above stand)")
    raise typer.Exit(1 if failed else 0)


KIND_WORDS = {"face_swap": "looks like a face swapped onto another head", "synthetic": "looks like a face generated whole"}


def _options(model, video_model, threshold, face_detector, whole_image, frames, every, fps, time_budget):
    """The pipeline's options from the flags that analyze, explain and scan share (usage errors exit 2)."""
    from fakelens.pipeline import AnalysisOptions

    if frames < 1 or (every is not None and every < 1) or (fps is not None and not 0 < fps < math.inf) \
            or not 0 <= time_budget <= MAX_BUDGET_S:
        fail(f"--frames and --every must be >= 1, --fps > 0 (finite), --time-budget in 0-{MAX_BUDGET_S:,.0f}", 2)
    if every is not None and fps is not None:
        fail("--every and --fps each replace --frames: give one of them", 2)
    if threshold is not None and not 0 <= threshold <= 1:  # NaN fails too
        fail(f"--threshold must be in [0, 1], not {threshold}", 2)
    _check_face_detector(face_detector)
    return AnalysisOptions(model=str(model) if model else None, video_model=str(video_model) if video_model else None,
                           threshold=threshold, face_detector=face_detector, whole_image=whole_image, frames=frames,
                           every=every, fps=fps, budget_s=time_budget or None)


def _methods(spec: str) -> list[str]:
    from fakelens.explain.run import parse_methods

    try:
        return parse_methods(spec)
    except ValueError as e:
        fail(str(e), 2)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on (not loopback: a key is always required, or --no-auth).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    max_upload_mb: Annotated[float, typer.Option(help="Largest upload accepted (413 beyond it).")] = 200,
    explain: Annotated[Optional[str], typer.Option(help="Methods that explain every analysis (empty: none; default: gradcam, or occlusion without torch).", show_default=False)] = None,
    no_auth: Annotated[bool, typer.Option("--no-auth", help="Serve without keys, even on a non-loopback host (anyone who reaches the port sees everything).")] = False,
    retain_days: Annotated[float, typer.Option(help="Delete analyses (upload, report and all) older than this many days, checked hourly (0: keep).")] = 0,
    rate_limit: Annotated[int, typer.Option(help="Requests a minute per key, 429 beyond it (0: no limit).")] = 600,
    quota_mb: Annotated[float, typer.Option(help="Stored uploads per key in MB, 413 beyond it (0: no quota).")] = 10240,
    time_budget: Annotated[float, typer.Option("--time-budget", help="Seconds per analysis before it is given up as an error (0: no limit).")] = 300,
) -> None:
    """The web app (a page at /) and the REST API (/v1/analyses, OpenAPI at /docs). Once a key exists
    (`fakelens keys create NAME`), every route but /healthz asks for one."""
    import ipaddress
    import socket

    import uvicorn

    from fakelens.service import ServerConfig, create_app

    # Written so that NaN fails each test; the upper bounds keep sizes and deadlines within integers and clocks.
    if not (0 < max_upload_mb <= 1e6 and 0 < port < 65536 and 0 <= retain_days <= 1e5 and rate_limit >= 0
            and 0 <= quota_mb <= 1e9 and 0 <= time_budget <= MAX_BUDGET_S):
        fail(f"--max-upload-mb must be in (0, 1e6], --port in 1-65535, --retain-days in 0-1e5, --rate-limit >= 0, "
             f"--quota-mb in 0-1e9 and --time-budget in 0-{MAX_BUDGET_S:,.0f}", 2)
    from fakelens.explain.base import torch_available
    from fakelens.explain.registry import explainer_class

    if explain is None:  # every upload is explained: a method that runs here, and fast
        explain = "gradcam" if torch_available() else "occlusion"
    try:
        for m in _methods(explain) if explain else []:
            explainer_class(m).require()  # refused at start, not on every upload
    except FakelensError as e:
        fail(str(e))
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name other than localhost may resolve to anything
    store = _store()
    if no_auth and store.has_keys():
        fail(f"--no-auth, but API keys exist in {store.url}: serving their analyses openly is refused "
             "(drop --no-auth, or use another FAKELENS_DATA_DIR)", 2)
    mode = "off" if no_auth else "auto" if loopback else "required"
    if no_auth and not loopback:
        warn(f"serving on {host} without authentication (--no-auth): anyone who "
             "can reach this port can upload, read and delete every analysis")
    elif mode == "required" and not store.has_keys():
        warn(f"{host} is not loopback, so every request needs an API key, and none "
             "exists yet: make one with `fakelens keys create NAME`")
    config = ServerConfig(max_upload_mb=max_upload_mb, methods=explain, auth=mode, rate_limit=rate_limit,
                          quota_mb=quota_mb, time_budget=time_budget, retain_days=retain_days)
    try:  # a port in use is one line here, not uvicorn's log and exit code 3
        socket.create_server((host, port)).close()
    except OSError as e:
        fail(f"cannot listen on {host}:{port} ({os.strerror(e.errno) if e.errno else one_line(e)})")
    uvicorn.run(create_app(store, config), host=host, port=port)


@keys_app.command("create")
def keys_create(name: Annotated[str, typer.Argument(help="Who or what the key is for (letters, digits, ._@-).", show_default=False)]) -> None:
    """Make a key and print it once, on the last line (only a salted hash is stored)."""
    store = _store()
    try:
        token = store.create_key(name)
    except ValueError as e:
        fail(str(e), 2)
    err.print(f"key {name!r} created; it is shown only now, keep it somewhere safe. Send it as "
              "'Authorization: Bearer KEY' or sign in with it on the page:", highlight=False)
    print(token, flush=True)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: name, public id, when made, and whether revoked (never the key itself)."""
    table = Table("name", "id", "created (UTC)", "revoked (UTC)", title="API keys")
    for k in _store().list_keys():
        table.add_row(k.name, k.key_id, k.created.strftime("%Y-%m-%d %H:%M"),
                      k.revoked.strftime("%Y-%m-%d %H:%M") if k.revoked else "-")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.", show_default=False)]) -> None:
    """Revoke a key at once (a running server refuses it from its next request). Its analyses stay,
    visible to no other key; `fakelens history` lists them."""
    if not _store().revoke_key(name):
        fail(f"no unrevoked key named {name!r} (see `fakelens keys list`)")
    out.print(f"key {name!r} revoked")


def _guarded(records):
    try:
        yield from records
    except FakelensError as e:
        fail(str(e))


def _print_feedback(rows: list[dict], fmt: str) -> None:
    if fmt == "json":
        for r in rows:
            print(json.dumps(r), flush=True)
        return
    per: dict[str, list[dict]] = {}
    for r in rows:
        for m in r["methods"] or ["(none)"]:
            per.setdefault(m, []).append(r)
    table = Table("method", "ratings", "clarity (mean)", "helpfulness (mean)", "agreed with verdict",
                  title="readers' ratings of the explanations")
    for m, rs in sorted(per.items()):
        answered = [r["agree"] for r in rs if r["agree"] is not None]
        table.add_row(m, str(len(rs)), f"{sum(r['clarity'] for r in rs) / len(rs):.2f}",
                      f"{sum(r['helpfulness'] for r in rs) / len(rs):.2f}",
                      f"{sum(answered)}/{len(answered)}" if answered else "-")
    out.print(table)


@app.command()
def scan(
    source: Annotated[Path, typer.Argument(help="A folder (searched recursively) or a text file listing paths.", show_default=False)],
    out_file: Annotated[Path, typer.Option("--out", help="Results, one JSON line per file; rerun to resume.")] = Path("results.jsonl"),
    workers: Annotated[Optional[int], typer.Option(help="Worker processes (default: one per core).")] = None,
    model: Annotated[Optional[Path], typer.Option(help="Image checkpoint; default: the shipped model.")] = None,
    video_model: Annotated[Optional[Path], typer.Option(help="Video model; default: the shipped one.")] = None,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Also record each result in the history database.")] = True,
    engine: Annotated[str, typer.Option(help="local (process pool) or ray (Ray Data; needs fakelens' ray extra).")] = "local",
    ray_address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: a local Ray instance).")] = None,
    time_budget: Annotated[float, typer.Option("--time-budget", help="Seconds per file before it is given up as an error (0: no limit).")] = 300,
    whole_image: Annotated[bool, typer.Option("--whole-image", help="Skip face detection: each image is already a face crop.")] = False,
    frames: Annotated[int, typer.Option("--frames", help="Videos: frames sampled uniformly.")] = 32,
    every: Annotated[Optional[int], typer.Option("--every", help="Videos: every k-th frame instead.")] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Videos: frames per second instead.")] = None,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
) -> None:
    """Analyze every image and video (found by content) in a folder; resumable after a kill."""
    from fakelens.scan import scan as run_scan

    if not source.exists():
        fail(f"no such folder or list: {source}", 2)
    if (workers is not None and workers < 1) or engine not in ("local", "ray"):
        fail("--workers must be >= 1 and --engine local or ray", 2)
    options = _options(model, video_model, None, face_detector, whole_image, frames, every, fps, time_budget)
    if out_file.is_dir():
        fail(f"--out must be a file (JSON Lines), not a folder: {out_file}", 2)
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        open(out_file, "a").close()  # the results file is appended to (a rerun resumes from it)
    except OSError as e:
        fail(f"--out: cannot write {out_file} ({one_line(e)})", 2)
    store = _store() if save else None
    counts: dict[str, int] = {}
    records = run_scan(source, out_file, workers, options, progress=True, engine=engine, ray_address=ray_address)
    for rec in _guarded(records):
        counts[rec["label"]] = counts.get(rec["label"], 0) + 1
        if store is not None:
            store.add(rec, sha256=rec.get("sha256"))
    out.print(f"{sum(counts.values())} files analyzed this run ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or 'nothing left to do'}); results in {shown(out_file)}")
    raise typer.Exit(1 if counts.get("error") else 0)


@app.command()
def history(
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    label: Annotated[Optional[str], typer.Option(help="Only this label (real, fake, no_face, error).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json (JSON Lines).")] = "table",
    feedback: Annotated[bool, typer.Option("--feedback", help="Export the readers' ratings of the explanations, per method.")] = False,
    delete: Annotated[Optional[int], typer.Option("--delete", help="Delete this analysis, with the upload, report and thumbnail fakelens stored for it.", show_default=False)] = None,
) -> None:
    """Past analyses (every `analyze` unless --no-save, and the web app's), from the database in
    FAKELENS_DATA_DIR or the user data dir."""
    if fmt not in ("table", "json") or not 1 <= limit <= 10**9:
        fail("--format must be table or json and --limit in 1-1000000000", 2)
    if label is not None and label not in ("real", "fake", "no_face", "error"):
        fail(f"--label must be real, fake, no_face or error, not {label!r}", 2)
    if delete is not None and not 1 <= delete < 2**63:
        fail(f"no analysis {delete}", 1)
    store = _store()
    if delete is not None:
        gone = store.delete(delete)
        if gone is None:
            fail(f"no analysis {delete} in {store.url}")
        out.print(f"deleted analysis {delete} ({shown(gone['filename'] or gone['path'])}) and the files fakelens stored for it")
        return
    if feedback:
        _print_feedback(store.feedback(), fmt)
        return
    rows = store.list(limit, label)
    if fmt == "json":
        for r in rows:
            print(json.dumps(r), flush=True)
        return
    table = Table("id", "when (UTC)", Column("path", overflow="fold"), "kind", "label", "score", "sha256",
                  title=f"fakelens history ({store.url})")
    for r in rows:
        table.add_row(str(r["id"]), r["created"][:19], shown(r["path"]), r["kind"] or "-", r["label"] or "-",
                      "-" if r["score"] is None else f"{r['score']:.3f}", (r["sha256"] or "-")[:12])
    out.print(table)


@app.command()
def train(
    data: Annotated[list[Path], typer.Argument(help="Dataset folders (labels.csv layout or real/ and fake/); clips in them add frames.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder: checkpoints, history, plots, metrics.")] = Path(T.out),
    arch: Annotated[str, typer.Option(help="Backbone from the registry (fakelens models).")] = T.arch,
    sources: Annotated[Optional[str], typer.Option(help="Only these sources, comma-separated (e.g. faces-gan).")] = None,
    exclude_families: Annotated[Optional[str], typer.Option(help="Leave these generators out of training and validation, e.g. flux (leave-one-generator-out).")] = None,
    input_size: Annotated[int, typer.Option(help="Model input size in pixels.")] = T.input_size,
    crop_scale: Annotated[float, typer.Option(help="Face crop side / face size (1.3 or 2.0 as in seed 002).")] = T.crop_scale,
    epochs: int = T.epochs,
    batch_size: int = T.batch_size,
    lr: float = T.lr,
    warmup_epochs: Annotated[int, typer.Option(help="Head-only epochs on cached backbone features first.")] = T.warmup_epochs,
    freeze_blocks: Annotated[int, typer.Option(help="Keep the stem and this many first blocks frozen.")] = T.freeze_blocks,
    sbi_ratio: Annotated[float, typer.Option(help="Self-blended fakes per real training face (0 disables).")] = T.sbi_ratio,
    sbi_off: Annotated[Optional[str], typer.Option(help="Parts of self-blending to turn off: colour, frequency, elastic, hull_variants, blend_ratios.")] = None,
    degrade: Annotated[float, typer.Option(help="Chance of a blur/sharpen/resize/JPEG chain per training view, both classes alike.")] = T.degrade,
    manipulation: Annotated[bool, typer.Option("--manipulation/--no-manipulation", help="Also learn the kind of fake (face swap or synthetic).")] = True,
    video_frames: Annotated[int, typer.Option(help="Frames per clip taken as training pictures when the folders hold clips (0: none).")] = T.video_frames,
    max_fpr: Annotated[float, typer.Option(help="Threshold: false positives at most this on every real source of validation.")] = T.max_fpr,
    soup: Annotated[bool, typer.Option("--soup/--no-soup", help="Average epochs greedily by validation score (a model soup).")] = True,
    split: Annotated[str, typer.Option(help="train:val:test ratios, group-aware.")] = "4:1:1",
    folds: Annotated[int, typer.Option(help="k-fold cross-validation (k > 1) instead of one split.")] = T.folds,
    seed: int = T.seed,
    split_seed: Annotated[Optional[int], typer.Option(help="The split's seed (default: --seed): another --seed on one split measures run-to-run noise.")] = T.split_seed,
    max_samples: Annotated[Optional[int], typer.Option(help="Use a random subset (quick trials).")] = None,
    workers: Annotated[int, typer.Option(help="DataLoader worker processes.")] = T.workers,
    whole_image: Annotated[bool, typer.Option("--whole-image", help="Every picture is already a face crop (no detection, as analyze --whole-image).")] = False,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
) -> None:
    """Train a detector; resumes from OUT/last.pt if present (needs fakelens' torch extra)."""
    _need_torch("training")
    from fakelens.data.sbi import SBIConfig
    from fakelens.train import TrainConfig, train as run_train

    _check_face_detector(face_detector)
    try:
        ratios = tuple(int(v) for v in split.split(":"))
        assert len(ratios) == 3 and all(r > 0 for r in ratios)
    except (ValueError, AssertionError):
        fail(f"--split must look like 4:1:1, not {split!r}", 2)
    off = _split_list(sbi_off) or []
    parts = [f for f in SBIConfig.__dataclass_fields__]
    if any(p not in parts for p in off):
        fail(f"--sbi-off takes {', '.join(parts)}, not {sbi_off!r}", 2)
    sbi = {p: ((1.0,) if p == "blend_ratios" else False) for p in off}
    cfg = TrainConfig(data=[str(d) for d in data], out=str(out_dir), sources=_split_list(sources),
                      exclude_families=_split_list(exclude_families), arch=arch, input_size=input_size,
                      crop_scale=crop_scale, epochs=epochs, batch_size=batch_size, lr=lr, warmup_epochs=warmup_epochs,
                      freeze_blocks=freeze_blocks, sbi_ratio=sbi_ratio, sbi=sbi, degrade=degrade,
                      manipulation=manipulation, video_frames=video_frames, max_fpr=max_fpr, soup=soup, split=ratios,
                      folds=folds, seed=seed, split_seed=split_seed, max_samples=max_samples, workers=workers, whole_image=whole_image,
                      face_detector=face_detector)
    try:
        results = run_train(cfg)
    except FakelensError as e:
        fail(str(e))
    for r in results if isinstance(results, list) else [results]:
        _print_metrics({str(r.checkpoint): r.test}, title=f"test split: {r.checkpoint}")


@app.command("train-video")
def train_video(
    data: Annotated[list[Path], typer.Argument(help="Dataset folders holding video clips (labels.csv layout or real/ and fake/).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder: video.safetensors, report.json, cv_table.md.")] = Path(V.out),
    frame_model: Annotated[Optional[Path], typer.Option(help="Image checkpoint whose features the LSTM reads; default: shipped.")] = None,
    sources: Annotated[Optional[str], typer.Option(help="Only these sources, comma-separated (e.g. videos-ffpp).")] = None,
    window: Annotated[int, typer.Option(help="Frames averaged per window (A_w).")] = V.window,
    stride: Annotated[int, typer.Option(help="Window stride in frames.")] = V.stride,
    steps: Annotated[int, typer.Option(help="Training steps per model.")] = V.steps,
    sbi_copies: Annotated[int, typer.Option(help="Self-blended fake copies per real clip (0 disables).")] = V.sbi_copies,
    cross_validate: Annotated[bool, typer.Option(help="Leave-one-group-out table of the four seed-000 models.")] = V.cross_validate,
    tune_frames: Annotated[bool, typer.Option(help="Tune the frame model's head on the clips' face crops (and the image sources in DATA), per fold.")] = V.tune_frames,
    seed: int = V.seed,
) -> None:
    """Train the DeepExplain video model (CNN features + windowed LSTM) on cached clip features (needs fakelens' torch extra)."""
    _need_torch("training")
    from fakelens.video.train import VideoTrainConfig, train_video as run_train_video

    if window < 1 or stride < 1 or steps < 1 or sbi_copies < 0:
        fail("--window, --stride and --steps must be >= 1, --sbi-copies >= 0", 2)
    cfg = VideoTrainConfig(data=[str(d) for d in data], out=str(out_dir), frame_model=str(frame_model) if frame_model else None,
                           sources=_split_list(sources), window=window, stride=stride, steps=steps,
                           sbi_copies=sbi_copies, cross_validate=cross_validate, tune_frames=tune_frames, seed=seed)
    try:
        report = run_train_video(cfg)
    except FakelensError as e:
        fail(str(e))
    out.print(f"{report['clips_with_faces']} of {report['clips']} clips had a face track; "
              f"{report['synthetic_fakes']} self-blended fakes added for training")
    if "cross_validation" in report:
        out.print((out_dir / "cv_table.md").read_text())
    out.print(f"model: {out_dir / 'video.safetensors'}")


@app.command()
def explain(
    paths: Annotated[list[Path], typer.Argument(help="Image or video files.", show_default=False, readable=False)],
    method: Annotated[Optional[str], typer.Option("--method", help="Method name(s), comma-separated, or all; default: gradcam,lime, or lime without torch.", show_default=False)] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Where maps (.npy) and overlays (.png) go.")] = Path("explanations"),
    whole_image: Annotated[bool, typer.Option("--whole-image", help="Each input is already a face crop.")] = False,
    target: Annotated[str, typer.Option(help="verdict (the predicted class), fake or real.")] = "verdict",
    fmt: Annotated[str, typer.Option("--format", help="table or json (JSON Lines per face and method).")] = "table",
    model: Annotated[Optional[Path], typer.Option(help="Checkpoint; default: the shipped model.")] = None,
    key_frames: Annotated[int, typer.Option(help="Videos: explain this many most suspicious frames per face track.")] = 3,
    video_model: Annotated[Optional[Path], typer.Option(help="Video model; default: the shipped one.")] = None,
    faithfulness_steps: Annotated[int, typer.Option(help="Deletion/insertion steps per map (0: skip the measurement).")] = 16,
    box: Annotated[Optional[str], typer.Option(help="drise: explain this box x0,y0,x1,y1 (e.g. a missed face) instead of the detections.")] = None,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
    frames: Annotated[int, typer.Option("--frames", help="Videos: frames sampled uniformly.")] = 32,
    every: Annotated[Optional[int], typer.Option("--every", help="Videos: every k-th frame instead.")] = None,
    fps: Annotated[Optional[float], typer.Option("--fps", help="Videos: frames per second instead.")] = None,
    time_budget: Annotated[float, typer.Option("--time-budget", help="Seconds per file for the analysis (0: no limit).")] = 300,
) -> None:
    """Explain every face: a map per method (.npy), an overlay beside the face (.png), a record per (face, method).

    Videos: image methods run on the most suspicious frames of each face track; shap-frames and
    shap-windows say how much each frame or window of the track moved the verdict (a bar chart PNG)."""
    from fakelens.explain.registry import explainer_class
    from fakelens.pipeline import Analyzer

    if fmt not in ("table", "json") or target not in ("verdict", "fake", "real"):
        fail("--format must be table or json; --target verdict, fake or real", 2)
    analyzer = Analyzer(_options(model, video_model, None, face_detector, whole_image, frames, every, fps, time_budget))
    if method is None:
        from fakelens.explain.run import default_methods

        method = ",".join(default_methods())
    methods = _methods(method)
    _writable_dir(out_dir, "--out")
    try:
        for m in methods:  # a method that needs torch says so in one line, before any work
            explainer_class(m).require()
        _ = analyzer.images
    except FakelensError as e:
        fail(str(e))
    failed = False
    table = Table(Column("path", overflow="fold"), "face", "method", "target", "seconds", Column("overlay", overflow="fold"),
                  title="fakelens explain")
    if key_frames < 1 or faithfulness_steps < 0:
        fail("--key-frames must be >= 1 and --faithfulness-steps >= 0", 2)
    drise_box = None
    if box is not None:
        try:
            drise_box = tuple(int(v) for v in box.split(","))
            assert len(drise_box) == 4 and drise_box[0] < drise_box[2] and drise_box[1] < drise_box[3]
        except (ValueError, AssertionError):
            fail(f"--box must be x0,y0,x1,y1 with x0 < x1 and y0 < y1, not {box!r}", 2)
    def records():
        for analysis in analyzer.analyze_many([str(p) for p in paths]):
            try:
                yield from analyzer.explain(analysis, methods, out_dir, target, key_frames, faithfulness_steps,
                                            drise_box, attach=False)
            except FakelensError as e:  # a model file that cannot load (e.g. gradient methods without torch)
                fail(str(e))

    for rec in records():
        failed |= rec.error is not None
        if fmt == "json":
            print(json.dumps(rec.to_dict()), flush=True)
        elif rec.method is None:
            table.add_row(shown(rec.path), "-", "-", "-", "-", shown(rec.error or rec.label or ""))
        else:
            table.add_row(shown(rec.path), str(rec.face), rec.method, rec.target, f"{rec.seconds:.3f}", shown(rec.overlay))
    if fmt == "table":
        out.print(table)
    raise typer.Exit(1 if failed else 0)


@app.command("audit-explainers")
def audit_explainers(
    data: Annotated[list[Path], typer.Argument(help="Labelled image dataset folders.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Where audit.md and audit.json go; an earlier audit there of the same weights and faces keeps its other methods' rows.")] = Path("audit"),
    faces: Annotated[int, typer.Option(help="Faces to audit, spread over sources and classes.")] = 100,
    method: Annotated[str, typer.Option("--method", help="Method name(s), comma-separated, or all.")] = "all",
    split: Annotated[str, typer.Option(help="val, test, train (the model's own group-aware split, as `fakelens train` drew it) or all.")] = "val",
    model: Annotated[Optional[Path], typer.Option(help="Checkpoint; default: the shipped model.")] = None,
    global_faces: Annotated[int, typer.Option(help="Faces for the global view: Grad-CAM averaged per class, aligned by landmarks (0: skip).")] = 40,
    seed: Annotated[Optional[int], typer.Option(help="Split seed; default: the model's training seed.")] = None,
    attack: Annotated[float, typer.Option(help="Also the region attack (Tsigos et al.) on each map's top fraction, e.g. 0.1 (0: skip).")] = 0.0,
    checks: Annotated[str, typer.Option(help="Checks beside faithfulness, comma-separated: robustness, sanity (each runs a method several more times per face), or none.")] = "robustness,sanity",
    gradcam_layers: Annotated[Optional[str], typer.Option("--gradcam-layers", help="Also Grad-CAM on these backbone blocks (e.g. 5,10,13; rows gradcam@5...): which layer is most faithful.")] = None,
) -> None:
    """Score every explanation method: deletion/insertion vs a random map, robustness to blur and
    affine transforms, the model-randomisation sanity check, and seconds per face; and a global
    view of where the model looks for fakes (average aligned Grad-CAM per class)."""
    _need_torch("audit-explainers")  # its sanity check randomises the torch model's weights
    from fakelens.detector import Detector
    from fakelens.explain.audit import audit, pick_faces, with_earlier_rows, write_report
    from fakelens.explain.registry import explainer_class
    from fakelens.explain.run import parse_methods
    from fakelens.metrics.audit_summary import format_groups, format_table

    extra = tuple(c for c in checks.split(",") if c and c != "none")
    if faces < 1 or split not in ("test", "val", "train", "all") or set(extra) - {"robustness", "sanity"}:
        fail("--faces must be >= 1, --split test, val, train or all, --checks robustness, sanity or none", 2)
    try:
        # The classifier's attributions only (capabilities declared on each method's class).
        methods = [m for m in parse_methods(method)
                   if explainer_class(m).explains == "classifier" and explainer_class(m).attribution]
        if not methods:
            raise ValueError(f"no attribution method of the classifier in {method!r}")
        methods += [f"gradcam@{int(b)}" for b in _split_list(gradcam_layers) or []]
        det = Detector.load(model)
        chosen = pick_faces(det, [str(d) for d in data], faces, split, seed)
    except ValueError as e:
        fail(str(e), 2)
    except FakelensError as e:
        fail(str(e))
    if not chosen:
        fail("no face found in the chosen samples")
    weights = (getattr(det, "meta", None) or {}).get("tensors_sha256")  # which weights: an earlier audit of them is kept
    rows = with_earlier_rows(audit(det, chosen, methods, attack=attack, checks=extra), chosen, out_dir, weights)
    path = write_report(rows, chosen, out_dir, weights)
    out.print(f"{len(chosen)} faces from {split} split; table in {path}")
    out.print(format_table(rows), highlight=False, soft_wrap=True)
    out.print(format_groups(rows), highlight=False, soft_wrap=True)
    if global_faces:
        from fakelens.explain.global_view import class_average_maps, save_global_view

        many = [(crop, lm, truth) for _, crop, truth, lm, *_ in pick_faces(det, [str(d) for d in data], global_faces,
                                                                              split, seed) if lm is not None]
        if many:
            averages = class_average_maps(det, many, "gradcam")
            pictures = save_global_view(averages, out_dir, "gradcam")
            counts = ", ".join(f"{k} {v['n']}" for k, v in averages.items())
            out.print(f"global view (Grad-CAM, {counts} faces): {', '.join(str(p) for p in pictures)}")


@app.command("audit-detector")
def audit_detector(
    data: Annotated[list[Path], typer.Argument(help="Labelled image dataset folders (one face per image).", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Where drise-mean.png, missed-faces.png and detector.json go.")] = Path("audit-detector"),
    images: Annotated[int, typer.Option(help="Images to run the detector on.")] = 200,
    drise_faces: Annotated[int, typer.Option(help="Detections to explain with D-RISE and average.")] = 20,
    masks: Annotated[int, typer.Option(help="D-RISE masks per detection.")] = 200,
    seed: int = 0,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
) -> None:
    """The face detector on a labelled set (seed 004): recall, the missed faces, and the average
    D-RISE map over many detections."""
    from fakelens.explain.detector_audit import audit_detector as run_audit, save_detector_audit
    from fakelens.faces import FaceDetector

    if images < 1 or drise_faces < 0 or masks < 1:
        fail("--images and --masks must be >= 1, --drise-faces >= 0", 2)
    _check_face_detector(face_detector)
    try:
        result = run_audit(FaceDetector(face_detector), [str(d) for d in data], images, drise_faces, masks, seed)
    except FakelensError as e:
        fail(str(e))
    paths = save_detector_audit(result, out_dir)
    out.print(f"{face_detector}: faces found in {result['found']} of {result['images']} images (recall {result['recall']:.3f}); "
              f"{len(result['missed'])} missed, {len(result['several_faces'])} with more than one detection; "
              f"D-RISE averaged over {result['drise_faces']} detections")
    out.print("written: " + ", ".join(str(p) for p in paths))


def _print_metrics(results: dict[str, dict], title: str) -> None:
    table = Table("model", "source", "n", "AUROC", "acc", "precision", "recall", "F1", "FPR", "TN FP FN TP", title=title)
    for name, report in results.items():
        for src, m in report.items():
            auroc = "-" if m["auroc"] is None else f"{m['auroc']:.4f}"
            table.add_row(Path(name).parent.name or name, src, str(m["n"]), auroc, f"{m['accuracy']:.4f}",
                          f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}", f"{m['false_positive_rate']:.4f}",
                          " ".join(str(v) for row in m["confusion"] for v in row))
    out.print(table)


@app.command()
def evaluate(
    data: Annotated[list[Path], typer.Argument(help="Dataset folders.", show_default=False)],
    model: Annotated[Optional[list[Path]], typer.Option(help="Checkpoint(s); repeat to compare backbones on one split.")] = None,
    sources: Annotated[Optional[str], typer.Option(help="Only these sources, comma-separated.")] = None,
    split: Annotated[str, typer.Option(help="test, val (the first model's own split, as its training drew it), all (cross-dataset), or a run's split.json.")] = "test",
    seed: Annotated[Optional[int], typer.Option(help="Split seed; default: the first model's training seed.")] = None,
    out_dir: Annotated[Optional[Path], typer.Option("--out", help="Write metrics JSON and ROC curves here.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    whole_image: Annotated[bool, typer.Option("--whole-image", help="Every picture is already a face crop (as analyze --whole-image).")] = False,
    face_detector: Annotated[str, typer.Option("--face-detector", help="blazeface (default) or hog (dlib, for comparison).")] = "blazeface",
) -> None:
    """Accuracy, precision, recall, F1, AUROC, confusion matrix and ROC curve, per source, scored as
    `fakelens analyze` scores each image (its most suspicious face; no face found counts as not flagged)."""
    from fakelens.detector import default_model_path
    from fakelens.train.evaluate import evaluate as run_eval

    _check_face_detector(face_detector)
    try:
        results = run_eval(model or [default_model_path()], [str(d) for d in data], _split_list(sources), split,
                           seed=seed, out=out_dir, progress=fmt == "table", face_detector=face_detector,
                           whole_image=whole_image)
    except FakelensError as e:
        fail(str(e))
    if fmt == "json":
        print(json.dumps(results, indent=2))
    else:
        _print_metrics(results, title=f"evaluation ({split})")


@data_app.command("summary")
def data_summary(
    data: Annotated[list[Path], typer.Argument(help="Dataset folders.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the PNGs go.")] = Path("data-summary"),
    split: str = "4:1:1",
    seed: int = 0,
) -> None:
    """Counts per source, class and split; a split bar chart and a grid of sample faces per class."""
    from fakelens.data import read_datasets
    from fakelens.data.summary import plot_split, sample_grid, summarize

    try:
        ratios = tuple(int(v) for v in split.split(":"))
    except ValueError:
        ratios = ()
    if len(ratios) != 3 or min(ratios) < 1:
        fail(f"--split must be three whole numbers >= 1 like 4:1:1, not {split!r}", 2)
    try:
        samples = read_datasets([str(d) for d in data])
        summary = summarize(samples, ratios, seed)
    except FakelensError as e:
        fail(str(e))
    table = Table("source", "class", "train", "val", "test", "total", "groups", title="data summary")
    for r in summary["rows"]:
        table.add_row(r["source"], r["label"], *(str(r[k]) for k in ("train", "val", "test", "total", "groups")))
    out.print(table)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot_split(summary["rows"], out_dir / "split.png")
    sample_grid(samples, out_dir / "samples.png", seed=seed)
    out.print(f"wrote {out_dir / 'split.png'} and {out_dir / 'samples.png'}")


@app.command()
def export(
    checkpoints: Annotated[list[Path], typer.Argument(help="Image or video checkpoints (.safetensors).", show_default=False)],
) -> None:
    """Write the ONNX graph that analysis runs (CHECKPOINT.onnx) beside each checkpoint (needs fakelens' torch extra).
    Training writes it already; this is for checkpoints made otherwise."""
    _need_torch("exporting a checkpoint")
    from fakelens.models.export import export as run_export

    for path in checkpoints:
        try:
            out.print(f"wrote {run_export(path)}")
        except FakelensError as e:
            fail(str(e))


@app.command("models")
def models_cmd() -> None:
    """List the registered backbones."""
    from fakelens.models import list_models

    for name in list_models():
        print(name)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
