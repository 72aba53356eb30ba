"""`histoclass train` and `histoclass evaluate`.

With --json, `train` prints one JSON object per line (the progress events of core.train)
and ends with `{"event": "finished", "bundle": ..., "evaluation": {...}}`, or
`{"event": "cancelled", ...}` / `{"event": "failed", "message": ...}`. Ctrl-C (or SIGTERM)
stops after the current batch and keeps a checkpoint; `--resume` continues from it.
A second Ctrl-C quits at once; the last finished epoch's checkpoint is still there.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

from core import RESEARCH_NOTICE
from core.errors import ConfigError, HistoClassError
from core.evaluate import SCORE_KEYS

BATCH_EVENTS_PER_S = 4  # --json: batch events are thinned to this rate (epoch ends always print)


DATA_ROOT_HELP = ("the images' folder, when it is no longer where the manifest says (moved, "
                  "another disk, or a GPU server with a copy of the dataset)")


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a model on a manifest (resumable)",
        description="Fine-tune ResNet50 stage by stage on a manifest from `histoclass split`, evaluate "
                    f"it on the test split and save a model bundle in the run folder. {RESEARCH_NOTICE}")
    train.add_argument("--manifest", type=Path, help="manifest JSON (with --resume: defaults to the run folder's copy)")
    train.add_argument("--config", type=Path, help="training configuration JSON (see `histoclass config --default`; "
                                                   "with --resume: defaults to the run folder's copy)")
    train.add_argument("--out", type=Path, required=True, metavar="RUN_DIR", help="run folder to create or resume")
    train.add_argument("--resume", action="store_true", help="continue the run in RUN_DIR where it stopped")
    train.add_argument("--data-root", type=Path, metavar="DIR", help=DATA_ROOT_HELP)
    train.add_argument("--json", action="store_true", help="print JSON lines instead of text")
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="score a model bundle on a manifest split",
        description=f"Evaluate a .hcmodel bundle on one split of a manifest. {RESEARCH_NOTICE}")
    evaluate.add_argument("bundle", type=Path, help="model bundle (.hcmodel)")
    evaluate.add_argument("--manifest", type=Path, required=True, help="manifest JSON")
    evaluate.add_argument("--split", default="test", choices=("train", "val", "test", "all"),
                          help="which images to score (default: test)")
    evaluate.add_argument("--data-root", type=Path, metavar="DIR", help=DATA_ROOT_HELP)
    evaluate.add_argument("--json", action="store_true", help="print the scores as one JSON object")
    evaluate.set_defaults(func=run_evaluate)


# --- train ------------------------------------------------------------------------------


def _inputs(args) -> tuple[Any, Any]:
    from core.config import MIN_NETWORK_INPUT_SIZE, load_config
    from core.manifest import load_manifest

    out = args.out
    if not args.resume and (args.manifest is None or args.config is None):
        raise ConfigError("train needs --manifest and --config (or --resume with the --out folder of an earlier run)")
    manifest_path = args.manifest or out / "manifest.json"
    config_path = args.config or out / "config.json"
    if args.resume and not (out / "config.json").is_file():
        raise ConfigError(f"{out} holds no training run to resume (no config.json)")
    # A run folder's own copy was checked when the run started; it may use a test size.
    config = load_config(config_path, **({"min_input_size": MIN_NETWORK_INPUT_SIZE} if args.config is None else {}))
    return config, load_manifest(manifest_path, root=args.data_root)


class _Printer:
    """Turns progress events into JSON lines or short text lines."""

    def __init__(self, as_json: bool):
        self.as_json = as_json
        self.last_batch = 0.0

    def __call__(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "batch":
            now = time.monotonic()
            if event["batch"] != event["batches"] and now - self.last_batch < 1 / BATCH_EVENTS_PER_S:
                return
            self.last_batch = now
        if self.as_json:
            print(json.dumps(event, default=str), flush=True)
        else:
            self._text(kind, event)

    def _text(self, kind: str, e: dict) -> None:
        if kind == "batch":
            if sys.stdout.isatty():  # one line that updates itself; nothing in a log file
                loss = e["metrics"].get("loss")
                print(f"\r  epoch {e['epoch']}: batch {e['batch']}/{e['batches']}"
                      + (f", loss {loss:.4f}" if loss is not None else "") + _eta(e.get("eta_s")) + "   ",
                      end="\n" if e["batch"] == e["batches"] else "", flush=True)
        elif kind == "start":
            for warning in e["warnings"]:
                print(f"Warning: {warning}")
            print(f"Training {e['train_images']} images ({e['val_images']} validation, {e['test_images']} test) "
                  f"on {e['device']}; stages: {', '.join(e['stages'])}; weights: {e['weights_source']}.", flush=True)
        elif kind == "stage":
            print(f"Stage {e['stage']} ({e['trainable']} trainable, learning rate {e['learning_rate']:g}), "
                  f"from epoch {e['start_epoch']} of {e['epochs']}", flush=True)
        elif kind == "epoch":
            m = e["metrics"]
            val = "" if m.get("val_loss") is None else f" val_loss {m['val_loss']:.4f} val_accuracy {m['val_accuracy']:.3f}"
            print(f"  epoch {e['epoch']} ({e['global_epoch']} in all): loss {m['loss']:.4f} accuracy {m['accuracy']:.3f}"
                  f"{val}{_eta(e.get('eta_s'))}", flush=True)
        elif kind == "decode" and e["done"] == e["total"]:
            print(f"Images ready: {e['total']} ({'from the cache' if e['cached'] else 'decoded'}).", flush=True)


def _eta(seconds) -> str:
    return "" if seconds is None else f", about {int(seconds // 60)} min {int(seconds % 60)} s left"


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, quiet: bool):
    """First Ctrl-C/SIGTERM: stop after this batch (checkpoint kept). Second Ctrl-C: quit now."""

    def handle(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        if not quiet:
            print("\nStopping after this batch; a checkpoint will be kept (Ctrl-C again to quit at once).",
                  file=sys.stderr, flush=True)

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_train(args: argparse.Namespace) -> int:
    printer = _Printer(args.json)
    stop = threading.Event()
    try:
        config, manifest = _inputs(args)
        from core.train import train

        with _stop_on_signals(stop, quiet=args.json):
            result = train(config, manifest, args.out, on_progress=printer, stop=stop, resume=args.resume)
    except KeyboardInterrupt:
        return _end(args, "cancelled", 130, message="Interrupted; the checkpoint of the last finished epoch is kept. "
                    f"Resume with: histoclass train --out {args.out} --resume", run_dir=str(args.out))
    except HistoClassError as exc:
        if not args.json:
            raise
        return _end(args, "failed", 2, message=str(exc))
    except Exception as exc:  # a bug or a TensorFlow failure: say so on the last line too
        traceback.print_exc(file=sys.stderr)
        return _end(args, "failed", 1, message=f"Training failed unexpectedly: {type(exc).__name__}: {exc}")
    if result.status == "cancelled":
        return _end(args, "cancelled", 130, message=result.message, run_dir=str(result.run_dir))
    evaluation = {k: v for k, v in (result.evaluation or {}).items() if k != "predictions"}
    return _end(args, "finished", 0, bundle=str(result.bundle_path), run_dir=str(result.run_dir),
                evaluation=evaluation, message=result.message)


def _end(args, status: str, code: int, **fields) -> int:
    if args.json:
        print(json.dumps({"event": status, **fields}, default=str), flush=True)
        return code
    stream = sys.stdout if status == "finished" else sys.stderr
    print(fields.get("message", status), file=stream)
    if fields.get("bundle"):
        print(f"Model bundle: {fields['bundle']}")
    return code


# --- evaluate ---------------------------------------------------------------------------


def run_evaluate(args: argparse.Namespace) -> int:
    from core.bundle import load_bundle
    from core.evaluate import evaluate_bundle
    from core.manifest import load_manifest

    bundle = load_bundle(args.bundle)
    manifest = load_manifest(args.manifest, root=args.data_root)
    metrics = evaluate_bundle(bundle, manifest, args.split)
    if args.json:
        print(json.dumps(metrics, default=str))
    else:
        print("\n".join(format_evaluation(metrics, bundle.name)))
    return 0


def format_evaluation(m: dict, name: str = "model") -> list[str]:
    """Text report; its first lines are the warnings (an image-level split comes first)."""
    lines = [f"Warning: {w}" for w in m["warnings"]]
    lines.append(f"{name} on the {m.get('split', 'test')} split: {m['images']} images"
                 + (f", {m['patients']} patients" if m.get("patients") else ""))
    for key in (*SCORE_KEYS, "benign_malignant_accuracy", "ece"):
        if isinstance(m.get(key), (int, float)):
            lines.append(f"  {key.replace('_', ' '):<26}{m[key]:.3f}")
    lines.append(f"  {'class':<24}{'precision':>10}{'recall':>8}{'f1':>8}{'images':>8}")
    for cls, s in m["per_class"].items():
        lines.append(f"  {cls:<24}{s['precision']:>10.3f}{s['recall']:>8.3f}{s['f1']:>8.3f}{s['support']:>8d}")
    for mag, s in (m.get("by_magnification") or {}).items():
        lines.append(f"  at {mag}: accuracy {s['accuracy']:.3f} ({s['images']} images)")
    lines.append("  confusion matrix (rows = true class, columns = predicted, in the order above):")
    lines.extend("    " + " ".join(f"{v:>6d}" for v in row) for row in m["confusion_matrix"])
    lines.append(RESEARCH_NOTICE)
    return lines
