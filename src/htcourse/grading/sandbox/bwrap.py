"""The bubblewrap sandbox itself: the ``bwrap`` command line, the kernel's environment, its user.

:func:`bwrap_command` wraps a kernel's command so that it sees only:

* the system (``/usr``, ``/etc`` ...), Python and the course's virtualenv, read-only;
* the course package's source and the datasets, read-only;
* its own working folder (the submission's copy), writable;
* a private ``/tmp``, ``/dev`` and ``/proc``;

with no network (a new, empty network namespace), as a fresh unprivileged
uid (root ignores the process limit), under the limits of
:class:`SandboxLimits`. The kernel managers that use it are in
:mod:`.kernel`; the threat model is in :mod:`htcourse.grading.sandbox`.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

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
    """The per-process limits of one sandbox: the defaults of ``c.SandboxKernelManager``'s settings (kernel.py)."""

    cpu_seconds: int = 300
    memory_bytes: int = 2 * 1024**3
    max_processes: int = 64
    tmp_bytes: int = 512 * 1024**2  # the size of the sandbox's /tmp (memory-backed)


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
    return {
        "HOME": "/tmp",
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "MPLCONFIGDIR": "/tmp",
        "HTCOURSE_DATASETS": str(datasets_dir()),
    }


def bwrap_command(
    kernel_cmd: list[str],
    workdir: Path,
    rundir: Path,
    limits: SandboxLimits = SandboxLimits(),
    tools: dict[str, str] | None = None,
    uid: int | None = None,
    scratch: Path | None = None,
) -> list[str]:
    """Wrap ``kernel_cmd`` so it runs sandboxed with ``workdir`` as its only writable folder.

    With ``scratch``, the kernel sees that folder at the path ``workdir``
    (and ``workdir`` itself not at all): the grader's own folder stays out
    of reach of student code.
    """
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
    cmd += ["--dev", "/dev", "--proc", "/proc", "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
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
    cmd += ["--bind", str(rundir), str(rundir)]
    cmd += ["--bind", str(scratch or workdir), str(workdir), "--chdir", str(workdir)]
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
