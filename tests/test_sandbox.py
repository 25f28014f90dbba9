"""Student code runs in a bubblewrap sandbox: no solutions, no gradebook, no network, bounded resources."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets import Int

from htcourse.paths import REPO_ROOT
from htcourse.sandbox import SANDBOX_UIDS, SandboxKernelManager, SandboxUnavailable, bwrap_command, find_tools

ATTEMPTS = {
    "read_source": "open({source!r}).read()",
    "list_other_student": "import os; os.listdir({other_student!r})",
    "write_gradebook": "open({gradebook!r}, 'a').write('x')",
    "write_outside": "open({outside!r}, 'w').write('x')",
    "connect_localhost": "import socket; socket.create_connection(('127.0.0.1', 22), timeout=2)",
    "connect_remote": "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)",
    "allocate": "b = bytearray(8 * 1024**3)",
    "fork": (
        "import os, time\n"
        "for _ in range(500):\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(3); os._exit(0)"
    ),
}


def run_sandboxed(cells: list[str], workdir: Path, **limits) -> list[dict]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    client = NotebookClient(
        nb,
        kernel_manager_class=SandboxKernelManager,
        kernel_name="python3",
        timeout=60,
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    if limits:
        client.kernel_manager_class = type("Limited", (SandboxKernelManager,), {k: Int(v) for k, v in limits.items()})
    client.execute()
    return [cell.outputs for cell in nb.cells]


def raised(outputs: list[dict]) -> str | None:
    errors = [o for o in outputs if o.get("output_type") == "error"]
    return errors[0]["ename"] if errors else None


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A stand-in course with a source notebook, a gradebook and two students."""
    root = tmp_path_factory.mktemp("course")
    (root / "source").mkdir()
    source = root / "source" / "solution.ipynb"
    source.write_text("SECRET SOLUTION", encoding="utf-8")
    gradebook = root / "gradebook.db"
    gradebook.write_bytes(b"grades")
    for student in ("alice", "bob"):
        (root / "autograded" / student).mkdir(parents=True)
    return {"root": root, "source": source, "gradebook": gradebook, "work": root / "autograded" / "alice"}


def test_sandbox_tools_are_installed():
    tools = find_tools()
    assert all(Path(p).exists() for p in tools.values())


def test_missing_bubblewrap_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        find_tools()


def test_every_attempt_fails_inside_the_sandbox(course):
    outside = course["root"] / "autograded" / "bob" / "planted.txt"
    fields = {
        "source": str(course["source"]),
        "other_student": str(course["root"] / "autograded" / "bob"),
        "gradebook": str(course["gradebook"]),
        "outside": str(outside),
    }
    before = {p: p.read_bytes() for p in (course["source"], course["gradebook"])}
    cells = [ATTEMPTS[name].format(**fields) for name in ATTEMPTS]
    cells.append("open('answer.txt', 'w').write('mine'); print(open('answer.txt').read())")
    started = time.perf_counter()
    outputs = run_sandboxed(cells, course["work"], memory_bytes=1024**3, max_processes=32)
    elapsed = time.perf_counter() - started
    results = dict(zip(ATTEMPTS, outputs))
    for name, out in results.items():
        assert raised(out) is not None, f"{name} succeeded inside the sandbox: {out}"
    assert raised(results["allocate"]) == "MemoryError"
    assert raised(results["fork"]) in ("BlockingIOError", "OSError")
    assert "mine" in outputs[-1][0]["text"], "the student's own folder must stay writable"
    assert not outside.exists()
    assert {p: p.read_bytes() for p in before} == before
    assert elapsed < 60


def test_the_sandbox_hides_the_repository_but_not_the_data(course):
    outputs = run_sandboxed(
        [
            f"import os; print(sorted(os.listdir({str(REPO_ROOT)!r})))",
            "from htcourse import data; print(len(data.load('global_estimates')))",
            "import os; print(os.getuid())",
        ],
        course["work"],
    )
    visible = outputs[0][0]["text"]
    assert "assignments" not in visible and "book" not in visible
    assert outputs[1][0]["text"].strip() == "12"
    assert int(outputs[2][0]["text"]) in SANDBOX_UIDS, "student code must run as an unprivileged user"


def test_wrapped_command_names_every_limit(tmp_path):
    cmd = bwrap_command(["python"], tmp_path, tmp_path)
    joined = " ".join(cmd)
    assert "--unshare-net" in joined and "--cpu=" in joined and "--as=" in joined and "--nproc=" in joined
    assert str(REPO_ROOT / "assignments") not in joined


def test_a_runaway_cell_is_interrupted_and_later_cells_run(course):
    """Signals cannot cross the sandbox: the interrupt travels as a message."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("while True:\n    pass"), nbformat.v4.new_code_cell("print('after')")]
    client = NotebookClient(
        nb, kernel_manager_class=SandboxKernelManager, kernel_name="python3", timeout=3,
        interrupt_on_timeout=True, allow_errors=True, resources={"metadata": {"path": str(course["work"])}},
    )
    client.execute()
    assert raised(nb.cells[0].outputs) == "KeyboardInterrupt"
    assert nb.cells[1].outputs[0]["text"] == "after\n"
