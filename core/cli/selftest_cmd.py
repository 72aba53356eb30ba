"""`histoclass selftest`: prove that this installation works, offline, in under a minute.

One line per check, then a summary; the exit code is 1 when any check failed. The same
checks run in the source tree and in the installed app, where they show that the bundle
holds what the app needs: TensorFlow and Keras, a ResNet50 that builds and trains, model
bundles that save and load, Pillow's PNG, JPEG and TIFF decoders, and Qt with its
platform plugins (checked in a child process, so this command never imports Qt).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import queue
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core import RESEARCH_NOTICE, __version__

# histoclass/__main__.py reads it from here.
GUI_SELFTEST_FLAG = "--gui-selftest"
QT_TIMEOUT_S = 60
PROCESS_TIMEOUT_S = 30
TINY_INPUT = 32  # the smallest input ResNet50 takes: the check is about working, not accuracy
IMAGE_SHAPE = (48, 64)


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


class Scratch:
    """What the checks share: a temporary folder and the small model, built once."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.model = None


def check_tensorflow(_scratch: Scratch) -> str:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    product = tf.linalg.matmul(tf.constant([[1.0, 2.0]]), tf.constant([[3.0], [4.0]]))
    if float(product[0, 0]) != 11.0:
        raise RuntimeError(f"TensorFlow computed 1*3 + 2*4 = {float(product[0, 0])}")
    gpus = len(tf.config.list_physical_devices("GPU"))
    devices = f"{gpus} GPU(s)" if gpus else "CPU only"
    return f"TensorFlow {tf.__version__}, Keras {keras.__version__} ({keras.backend.backend()}), {devices}"


def check_weights(_scratch: Scratch) -> str:
    from core.weights import check_weights_file, resolve_weights

    resolution = resolve_weights("imagenet")
    if resolution.path is not None:
        check_weights_file(resolution.path)  # a damaged file fails here, not mid-training
        return f"{resolution.source}: {resolution.path} (checked)"
    looked = ", ".join(str(path.parent) for path, _found in resolution.searched)
    return f"none found (looked in {looked}); training would start from random weights"


def _tiny_model(scratch: Scratch):
    if scratch.model is None:
        from core.config import TrainConfig
        from core.model import build_model

        config = TrainConfig(input_size=TINY_INPUT, weights="none", batch_size=4)
        scratch.model = build_model(2, config)
    return scratch.model


def _sample_batch(n: int = 4):
    import numpy as np

    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, size=(n, 40, 40, 3), dtype=np.uint8)
    return images, np.arange(n) % 2


def check_model(scratch: Scratch) -> str:
    import keras
    import numpy as np

    model = _tiny_model(scratch)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    head = model.get_layer("logits")
    before = head.get_weights()[0].copy()
    images, labels = _sample_batch()
    loss = float(np.asarray(model.train_on_batch(images, labels)).ravel()[0])
    if not np.isfinite(loss):
        raise RuntimeError(f"the training step gave a non-finite loss ({loss})")
    if np.array_equal(before, head.get_weights()[0]):
        raise RuntimeError("the training step changed no weight")
    return (f"ResNet50 ({model.count_params():,} parameters, input {TINY_INPUT} px) built; "
            f"one training step, loss {loss:.3f}")


def check_bundle(scratch: Scratch) -> str:
    import numpy as np

    from core.bundle import load_bundle, save_bundle

    model = _tiny_model(scratch)
    images, _labels = _sample_batch()
    expected = model.predict(images, verbose=0)
    path = scratch.folder / "selftest.hcmodel"
    card = {"classes": ["class_a", "class_b"], "groups": {"class_a": None, "class_b": None},
            "input_size": TINY_INPUT, "weights_source": "none", "metrics": {},
            "notice": RESEARCH_NOTICE}
    save_bundle(model, card, path)
    bundle = load_bundle(path)
    got = np.asarray(bundle.predict(images))
    if got.shape != expected.shape:
        raise RuntimeError(f"the reloaded bundle predicts shape {got.shape}, expected {expected.shape}")
    difference = float(np.max(np.abs(got - expected)))
    if difference > 1e-5:
        raise RuntimeError(f"the reloaded bundle predicts differently (largest difference {difference:.2e})")
    size_mb = path.stat().st_size / 1e6
    return f"saved ({size_mb:.0f} MB) and reloaded; predictions identical (largest difference {difference:.1e})"


def _gradient(height: int, width: int):
    import numpy as np

    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) % 256], -1).astype(np.uint8)


def check_images(scratch: Scratch) -> str:
    import numpy as np
    from PIL import Image

    from core.images import load_rgb

    pixels = _gradient(*IMAGE_SHAPE)
    # (format, save options, largest pixel error allowed): JPEG is lossy.
    formats = [("png", {}, 0), ("jpeg", {"quality": 95}, 24), ("tiff", {"compression": "tiff_lzw"}, 0)]
    for name, options, tolerance in formats:
        path = scratch.folder / f"selftest.{name}"
        Image.fromarray(pixels).save(path, **options)
        decoded = load_rgb(path)
        if decoded.shape != pixels.shape:
            raise RuntimeError(f"{name.upper()} decoded to shape {decoded.shape}, expected {pixels.shape}")
        error = int(np.max(np.abs(decoded.astype(int) - pixels)))
        if error > tolerance:
            raise RuntimeError(f"{name.upper()} decoded with pixel error {error} (allowed {tolerance})")
    import PIL

    return f"Pillow {PIL.__version__} decoded PNG, JPEG and TIFF (LZW)"


def _child_answer(answers) -> None:
    """Runs in the spawned child: say who it is."""
    answers.put(os.getpid())


def _await_answer(child, answers) -> int:
    deadline = time.monotonic() + PROCESS_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            return answers.get(timeout=0.2)
        except queue.Empty:
            if not child.is_alive():
                try:  # its answer may have arrived just as it ended
                    return answers.get(timeout=1.0)
                except queue.Empty:
                    raise RuntimeError(f"the child process ended without answering "
                                       f"(exit code {child.exitcode})") from None
    raise RuntimeError(f"the child process did not answer within {PROCESS_TIMEOUT_S} s")


def check_process(_scratch: Scratch) -> str:
    """Start a child the way the training window does (multiprocessing, "spawn")."""
    context = multiprocessing.get_context("spawn")
    answers = context.Queue()
    child = context.Process(target=_child_answer, args=(answers,), daemon=True)
    child.start()
    try:
        pid = _await_answer(child, answers)
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.terminate()
    return f"spawned child process {pid} answered"


def gui_selftest_command() -> list[str]:
    """The same app again, with the hidden flag: the frozen executable or `python -m histoclass`."""
    if getattr(sys, "frozen", False):
        return [sys.executable, GUI_SELFTEST_FLAG]
    return [sys.executable, "-m", "histoclass", GUI_SELFTEST_FLAG]


def check_qt(_scratch: Scratch) -> str:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        child = subprocess.run(gui_selftest_command(), env=env, capture_output=True, text=True,
                               timeout=QT_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the window did not open within {QT_TIMEOUT_S} s") from None
    if child.returncode != 0:
        lines = [line for line in (child.stderr + child.stdout).splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "no output"
        raise RuntimeError(f"Qt check exited with {child.returncode}: {reason}")
    return child.stdout.strip().splitlines()[-1]


CHECKS: dict[str, tuple[str, Callable[[Scratch], str]]] = {
    "tensorflow": ("TensorFlow and Keras load", check_tensorflow),
    "weights": ("pretrained weights", check_weights),
    "model": ("ResNet50 builds and trains", check_model),
    "bundle": ("model bundle saves and loads", check_bundle),
    "images": ("Pillow decodes PNG, JPEG, TIFF", check_images),
    "process": ("training jobs can start a process", check_process),
    "qt": ("Qt shows the main window", check_qt),
}


def run_check(name: str, scratch: Scratch) -> CheckResult:
    _label, function = CHECKS[name]
    start = time.perf_counter()
    try:
        detail, ok = function(scratch), True
    except Exception as exc:  # a failed check is reported, the next one still runs
        text = str(exc).strip().splitlines()
        detail, ok = f"{type(exc).__name__}: {text[0] if text else 'no message'}", False
    return CheckResult(name, ok, detail, time.perf_counter() - start)


def format_result(result: CheckResult) -> str:
    status = "ok  " if result.ok else "FAIL"
    label = CHECKS[result.name][0]
    return f"{status} {result.name:<10} {label}: {result.detail} [{result.seconds:.1f} s]"


def run_selftest(names: list[str] | None = None, *, out=None) -> list[CheckResult]:
    """Run the named checks (all by default) in order, printing one line as each ends."""
    out = out if out is not None else sys.stdout
    results = []
    with tempfile.TemporaryDirectory(prefix="histoclass-selftest-") as tmp:
        scratch = Scratch(Path(tmp))
        for name in names or list(CHECKS):
            results.append(run_check(name, scratch))
            print(format_result(results[-1]), file=out, flush=True)
    return results


def selftest(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    results = run_selftest(args.checks or None)
    failed = [r.name for r in results if not r.ok]
    seconds = time.perf_counter() - start
    if failed:
        print(f"selftest FAILED: {', '.join(failed)} ({len(failed)} of {len(results)} checks) "
              f"in {seconds:.0f} s")
        return 1
    print(f"selftest ok: {len(results)} of {len(results)} checks passed in {seconds:.0f} s "
          f"(HistoClass {__version__})")
    return 0


def _check_name(value: str) -> str:
    if value not in CHECKS:
        raise argparse.ArgumentTypeError(f"no check named {value!r} (choose from {', '.join(CHECKS)})")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "selftest", help="check that this installation works (offline, under a minute)",
        description="Check, offline, that TensorFlow, the model, model bundles, image decoding "
                    "and the window work in this installation. Prints one line per check; "
                    "exits 1 if any fails. The window is checked offscreen unless "
                    "QT_QPA_PLATFORM says otherwise.")
    # No `choices=`: argparse rejects an empty `nargs="*"` list against them.
    parser.add_argument("checks", nargs="*", type=_check_name, metavar="CHECK",
                        help=f"run only these checks (default: all): {', '.join(CHECKS)}")
    parser.set_defaults(func=selftest)
