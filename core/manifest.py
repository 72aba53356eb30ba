"""The manifest: which image goes to train, validation or test, saved as checked JSON.

A manifest is the one thing training reads about a dataset. It names every image by its
path relative to `root`, with its class, patient, magnification and split, plus the
options and seed that produced it, warnings the user must see (an image-level split,
a class with too few patients), class weights for training, and `hash`: the SHA-256 of
everything else but `root`, so that a hand-edited or damaged file is caught when it is loaded.

`root` is left out of the hash on purpose: it says where the images are, not which images
and splits the dataset has. A folder moved to another disk, or copied with the manifest to
a GPU server, keeps the same manifest identity (so a run can be resumed there); point the
manifest at the new place with `Manifest.relocated`, `load_manifest(..., root=)` or
`relocate_manifest`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ImagesMissingError, ManifestError
from core.fileio import write_json_atomic

SCHEMA_VERSION = 1
SPLITS = ("train", "val", "test")
IMAGE_LEVEL_WARNING = (
    "Split by image, not by patient: images of one patient can be in both training and "
    "test, so every score from this manifest will be optimistic."
)
_KEYS = ("schema_version", "seed", "options", "classes", "root", "samples", "warnings",
         "class_weights", "hash")
_SAMPLE_KEYS = ("path", "label", "patient", "magnification", "group", "split", "fold")


@dataclass(frozen=True)
class ManifestSample:
    path: str  # posix, relative to the manifest's root
    label: str
    patient: str | None
    magnification: str | None
    group: str | None  # benign / malignant where the dataset says so
    split: str | None  # "train" | "val" | "test"; None = left out (e.g. over the class cap)
    fold: int | None  # K-fold index (0-based) in K-fold mode, else None


@dataclass(frozen=True)
class Manifest:
    schema_version: int
    seed: int
    options: dict
    classes: list[str]
    root: str
    samples: tuple[ManifestSample, ...]
    warnings: tuple[str, ...]
    class_weights: dict[str, float]
    hash: str = field(default="")

    def __post_init__(self) -> None:
        # An empty hash means "compute it": build with hash="" (or dataclasses.replace(m, ..., hash="")).
        if not self.hash:
            object.__setattr__(self, "hash", content_hash(self))

    def split_samples(self, name: str) -> list[ManifestSample]:
        if name not in SPLITS:
            raise ManifestError(f"Unknown split {name!r}; a manifest has {', '.join(SPLITS)}")
        return [s for s in self.samples if s.split == name]

    def relocated(self, root: str | os.PathLike) -> "Manifest":
        """The same manifest (same hash) with its images looked for under `root`."""
        return dataclasses.replace(self, root=str(Path(root).expanduser().absolute()))

    def abspath(self, sample: ManifestSample) -> Path:
        return Path(self.root) / sample.path

    @property
    def image_level(self) -> bool:
        """True when images, not patients, were split: scores are then optimistic."""
        return self.options.get("by") == "image"

    @property
    def folds(self) -> int | None:
        return self.options.get("folds")


def _content(m: Manifest) -> dict[str, Any]:
    return {
        "schema_version": m.schema_version,
        "seed": m.seed,
        "options": m.options,
        "classes": list(m.classes),
        "samples": [_sample_dict(s) for s in m.samples],
        "warnings": list(m.warnings),
        "class_weights": m.class_weights,
    }


def _sample_dict(s: ManifestSample) -> dict[str, Any]:
    return {k: getattr(s, k) for k in _SAMPLE_KEYS}


def _digest(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_hash(m: Manifest) -> str:
    """SHA-256 of every field but `hash` itself and `root` (canonical JSON)."""
    return _digest(_content(m))


def manifest_to_dict(m: Manifest) -> dict[str, Any]:
    data = _content(m)
    data["root"] = m.root
    data["hash"] = m.hash
    return data


def save_manifest(manifest: Manifest, path: str | os.PathLike) -> None:
    """Write the manifest atomically (a crash never leaves half a file)."""
    if manifest.hash != content_hash(manifest):
        raise ManifestError(
            "This manifest was changed after its hash was computed; rebuild it with hash=''"
        )
    write_json_atomic(path, manifest_to_dict(manifest))


def load_manifest(path: str | os.PathLike, *, check_files: bool = True,
                  root: str | os.PathLike | None = None) -> Manifest:
    """Read and check a manifest; ManifestError says exactly what is wrong or missing.

    `root` looks for the images there instead of in the folder the manifest names (the
    file is not changed; see `relocate_manifest` for that)."""
    path = Path(path)
    data = _read_json(path)
    manifest = manifest_from_dict(data, source=str(path))
    if manifest.hash != data["hash"]:
        raise ManifestError(
            f"{path} was edited or damaged after it was written (its content hash does not "
            "match). Create it again with `histoclass split`."
        )
    if root is not None:
        if not Path(root).expanduser().is_dir():
            raise ManifestError(f"The image folder {root} does not exist or is not a folder")
        manifest = manifest.relocated(root)
    if check_files:
        check_manifest_files(manifest, source=str(path))
    return manifest


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ManifestError(f"Manifest not found: {path}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"Cannot read manifest {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"{path} is not a valid manifest: damaged JSON at line {exc.lineno}, "
            f"column {exc.colno} ({exc.msg})"
        ) from exc
    if not isinstance(data, dict):
        raise ManifestError(f"{path} is not a manifest: expected a JSON object")
    return data


def manifest_from_dict(data: dict[str, Any], *, source: str = "manifest") -> Manifest:
    """Build a Manifest from parsed JSON, checking the schema (not the hash or the files)."""
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise ManifestError(f"{source} is not a manifest: missing {', '.join(missing)}")
    version = data["schema_version"]
    if version != SCHEMA_VERSION:
        raise ManifestError(
            f"{source} has schema_version {version!r}; this version of HistoClass reads "
            f"schema_version {SCHEMA_VERSION}. Create the manifest again with `histoclass split`."
        )
    _expect(data, "seed", int, source)
    _expect(data, "options", dict, source)
    _expect(data, "classes", list, source)
    _expect(data, "root", str, source)
    _expect(data, "samples", list, source)
    _expect(data, "warnings", list, source)
    _expect(data, "class_weights", dict, source)
    _expect(data, "hash", str, source)
    classes = [str(c) for c in data["classes"]]
    samples = tuple(_parse_sample(s, i, set(classes), source) for i, s in enumerate(data["samples"]))
    return Manifest(
        schema_version=version,
        seed=data["seed"],
        options=data["options"],
        classes=classes,
        root=data["root"],
        samples=samples,
        warnings=tuple(str(w) for w in data["warnings"]),
        class_weights={str(k): float(v) for k, v in data["class_weights"].items()},
        hash="",
    )


def _expect(data: dict[str, Any], key: str, kind: type, source: str) -> None:
    value = data[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ManifestError(f"{source}: {key!r} should be a {kind.__name__}, not {type(value).__name__}")


def _parse_sample(raw: Any, index: int, classes: set[str], source: str) -> ManifestSample:
    where = f"{source}: sample {index + 1}"
    if not isinstance(raw, dict):
        raise ManifestError(f"{where} is not an object")
    if not isinstance(raw.get("path"), str) or not raw["path"]:
        raise ManifestError(f"{where} has no path")
    label = raw.get("label")
    if label not in classes:
        raise ManifestError(f"{where} ({raw['path']}) has label {label!r}, not one of the classes")
    split = raw.get("split")
    if split is not None and split not in SPLITS:
        raise ManifestError(f"{where} ({raw['path']}) has split {split!r}; expected train, val or test")
    fold = raw.get("fold")
    if fold is not None and (not isinstance(fold, int) or isinstance(fold, bool) or fold < 0):
        raise ManifestError(f"{where} ({raw['path']}) has fold {fold!r}; expected a number from 0")
    return ManifestSample(
        path=raw["path"],
        label=label,
        patient=_opt_str(raw.get("patient")),
        magnification=_opt_str(raw.get("magnification")),
        group=_opt_str(raw.get("group")),
        split=split,
        fold=fold,
    )


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def check_manifest_files(manifest: Manifest, *, source: str = "manifest") -> None:
    """ManifestError naming the dataset folder or the images that are no longer on disk."""
    root = Path(manifest.root)
    if not root.is_dir():
        raise ImagesMissingError(
            f"The image folder named in {source} is missing: {root}. Was it moved or "
            f"unplugged? Reconnect it, or {_POINT_TO_IT}.", str(root))
    missing = [s.path for s in manifest.samples if not (root / s.path).is_file()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        hint = f"; if the images are elsewhere, {_POINT_TO_IT}" if len(missing) == len(manifest.samples) else ""
        raise ImagesMissingError(
            f"{len(missing)} of {len(manifest.samples)} images named in {source} are missing "
            f"under {root}: {shown}{hint}", str(root), len(missing), len(manifest.samples))


_POINT_TO_IT = ("point to the folder's new place (Locate… in the app, or --data-root DIR on the "
                "command line)")


def relocate_manifest(path: str | os.PathLike, root: str | os.PathLike) -> Manifest:
    """Point the manifest file at `path` to its images' new folder, and save it.

    Every image must be found under `root` first: a wrong folder is refused and the file
    is left as it was. The manifest keeps its hash (its identity), so runs trained on it
    still resume."""
    manifest = load_manifest(path, check_files=False, root=root)
    check_manifest_files(manifest, source=f"the manifest {Path(path).name} (in {root})")
    save_manifest(manifest, path)
    return manifest
