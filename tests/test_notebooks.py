"""Notebooks are committed without outputs; the build and nbval execute them."""

from __future__ import annotations

import json
import subprocess

from htcourse.paths import REPO_ROOT


def tracked_notebooks() -> list[str]:
    out = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_notebooks_are_committed_without_outputs():
    notebooks = tracked_notebooks()
    assert notebooks, "no notebooks are tracked"
    dirty = []
    for rel in notebooks:
        nb = json.loads((REPO_ROOT / rel).read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(rel)
                break
    assert not dirty, f"strip outputs from: {dirty}"
