"""Where the pretrained ResNet50 (ImageNet, no top) weights come from, and checking them.

Search order for the "imagenet" setting: the app's own `models/` folder (where the
installer bundles the file), the user's models folder (where `histoclass weights
--import` puts it), then Keras' cache `~/.keras/models` (where `--download` and Keras
itself put it). A path in the configuration is tried before all of them. Nothing here
touches the network except `download_weights`, which the user asks for explicitly.

TensorFlow is imported only inside the functions that load weights.
"""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from core import paths
from core.errors import WeightsError
from core.fileio import atomic_path

WEIGHTS_FILENAME = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
               + WEIGHTS_FILENAME)
WEIGHTS_MD5 = "4d473c1dd8becc155b73f8504c6f6626"  # Keras' own hash for this file
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
NO_WEIGHTS_MESSAGE = ("No pretrained weights: training starts from random initialisation, "
                      "so accuracy will be much lower. Run `histoclass weights` to see where "
                      "the ImageNet weights file is looked for.")


@dataclass
class WeightsResolution:
    path: Path | None
    source: str  # "config", "bundled", "user", "keras-cache" or "none"
    searched: list[tuple[Path, bool]] = field(default_factory=list)
    message: str = ""


def search_locations() -> list[tuple[str, Path]]:
    """(source, file) in the order they are tried for the "imagenet" setting."""
    return [
        ("bundled", paths.bundled_models_dir() / WEIGHTS_FILENAME),
        ("user", paths.user_models_dir() / WEIGHTS_FILENAME),
        ("keras-cache", paths.keras_cache_models_dir() / WEIGHTS_FILENAME),
    ]


_SOURCE_TEXT = {"config": "the path in the configuration", "bundled": "bundled with the app",
                "user": "imported by the user", "keras-cache": "Keras' download cache"}


def resolve_weights(setting: str) -> WeightsResolution:
    """Find the weights file for a configuration's `weights` value (no loading, no network).

    "none" means random initialisation on purpose. Any other value but "imagenet" is a
    path; if it does not exist the usual places are still tried, and the message says so.
    """
    if setting == "none":
        return WeightsResolution(None, "none", [], "Pretrained weights are switched off in the "
                                 "configuration, so training starts from random initialisation "
                                 "and accuracy will be much lower.")
    searched: list[tuple[Path, bool]] = []
    note = ""
    if setting != "imagenet":
        configured = Path(setting).expanduser()
        searched.append((configured, configured.is_file()))
        if configured.is_file():
            return WeightsResolution(configured, "config", searched,
                                     f"ImageNet weights from {configured} ({_SOURCE_TEXT['config']}).")
        note = f"The weights file in the configuration was not found ({configured}). "
    for source, candidate in search_locations():
        found = candidate.is_file()
        searched.append((candidate, found))
        if found:
            return WeightsResolution(candidate, source, searched,
                                     f"{note}ImageNet weights from {candidate} ({_SOURCE_TEXT[source]}).")
    return WeightsResolution(None, "none", searched, note + NO_WEIGHTS_MESSAGE)


def _is_legacy_h5(path: Path) -> bool:
    """True for Keras 2 style weight files (the official ImageNet file is one)."""
    import h5py

    with h5py.File(path, "r") as handle:
        return "layer_names" in handle.attrs or "model_weights" in handle


def _keras3_weighted_layer_count(path: Path) -> int | None:
    """Layers holding weights in a Keras 3 ".weights.h5" file (None for other formats)."""
    import h5py

    with h5py.File(path, "r") as handle:
        group = handle.get("layers")
        if group is None:
            return None
        return sum(1 for name in group if len(group[name].get("vars", {})) > 0)


def load_backbone_weights(backbone, path: str | os.PathLike) -> None:
    """Load a no-top ResNet50 weights file into `backbone`, whichever Keras format it has.

    Keras picks the reader from the file name (".weights.h5" = Keras 3, ".h5" = Keras 2),
    so a Keras 3 file stored under the official name is read through a correctly named link.
    """
    path = Path(path)
    if _is_legacy_h5(path) or path.name.endswith(".weights.h5"):
        backbone.load_weights(str(path))
        return
    import tempfile

    with tempfile.TemporaryDirectory(prefix="histoclass-weights-") as tmp:
        alias = Path(tmp) / "backbone.weights.h5"
        try:
            alias.symlink_to(path.resolve())
        except OSError:  # no symlinks (Windows without developer mode): copy instead
            shutil.copyfile(path, alias)
        backbone.load_weights(str(alias))


def check_weights_file(path: str | os.PathLike) -> None:
    """Raise WeightsError unless `path` loads into a no-top ResNet50 with matching shapes."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with open(path, "rb") as handle:
            signature = handle.read(len(HDF5_SIGNATURE))
    except OSError as exc:
        raise WeightsError(f"cannot read weights file {path}: {exc}") from None
    if signature != HDF5_SIGNATURE:
        raise WeightsError(f"{path} is not a Keras weights file (HDF5 .h5 expected); "
                           f"use {WEIGHTS_FILENAME}")
    import keras

    backbone = keras.applications.ResNet50(include_top=False, weights=None, input_shape=(32, 32, 3))
    before = [w.copy() for w in backbone.get_weights()]
    try:
        with warnings.catch_warnings():  # Keras warns once per layer for a foreign file
            warnings.simplefilter("ignore")
            load_backbone_weights(backbone, path)
    except Exception as exc:  # Keras raises ValueError, KeyError, OSError... for a wrong file
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{path} is not ResNet50 no-top weights "
                           f"(expected {WEIGHTS_FILENAME}): {reason[:200]}") from None
    expected = sum(1 for layer in backbone.layers if layer.weights)
    found = _keras3_weighted_layer_count(path)
    if found is not None and found != expected:
        # Keras 3 files load leniently: a with-top file would fill the backbone and
        # silently drop its classifier, so count the layers to be sure.
        raise WeightsError(f"{path} holds weights for {found} layers, ResNet50 without its top "
                           f"has {expected}: it is not ResNet50 no-top weights")
    if all((a == b).all() for a, b in zip(before, backbone.get_weights())):
        raise WeightsError(f"{path} loaded but changed no weight: it is not ResNet50 no-top weights")


def import_weights(path: str | os.PathLike) -> Path:
    """Check a weights file, then copy it (atomically) into the user's models folder."""
    check_weights_file(path)
    target = paths.user_models_dir() / WEIGHTS_FILENAME
    with atomic_path(target) as tmp:
        shutil.copyfile(path, tmp)
    return target


def download_weights(origin: str = WEIGHTS_URL) -> Path:
    """Download the official file with Keras (hash-checked) into Keras' cache.

    The one network action in the app; raises WeightsError with one line when offline.
    """
    import keras

    try:
        fetched = keras.utils.get_file(WEIGHTS_FILENAME, origin, cache_subdir="models",
                                       file_hash=WEIGHTS_MD5,
                                       cache_dir=str(paths.keras_cache_models_dir().parent))
    except Exception as exc:  # urllib errors, hash mismatch; Keras wraps them in Exception
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise WeightsError(f"could not download the ImageNet weights (is this PC offline?): "
                           f"{reason}. Copy {WEIGHTS_FILENAME} from another PC and run "
                           f"`histoclass weights --import FILE`.") from None
    return Path(fetched)
