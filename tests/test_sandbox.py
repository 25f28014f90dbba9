"""Student code runs in a bubblewrap sandbox: no solutions, no gradebook, no network, bounded resources."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from conftest import run_coroutine
from nbclient import NotebookClient
from traitlets import Bool, Int, List, Unicode

from htcourse.grading.sandbox.bwrap import SANDBOX_UIDS, SandboxUnavailable, bwrap_command, find_tools
from htcourse.grading.sandbox.kernel import SandboxKernelManager
from htcourse.paths import REPO_ROOT

ATTEMPTS = {
    "read_source": "open({source!r}).read()",
    "list_other_student": "import os; os.listdir({other_student!r})",
    "write_gradebook": "open({gradebook!r}, 'a').write('x')",
    "write_outside": "open({outside!r}, 'w').write('x')",
    "connect_localhost": "import socket; socket.create_connection(('127.0.0.1', 22), timeout=2)",
    "connect_remote": "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)",
    "allocate": "b = bytearray(8 * 1024**3)",
    "fork": ("import os, time\nfor _ in range(500):\n    if os.fork() == 0:\n        time.sleep(3); os._exit(0)"),
}


def manager(fast_start: bool = True, preload: list[str] | None = None, **limits) -> type:
    """A SandboxKernelManager of its own (so that a failed fast start in one test cannot turn it off in another)."""
    traits = {k: Int(v) for k, v in limits.items()}
    traits["fast_start"] = Bool(fast_start)
    if preload is not None:
        traits["preload"] = List(Unicode(), preload)
    return type("TestSandbox", (SandboxKernelManager,), traits)


def run_sandboxed(cells: list[str], workdir: Path, km: type | None = None, **limits) -> list[dict]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    client = NotebookClient(
        nb,
        kernel_manager_class=km or manager(**limits),
        kernel_name="python3",
        timeout=60,
        allow_errors=True,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()
    return [cell.outputs for cell in nb.cells]


def text(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


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


def test_jupyter_client_is_the_version_the_kernel_managers_were_written_for():
    """The kernel managers override private jupyter_client methods: a new release must be re-checked."""
    from importlib.metadata import version

    from htcourse.grading.sandbox import kernel

    installed = version("jupyter_client")
    assert installed == kernel.JUPYTER_CLIENT_VERSION, (
        f"jupyter_client {installed} is installed, but src/htcourse/grading/sandbox/kernel.py was written against "
        f"{kernel.JUPYTER_CLIENT_VERSION}. Compare the private methods it overrides or calls (listed in its "
        "docstring: _async_wait_for_ready, _handle_kernel_info_reply, _async_is_alive, _async_wait, "
        "_async_pre_start_kernel, _async_launch_kernel, _async_cleanup_resources) with their versions in "
        "jupyter_client's client.py, manager.py and provisioning/, then set JUPYTER_CLIENT_VERSION to the new version."
    )


def test_missing_bubblewrap_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        find_tools()


@pytest.mark.parametrize("fast_start", [True, False], ids=["forked-kernel", "fresh-kernel"])
def test_every_attempt_fails_inside_the_sandbox(course, fast_start):
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
    outputs = run_sandboxed(cells, course["work"], fast_start=fast_start, memory_bytes=1024**3, max_processes=32)
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
        nb,
        kernel_manager_class=SandboxKernelManager,
        kernel_name="python3",
        timeout=3,
        interrupt_on_timeout=True,
        allow_errors=True,
        resources={"metadata": {"path": str(course["work"])}},
    )
    client.execute()
    assert raised(nb.cells[0].outputs) == "KeyboardInterrupt"
    assert nb.cells[1].outputs[0]["text"] == "after\n"


# --- kernels forked from a warm interpreter (the fork server) -------------------------

INSPECT_KERNEL = r"""
import os, json, numpy
status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines() if ':' in line)
fds = {}
for fd in os.listdir('/proc/self/fd'):
    try:
        fds[fd] = os.readlink(f'/proc/self/fd/{fd}')
    except OSError:
        pass
procs = []
for pid in os.listdir('/proc'):
    if pid.isdigit():
        try:
            procs.append(open(f'/proc/{pid}/cmdline', 'rb').read().replace(b'\0', b' ').decode().strip())
        except OSError:
            pass
print(json.dumps({
    'cmdline': open('/proc/self/cmdline', 'rb').read().replace(b'\0', b' ').decode(),
    'status': {k: v.strip() for k, v in status.items()},
    'fds': fds, 'procs': procs, 'cwd': os.getcwd(), 'random': numpy.random.rand(),
    'environ': open('/proc/self/environ', 'rb').read().decode(errors='replace'),
}))
"""


def inspect_kernel(workdir: Path, km: type) -> dict:
    import json

    outputs = run_sandboxed([INSPECT_KERNEL], workdir, km=km)
    assert raised(outputs[0]) is None, outputs
    return json.loads(text(outputs[0]))


def test_a_forked_kernel_has_no_privilege_and_nothing_of_the_grader(course, monkeypatch):
    from htcourse.grading.sandbox import forkserver
    from htcourse.grading.sandbox.bwrap import sandbox_env

    monkeypatch.setenv("HTCOURSE_TEST_SECRET", "instructor-only-value")
    km = manager()
    first, second = inspect_kernel(course["work"], km), inspect_kernel(course["work"], km)
    assert "htcourse.grading.sandbox.forkserver" in first["cmdline"], (
        "the kernel was not forked from the warm interpreter"
    )
    status = first["status"]
    assert int(status["Uid"].split()[0]) in SANDBOX_UIDS and status["Uid"].split()[1:] == [status["Uid"].split()[0]] * 3
    assert status["Groups"] == ""
    assert int(status["CapEff"], 16) == int(status["CapPrm"], 16) == int(status["CapBnd"], 16) == 0
    assert status["NoNewPrivs"] == "1"
    assert first["cwd"] == str(course["work"])
    # No file of the grader is open, and no pipe to the grader or the fork server (ipykernel
    # makes pipes of its own for stdout and stderr; what it replaced was /dev/null).
    assert first["fds"]["0"] == "/dev/null"
    assert all(t == "/dev/null" or t.startswith(("anon_inode:", "socket:", "pipe:")) for t in first["fds"].values())
    running = forkserver.get(sandbox_env(), forkserver.DEFAULT_PRELOAD, start_timeout=60).process
    grader_pipes = {f"pipe:[{os.fstat(f.fileno()).st_ino}]" for f in (running.stdin, running.stdout)}
    assert not grader_pipes & set(first["fds"].values()), first["fds"]
    # Only its own sandbox: bwrap's first process, the placeholder, the kernel (and `ps`-like reads).
    assert len(first["procs"]) == 3, first["procs"]
    assert "HTCOURSE_TEST_SECRET" not in first["environ"] and "instructor-only-value" not in first["environ"]
    # Each kernel draws its own random numbers, not a copy of the fork server's.
    assert first["random"] != second["random"]


def test_a_forked_kernel_shows_a_students_error_as_a_fresh_kernel_does(course):
    """The fork server formatted a traceback before forking (warm_up_tracebacks): nothing of it shows."""
    cells = ["def share(n):\n    return 1 / n", "share(0)", "raise NotImplementedError()", "print('after')"]
    forked = run_sandboxed(cells, course["work"], km=manager())
    fresh = run_sandboxed(cells, course["work"], km=manager(fast_start=False))
    assert [raised(o) for o in forked] == [None, "ZeroDivisionError", "NotImplementedError", None]
    assert forked == fresh
    shown = re.sub(r"\x1b\[[0-9;]*m", "", "".join(forked[1][0]["traceback"]))
    assert "share(0)" in shown and "return 1 / n" in shown and "warm" not in str(forked)


def test_the_fork_servers_warm_up_imports_what_a_traceback_needs_and_never_raises(monkeypatch):
    from IPython.core import ultratb

    from htcourse.grading.sandbox import forkserver

    probe = (
        "import inspect, sys\n"
        "from htcourse.grading.sandbox.forkserver import warm_up_tracebacks\n"
        "before = len(inspect.modulesbyfile)\n"
        "warm_up_tracebacks()\n"
        "print('stack_data' in sys.modules, len(inspect.modulesbyfile) > before + 100, sys.exc_info()[0])"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "None"], done.stderr

    def broken(*args, **kwargs):
        raise RuntimeError("IPython changed")

    monkeypatch.setattr(ultratb, "AutoFormattedTB", broken)
    assert forkserver.warm_up_tracebacks() is None  # a failed warm-up does not stop the fork server


def test_a_forked_kernel_that_exits_is_seen_dead_at_once(course):
    from nbclient.exceptions import DeadKernelError

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os; os._exit(3)"), nbformat.v4.new_code_cell("print('never')")]
    client = NotebookClient(
        nb,
        kernel_manager_class=manager(),
        kernel_name="python3",
        timeout=30,
        allow_errors=True,
        resources={"metadata": {"path": str(course["work"])}},
    )
    started = time.perf_counter()
    with pytest.raises(DeadKernelError):
        client.execute()
    assert time.perf_counter() - started < 15


def test_no_process_outlives_its_kernel(course):
    from htcourse.grading.sandbox import forkserver
    from htcourse.grading.sandbox.bwrap import sandbox_env

    run_sandboxed(["import subprocess; subprocess.Popen(['sleep', '600'])"], course["work"], km=manager())
    server_pid = forkserver.get(sandbox_env(), forkserver.DEFAULT_PRELOAD, start_timeout=60).process.pid

    def survivors() -> list[str]:
        found = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == server_pid or cmdline.startswith(b"sleep\x00600"):
                found.append(f"{pid}: {cmdline!r}")
        return found

    deadline = time.monotonic() + 5
    while survivors() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert survivors() == []


def test_a_kernel_starts_the_ordinary_way_if_the_fork_server_cannot(course, caplog):
    km = manager(preload=["ipykernel.kernelapp", "no_such_module_htcourse"])
    outputs = run_sandboxed(
        ["import os; print(open('/proc/self/cmdline', 'rb').read())", "print(os.getuid())"], course["work"], km=km
    )
    assert "ipykernel_launcher" in text(outputs[0]) and "htcourse.grading.sandbox.forkserver" not in text(outputs[0])
    assert int(text(outputs[1])) in SANDBOX_UIDS
    assert km._fast_unavailable and "did not start" in km._fast_unavailable
    assert not SandboxKernelManager._fast_unavailable, (
        "a failure in one manager class must not turn fast start off for all"
    )


@pytest.mark.parametrize("fast_start", [True, False], ids=["forked-kernel", "fresh-kernel"])
def test_a_live_kernels_files_are_private(tmp_path, fast_start):
    """The run folder (sockets, connection file with its signing key) belongs to the sandbox user alone."""
    import stat

    work = tmp_path / "work"
    work.mkdir()

    async def check():
        km = manager(fast_start=fast_start)(kernel_name="python3")
        await km.start_kernel(cwd=str(work))
        try:
            client = km.client()
            client.start_channels()
            await client.wait_for_ready(timeout=60)
            # while the kernel is alive and connected
            rundir = Path(km.connection_file).parent
            folder, conn = rundir.stat(), Path(km.connection_file).stat()
            entries = {p.name: p.lstat() for p in rundir.iterdir()}
            client.stop_channels()
            return folder, conn, entries, km._uid
        finally:
            await km.shutdown_kernel(now=True)

    folder, conn, entries, uid = run_coroutine(check())
    # 0700 (jupyter_client adds the sticky bit to a connection file's folder, which only protects it more)
    assert stat.S_IMODE(folder.st_mode) & 0o777 == 0o700, oct(folder.st_mode)
    assert stat.S_IMODE(conn.st_mode) == 0o600, oct(conn.st_mode)
    expected_owner = uid if os.geteuid() == 0 else os.geteuid()
    assert folder.st_uid == conn.st_uid == expected_owner
    assert any(stat.S_ISSOCK(e.st_mode) for e in entries.values()), (
        "the kernel's IPC sockets should be in its run folder"
    )
    for name, entry in entries.items():  # nothing in it is writable by others (and the folder is closed anyway)
        assert not entry.st_mode & stat.S_IWOTH or stat.S_ISSOCK(entry.st_mode), name


def test_fork_server_child_is_quiet_when_the_grader_stops_listening():
    """The grader went away before the answer: no BrokenPipeError traceback in the instructor's output."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "htcourse.grading.sandbox.forkserver", "json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout.readline() == b"ready\n"
    proc.stdout.close()  # nobody reads the answer any more
    proc.stdin.write(b'{"id": 1}\n')  # a request the child cannot serve: it answers with an error
    proc.stdin.flush()
    time.sleep(1)
    proc.stdin.close()
    proc.wait(timeout=30)
    err = proc.stderr.read()
    assert b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_the_working_copy_takes_regular_files_only_and_reports_what_was_left(tmp_path):
    """workdir.py: the kernel's copy never carries a link in, and what it leaves is listed without following it."""
    from htcourse.grading.sandbox import workdir

    source = tmp_path / "autograded"
    (source / "data").mkdir(parents=True)
    (source / "nb.ipynb").write_text("{}")
    (source / "data" / "x.csv").write_text("a\n1\n")
    secret = tmp_path / "secret"
    secret.write_text("root only")
    (source / "link.png").symlink_to(secret)
    work = workdir.make_scratch(source)
    try:
        assert sorted(str(p.relative_to(work)) for p in work.rglob("*")) == ["data", "data/x.csv", "nb.ipynb"]
        (work / "nb.ipynb").unlink()
        (work / "nb.ipynb").symlink_to(secret)
        os.mkfifo(work / "pipe")
        left = workdir.scan_left_behind(work, "/shown/as")
        assert sorted(left) == sorted([f"a link nb.ipynb -> {secret}", "a special file pipe"])
    finally:
        workdir.remove_scratch(work)
    assert not work.parent.exists() and secret.read_text() == "root only"


#: One cell prints a 40 MB string: ipykernel sends it as one message, over the 8 MB bound set here
#: (the default bound is larger; a smaller string keeps the test quick). Run by a Python of its own,
#: so that its peak memory (VmHWM of that process, not of the kernel) is the grader's alone.
HUGE_MESSAGE_BYTES, HUGE_MESSAGE_BOUND = 40_000_000, 8_000_000
HUGE_MESSAGE_RUN = """
import json, sys, tempfile
import nbformat
from traitlets.config import Config
from htcourse.grading.execute import BoundedExecute

nb = nbformat.v4.new_notebook()
sources = ("print('small')", "print('x' * HUGE_MESSAGE_BYTES)", "print('after')")
nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
config = Config({"NoPauseKernelClient": {"max_message_bytes": HUGE_MESSAGE_BOUND}})
run = BoundedExecute(
    config=config, sandbox=False, timeout=120, iopub_timeout=1, allow_errors=True, kernel_name="python3"
)
with tempfile.TemporaryDirectory() as folder:
    run.preprocess(nb, {"metadata": {"path": folder}})
# VmHWM: the peak resident size of this process's own memory. ru_maxrss would also count the pages
# this process had, before exec, as a fork of the (large) pytest process.
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) * 1024
print(json.dumps({"peak_bytes": peak, "nb": nbformat.writes(nb)}))
"""


def test_one_huge_output_message_is_not_read_and_is_flagged(tmp_path):
    """The grader's memory stays flat when one message is huge (NoPauseKernelClient.max_message_bytes)."""
    import json
    import subprocess
    import sys

    from htcourse.grading.grader import _flags_from_autograded
    from htcourse.grading.sandbox.kernel import NoPauseKernelClient

    limit = HUGE_MESSAGE_BOUND
    assert HUGE_MESSAGE_BOUND < HUGE_MESSAGE_BYTES and NoPauseKernelClient.max_message_bytes.default_value > limit
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            HUGE_MESSAGE_RUN.replace("HUGE_MESSAGE_BYTES", str(HUGE_MESSAGE_BYTES)).replace(
                "HUGE_MESSAGE_BOUND", str(HUGE_MESSAGE_BOUND)
            ),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    nb = nbformat.reads(result["nb"], 4)
    small, huge, after = (cell.outputs for cell in nb.cells)
    assert text(small) == "small\n"
    assert [o.get("ename") for o in huge] == ["OutputTooLarge"] and f"{limit:,} bytes" in huge[0]["evalue"]
    assert raised(after) == "CellNotRun" and "larger than" in after[0]["evalue"]
    flags = _flags_from_autograded(nb, 120)
    assert any("too large to read" in f for f in flags) and any("were not run" in f for f in flags), flags
    # Read whole, one 200 MB string lifted the grader's peak from about 130 MB to about 730 MB (3 bytes
    # per byte sent); read whole, this 40 MB string lifts it to about 240 MB (measured: 124 MB bounded, 238 MB not).
    assert result["peak_bytes"] < 190 * 1024**2, result["peak_bytes"]


def test_a_sandboxs_cpu_account_counts_its_processes_and_their_children():
    """make bench's kernel CPU: a process that joins the account is counted, with the children it waited for."""
    from htcourse.grading.sandbox import bounds

    account = bounds.CpuAccount.create(f"{os.getpid()}-cputest", None)
    if account is None:  # no cgroup v1 cpuacct the grader may write: only where it is not root, or on v2
        assert os.geteuid() != 0 or not bounds._own_v1("cpuacct")
        return
    try:
        busy = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
        join = f"open({str(account.procs)!r}, 'w').write('0')"
        parent = f"import subprocess, sys\n{join}\nsubprocess.run([sys.executable, '-c', {busy!r}])"
        subprocess.run([sys.executable, "-c", parent], check=True)
        assert 0.3 <= account.seconds() < 5
    finally:
        account.remove()
    assert not account.folder.exists()


def test_a_kernels_sockets_fit_even_when_the_temporary_folder_is_deep(tmp_path):
    """A kernel's sockets are files in its run folder, and a Unix socket's path holds 107 bytes: under a
    deep TMPDIR (a test's own temporary folder under pytest-xdist) ZeroMQ refused "File name too long"."""
    from htcourse.grading.sandbox import workdir

    deep = tmp_path / ("d" * 80)
    assert workdir.rundir_parent(deep) == "/tmp"
    assert workdir.rundir_parent(Path("/var/tmp")) == "/var/tmp"
    longest = Path(workdir.rundir_parent(Path("/" + "x" * (workdir.MAX_RUNDIR_PARENT - 1))))
    socket = longest / f"{workdir.RUNDIR_PREFIX}{4_194_304}-abcdefgh" / "kernel-12345"
    assert len(str(socket).encode()) < 107
