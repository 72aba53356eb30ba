"""`histoclass scan PATH` and `histoclass split PATH -o manifest.json`."""
from __future__ import annotations

import argparse
import json
import sys
import time

from core import RESEARCH_NOTICE
from core.layouts import LAYOUTS
from core.scan import NO_MAGNIFICATION

_SKIPPED_SHOWN = 20


def register(subparsers) -> None:
    scan_p = subparsers.add_parser(
        "scan", help="check a folder of images and count classes, patients, magnifications",
        description="Check every image in a folder (bad files are listed, never fatal) and "
                    "print what a split would work with.",
    )
    _layout_arguments(scan_p)
    scan_p.add_argument("--json", action="store_true", help="print one JSON object")
    scan_p.set_defaults(func=run_scan)

    split_p = subparsers.add_parser(
        "split", help="split a folder by patient into train/val/test and write a manifest",
        description="Scan a folder, then split it into train/validation/test (or K folds) "
                    "so that no patient is on two sides, and write the manifest JSON.",
    )
    _layout_arguments(split_p)
    split_p.add_argument("-o", "--output", required=True, metavar="MANIFEST",
                         help="manifest file to write (e.g. manifest.json)")
    split_p.add_argument("--by", choices=("patient", "image"), default="patient",
                         help="unit kept together (default patient; image gives optimistic scores)")
    split_p.add_argument("--val", type=float, default=0.15, metavar="F",
                         help="fraction of patients (images with --by image) for validation; "
                              "with --folds, of the patients outside the test fold (default 0.15)")
    split_p.add_argument("--test", type=float, default=0.15, metavar="F",
                         help="fraction for the test set (default 0.15; ignored with --folds)")
    split_p.add_argument("--folds", type=int, metavar="K", help="patient-grouped stratified K-fold")
    split_p.add_argument("--fold", type=int, metavar="I",
                         help="which fold (0 to K-1) is the test set (default 0)")
    split_p.add_argument("--cap-per-class", type=int, metavar="N",
                         help="keep at most N training images per class (spread across patients)")
    split_p.add_argument("--magnifications", metavar="LIST",
                         help="only these magnifications, e.g. 40,100 (BreakHis)")
    split_p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    split_p.add_argument("--json", action="store_true", help="print one JSON object")
    split_p.set_defaults(func=run_split)


def _layout_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH", help="folder that holds the images")
    parser.add_argument("--layout", choices=LAYOUTS, default="auto",
                        help="how labels are read: BreakHis file names, one folder per class, "
                             "or a --pattern (default: auto-detect)")
    parser.add_argument("--pattern", metavar="REGEX",
                        help=r"regular expression over the path relative to PATH with named "
                             r"groups label (required), patient, magnification, e.g. "
                             r"'(?P<patient>\d+)/(?P<label>[01])/.*\.png'")


def _scan(args):
    from core.scan import scan

    layout = "pattern" if args.pattern and args.layout == "auto" else args.layout
    progress = _TerminalProgress() if sys.stderr.isatty() and not args.json else None
    try:
        return scan(args.path, layout=layout, pattern=args.pattern, on_progress=progress)
    finally:
        if progress is not None:
            progress.close()


def run_scan(args) -> int:
    started = time.perf_counter()
    catalog = _scan(args)
    summary = catalog.summary()
    summary["seconds"] = round(time.perf_counter() - started, 3)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_scan(catalog, summary))
    return 0


def run_split(args) -> int:
    from core.manifest import save_manifest
    from core.split import SplitOptions, make_split, summarize

    options = SplitOptions(
        by=args.by, val=args.val, test=args.test, folds=args.folds, fold=args.fold,
        cap_per_class=args.cap_per_class,
        magnifications=tuple(args.magnifications.split(",")) if args.magnifications else None,
        seed=args.seed,
    )
    catalog = _scan(args)
    manifest = make_split(catalog, options)
    save_manifest(manifest, args.output)
    summary = summarize(manifest)
    summary["manifest"] = str(args.output)
    summary["skipped"] = len(catalog.skipped)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_split(summary, args.output, len(catalog.skipped)))
    return 0


def format_scan(catalog, summary: dict) -> str:
    table = catalog.table()
    mags = [m for m in (next(iter(table.values())) if table else {}) if m != NO_MAGNIFICATION]
    patients = summary["patients"]
    header = ["class", *mags, "images", "patients"]
    rows = [[c, *(str(counts[m]) for m in mags), str(sum(counts.values())), _n(patients[c])]
            for c, counts in table.items()]
    totals = [sum(table[c][m] for c in table) for m in mags]
    rows.append(["total", *map(str, totals), str(summary["images"]), _n(summary["patients_total"])])
    lines = [
        f"{summary['root']}  (layout: {summary['layout']})",
        f"{summary['images']} images, {len(table)} classes, "
        f"{_n(summary['patients_total'], 'unknown')} patients; {len(catalog.skipped)} files skipped"
        f" ({summary['seconds']:.1f} s)",
        "",
        *_grid(header, rows),
    ]
    if catalog.skipped:
        lines += ["", "Skipped (path: reason):"]
        lines += [f"  {s.path}: {s.reason}" for s in catalog.skipped[:_SKIPPED_SHOWN]]
        if len(catalog.skipped) > _SKIPPED_SHOWN:
            lines.append(f"  ... and {len(catalog.skipped) - _SKIPPED_SHOWN} more (--json lists all)")
    if summary["patients_total"] is None:
        lines += ["", "No patient ids in this layout: split it with --by image, or use --layout "
                      "pattern with a (?P<patient>...) group to split by patient."]
    return "\n".join(lines)


def format_split(summary: dict, output, skipped: int) -> str:
    splits = summary["splits"]
    names = [n for n in splits if splits[n]["images_total"] or n != "unused"]
    header = ["class", *[f"{n}: images (patients)" for n in names]]
    rows = [[c, *[_cell(splits[n], c) for n in names]] for c in summary["classes"]]
    rows.append(["total", *[f"{splits[n]['images_total']} ({_n(splits[n]['patients_total'])})"
                            for n in names]])
    by = "image (optimistic scores)" if summary["image_level"] else "patient"
    mode = (f"{summary['folds']} folds, fold {summary['fold']} is the test set"
            if summary["folds"] else "train / val / test")
    lines = [f"Wrote {output}: split by {by}, {mode}, seed {summary['seed']}, "
             f"hash {summary['hash'][:12]}", ""]
    lines += _grid(header, rows)
    if "unused" in splits:
        lines.append("unused = over --cap-per-class, left out of training")
    if skipped:
        lines.append(f"{skipped} files were skipped by the scan (see `histoclass scan`).")
    lines += [f"Warning: {w}" for w in summary["warnings"]]
    lines += ["", RESEARCH_NOTICE]
    return "\n".join(lines)


def _cell(split: dict, c: str) -> str:
    return f"{split['images'][c]} ({_n(split['patients'][c])})"


def _n(value, missing: str = "-") -> str:
    return missing if value is None else str(value)


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    fmt = lambda r: "  ".join(  # noqa: E731
        (v.ljust(w) if i == 0 else v.rjust(w)) for i, (v, w) in enumerate(zip(r, widths)))
    return [fmt(header), *(fmt(r) for r in rows)]


class _TerminalProgress:
    """One self-overwriting line on stderr, at most ten updates a second."""

    def __init__(self) -> None:
        self._last = 0.0
        self._shown = False

    def __call__(self, event: dict) -> None:
        now = time.monotonic()
        if now - self._last < 0.1 and event.get("done") != event.get("total"):
            return
        self._last = now
        self._shown = True
        print(f"\rchecked {event.get('done', 0)}/{event.get('total', 0)} files",
              end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._shown:
            print(file=sys.stderr)
