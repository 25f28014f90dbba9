"""Launch buttons: the repository address, the Colab first cell, the nbgitpuller link.

The fork's address is set in one place, ``repository.url`` (and ``branch``)
in ``_config.yml``. Jupyter Book builds the Binder, Colab and JupyterHub
buttons from it; this module derives the rest from the same setting:

* the first cell of every notebook under ``book/``, which installs the course
  package (with its datasets) from that repository when, and only when, the
  notebook runs in Google Colab. It is tagged ``remove-cell``, so the site
  does not show it. After changing the address, rewrite the cells with
  ``make launch-cells`` (``python -m htcourse.sitebuild.launch sync``); the tests fail
  while a cell names another address;
* the nbgitpuller link a JupyterHub button (or an LMS) opens, in the format
  Jupyter Book uses: ``HUB/hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import urlencode

import nbformat
import yaml

from htcourse.paths import REPO_ROOT

CONFIG = REPO_ROOT / "_config.yml"
#: The address ``_config.yml`` ships with. While ``repository.url`` is this (or
#: empty), no fork has said where it lives: the build leaves the launch and
#: repository buttons out, and says so.
PLACEHOLDER_URL = "https://github.com/example-org/ht-course"
#: The visible name of each launch button, by the text sphinx-book-theme gives it.
BUTTON_LABELS = {"Binder": "Open in Binder", "Colab": "Open in Colab", "JupyterHub": "Open on the course hub"}
#: The tag Jupyter Book removes a cell by (input and output) from the page.
HIDE_TAG = "remove-cell"
#: Marks the Colab cell, so that ``sync`` finds and replaces it.
MARKER = "# Google Colab only:"


def repository(config: Path = CONFIG) -> tuple[str, str]:
    """``(url, branch)`` from ``_config.yml``'s ``repository`` section."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    repo = settings.get("repository") or {}
    url = str(repo.get("url", "")).rstrip("/")
    if not url.startswith("https://"):
        raise ValueError(f"{config}: repository.url must be the https address of the course repository, got {url!r}")
    return url, str(repo.get("branch") or "main")


def is_placeholder(url: str | None) -> bool:
    """True while ``url`` is not a fork's own address (empty, or the shipped placeholder)."""
    return not url or url.rstrip("/") == PLACEHOLDER_URL


def repository_name(url: str) -> str:
    """The folder nbgitpuller clones ``url`` into: its last part (nbgitpuller keeps a ``.git`` ending)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def pip_requirement(url: str, branch: str) -> str:
    return f"htcourse @ git+{url}@{branch}"


def colab_cell_source(url: str, branch: str) -> str:
    return "\n".join(
        [
            f"{MARKER} install the course package and its datasets from the course repository.",
            "# Elsewhere (the site build, Binder, a JupyterHub, a checkout) the package is already installed.",
            "import sys",
            "",
            'if "google.colab" in sys.modules:',
            "    import subprocess",
            "",
            '    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", '
            f'"{pip_requirement(url, branch)}"], check=True)',
        ]
    )


def colab_cell(url: str, branch: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(colab_cell_source(url, branch))
    cell.metadata["tags"] = [HIDE_TAG]
    cell.pop("id", None)
    return cell


def is_colab_cell(cell) -> bool:
    return cell.cell_type == "code" and cell.source.startswith(MARKER)


def notebooks() -> list[Path]:
    """Every notebook the site publishes (and so gives launch buttons)."""
    return sorted(p for p in (REPO_ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def sync(paths: list[Path] | None = None, config: Path = CONFIG) -> list[Path]:
    """Put the Colab cell (for the configured repository) first in each notebook; return those changed."""
    url, branch = repository(config)
    changed = []
    for path in paths or notebooks():
        nb = nbformat.read(path, as_version=4)
        wanted = colab_cell(url, branch)
        first = nb.cells[0] if nb.cells else None
        if first is not None and is_colab_cell(first):
            if first.source == wanted.source and first.metadata.get("tags") == [HIDE_TAG]:
                continue
            first.source = wanted.source
            first.metadata["tags"] = [HIDE_TAG]
        else:
            if "id" in (nb.cells[0] if nb.cells else {}):
                wanted["id"] = "colab-install"
            nb.cells.insert(0, wanted)
        nbformat.write(nb, path)
        changed.append(path)
    return changed


def nbgitpuller_link(hub_url: str, repo_url: str, branch: str, path: str, interface: str = "lab/tree") -> str:
    """The link that makes a JupyterHub clone (or update) the repository and open ``path`` in it."""
    query = urlencode(
        {"repo": repo_url, "urlpath": f"{interface}/{repository_name(repo_url)}/{path}", "branch": branch}, safe="/"
    )
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m htcourse.sitebuild.launch", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("sync", help="write the Colab first cell (for _config.yml's repository) into every notebook")
    link = sub.add_parser("link", help="print the nbgitpuller link for a notebook on a hub")
    link.add_argument("hub_url")
    link.add_argument("path", help="path inside the repository, e.g. book/modules/06-clean-data/lab-dirty-data.ipynb")
    args = parser.parse_args(argv)
    if args.command == "sync":
        for path in sync():
            print(f"updated {path.relative_to(REPO_ROOT)}")
        return 0
    url, branch = repository()
    print(nbgitpuller_link(args.hub_url, url, branch, args.path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
