"""The model bundle: one `.hcmodel` file a user can copy to another PC.

It is a zip holding `model.keras` (the Keras model, which takes raw uint8 RGB) and
`card.json` (class names, input size, training configuration, manifest hash, metrics,
weights source, software versions, date, the research-use notice and the SHA-256 of
`model.keras`). Loading keeps Keras' safe mode on, so nothing in the file can run code;
a file that is not a bundle, is damaged, or whose model does not match its card is
refused with a BundleError that says so.

TensorFlow is imported only when a bundle is saved or loaded.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import RESEARCH_NOTICE, __version__
from core.errors import BundleError
from core.fileio import atomic_path

BUNDLE_SUFFIX = ".hcmodel"
BUNDLE_FORMAT = "histoclass-model"
BUNDLE_SCHEMA_VERSION = 1
MODEL_MEMBER = "model.keras"
CARD_MEMBER = "card.json"
REQUIRED_CARD_KEYS = ("classes", "input_size")


def software_versions() -> dict[str, str]:
    import keras

    versions = {"histoclass": __version__, "keras": keras.__version__,
                "keras_backend": keras.backend.backend(),
                "python": platform.python_version(), "numpy": np.__version__}
    try:
        import tensorflow as tf

        versions["tensorflow"] = tf.__version__
    except ImportError:  # another Keras backend (e.g. JAX on a GPU server)
        pass
    return versions


def make_card(*, classes: list[str], input_size: int, config: dict | None = None,
              manifest_hash: str | None = None, metrics: dict | None = None,
              weights_source: str = "none", groups: dict[str, str | None] | None = None,
              name: str | None = None) -> dict[str, Any]:
    """A complete model card; `save_bundle` adds versions, date and the model's hash."""
    return {
        "format": BUNDLE_FORMAT,
        "schema_version": BUNDLE_SCHEMA_VERSION,
        "name": name,
        "classes": list(classes),
        "groups": dict(groups) if groups else {c: None for c in classes},
        "input_size": int(input_size),
        "config": config,
        "manifest_hash": manifest_hash,
        "metrics": metrics or {},
        "weights_source": weights_source,
        "notice": RESEARCH_NOTICE,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _complete_card(model, card: dict) -> dict:
    missing = [k for k in REQUIRED_CARD_KEYS if k not in card]
    if missing:
        raise BundleError(f"the model card lacks {', '.join(missing)}")
    classes = list(card["classes"])
    outputs = int(model.output_shape[-1])
    if outputs != len(classes):
        raise BundleError(f"the model has {outputs} outputs but the card names {len(classes)} classes")
    full = make_card(classes=classes, input_size=card["input_size"])
    full.update(card)
    full.update(format=BUNDLE_FORMAT, schema_version=BUNDLE_SCHEMA_VERSION, notice=RESEARCH_NOTICE)
    full.setdefault("created", _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    full["versions"] = {**software_versions(), **(card.get("versions") or {})}
    return full


def save_bundle(model, card: dict, path: str | os.PathLike) -> Path:
    """Write `model` and its card as one `.hcmodel` file, atomically. Returns the path."""
    path = Path(path)
    full = _complete_card(model, card)
    with tempfile.TemporaryDirectory(prefix="histoclass-bundle-") as tmp:
        model_file = Path(tmp) / MODEL_MEMBER
        model.save(model_file)
        full["model_sha256"] = _sha256(model_file)
        with atomic_path(path, suffix=BUNDLE_SUFFIX) as target:
            with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
                archive.writestr(CARD_MEMBER, json.dumps(full, indent=2, default=str))
                archive.write(model_file, MODEL_MEMBER)
    return path


@dataclass
class ModelBundle:
    model: Any
    card: dict
    path: Path
    sha256: str
    _infer: Any = field(default=None, repr=False)

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])

    @property
    def input_size(self) -> int:
        return int(self.card["input_size"])

    @property
    def name(self) -> str:
        return self.card.get("name") or self.path.stem

    @property
    def groups(self) -> dict[str, str | None]:
        return dict(self.card.get("groups") or {})

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for one uint8 batch (N, H, W, 3), through one traced function."""
        if self._infer is None:
            self._infer = self._make_infer()
        return np.asarray(self._infer(np.ascontiguousarray(batch, dtype=np.uint8)))

    def _make_infer(self):
        import keras

        backend = keras.backend.backend()
        if backend == "jax":
            import jax

            # Inference weights never change: gather them once, jit one stateless call.
            weights = ([v.value for v in self.model.trainable_variables],
                       [v.value for v in self.model.non_trainable_variables])
            call = jax.jit(lambda t, n, x: self.model.stateless_call(t, n, x, training=False)[0])
            return lambda x: call(*weights, x)
        if backend != "tensorflow":
            return self.model.predict_on_batch
        import tensorflow as tf

        # One trace for every batch size and image size (predict_on_batch would retrace).
        spec = tf.TensorSpec((None, None, None, 3), tf.uint8)
        return tf.function(lambda x: self.model(x, training=False), input_signature=[spec])

    def predict(self, images, batch_size: int = 32) -> np.ndarray:
        """Class probabilities (N, C) for uint8 RGB images of any size (list or 4-D array)."""
        from core.model import resize_for_model

        if isinstance(images, np.ndarray) and images.ndim == 4:
            chunks = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
            results = [self.infer(chunk) for chunk in chunks]
        else:
            images = list(images)
            results = []
            for start in range(0, len(images), batch_size):
                part = images[start:start + batch_size]
                results.append(self.infer(np.stack([resize_for_model(im, self.input_size) for im in part])))
        if not results:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        return np.concatenate(results, axis=0)


def _read_members(path: Path) -> tuple[dict, bytes]:
    if not path.is_file():
        raise BundleError(f"model file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise BundleError(f"{path} is not a HistoClass model ({BUNDLE_SUFFIX} file), or it is "
                          f"incomplete (a cut-off copy): it is not a readable model archive")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if CARD_MEMBER not in names or MODEL_MEMBER not in names:
                raise BundleError(f"{path} is not a HistoClass model: it lacks "
                                  f"{CARD_MEMBER if CARD_MEMBER not in names else MODEL_MEMBER}")
            card_bytes = archive.read(CARD_MEMBER)
            model_bytes = archive.read(MODEL_MEMBER)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
        raise BundleError(f"{path} is damaged and cannot be read ({exc}); copy it again") from None
    try:
        card = json.loads(card_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BundleError(f"{path} is damaged: its model card is not readable") from None
    return card, model_bytes


def _check_card(path: Path, card: Any, model_bytes: bytes) -> None:
    if not isinstance(card, dict) or card.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{path} is not a HistoClass model (foreign archive)")
    version = card.get("schema_version")
    if not isinstance(version, int) or version > BUNDLE_SCHEMA_VERSION:
        raise BundleError(f"{path} was made by a newer HistoClass (bundle version {version!r}); "
                          f"update HistoClass to open it")
    classes = card.get("classes")
    if not (isinstance(classes, list) and len(classes) >= 2 and all(isinstance(c, str) for c in classes)):
        raise BundleError(f"{path} is damaged: its card has no valid class list")
    if not isinstance(card.get("input_size"), int):
        raise BundleError(f"{path} is damaged: its card has no valid input size")
    if hashlib.sha256(model_bytes).hexdigest() != card.get("model_sha256"):
        raise BundleError(f"{path} has been altered or damaged: the model does not match "
                          f"its card (checksum differs); use the original file")


def load_bundle(path: str | os.PathLike) -> ModelBundle:
    """Open and check a `.hcmodel` file (Keras safe mode on); BundleError if it is not sound."""
    import keras

    import core.model  # noqa: F401  registers the custom preprocessing layer

    path = Path(path)
    card, model_bytes = _read_members(path)
    _check_card(path, card, model_bytes)
    with tempfile.TemporaryDirectory(prefix="histoclass-load-") as tmp:
        model_file = Path(tmp) / MODEL_MEMBER
        model_file.write_bytes(model_bytes)
        try:
            model = keras.saving.load_model(model_file, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many kinds for a bad archive or unsafe code
            reason = " ".join(str(exc).split())[:200] or type(exc).__name__
            raise BundleError(f"{path}: the model inside could not be loaded safely ({reason})") from None
    outputs = int(model.output_shape[-1])
    if outputs != len(card["classes"]):
        raise BundleError(f"{path} is inconsistent: the model has {outputs} outputs but the "
                          f"card names {len(card['classes'])} classes")
    return ModelBundle(model=model, card=card, path=path, sha256=_sha256(path))
