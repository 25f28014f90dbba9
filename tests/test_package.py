"""The course as a real package: a wheel carries the datasets and a lab runs from it, away from the repository.

The wheel is built from a copy of the tracked files (as a clean clone would
be), installed with ``--no-deps`` into a fresh venv in a temporary folder;
that venv borrows the project venv's third-party packages through a ``.pth``
line (so nothing is downloaded), but not its editable ``htcourse``: a path
added by a ``.pth`` file is not a site folder, so the editable finder there is
never loaded. The dirty-data lab then runs in that venv, in a folder of its
own, reading the datasets installed with the package.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from htcourse import data, paths
from htcourse.paths import REPO_ROOT

LAB = REPO_ROOT / "book" / "modules" / "06-clean-data" / "lab-dirty-data.ipynb"


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [f for f in out.stdout.split("\0") if f and (REPO_ROOT / f).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    clone = tmp_path_factory.mktemp("clone")
    for rel in tracked_files():
        (clone / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, clone / rel)
    out = tmp_path_factory.mktemp("wheelhouse")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(clone)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"pip wheel failed:\n{result.stderr[-3000:]}"
    (built,) = out.glob("htcourse-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(tmp_path_factory, wheel) -> Path:
    """A fresh venv with the wheel installed (no deps) and the project venv's other packages on its path."""
    root = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "project-venv-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"installing the wheel failed:\n{result.stderr[-3000:]}"
    return root


def run_in(venv: Path, code: str, cwd: Path, **env) -> subprocess.CompletedProcess:
    import os

    environment = {k: v for k, v in os.environ.items() if k != "HTCOURSE_DATASETS"}
    environment.update(env)
    environment["PATH"] = f"{venv / 'bin'}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run(
        [str(venv / "bin" / "python"), "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_wheel_carries_every_dataset_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    committed = [f for f in tracked_files() if f.startswith("datasets/")]
    assert committed
    missing = [f for f in committed if f"htcourse/_datasets/{f.removeprefix('datasets/')}" not in names]
    assert not missing, f"the wheel lacks: {missing}"


def test_installed_package_reads_its_own_datasets(venv, tmp_path):
    result = run_in(
        venv,
        """
        import htcourse, sys
        from htcourse import data, paths
        print(htcourse.__file__)
        print(paths.in_checkout())
        print(paths.datasets_dir())
        raw = data.load("case_records_raw", dtype=str, keep_default_na=False, na_values=[""])
        print(len(raw), int((raw["citizenship"] == "NA").sum()))
        print(len(data.load("listings")))
    """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    location, checkout, folder, counts, listings = result.stdout.split("\n")[:5]
    assert Path(location).is_relative_to(venv), f"htcourse was imported from {location}, not the fresh venv"
    assert checkout == "False"
    assert Path(folder) == Path(location).parent / "_datasets"
    assert int(listings) == len(data.load("listings"))
    raw = data.load("case_records_raw", dtype=str, keep_default_na=False, na_values=[""])
    namibians = int((raw["citizenship"] == "NA").sum())
    assert namibians > 0, "the committed raw export has no Namibian (NA) citizens to check"
    assert counts.split() == [str(len(raw)), str(namibians)], "the installed copy differs from the checkout's"


def test_override_still_wins_in_an_installed_package(venv, tmp_path):
    (tmp_path / "listings.csv").write_text("listing_id,text\nL1,hello\n")
    result = run_in(
        venv,
        """
        from htcourse import data
        print(len(data.load("listings")))
    """,
        cwd=tmp_path,
        HTCOURSE_DATASETS=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"


def test_missing_file_in_an_installed_package_says_how_to_fix_it(venv, tmp_path):
    result = run_in(
        venv,
        """
        from htcourse import data
        data.load("no_such_table")
    """,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "reinstall it from the repository" in result.stderr


def test_checkout_uses_its_own_datasets(monkeypatch):
    monkeypatch.delenv("HTCOURSE_DATASETS", raising=False)
    assert paths.in_checkout()
    assert paths.datasets_dir() == REPO_ROOT / "datasets"
    assert data.path("listings") == REPO_ROOT / "datasets" / "listings.csv"


def test_a_lab_runs_from_the_installed_package_in_any_folder(venv, tmp_path):
    """The dirty-data lab (it meets Namibia's ISO code NA) runs in the fresh venv, from a folder outside the repo."""
    shutil.copy(LAB, tmp_path / LAB.name)
    result = run_in(
        venv,
        f"""
        import nbformat
        from nbclient import NotebookClient
        nb = nbformat.read({LAB.name!r}, as_version=4)
        NotebookClient(nb, kernel_name="python3", timeout=120, resources={{"metadata": {{"path": "."}}}}).execute()
        import htcourse
        print(sum(1 for c in nb.cells if c.cell_type == "code" and c.outputs), htcourse.__file__)
    """,
        cwd=tmp_path,
        HTCOURSE_SITE_BUILD="1",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    executed, location = result.stdout.split()
    assert int(executed) > 0
    assert Path(location).is_relative_to(venv)
    assert not Path(location).is_relative_to(REPO_ROOT)


# --- Launch buttons: the files each one depends on -------------------------------------------

from htcourse.sitebuild import launch  # noqa: E402


def init_git_repo(folder: Path, branch: str) -> None:
    def git(*args):
        subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)

    git("init", "-q", "-b", branch)
    git("add", "-A")
    git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "snapshot")


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A git repository made of the working tree's tracked files (a fork's clone, reachable offline)."""
    folder = tmp_path_factory.mktemp("fork") / "ht-course"
    for rel in tracked_files():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, folder / rel)
    init_git_repo(folder, launch.repository()[1])
    return folder


def bare_venv(root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "project-venv-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return root


def test_every_notebook_starts_with_the_hidden_colab_cell():
    url, branch = launch.repository()
    notebooks = launch.notebooks()
    assert len(notebooks) >= 7
    wrong = []
    for path in notebooks:
        import nbformat

        first = nbformat.read(path, as_version=4).cells[0]
        if not (
            launch.is_colab_cell(first)
            and first.source == launch.colab_cell_source(url, branch)
            and launch.HIDE_TAG in first.metadata.get("tags", [])
        ):
            wrong.append(str(path.relative_to(REPO_ROOT)))
    assert not wrong, f"run `make launch-cells`: these notebooks lack the Colab cell for {url}: {wrong}"


def test_launch_cells_sync_adds_replaces_and_is_idempotent(tmp_path):
    import nbformat

    config = tmp_path / "_config.yml"
    config.write_text("repository:\n  url: https://github.com/someone/their-fork\n  branch: spring\n")
    with_cell, without = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    shutil.copy(LAB, with_cell)
    nb = nbformat.read(LAB, as_version=4)
    nb.cells = nb.cells[1:]
    nbformat.write(nb, without)
    assert launch.sync([with_cell, without], config=config) == [with_cell, without]
    for path in (with_cell, without):
        cells = nbformat.read(path, as_version=4).cells
        assert "git+https://github.com/someone/their-fork@spring" in cells[0].source
        assert len(cells) == len(nb.cells) + 1 and not launch.is_colab_cell(cells[1])
    assert launch.sync([with_cell, without], config=config) == []
    config.write_text("repository:\n  url: git@github.com:someone/fork.git\n")
    with pytest.raises(ValueError, match="https address"):
        launch.repository(config)


def test_colab_cell_installs_the_course_only_in_colab(monkeypatch):
    import types

    url, branch = launch.repository()
    calls = []
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    exec(launch.colab_cell_source(url, branch), {})
    assert calls == [], "outside Colab the cell must not install anything"
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    exec(launch.colab_cell_source(url, branch), {})
    assert calls == [[sys.executable, "-m", "pip", "install", "--quiet", f"htcourse @ git+{url}@{branch}"]]


def test_colab_requirement_installs_the_course_with_its_datasets_from_a_git_repository(clone, tmp_path):
    """The cell's requirement, with the address swapped for a local clone of the same tree: pip installs it."""
    venv = bare_venv(tmp_path / "venv")
    requirement = launch.pip_requirement(clone.as_uri(), launch.repository()[1])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "--no-deps",
            "--quiet",
            requirement,
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    check = run_in(
        venv, "from htcourse import data; print(len(data.load('listings')), data.path('listings'))", cwd=tmp_path
    )
    assert check.returncode == 0, check.stderr
    rows, where = check.stdout.split()
    assert int(rows) == len(data.load("listings")) and Path(where).is_relative_to(venv)


def test_binder_environment_installs_the_pinned_requirements_and_the_course(clone, tmp_path):
    binder = REPO_ROOT / "binder"
    lines = [
        l.strip() for l in (binder / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")
    ]
    assert lines == ["-r ../requirements.txt"], "binder/requirements.txt should include the pinned requirements"
    runtime = (binder / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", runtime
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & 0o111, "binder/postBuild must be executable"
    # Run it the way repo2docker does (from the repository root), with a fresh venv's python first on PATH.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    site = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(site) / "project-venv-packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(clone / "binder" / "postBuild")], cwd=clone, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    check = run_in(venv, "from htcourse import paths; print(paths.datasets_dir(), paths.in_checkout())", cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    folder, in_checkout = check.stdout.split()
    assert Path(folder).is_relative_to(venv) and (Path(folder) / "listings.csv").is_file() and in_checkout == "False"


def test_classroom_environment_has_nbgitpuller_and_the_hub_link_is_nbgitpullers():
    """The hub link opens a notebook of this repository through nbgitpuller (the site's hub button
    uses the same link: test_site.test_fork_launch_buttons_are_labelled_and_lead_to_the_notebook)."""
    from urllib.parse import parse_qs, urlparse

    pins = (REPO_ROOT / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("nbgitpuller==") for line in pins), "nbgitpuller must be pinned for the hub"
    url, branch = launch.repository()
    notebook = "book/modules/06-clean-data/lab-dirty-data.ipynb"
    link = urlparse(launch.nbgitpuller_link("https://hub.example.edu/", url, branch, notebook))
    assert (link.netloc, link.path) == ("hub.example.edu", "/hub/user-redirect/git-pull")
    query = {key: values[0] for key, values in parse_qs(link.query).items()}
    assert query["repo"] == url and query["branch"] == branch
    lab, tree, folder, path = query["urlpath"].split("/", 3)
    assert f"{lab}/{tree}" == "lab/tree", "the link opens JupyterLab"
    assert folder == launch.repository_name(url), "nbgitpuller clones into a folder named after the repository"
    assert (REPO_ROOT / path).is_file(), f"the link opens {path}, which is not in the repository"


def test_the_longest_first_order_names_test_files_that_exist():
    """conftest.LONGEST_FIRST orders make test's workers: a renamed file would silently lose its place."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("htcourse_root_conftest", REPO_ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    assert root_conftest.LONGEST_FIRST
    for name in root_conftest.LONGEST_FIRST:
        assert (REPO_ROOT / name).is_file(), name
