"""`histoclass config`, `histoclass weights` and `histoclass predict`."""
from __future__ import annotations

import argparse
import json
import sys

from core import RESEARCH_NOTICE
from core.errors import HistoClassError


def register(subparsers) -> None:
    config_p = subparsers.add_parser(
        "config", help="print the default training configuration, or check one",
        description="Print the default training configuration as JSON (save it, edit it, "
                    "pass it to `histoclass train --config`), or check a configuration file.",
    )
    group = config_p.add_mutually_exclusive_group()
    group.add_argument("--default", action="store_true", help="print the default configuration (the default action)")
    group.add_argument("--check", metavar="FILE", help="check a configuration file and print it in full")
    config_p.set_defaults(func=run_config)

    weights_p = subparsers.add_parser(
        "weights", help="show, import or download the pretrained ResNet50 weights",
        description="Show where the ImageNet ResNet50 (no top) weights are looked for and "
                    "which file is used. --import copies a checked file into your data "
                    "folder; --download fetches the official file (needs internet).",
    )
    action = weights_p.add_mutually_exclusive_group()
    action.add_argument("--import", dest="import_file", metavar="FILE",
                        help="check FILE is ResNet50 no-top weights and copy it into your data folder")
    action.add_argument("--download", action="store_true", help="download the official file with Keras")
    weights_p.add_argument("--json", action="store_true", help="print one JSON object")
    weights_p.set_defaults(func=run_weights)

    predict_p = subparsers.add_parser(
        "predict", help="classify images or folders with a model bundle",
        description="Classify image files and folders (walked recursively) with a .hcmodel "
                    "bundle. Unreadable files are reported, not fatal. " + RESEARCH_NOTICE,
    )
    predict_p.add_argument("bundle", metavar="BUNDLE", help="the model file (.hcmodel)")
    predict_p.add_argument("paths", metavar="PATH", nargs="+", help="image files or folders")
    predict_p.add_argument("--csv", metavar="FILE", help="also write the results as CSV")
    predict_p.add_argument("--json", action="store_true", help="print a JSON list of results")
    predict_p.add_argument("--batch-size", type=int, default=32, help="images per batch (default 32)")
    predict_p.add_argument("--no-recursive", action="store_true", help="do not walk sub-folders")
    predict_p.set_defaults(func=run_predict)


def run_config(args: argparse.Namespace) -> int:
    from core.config import config_to_dict, default_config, load_config

    config = load_config(args.check) if args.check else default_config()
    print(json.dumps(config_to_dict(config), indent=2))
    if args.check:
        print(f"{args.check}: configuration is valid", file=sys.stderr)
    return 0


def run_weights(args: argparse.Namespace) -> int:
    from core.weights import download_weights, import_weights, resolve_weights

    done = None
    if args.import_file:
        done = f"Checked and imported {args.import_file} -> {import_weights(args.import_file)}"
    elif args.download:
        done = f"Downloaded and verified -> {download_weights()}"
    resolution = resolve_weights("imagenet")
    if args.json:
        print(json.dumps({
            "path": str(resolution.path) if resolution.path else None,
            "source": resolution.source,
            "searched": [{"path": str(p), "found": found} for p, found in resolution.searched],
            "message": resolution.message,
        }, indent=2))
        return 0
    if done:
        print(done)
    print("Looked for the ImageNet ResNet50 weights in this order:")
    for path, found in resolution.searched:
        print(f"  [{'found' if found else 'missing'}] {path}")
    print(resolution.message)
    return 0


def _print_row(row: dict) -> None:
    if "error" in row:
        print(f"UNREADABLE  {row['path']}: {row['error']}")
    else:
        print(f"{row['label']:<24} {row['probability']:7.1%}  {row['path']}")


def run_predict(args: argparse.Namespace) -> int:
    from core.bundle import load_bundle
    from core.predict import predict_paths, write_csv

    if args.batch_size < 1:
        raise HistoClassError("--batch-size must be at least 1")
    bundle = load_bundle(args.bundle)
    rows = []
    for row in predict_paths(bundle, args.paths, batch_size=args.batch_size,
                             recursive=not args.no_recursive):
        rows.append(row)
        if not args.json:
            _print_row(row)
    if not rows:
        raise HistoClassError(f"no images found in {', '.join(args.paths)}")
    if args.csv:
        write_csv(rows, args.csv, bundle)
    unreadable = sum("error" in r for r in rows)
    if args.json:
        print(json.dumps(rows, indent=2))
        print(RESEARCH_NOTICE, file=sys.stderr)
    else:
        print(f"{len(rows) - unreadable} images classified with {bundle.name}, {unreadable} unreadable"
              + (f"; CSV written to {args.csv}" if args.csv else ""))
        print(RESEARCH_NOTICE)
    return 0
