"""Bounds for a whole sandbox, not only for each of its processes: memory and disk.

``prlimit`` (see :mod:`.bwrap`) bounds each process: a kernel and four
children could each hold the per-process memory limit. Here:

* **memory** — :class:`MemoryCgroup` puts every process of one sandbox in a
  memory cgroup of its own, under the grader's, with a limit for all of them
  together (cgroup v2 ``memory.max``, or v1 ``memory.limit_in_bytes``).
  Files written to a memory-backed folder count as well. Where the machine
  does not let the grader make cgroups (no write access to its cgroup, or a
  v2 hierarchy whose controllers cannot be delegated), the bound is the
  per-process limit times the process limit, and the grader says so once.
* **disk** — the kernel's working copy (:mod:`.workdir`) is a tmpfs of a
  fixed size where the grader may mount one (root), and the sandbox's
  ``/tmp`` is a tmpfs of a fixed size (``bwrap --size``). Nothing written
  there reaches the grading machine's disk, or the feedback.

What a sandbox used, and whether it reached a bound, is read when its kernel
has ended (:meth:`MemoryCgroup.usage`, :func:`folder_full`); so is the CPU
that all its processes used (:class:`CpuAccount`, a measurement for
``make bench``, not a bound: ``prlimit`` bounds CPU).
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import time
from pathlib import Path

from htcourse.grading.sandbox.processes import owner_gone

CGROUP_ROOT = Path("/sys/fs/cgroup")

PREFIX = "htcourse-sandbox-"

_MS_NOSUID, _MS_NODEV = 2, 4
_MNT_DETACH = 2


def _cgroup_lines() -> list[str]:
    """This process's cgroups, one ``hierarchy:controllers:path`` line each (none where unreadable)."""
    try:
        return Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []


def _own_v1(controller: str) -> Path | None:
    """The folder of this process's cgroup v1 cgroup for ``controller`` (``memory``, ``cpuacct``), or None."""
    for line in _cgroup_lines():
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            return folder if folder.is_dir() else None
    return None


def _own_cgroup() -> tuple[str, Path] | None:
    """(``"v1"`` or ``"v2"``, the folder of this process's memory cgroup), or None."""
    v1 = _own_v1("memory")
    if v1 is not None:
        return "v1", v1
    for line in _cgroup_lines():
        hierarchy, controllers, path = line.split(":", 2)
        if hierarchy == "0" and (CGROUP_ROOT / "cgroup.controllers").exists():
            folder = CGROUP_ROOT / path.lstrip("/")
            try:
                if "memory" in (folder / "cgroup.subtree_control").read_text().split():
                    return "v2", folder
            except OSError:
                return None
    return None


class MemoryCgroup:
    """The memory cgroup of one sandbox; ``procs`` is the file a process writes ``0`` to, to join it."""

    def __init__(self, version: str, folder: Path, limit: int):
        self.version, self.folder, self.limit = version, folder, limit
        self.procs = folder / "cgroup.procs"

    @classmethod
    def create(cls, name: str, limit: int) -> MemoryCgroup | None:
        """A new cgroup with ``limit`` bytes for all its processes, or None where the machine allows none."""
        found = _own_cgroup()
        if found is None:
            return None
        version, parent = found
        folder = parent / f"{PREFIX}{name}"
        try:
            folder.mkdir()
            if version == "v1":
                (folder / "memory.limit_in_bytes").write_text(str(limit))
                try:  # no swap beyond the limit either, where swap is accounted
                    (folder / "memory.memsw.limit_in_bytes").write_text(str(limit))
                except OSError:
                    pass
            else:
                (folder / "memory.max").write_text(str(limit))
                (folder / "memory.swap.max").write_text("0")
        except OSError:
            try:
                folder.rmdir()
            except OSError:
                pass
            return None
        return cls(version, folder, limit)

    def _read(self, name: str) -> str:
        try:
            return (self.folder / name).read_text()
        except OSError:
            return ""

    def usage(self) -> tuple[int, bool]:
        """(the most memory the sandbox held at once, in bytes; whether it reached the limit)."""
        if self.version == "v1":
            peak = int(self._read("memory.max_usage_in_bytes") or 0)
            oom = self._read("memory.oom_control")
            kills = [int(line.split()[1]) for line in oom.splitlines() if line.startswith("oom_kill ")]
            failed = int(self._read("memory.failcnt") or 0)
            return peak, bool(kills and kills[0]) or failed > 0 or peak >= self.limit
        peak = int(self._read("memory.peak") or 0)
        events = dict(line.split() for line in self._read("memory.events").splitlines() if line.strip())
        return peak, int(events.get("oom_kill", 0)) > 0 or int(events.get("max", 0)) > 0

    def remove(self) -> None:
        """Kill whatever is left in it and remove it."""
        for _ in range(50):
            pids = [int(p) for p in self._read("cgroup.procs").split()]
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.folder.rmdir()
                return
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return
                time.sleep(0.02)


def counts_cpu() -> bool:
    """Whether this machine lets the grader count a sandbox's CPU (:class:`CpuAccount`)."""
    found = _own_cgroup()
    if found is not None and found[0] == "v2":
        return (found[1] / "cpu.stat").exists()
    return _own_v1("cpuacct") is not None


class CpuAccount:
    """The CPU seconds all the processes of one sandbox used, kernel and children, ended ones included.

    With cgroup v2, the sandbox's memory cgroup counts them already
    (``cpu.stat``); with v1, a ``cpuacct`` cgroup of its own does, which the
    sandbox's processes join (``procs``) as they join the memory cgroup.
    """

    def __init__(self, folder: Path, procs: Path | None):
        self.folder, self.procs = folder, procs

    @classmethod
    def create(cls, name: str, memory: MemoryCgroup | None) -> CpuAccount | None:
        """The account for the sandbox whose memory cgroup is ``memory``, or None where the machine keeps none."""
        if memory is not None and memory.version == "v2":
            return cls(memory.folder, None) if (memory.folder / "cpu.stat").exists() else None
        parent = _own_v1("cpuacct")
        if parent is None:
            return None
        folder = parent / f"{PREFIX}{name}"
        try:
            folder.mkdir()
        except OSError:
            return None
        return cls(folder, folder / "cgroup.procs")

    def seconds(self) -> float:
        """CPU seconds used so far (0.0 once it is unreadable)."""
        try:
            if self.procs is None:
                stat = dict(line.split() for line in (self.folder / "cpu.stat").read_text().splitlines())
                return int(stat.get("usage_usec", 0)) / 1e6
            return int((self.folder / "cpuacct.usage").read_text()) / 1e9
        except (OSError, ValueError):
            return 0.0

    def remove(self) -> None:
        if self.procs is not None:  # a v2 account is the memory cgroup, removed with it
            MemoryCgroup("v1", self.folder, 0).remove()


def mount_tmpfs(folder: Path, size: int) -> bool:
    """Mount a tmpfs of ``size`` bytes (mode 0700, no setuid, no devices) on ``folder``; False if not allowed."""
    if os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    options = f"size={int(size)},mode=0700".encode()
    return libc.mount(b"tmpfs", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0


def unmount(folder: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.umount2(str(folder).encode(), _MNT_DETACH)


def is_mount(folder: Path) -> bool:
    try:
        return os.path.ismount(folder)
    except OSError:
        return False


def folder_full(folder: Path) -> bool:
    """Whether a size-capped folder has (nearly) no room left."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return False
    return info.f_blocks > 0 and info.f_bavail * info.f_frsize < 1024 * 1024


def remove_stale_cgroups() -> None:
    """Cgroups of sandboxes whose grading process was killed (``<PREFIX><pid>-<uid>``)."""
    found = _own_cgroup()
    if found is None:
        return
    version, parent = found
    for folder in parent.glob(PREFIX + "*"):
        if owner_gone(folder.name, PREFIX):
            MemoryCgroup(version, folder, 0).remove()
    cpu = _own_v1("cpuacct") if version == "v1" else None
    for folder in cpu.glob(PREFIX + "*") if cpu is not None else []:
        if owner_gone(folder.name, PREFIX):
            MemoryCgroup("v1", folder, 0).remove()
