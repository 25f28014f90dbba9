"""The kernel managers the grader runs student notebooks with.

:class:`SandboxKernelManager` starts each kernel inside the bubblewrap
sandbox of :mod:`.bwrap` (see :mod:`htcourse.grading.sandbox` for what it
protects), talking to the grader over ZeroMQ IPC sockets in a private run
folder bound into the sandbox. Running as root, a kernel normally starts as
a fork of a warm interpreter moved into that sandbox (:mod:`.forkserver`,
``fast_start``); the sandbox is the same either way.

:class:`NoPauseKernelManager` (and its client) is jupyter_client's
asynchronous manager without its fixed pauses; the sandboxed manager builds
on it, and the grader uses it for unsandboxed kernels too.

Both override or call private methods of jupyter_client (``_async_wait_for_ready``,
``_handle_kernel_info_reply``, ``_async_is_alive``, ``_async_wait``, ``_async_pre_start_kernel``,
``_async_launch_kernel``,
``_async_cleanup_resources``, and the ``_launch_kernel`` / ``pre_start_kernel``
/ ``cleanup_resources`` aliases to them). They were written against
jupyter_client :data:`JUPYTER_CLIENT_VERSION`; ``tests/test_sandbox.py``
fails when another version is installed, so that someone re-reads those
methods in the new version before grading with it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Int, List, Unicode

from htcourse.grading.sandbox import bounds, forkserver, workdir
from htcourse.grading.sandbox.bwrap import (
    SANDBOX_GID,
    SandboxLimits,
    bwrap_command,
    find_tools,
    new_sandbox_uid,
    sandbox_env,
)

#: The jupyter_client release whose private methods the managers below override
#: (checked by tests/test_sandbox.py against the installed one).
JUPYTER_CLIENT_VERSION = "8.10.0"


class NoPauseKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, without its fixed pause after the kernel is ready.

    jupyter_client waits until the kernel's broadcast channel has been quiet
    for 0.2 s before it lets the first cell run; grading pays that for every
    submission. nbclient reads only the messages that answer its own
    requests, so a short flush is enough.
    """

    flush_seconds = 0.01

    max_message_bytes = Int(
        64 * 1024**2,
        help=(
            "The largest single message the grader reads from a kernel (ZeroMQ's maxmsgsize, checked "
            "before a byte of it is stored). A larger one, e.g. one print of a 200 MB string, is not "
            "read: the kernel's output channel closes, the remaining cells are not run and the "
            "submission is flagged. Leave room for the report of a hidden-test cell's answers "
            "(c.SendAnswers.max_answers_bytes)."
        ),
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Default options of every socket this client's context makes (shell, iopub, stdin, control, hb).
        self.context.setsockopt(zmq.MAXMSGSIZE, self.max_message_bytes)
        self._iopub_monitor = None
        self._iopub_lost = False

    def connect_iopub(self, identity: bytes | None = None):
        sock = super().connect_iopub(identity=identity)
        # ZeroMQ closes a connection that brings a message over maxmsgsize (and does not reopen it):
        # watch the output channel for that, through a monitor socket read without blocking.
        address = f"inproc://htcourse-iopub-{id(sock)}"
        sock.monitor(address, zmq.EVENT_DISCONNECTED)
        self._iopub_monitor = zmq.Context.shadow(self.context.underlying).socket(zmq.PAIR)
        self._iopub_monitor.linger = 0
        self._iopub_monitor.connect(address)
        return sock

    def stop_channels(self) -> None:
        if self._iopub_monitor is not None:  # first: ending the context waits for every socket in it
            self._iopub_monitor.close(linger=0)
            self._iopub_monitor = None
        super().stop_channels()

    def iopub_lost(self) -> bool:
        """Whether the kernel's output channel has closed since it connected (the kernel itself may live on)."""
        while not self._iopub_lost and self._iopub_monitor is not None:
            try:
                self._iopub_monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            self._iopub_lost = True
        return self._iopub_lost

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


class NoPauseKernelManager(AsyncKernelManager):
    """jupyter_client's asynchronous kernel manager, without its fixed pauses.

    It uses :class:`NoPauseKernelClient` (no 0.2 s pause before the first
    cell) and notices within milliseconds that a killed kernel has gone
    (jupyter_client looks every 0.1 s). The grader uses it for every kernel,
    sandboxed or not.
    """

    client_class = Unicode("htcourse.grading.sandbox.kernel.NoPauseKernelClient")
    client_factory = NoPauseKernelClient

    async def _async_wait(self, pollinterval: float = 0.1) -> None:
        while await self._async_is_alive():
            await asyncio.sleep(min(pollinterval, 0.005))


class SandboxKernelManager(NoPauseKernelManager):
    """A kernel manager whose kernels run inside bubblewrap, talking over IPC sockets.

    Asynchronous, like the manager nbgrader uses, so that the sandbox is
    started from the event loop's own thread (see ``--die-with-parent``).
    """

    cpu_seconds = Int(
        SandboxLimits.cpu_seconds,
        help="CPU seconds each process of a student's sandbox may use (prlimit --cpu).",
    ).tag(config=True)
    memory_bytes = Int(
        SandboxLimits.memory_bytes, help="Address space of each process of a student's sandbox (prlimit --as)."
    ).tag(config=True)
    max_processes = Int(
        SandboxLimits.max_processes, help="Processes the sandbox's user may run at once (prlimit --nproc)."
    ).tag(config=True)
    sandbox_memory_bytes = Int(
        2 * 1024**3,
        help=(
            "Memory all the processes of one sandbox may hold together, files in its memory-backed folders "
            "included (a memory cgroup; where the machine allows none, the bound is memory_bytes times "
            "max_processes)."
        ),
    ).tag(config=True)
    workdir_bytes = Int(
        512 * 1024**2,
        help=(
            "Size of the kernel's working folder (a tmpfs when the grader runs as root; otherwise unbounded "
            "but discarded after the kernel)."
        ),
    ).tag(config=True)
    tmp_bytes = Int(SandboxLimits.tmp_bytes, help="Size of the sandbox's /tmp (a tmpfs).").tag(config=True)
    workdir = Unicode("", help="the writable folder (defaults to the kernel's cwd)").tag(config=True)
    fast_start = Bool(
        True,
        help=(
            "Start the kernel by forking a warm interpreter into the sandbox "
            "(htcourse.grading.sandbox.forkserver) instead of starting Python afresh in it; the sandbox is the same. "
            "Needs root and Linux; otherwise, or if the fork fails, the kernel starts the ordinary way."
        ),
    ).tag(config=True)
    fast_start_timeout = Int(
        60,
        help=(
            "Seconds each step of a fast start may take: the fork server's start (it imports the preloaded "
            "modules, once per grading process), the sandbox's setting up, one fork into it. Past it, kernels "
            "start the ordinary way (c.BoundedExecute.startup_timeout still bounds a kernel's whole start)."
        ),
    ).tag(config=True)
    preload = List(
        Unicode(), list(forkserver.DEFAULT_PRELOAD), help="Modules the warm interpreter imports once (see fast_start)."
    ).tag(config=True)

    _rundir: Path | None = None
    _scratch: Path | None = None
    #: What its sandbox showed once its kernel had ended, in words, for the grading report:
    #: ``"reached"`` (bounds the sandbox reached), ``"left_behind"`` (links and special files
    #: the kernel left in its working folder). :class:`htcourse.grading.execute.BoundedExecute`
    #: puts them in the notebook's resources.
    findings: dict[str, list[str]]
    _cgroup: bounds.MemoryCgroup | None = None
    _cpu: bounds.CpuAccount | None = None
    #: CPU seconds the sandbox's processes used in all, read once its kernel has ended (make bench).
    kernel_cpu_seconds: float = 0.0
    _said_no_cgroup: bool = False
    _fast_argv: list[str] | None = None
    _fast_unavailable: str = ""  # why fast start is off in this process, once it failed

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.findings = {"reached": [], "left_behind": []}

    @property
    def limits(self) -> SandboxLimits:
        return SandboxLimits(self.cpu_seconds, self.memory_bytes, self.max_processes, self.tmp_bytes)

    async def _async_pre_start_kernel(self, **kw):
        self._tools = find_tools()
        self._uid = new_sandbox_uid()
        # The run folder holds the kernel's sockets and its connection file (with
        # the key that signs every message): private to the sandbox user (0700,
        # owned by it; mkdtemp makes it 0700), so no other local user can read
        # the key or replace a socket. The grader, as root, can still use it.
        prefix = f"{workdir.RUNDIR_PREFIX}{os.getpid()}-"
        self._rundir = Path(tempfile.mkdtemp(prefix=prefix, dir=workdir.rundir_parent()))
        if os.geteuid() == 0:
            os.chown(self._rundir, self._uid, SANDBOX_GID)
        self.transport = "ipc"
        self.ip = str(self._rundir / "kernel")
        self.connection_file = str(self._rundir / "kernel.json")
        cwd = Path(kw.get("cwd") or self.workdir or os.getcwd()).resolve()
        self._workdir = cwd
        # The kernel works in a private copy bound at the same path, never in
        # the grader's folder, which later steps write as the grader's user
        # (see workdir.py).
        if self._scratch is not None:
            workdir.remove_scratch(self._scratch)
        root = os.geteuid() == 0
        self._scratch = workdir.make_scratch(
            cwd, self._uid if root else None, SANDBOX_GID if root else None, size=self.workdir_bytes
        )
        if self._cgroup is not None:
            self._cgroup.remove()
        self._cgroup = bounds.MemoryCgroup.create(f"{os.getpid()}-{self._uid}", self.sandbox_memory_bytes)
        if self._cpu is not None:
            self._cpu.remove()
        self._cpu = bounds.CpuAccount.create(f"{os.getpid()}-{self._uid}", self._cgroup)
        if self._cgroup is None and not type(self)._said_no_cgroup:
            type(self)._said_no_cgroup = True
            self.log.warning(
                "No memory cgroup for the sandboxes on this machine: each sandbox's memory is bounded "
                "only by %d processes of %d bytes each",
                self.max_processes,
                self.memory_bytes,
            )
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
            # The sandbox runs a placeholder that says it is ready; the fork
            # server then forks the kernel into it (see forkserver.py).
            self._fast_argv = cmd[3:]
            ready = str(self._rundir / "ready")
            placeholder = ["/bin/sh", "-c", 'echo > "$1" && exec sleep infinity', "sh", ready]
            return self._in_cgroup(
                bwrap_command(
                    placeholder,
                    self._workdir,
                    self._rundir,
                    self.limits,
                    self._tools,
                    uid=self._uid,
                    scratch=self._scratch,
                )
            )
        return self._in_cgroup(
            bwrap_command(
                cmd, self._workdir, self._rundir, self.limits, self._tools, uid=self._uid, scratch=self._scratch
            )
        )

    def _cgroup_procs(self) -> list[str]:
        """The files a process of the sandbox writes ``0`` to, to join its cgroups (memory, CPU account)."""
        return [str(group.procs) for group in (self._cgroup, self._cpu) if group is not None and group.procs]

    def sandbox_cpu_seconds(self) -> float | None:
        """CPU seconds the sandbox's processes have used so far (None where the machine does not count them)."""
        return self._cpu.seconds() if self._cpu is not None else None

    def _in_cgroup(self, cmd: list[str]) -> list[str]:
        """``cmd`` started inside the sandbox's cgroups (it joins them, then becomes ``cmd``)."""
        procs = self._cgroup_procs()
        if not procs:
            return cmd
        joins = " && ".join(f'echo 0 > "${i}"' for i in range(1, len(procs) + 1))
        return ["/bin/sh", "-c", f'{joins} && shift {len(procs)} && exec "$@"', "sh", *procs, *cmd]

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
        await forkserver.wait_for_file(self._rundir / "ready", process, timeout)
        request = {
            "target": forkserver.sandbox_init_pid(process.pid),
            "bwrap": process.pid,
            "argv": self._fast_argv,
            "cwd": str(self._workdir),
            "env": sandbox_env(),
            "uid": self._uid,
            "gid": SANDBOX_GID,
            "limits": {
                "cpu_seconds": self.cpu_seconds,
                "memory_bytes": self.memory_bytes,
                "max_processes": self.max_processes,
            },
            "cgroup_procs": self._cgroup_procs(),
        }
        forkserver.get(sandbox_env(), tuple(self.preload), timeout).spawn(request, timeout)

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
            await self._fast_start(timeout=self.fast_start_timeout)
            return launched
        except (forkserver.ForkServerError, OSError, ValueError) as exc:
            # Stop the placeholder sandbox and start the kernel the ordinary way
            # from now on in this process; say so once.
            type(self)._fast_unavailable = str(exc)
            self.log.warning("Starting sandboxed kernels the ordinary way (fast start failed: %s)", exc)
            await self.provisioner.kill()
            await self.provisioner.wait()
            self._fast_argv = None
            cmd = self._in_cgroup(
                bwrap_command(
                    self._kernel_cmd,
                    self._workdir,
                    self._rundir,
                    self.limits,
                    self._tools,
                    uid=self._uid,
                    scratch=self._scratch,
                )
            )
            return await super()._async_launch_kernel(cmd, **kw)

    _launch_kernel = _async_launch_kernel

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._rundir and not restart:
            shutil.rmtree(self._rundir, ignore_errors=True)
        if self._cpu is not None and not restart:
            self.kernel_cpu_seconds += self._cpu.seconds()
            self._cpu.remove()  # (with v2, the memory cgroup below, which counts the CPU too)
            self._cpu = None
        if self._cgroup is not None and not restart:
            _, reached = self._cgroup.usage()
            if reached:
                self.findings["reached"].append(
                    f"its processes reached the memory bound of the sandbox "
                    f"({self.sandbox_memory_bytes / 1024**2:,.0f} MB for all of them together)"
                )
            self._cgroup.remove()
            self._cgroup = None
        if self._scratch is not None and not restart:
            self.findings["left_behind"] += workdir.scan_left_behind(self._scratch, self._workdir)
            if bounds.is_mount(self._scratch) and bounds.folder_full(self._scratch):
                size = f"{self.workdir_bytes / 1024**2:,.0f} MB"
                self.findings["reached"].append(f"it filled its working folder ({size})")
            workdir.remove_scratch(self._scratch)
            self._scratch = None

    cleanup_resources = _async_cleanup_resources
