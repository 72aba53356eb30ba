"""How a folder's paths become labels: the BreakHis names, class folders, or a user pattern.

Everything here works on relative paths only (no file is opened), so the GUI can preview
a pattern live on thousands of paths and the scan can decide which files to check.
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from core.errors import DatasetError
from core.images import IMAGE_SUFFIXES
from core.jobs import StopFlag, should_stop

LAYOUTS = ("auto", "breakhis", "folders", "pattern")
BREAKHIS_CODES = {
    "A": "adenosis",
    "F": "fibroadenoma",
    "PT": "phyllodes_tumor",
    "TA": "tubular_adenoma",
    "DC": "ductal_carcinoma",
    "LC": "lobular_carcinoma",
    "MC": "mucinous_carcinoma",
    "PC": "papillary_carcinoma",
}
BREAKHIS_CLASSES = tuple(BREAKHIS_CODES.values())
_BREAKHIS_GROUPS = {"B": "benign", "M": "malignant"}
# SOB_B_TA-14-4659-40-001.png: procedure, B/M, tumour code, year-slide (slide may carry
# letters: 14-22549AB), magnification, image number.
_BREAKHIS_RE = re.compile(
    r"(?P<procedure>[A-Z]+)_(?P<group>[BM])_(?P<code>PT|TA|DC|LC|MC|PC|A|F)-"
    r"(?P<patient>\d+-[0-9A-Z]+)-(?P<mag>\d+)-(?P<number>\d+)\.(?:png|jpe?g|tiff?|bmp)",
    re.IGNORECASE,
)
# Files the operating system leaves in folders: ignored without a word.
_JUNK_FILES = {".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r"}
_JUNK_DIRS = {"__macosx", "$recycle.bin", "system volume information"}


def parse_breakhis_name(name: str) -> dict | None:
    """`SOB_B_TA-14-4659-40-001.png` -> label, group, patient, magnification (None if not BreakHis)."""
    match = _BREAKHIS_RE.fullmatch(os.path.basename(name))
    if match is None:
        return None
    return {
        "label": BREAKHIS_CODES[match["code"].upper()],
        "group": _BREAKHIS_GROUPS[match["group"].upper()],
        "patient": match["patient"].upper(),
        "magnification": f"{int(match['mag'])}X",
        "procedure": match["procedure"].upper(),
        "code": match["code"].upper(),
        "number": int(match["number"]),
    }


def normalize_magnification(value: str | None) -> str | None:
    """"40", "40x", "40X" -> "40X"; anything else is kept as written (None stays None)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[xX]?", text)
    return f"{match.group(1)}X" if match else text


def is_ignored(name: str) -> bool:
    """Hidden files and operating-system junk, skipped silently."""
    return name.startswith(".") or name.lower() in _JUNK_FILES


def list_files(root: Path, stop: StopFlag | None = None) -> tuple[list[str], list[str]]:
    """(image paths, other files), posix paths relative to root, sorted, junk left out."""
    images: list[str] = []
    others: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=None, followlinks=False):
        if should_stop(stop):
            break
        dirnames[:] = sorted(d for d in dirnames
                             if not d.startswith(".") and d.lower() not in _JUNK_DIRS)
        rel_dir = Path(dirpath).relative_to(root).as_posix()
        for name in filenames:
            if is_ignored(name):
                continue
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            (images if name.lower().endswith(IMAGE_SUFFIXES) else others).append(rel)
    return sorted(images), sorted(others)


def compile_pattern(pattern: str | None) -> re.Pattern:
    if not pattern:
        raise DatasetError(
            "The pattern layout needs a regular expression with a (?P<label>...) group, e.g. "
            r"'(?P<patient>\d+)/(?P<label>[01])/.*\.png'"
        )
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise DatasetError(f"The pattern is not a valid regular expression: {exc}") from exc
    if "label" not in regex.groupindex:
        raise DatasetError(
            "The pattern needs a (?P<label>...) group that captures the class name; "
            "optional groups: (?P<patient>...), (?P<magnification>...), (?P<group>...)"
        )
    return regex


def match_pattern(regex: re.Pattern, relpath: str) -> dict | None:
    """The pattern must match the whole relative path (posix separators)."""
    match = regex.fullmatch(relpath)
    if match is None:
        return None
    found = match.groupdict()
    label = (found.get("label") or "").strip()
    if not label:
        return None
    return {
        "label": label,
        "patient": (found.get("patient") or "").strip() or None,
        "magnification": normalize_magnification(found.get("magnification")),
        "group": (found.get("group") or "").strip() or None,
    }


def preview_pattern(pattern: str, relpaths: list[str]) -> list[dict | None]:
    """What the pattern makes of each path (None where it does not match): for a live preview."""
    regex = compile_pattern(pattern)
    return [match_pattern(regex, p) for p in relpaths]


def describe(relpath: str, layout: str, regex: re.Pattern | None) -> tuple[dict | None, str]:
    """(label, patient, magnification, group) for one path, or None and why it was left out."""
    if layout == "breakhis":
        info = parse_breakhis_name(relpath)
        if info is None:
            return None, "file name is not a BreakHis name (e.g. SOB_B_TA-14-4659-40-001.png)"
        keys = ("label", "patient", "magnification", "group")
        return {k: info[k] for k in keys}, ""
    if layout == "folders":
        parts = relpath.split("/")
        if len(parts) < 2:
            return None, "not inside a class folder"
        return {"label": parts[0], "patient": None, "magnification": None, "group": None}, ""
    info = match_pattern(regex, relpath) if regex is not None else None
    if info is None:
        return None, "path does not match the pattern"
    return info, ""


def detect_layout(root: str | os.PathLike) -> str:
    """"breakhis" or "folders"; DatasetError when neither fits (with what to do instead)."""
    root = Path(root)
    images, _ = list_files(root)
    if not images:
        raise DatasetError(f"No images (PNG, JPEG, TIFF, BMP) found in {root}")
    return detect_from_paths(images, root)


def detect_from_paths(images: list[str], root: Path) -> str:
    parsed = sum(1 for p in images if parse_breakhis_name(p) is not None)
    if parsed * 2 >= len(images):
        return "breakhis"
    nested = [p.split("/") for p in images if "/" in p]
    if not nested:
        raise DatasetError(
            f"The images in {root} are not sorted into class folders. Put each class in its "
            "own folder, or use --layout pattern with a (?P<label>...) group."
        )
    if _looks_like_patient_class_tree(nested):
        raise DatasetError(
            f"{root} looks like <patient>/<class>/ folders, not class folders. Use "
            "--layout pattern --pattern '(?P<patient>[^/]+)/(?P<label>[^/]+)/.+'"
        )
    return "folders"


def _looks_like_patient_class_tree(parts: list[list[str]]) -> bool:
    """Many top folders that all hold the same few sub-folders (IDC: <patient>/<0|1>/)."""
    deep = [p for p in parts if len(p) >= 3]
    if len(deep) * 2 < len(parts):
        return False
    tops: dict[str, set[str]] = {}
    for p in deep:
        tops.setdefault(p[0], set()).add(p[1])
    if len(tops) < 3:
        return False
    seen = Counter(sub for subs in tops.values() for sub in subs)
    shared = [sub for sub, n in seen.items() if n * 2 >= len(tops)]
    return bool(shared) and len(seen) < len(tops)
