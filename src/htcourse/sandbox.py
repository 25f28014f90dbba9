"""Run a student's kernel inside a bubblewrap sandbox.

nbgrader executes student code as the instructor, beside the solutions and
the gradebook. :class:`SandboxKernelManager` starts each kernel instead with
``bwrap`` (Debian package ``bubblewrap``) so that the code can see only:

* the system (``/usr``, ``/etc`` ...), Python and the course's virtualenv, read-only;
* the course package's source and the datasets, read-only;
* its own working folder (the submission's copy), writable;
* a private ``/tmp``, ``/dev`` and ``/proc``.

It cannot see ``assignments/source``, ``release``, other students' folders,
``gradebook.db`` or the instructor's home; it has no network (a new, empty
network namespace; the kernel talks to the grader over ZeroMQ IPC sockets in
a run folder bound into the sandbox); it runs as an unprivileged user
(a fresh uid per kernel: root ignores the process limit) with limits on CPU time, memory
and the number of processes, read from :class:`SandboxLimits`.

Running as root, a kernel normally starts as a fork of a warm interpreter
moved into that sandbox (:mod:`htcourse.zygote`, ``fast_start``); the
sandbox is the same either way.

What it does not protect against is documented in the instructor guide
(``book/instructors/index.md``, "What the grading sandbox protects").
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Int, List, Unicode

from htcourse import zygote
from htcourse.paths import REPO_ROOT, datasets_dir

#: Each sandbox runs as its own unprivileged user id, drawn from this range
#: (ids need no /etc/passwd entry). The process limit counts every process
#: and thread of a uid, so a fork bomb in one submission cannot starve a
#: submission graded beside it.
SANDBOX_UIDS = range(200_000, 260_000)
SANDBOX_GID = 65534  # nogroup


def new_sandbox_uid() -> int:
    import secrets

    return SANDBOX_UIDS.start + secrets.randbelow(len(SANDBOX_UIDS))


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or setpriv/prlimit) is missing, so student code cannot be isolated."""


@dataclass(frozen=True)
class SandboxLimits:
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    max_processes: int = 64


def find_tools() -> dict[str, str]:
    """Paths of the programs the sandbox needs; raise :class:`SandboxUnavailable` if any is missing."""
    tools = {name: shutil.which(name) for name in ("bwrap", "setpriv", "prlimit")}
    missing = [name for name, path in tools.items() if not path]
    if missing:
        raise SandboxUnavailable(
            f"cannot sandbox student code: {', '.join(missing)} not found. Install bubblewrap "
            "(`apt-get install bubblewrap`), or grade without a sandbox only if you trust every "
            "submission: `make grade UNSANDBOXED=1`."
        )
    return tools  # type: ignore[return-value]


def _read_only_roots() -> list[Path]:
    """Folders the kernel needs to read: the system, Python, the virtualenv, the package, the data."""
    roots = [Path(p) for p in ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/opt")]
    roots += [Path(sys.base_prefix), Path(sys.prefix), REPO_ROOT / "src", datasets_dir()]
    seen, result = set(), []
    for root in roots:
        if root.exists() and root not in seen:
            seen.add(root)
            result.append(root)
    return result


def sandbox_env() -> dict[str, str]:
    """The whole environment of a sandboxed kernel (nothing else of the grader's is passed on)."""
    env = {
        "HOME": "/tmp",
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": "/tmp",
        "HTCOURSE_DATASETS": str(datasets_dir()),
    }
    for key in ("HTCOURSE_SITE_BUILD",):
        if key in os.environ:
            env[key] = os.environ[key]
    return env


def bwrap_command(
    kernel_cmd: list[str],
    workdir: Path,
    rundir: Path,
    limits: SandboxLimits = SandboxLimits(),
    tools: dict[str, str] | None = None,
    uid: int | None = None,
) -> list[str]:
    """Wrap ``kernel_cmd`` so it runs sandboxed with ``workdir`` as its only writable folder."""
    tools = tools or find_tools()
    # --die-with-parent ties the sandbox to the thread that started it: the
    # kernel manager is asynchronous, so that is the grader's event-loop
    # thread, and a grader that dies takes its kernels with it.
    cmd = [tools["bwrap"], "--die-with-parent", "--new-session", "--clearenv"]
    # Every namespace but the user namespace when root: inside one, the
    # unprivileged uid below would not be mapped.
    cmd += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        cmd += ["--unshare-user-try"]
    roots = _read_only_roots()
    # The private /tmp comes first: anything bound under /tmp before it
    # (a dataset folder in a temporary directory, say) would be hidden by it.
    cmd += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"]
    # bwrap creates missing parent folders as 0700 when run as root, which
    # the unprivileged sandbox user could not enter: create them 0755 first.
    made: set[Path] = {Path("/"), Path("/tmp")}
    for target in [*roots, rundir, workdir]:
        for parent in reversed(target.parents):
            if parent not in made and not any(parent == r or r in parent.parents for r in roots):
                made.add(parent)
                cmd += ["--perms", "0755", "--dir", str(parent)]
    for root in roots:
        if root.is_symlink():
            cmd += ["--symlink", os.readlink(root), str(root)]
        else:
            cmd += ["--ro-bind", str(root), str(root)]
    cmd += ["--bind", str(rundir), str(rundir), "--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    for key, value in sandbox_env().items():
        cmd += ["--setenv", key, value]
    cmd += [
        "--",
        tools["prlimit"],
        f"--cpu={limits.cpu_seconds}",
        f"--as={limits.memory_bytes}",
        f"--nproc={limits.max_processes}",
        "--",
    ]
    if os.geteuid() == 0:
        # Root ignores the process limit: drop to an unprivileged user first.
        cmd += [
        tools["setpriv"],
        f"--reuid={uid if uid is not None else new_sandbox_uid()}",
        f"--regid={SANDBOX_GID}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]
    return cmd + list(kernel_cmd)


class PromptKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, without its fixed pause after the kernel is ready.

    jupyter_client waits until the kernel's broadcast channel has been quiet
    for 0.2 s before it lets the first cell run; grading pays that for every
    submission. nbclient reads only the messages that answer its own
    requests, so a short flush is enough.
    """

    flush_seconds = 0.01

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # the broadcast channel is connected once a message arrives on it
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass
                    else:
                        self._handle_kernel_info_reply(msg)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=self.flush_seconds)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready


class PromptKernelManager(AsyncKernelManager):
    """jupyter_client's asynchronous kernel manager, without its fixed pauses.

    It uses :class:`PromptKernelClient` (no 0.2 s pause before the first
    cell) and notices within milliseconds that a killed kernel has gone
    (jupyter_client looks every 0.1 s). The grader uses it for every kernel,
    sandboxed or not.
    """

    client_class = Unicode("htcourse.sandbox.PromptKernelClient")
    client_factory = PromptKernelClient

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        while await self._async_is_alive():
            await asyncio.sleep(min(pollinterval, 0.005))


class SandboxKernelManager(PromptKernelManager):
    """A kernel manager whose kernels run inside bubblewrap, talking over IPC sockets.

    Asynchronous, like the manager nbgrader uses, so that the sandbox is
    started from the event loop's own thread (see ``--die-with-parent``).
    """

    cpu_seconds = Int(SandboxLimits.cpu_seconds, help="CPU seconds the kernel may use").tag(config=True)
    memory_bytes = Int(SandboxLimits.memory_bytes, help="address space limit of the kernel").tag(config=True)
    max_processes = Int(SandboxLimits.max_processes, help="processes the sandbox user may run").tag(config=True)
    workdir = Unicode("", help="the writable folder (defaults to the kernel's cwd)").tag(config=True)
    fast_start = Bool(True, help=(
        "Start the kernel by forking a warm interpreter into the sandbox (htcourse.zygote) instead of "
        "starting Python afresh in it; the sandbox is the same. Needs root and Linux; otherwise, or if "
        "the fork fails, the kernel starts the ordinary way.")).tag(config=True)
    preload = List(Unicode(), list(zygote.DEFAULT_PRELOAD),
                   help="Modules the warm interpreter imports once (see fast_start).").tag(config=True)

    _rundir: Path | None = None
    _fast_argv: list[str] | None = None
    _fast_unavailable: str = ""  # why fast start is off in this process, once it failed

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(self.cpu_seconds, self.memory_bytes, self.max_processes)

    async def _async_pre_start_kernel(self, **kw):
        self._tools = find_tools()
        self._uid = new_sandbox_uid()
        # The run folder holds the kernel's sockets and its connection file (with
        # the key that signs every message): private to the sandbox user (0700,
        # owned by it; mkdtemp makes it 0700), so no other local user can read
        # the key or replace a socket. The grader, as root, can still use it.
        self._rundir = Path(tempfile.mkdtemp(prefix="htc-kernel-"))
        if os.geteuid() == 0:
            os.chown(self._rundir, self._uid, SANDBOX_GID)
        self.transport = "ipc"
        self.ip = str(self._rundir / "kernel")
        self.connection_file = str(self._rundir / "kernel.json")
        cwd = Path(kw.get("cwd") or self.workdir or os.getcwd()).resolve()
        self._workdir = cwd
        _give_to_sandbox_user(cwd, self._uid)
        # A signal cannot reach the kernel across the sandbox's PID namespace
        # and session: interrupt it with a message on the control channel.
        self.kernel_spec.interrupt_mode = "message"
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        os.chmod(self.connection_file, 0o600)
        if os.geteuid() == 0:
            os.chown(self.connection_file, self._uid, SANDBOX_GID)
        return cmd, kw

    pre_start_kernel = _async_pre_start_kernel

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        self._kernel_cmd = cmd
        self._fast_argv = None
        if self._can_fast_start(cmd):
            # The sandbox runs a placeholder that says it is ready; the zygote
            # then forks the kernel into it (see htcourse.zygote).
            self._fast_argv = cmd[3:]
            ready = str(self._rundir / "ready")
            placeholder = ["/bin/sh", "-c", 'echo > "$1" && exec sleep infinity', "sh", ready]
            return bwrap_command(placeholder, self._workdir, self._rundir, self.limits, self._tools, uid=self._uid)
        return bwrap_command(cmd, self._workdir, self._rundir, self.limits, self._tools, uid=self._uid)

    def _can_fast_start(self, cmd: list[str]) -> bool:
        return (
            self.fast_start
            and not type(self)._fast_unavailable
            and os.geteuid() == 0
            and hasattr(os, "pidfd_open")
            and len(cmd) >= 3
            and cmd[1:3] == ["-m", "ipykernel_launcher"]
            and os.path.realpath(shutil.which(cmd[0]) or cmd[0]) == os.path.realpath(sys.executable)
        )

    async def _fast_start(self, timeout: float) -> None:
        process = self.provisioner.process
        await zygote.wait_for_file(self._rundir / "ready", process, timeout)
        request = {
            "target": zygote.sandbox_init_pid(process.pid),
            "bwrap": process.pid,
            "argv": self._fast_argv,
            "cwd": str(self._workdir),
            "env": sandbox_env(),
            "uid": self._uid,
            "gid": SANDBOX_GID,
            "limits": {"cpu_seconds": self.cpu_seconds, "memory_bytes": self.memory_bytes,
                       "max_processes": self.max_processes},
        }
        zygote.get(sandbox_env(), tuple(self.preload)).spawn(request, timeout)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        env = dict(kw.get("env") or os.environ)
        env.pop("JPY_PARENT_PID", None)  # with a new PID namespace the parent poller would exit at once
        kw["env"] = env
        # The kernel's own banner ("To connect another client...") would
        # clutter the grading report; errors still go to stderr.
        kw.setdefault("stdout", subprocess.DEVNULL)
        launched = await super()._async_launch_kernel(kernel_cmd, **kw)
        if self._fast_argv is None:
            return launched
        try:
            await self._fast_start(timeout=60)
            return launched
        except (zygote.ZygoteError, OSError, ValueError) as exc:
            # Stop the placeholder sandbox and start the kernel the ordinary way
            # from now on in this process; say so once.
            type(self)._fast_unavailable = str(exc)
            self.log.warning("Starting sandboxed kernels the ordinary way (fast start failed: %s)", exc)
            await self.provisioner.kill()
            await self.provisioner.wait()
            self._fast_argv = None
            cmd = bwrap_command(self._kernel_cmd, self._workdir, self._rundir, self.limits, self._tools, uid=self._uid)
            return await super()._async_launch_kernel(cmd, **kw)

    _launch_kernel = _async_launch_kernel

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._rundir and not restart:
            shutil.rmtree(self._rundir, ignore_errors=True)

    cleanup_resources = _async_cleanup_resources


def _give_to_sandbox_user(folder: Path, uid: int) -> None:
    """Let the sandbox user write in its working folder (and nowhere else)."""
    if os.geteuid() != 0:
        return
    for root, dirs, files in os.walk(folder):
        os.chown(root, uid, SANDBOX_GID)
        for name in files:
            os.chown(os.path.join(root, name), uid, SANDBOX_GID)
