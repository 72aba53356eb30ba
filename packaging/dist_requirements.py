"""Print the requirements of the installable build, one a line, for `pip install -r`.

They are pyproject.toml's runtime dependencies plus its `build` extra, with TensorFlow
swapped for the CPU-only wheel `tensorflow-cpu` (same version range) on Linux and
Windows: the bundle ships no CUDA libraries, which keeps it about 0.4 GB smaller. macOS
has no `tensorflow-cpu` wheel (its `tensorflow` is CPU-only already) and keeps
`tensorflow`. pyproject.toml stays the one place where versions are set.
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
CPU_ONLY = {"tensorflow": "tensorflow-cpu"}


def dist_requirements(pyproject: Path = PYPROJECT, platform: str = sys.platform) -> list[str]:
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"]) + list(project["optional-dependencies"]["build"])
    result = []
    for requirement in requirements:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        swapped = CPU_ONLY.get(name.lower()) if platform != "darwin" else None
        result.append(swapped + requirement[len(name):] if swapped else requirement)
    return result


if __name__ == "__main__":
    sys.stdout.write("\n".join(dist_requirements()) + "\n")
