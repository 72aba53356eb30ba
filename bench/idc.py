"""Train from random initialisation on the IDC breast patches and score the held-out patients.

Scans ../shared/data/idc (7,956 50x50 patches of 223 patients, class 0 = non-IDC,
1 = IDC) with the pattern layout, splits it by patient (70/15/15, seeded), and trains
ResNet50 with the product's own `core.train.train` -- no ImageNet weights, every layer
trainable, BatchNorm learning its statistics, class-weighted loss, flips and contrast as
augmentation, Adam with a cosine schedule and early stopping on validation loss. Prints
balanced accuracy on the test patients (published patient-split results on IDC are
about 0.84-0.85) and the wall time of the whole job (scan, split, decode, train, evaluate).

    .venv/bin/python bench/idc.py [--size 48] [--epochs 8] [--batch 64] [--out RUN_DIR]
        [--images N]   # at most N images per class, for quick trials

With --out the run folder (bundle included) is kept; otherwise it is deleted. If the
wall-time budget (--budget-min, default 28) runs out first, training stops within a batch
(the product's cancel) and the best epoch so far (best.keras) is scored instead; the
output says so.
Last line: {"balanced_accuracy": ..., "wall_s": ...} (plus a few more figures).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from common import IDC, IDC_PATTERN  # noqa: E402 - also puts the repo on sys.path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", type=Path, default=IDC)
    p.add_argument("--size", type=int, default=48, help="network input size in pixels (default 48)")
    p.add_argument("--epochs", type=int, default=8, help="epochs at most (early stopping may end sooner)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay)")
    p.add_argument("--patience", type=int, default=3, help="early-stopping patience in epochs")
    p.add_argument("--images", type=int, default=None, help="at most this many images per class (quick trials)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", type=Path, default=None, help="keep the run folder here (bundle included)")
    p.add_argument("--budget-min", type=float, default=28.0,
                   help="stop training after this many minutes of wall time and score the best epoch so far")
    return p.parse_args(argv)


def bench_config(args):
    from core.config import Augmentation, EarlyStopping, Regularization, Stage, TrainConfig

    return TrainConfig(
        input_size=args.size, batch_size=args.batch, seed=args.seed, weights="none",
        # Patches have no orientation: flips are free; a little contrast for stain variation.
        augmentation=Augmentation(flip="horizontal_and_vertical", rotation=0.0, contrast=0.1),
        # A light L2: with 23M weights a stronger one dominates the (early-stopping) loss.
        regularization=Regularization(kernel_l2=1e-5, bias_l2=0.0, dropout=0.3),
        class_weights=True,
        early_stopping=EarlyStopping(enabled=True, monitor="val_loss", patience=args.patience),
        # From random initialisation BatchNorm must learn its statistics: nothing to keep frozen.
        keep_batchnorm_frozen=False,
        stages=(Stage("scratch", args.epochs, args.lr, trainable="all", schedule="cosine"),),
    )


def make_manifest(args):
    from core.scan import scan
    from core.split import SplitOptions, make_split, summarize

    catalog = scan(args.root, layout="pattern", pattern=IDC_PATTERN)
    manifest = make_split(catalog, SplitOptions(by="patient", val=0.15, test=0.15, seed=args.seed,
                                                cap_per_class=args.images))
    for name, split in summarize(manifest)["splits"].items():
        print(f"{name}: {split['images_total']} images of {split['patients_total']} patients "
              f"{split['images']}", flush=True)
    return manifest


def progress(began: float):
    def show(event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            print(f"[{time.perf_counter() - began:6.0f} s] start on {event['device']}: "
                  f"{'; '.join(event['warnings'][:1])}", flush=True)
        elif kind == "epoch":
            m = event["metrics"]
            print(f"[{time.perf_counter() - began:6.0f} s] epoch {event['global_epoch']}: loss {m['loss']:.4f} "
                  f"acc {m['accuracy']:.3f} val_loss {m['val_loss']:.4f} val_acc {m['val_accuracy']:.3f}", flush=True)
        elif kind == "decode" and event["done"] == event["total"]:
            print(f"[{time.perf_counter() - began:6.0f} s] {event['total']} images ready", flush=True)
    return show


class Budget:
    """A stop flag (core.jobs.StopFlag) that is set once the wall-time budget is spent."""

    def __init__(self, began: float, minutes: float):
        self.deadline = began + minutes * 60

    def is_set(self) -> bool:
        return time.perf_counter() > self.deadline


def score_best_epoch(manifest, run_dir: Path, size: int) -> dict:
    """Test scores of best.keras when the budget stopped training before the end."""
    import keras

    from core import pipeline
    from core.evaluate import compute_metrics

    model = keras.saving.load_model(run_dir / "best.keras", compile=False)
    test = manifest.split_samples("test")
    images = pipeline.decoded_images(manifest, size)[pipeline.rows_of(manifest, test)]
    probs = model.predict(images, batch_size=128, verbose=0)
    return compute_metrics([s.label for s in test], probs, manifest.classes, patients=[s.patient for s in test])


def main(argv=None) -> dict:
    args = parse_args(argv)
    began = time.perf_counter()
    from core.train import train

    manifest = make_manifest(args)
    run_dir = args.out or Path(tempfile.mkdtemp(prefix="histoclass-idc-")) / "run"
    try:
        result = train(bench_config(args), manifest, run_dir, on_progress=progress(began),
                       stop=Budget(began, args.budget_min))
        ev = result.evaluation
        if result.status == "cancelled":
            print(f"Time budget of {args.budget_min} min spent after {len(result.history)} epochs: "
                  "scoring the best epoch so far (best.keras).")
            ev = score_best_epoch(manifest, run_dir, args.size)
    finally:
        if args.out is None:
            shutil.rmtree(run_dir.parent, ignore_errors=True)
    wall = time.perf_counter() - began
    print(result.message)
    print(f"test patients: {ev['patients']}, images: {ev['images']}; balanced accuracy {ev['balanced_accuracy']:.4f}, "
          f"patient accuracy {ev['patient_accuracy']:.4f}, wall time {wall / 60:.1f} min"
          + (f"; run folder kept in {run_dir}" if args.out else ""))
    figures = {"balanced_accuracy": round(ev["balanced_accuracy"], 4), "wall_s": round(wall, 1),
               "accuracy": round(ev["accuracy"], 4), "patient_accuracy": round(ev["patient_accuracy"], 4),
               "macro_f1": round(ev["macro_f1"], 4), "epochs": len(result.history), "input_size": args.size}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
