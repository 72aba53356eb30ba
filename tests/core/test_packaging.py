"""The installer recipe: what build.spec leaves out, the build's requirements, the .deb builder."""
from __future__ import annotations

import ast
import configparser
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def spec_excludes() -> list[str]:
    tree = ast.parse((REPO / "build.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "EXCLUDES":
            return ast.literal_eval(node.value)
    raise AssertionError("build.spec has no EXCLUDES list")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_the_bundle_leaves_out_nothing_the_app_imports():
    excludes = spec_excludes()
    assert "tensorboard" in excludes and "PySide6.QtNetwork" in excludes
    offending = []
    for package in ("core", "gui", "histoclass"):
        for path in sorted((REPO / package).rglob("*.py")):
            for name in imported_modules(path):
                hits = [e for e in excludes if name == e or name.startswith(e + ".")]
                offending += [f"{path.relative_to(REPO)} imports {name}" for _ in hits]
    assert offending == []


def load_dist_requirements():
    spec = importlib.util.spec_from_file_location("dist_requirements", REPO / "packaging" / "dist_requirements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_build_uses_the_cpu_only_tensorflow_wheel(platform):
    requirements = load_dist_requirements().dist_requirements(platform=platform)
    assert any(r.startswith("tensorflow-cpu>=") for r in requirements)
    assert not any(r.startswith("tensorflow>") or r == "tensorflow" for r in requirements)
    names = " ".join(requirements)
    for needed in ("keras", "PySide6-Essentials", "pillow", "matplotlib", "pyinstaller-hooks-contrib"):
        assert needed in names


def test_macos_build_keeps_tensorflow():
    requirements = load_dist_requirements().dist_requirements(platform="darwin")
    assert any(r.startswith("tensorflow>=") for r in requirements)


def test_desktop_entry_starts_the_app_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(REPO / "packaging" / "linux" / "histoclass.desktop", encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"] == "histoclass" and section["Icon"] == "histoclass"
    assert "Not for clinical diagnosis" in section["Comment"]


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb (Debian/Ubuntu) not available")
def test_deb_builder_packs_a_bundle_under_opt(tmp_path):
    bundle = tmp_path / "histoclass"
    (bundle / "_internal").mkdir(parents=True)
    shutil.copy("/bin/true", bundle / "histoclass")  # a real ELF, so Depends is worked out
    (bundle / "_internal" / "data.txt").write_text("x")
    result = subprocess.run([str(REPO / "packaging" / "linux" / "build_deb.sh"), str(bundle), str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    [deb] = (tmp_path / "out").glob("histoclass_*.deb")
    contents = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    for path in ("./opt/histoclass/histoclass", "./opt/histoclass/_internal/data.txt", "./usr/bin/histoclass",
                 "./usr/share/applications/histoclass.desktop",
                 "./usr/share/icons/hicolor/256x256/apps/histoclass.png"):
        assert path in contents
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Depends"], capture_output=True, text=True).stdout
    assert "Package: histoclass" in fields
    assert "libc6 (>= " in fields
