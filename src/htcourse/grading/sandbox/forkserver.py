"""Start sandboxed kernels from a warm interpreter instead of a cold one.

A grading kernel spends most of its life starting: on the machine this was
written on, about half a second until it is ready (most of it importing
IPython and ipykernel), and a third of a second more when the notebook's
first cell imports pandas, against a tenth of a second running a problem
set's cells. Grading a class pays that for every submission. The fork server
pays the imports once per grading process.

How a kernel starts (all on Linux, as root; see :mod:`.kernel`):

1. The sandbox is created exactly as for an ordinary kernel: ``bwrap`` with
   its own mount, PID, network, IPC and UTS namespaces, the same bind
   mounts, limits and unprivileged uid. Only the program it runs differs: a
   placeholder that says it is ready and then sleeps.
2. The fork server is a separate ``python -m htcourse.grading.sandbox.forkserver`` process, started
   with the sandbox's environment, that imported ipykernel and the
   preloaded modules once and has done nothing since. It never reads a
   request itself: for each one it forks a child, and the child reads it.
   So nothing of one student's request stays in the memory that the next
   student's kernel is forked from.
3. The child joins the sandbox's namespaces (``setns``) and root
   (``chroot``), then forks the kernel into the sandbox's PID namespace.
   The kernel applies the same limits (``setrlimit``), drops to the same
   uid with no groups, no capabilities and no new privileges, points its
   standard streams at ``/dev/null``, closes every other file, reseeds the
   random generators and runs ipykernel with the connection file.
4. The child waits for the kernel and then kills the sandbox, so that the
   kernel manager (which watches ``bwrap``) sees the kernel's end; killing
   the sandbox (``shutdown_kernel(now=True)``) kills the kernel with it.

The kernel is what an ordinary sandboxed kernel is, with three differences a
student could notice: the preloaded modules (and those IPython formats an
error with, :func:`warm_up_tracebacks`) are already imported, its
command line reads ``python -m htcourse.grading.sandbox.forkserver``, and it shares the
fork server's string-hash seed with the other kernels forked from it (so the
order of a set of strings is the same in each).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import select
import signal
import subprocess
import sys
import time

from htcourse.grading.sandbox.processes import Helper, Helpers, _check, _die_with_parent, _libc

#: Modules the kernels of the course's assignments import: the kernel itself, pandas, and networkx and
#: rapidfuzz (record linkage; networkx alone costs a kernel about 0.1 s of CPU to import).
#: ``ipykernel.debugger`` too: every kernel imports it (and debugpy, ~250 files) at start, whether or not
#: anyone debugs; a sandboxed kernel cannot write bytecode caches into the read-only environment, so
#: where none were written at install it compiled them all again, 0.4 s of CPU per kernel.
#: The IPython and standard modules after it are those a kernel still imported while it started
#: (its shell's debugger, completer, %store magic and in-memory history), and the course's data loader.
DEFAULT_PRELOAD = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.debugger",
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "sqlite3",
    "tornado.platform.asyncio",
    "htcourse.data",
    "pandas",
    "networkx",
    "rapidfuzz.distance",
)

#: The namespaces a kernel joins, in order: the mount namespace last, because
#: after it the /proc paths of the grader's world are gone.
NAMESPACES = (("ipc", 0x08000000), ("uts", 0x04000000), ("net", 0x40000000), ("pid", 0x20000000), ("mnt", 0x00020000))

_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_LIMITS = {
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "max_processes": resource.RLIMIT_NPROC,
}


class ForkServerError(RuntimeError):
    """The fork server could not start a kernel (the reason is the message)."""


# --- inside the fork server's children ------------------------------------------------


def _read_line(fd: int) -> bytes:
    """One request line, read a byte at a time so that nothing of the next request is consumed."""
    data = bytearray()
    while True:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return bytes(data)
        data += byte


def _become_kernel(req: dict, status_fd: int) -> None:
    """In the sandbox's namespaces: drop every privilege, then run ipykernel. Never returns."""
    try:
        os.setsid()
        libc = _libc()
        _die_with_parent()
        os.chdir(req["cwd"])
        for name, value in req["limits"].items():
            resource.setrlimit(_LIMITS[name], (value, value))
        for cap in range(64):  # an empty bounding set: nothing run later can regain a capability
            if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                break
        os.setgroups([])
        os.setgid(req["gid"])
        os.setuid(req["uid"])  # from root to another uid: the capabilities go
        _check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        # Changing uid made the process undumpable, so its own /proc/self files
        # belong to root; an ordinary kernel (which exec'd) can read them.
        _check(libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0), "prctl(DUMPABLE)")
        if os.getuid() == 0 or os.geteuid() == 0:
            raise OSError("the kernel is still root")
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, status_fd)
        os.closerange(status_fd + 1, max(os.sysconf("SC_OPEN_MAX"), 65536))
        os.environ.clear()
        os.environ.update(req["env"], PWD=req["cwd"])
        # The module search path and argv of ``python -m ipykernel_launcher``
        # (whose first path entry, the folder it started in, it removes).
        import importlib.util

        sys.path[:] = sys.path[1:]
        sys.argv[:] = [importlib.util.find_spec("ipykernel_launcher").origin, *req["argv"]]
        import random

        random.seed()
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.write(status_fd, b"ok")
        os.close(status_fd)
    except BaseException as exc:  # noqa: BLE001 - report why, then stop
        try:
            os.write(status_fd, f"{type(exc).__name__}: {exc}".encode()[:4000])
        finally:
            os._exit(70)
    code = 0
    try:
        from ipykernel.kernelapp import IPKernelApp

        IPKernelApp.launch_instance(argv=list(req["argv"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001
        code = 1
    os._exit(code)


def _serve_one(status_fd: int) -> None:
    """A child of the fork server: read one request, start that kernel, wait for it. Never returns."""
    reply: dict = {}
    req = None
    kernel = None
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _die_with_parent()
        line = _read_line(0)
        os.write(status_fd, b"1" if line else b"0")
        os.close(status_fd)
        if not line:
            os._exit(0)
        req = json.loads(line)
        for path in req.get("cgroup_procs") or []:  # join the sandbox's cgroups (bounds.py) before forking
            with open(path, "w") as procs:
                procs.write("0")
        target = int(req["target"])
        sandbox = os.pidfd_open(int(req["bwrap"]))
        libc = _libc()
        ns_fds = [(os.open(f"/proc/{target}/ns/{name}", os.O_RDONLY), flag) for name, flag in NAMESPACES]
        root = os.open(f"/proc/{target}/root", os.O_RDONLY | os.O_DIRECTORY)
        for fd, flag in ns_fds:
            _check(libc.setns(fd, flag), "setns")
            os.close(fd)
        os.fchdir(root)
        os.chroot(".")
        os.close(root)
        read_end, write_end = os.pipe()
        kernel = os.fork()
        if kernel == 0:
            os.close(read_end)
            os.close(sandbox)
            _become_kernel(req, write_end)
        os.close(write_end)
        status = b""
        while chunk := os.read(read_end, 4096):
            status += chunk
        os.close(read_end)
        if status == b"ok":
            reply = {"ok": True}
        else:
            reply = {"error": status.decode(errors="replace") or "the kernel process stopped at once"}
    except BaseException as exc:  # noqa: BLE001
        reply = {"error": f"{type(exc).__name__}: {exc}"}
    reply["id"] = req.get("id") if isinstance(req, dict) else None
    try:
        os.write(1, (json.dumps(reply) + "\n").encode())
    except OSError:
        # The grader stopped listening (it gave up waiting, or it is exiting):
        # nobody will use this kernel, so end it quietly.
        reply = {"error": "the grader went away"}
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    if not reply.get("ok"):
        if kernel:
            try:
                os.kill(kernel, signal.SIGKILL)
            except OSError:
                pass
        os._exit(1)
    os.waitpid(kernel, 0)
    try:  # the kernel has ended: end its sandbox, so that the kernel manager sees it
        signal.pidfd_send_signal(sandbox, signal.SIGKILL)
    except OSError:
        pass
    os._exit(0)


def warm_up_tracebacks() -> None:
    """Format one traceback as a kernel's shell formats a student's error, so that every kernel starts warm.

    The first error in a kernel cost it about 0.15 s of CPU more than the next
    ones (IPython's traceback modules and pygments' lexer imported, the standard
    library's table of which file is which module filled); a problem set left
    blank raises in almost every cell. The traceback is of a line of this
    function's own, in IPython's default mode and theme; nothing of it is kept
    but those imports and caches of the installed modules.
    """
    try:
        from IPython.core import ultratb

        formatter = ultratb.AutoFormattedTB(mode="Context", theme_name="neutral", tb_offset=0)
        try:
            exec(compile("def warm_up():\n    raise ValueError('warm-up')\nwarm_up()\n", "<warm-up>", "exec"), {})  # noqa: S102
        except ValueError as exc:
            formatter.structured_traceback(type(exc), exc, exc.__traceback__)
    except Exception:  # noqa: BLE001 - only a head start: kernels still format their own errors
        pass


def main(argv: list[str] | None = None) -> None:
    """The fork server: preload, say ready, then fork one child per request until stdin closes."""
    import importlib

    argv = sys.argv[1:] if argv is None else argv
    # debugpy (imported with ipykernel.debugger) warns on stderr, the instructor's terminal, about frozen
    # modules that matter only to someone setting breakpoints; a kernel's own stderr is /dev/null.
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for name in argv:
        importlib.import_module(name)
    warm_up_tracebacks()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the system
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the grader, which stops us
    os.write(1, b"ready\n")
    while True:
        select.select([0], [], [])
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:
            os.close(read_end)
            try:
                _serve_one(write_end)
            finally:  # never a traceback in the instructor's output: _serve_one reports its own errors
                os._exit(1)
        os.close(write_end)
        took = os.read(read_end, 1)
        os.close(read_end)
        if took != b"1":
            return


# --- in the grader -----------------------------------------------------------------


class ForkServer(Helper):
    """The grader's handle on one fork server process (one per grading process)."""

    error = ForkServerError
    name = "kernel fork server"
    close_timeout = 2

    def __init__(self, env: dict, preload: tuple[str, ...], start_timeout: float):
        super().__init__("htcourse.grading.sandbox.forkserver", tuple(preload), env)
        self.preload = preload
        self._count = 0
        if self.read_line(start_timeout) != b"ready\n":
            self.close()
            raise ForkServerError(f"the kernel fork server did not start (could it import {', '.join(preload)}?)")

    def spawn(self, request: dict, timeout: float) -> None:
        """Start one kernel in the sandbox described by ``request``; raise :class:`ForkServerError` if it failed."""
        with self.lock:
            if not self.alive:
                raise ForkServerError("the kernel fork server has stopped")
            self._count += 1
            request = dict(request, id=self._count)
            self.send(json.dumps(request) + "\n")
            deadline = time.monotonic() + timeout
            while True:  # skip a late answer to an earlier request that timed out
                line = self.read_line(deadline - time.monotonic())
                if not line:
                    raise ForkServerError("the kernel fork server did not answer")
                reply = json.loads(line)
                if reply.get("id") == request["id"]:
                    break
        if not reply.get("ok"):
            raise ForkServerError(reply.get("error", "unknown error"))


_servers = Helpers(ForkServer)


def get(env: dict, preload: tuple[str, ...], start_timeout: float) -> ForkServer:
    """This process's fork server for ``env`` and ``preload``, started on first use (and again if it died).

    ``start_timeout``: seconds it may take to start (``c.SandboxKernelManager.fast_start_timeout``).
    """
    return _servers.get((tuple(sorted(env.items())), tuple(preload)), env, tuple(preload), start_timeout)


async def wait_for_file(path, process: subprocess.Popen, timeout: float) -> None:
    """Wait until the sandbox's placeholder has written ``path`` (the sandbox is then set up)."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not os.path.exists(path):
        if process.poll() is not None:
            raise ForkServerError(f"the sandbox stopped while starting (exit status {process.returncode})")
        if time.monotonic() > deadline:
            raise ForkServerError("the sandbox did not start in time")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)


def sandbox_init_pid(bwrap_pid: int) -> int:
    """The process that ``bwrap`` started inside the sandbox (PID 1 of its PID namespace)."""
    import psutil  # in the grader only: the fork server and its kernels never load it

    try:
        children = [child.pid for child in psutil.Process(bwrap_pid).children()]
    except psutil.Error:
        children = []
    if len(children) != 1:
        raise ForkServerError(f"cannot find the sandbox's first process (bwrap has {len(children)} children)")
    return children[0]


if __name__ == "__main__":
    main()
