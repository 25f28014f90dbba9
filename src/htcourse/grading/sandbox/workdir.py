"""The kernel's working folder: a private copy, never the grader's own folder.

nbgrader runs a notebook in ``autograded/<student>/<assignment>/`` and then,
as the grader's user (root on a grading host), writes the graded notebook
there, sets the permissions of every file in it and copies it into the
feedback. If student code could write in that folder, a link it left there
(named like the notebook, or like a picture the feedback embeds) would make
those steps write, chmod or read any file the grader can.

So the kernel never sees that folder. :func:`make_scratch` copies its
regular files, by file descriptor and without following links, into a fresh
folder that only the sandbox user may write; the sandbox binds that copy at
the same path (:func:`htcourse.grading.sandbox.bwrap.bwrap_command`,
``scratch=``), so the student's code finds its files where it expects them.
After the kernel has ended, :func:`scan_left_behind` lists (with ``lstat``,
following nothing) the links and special files it left, for the grading
report, and :func:`remove_scratch` deletes the copy (``shutil.rmtree``, which
does not follow links). Nothing the kernel wrote is ever read back.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from htcourse.grading.sandbox.processes import owner_gone

SCRATCH_PREFIX = "htc-work-"  # then the grading process's id
RUNDIR_PREFIX = "htc-kernel-"  # the kernel's run folder (kernel.py), then the grading process's id


def _copy_file(src_dir_fd: int, name: str, dst_dir_fd: int, uid: int | None, gid: int | None) -> None:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=src_dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dst_dir_fd)
        try:
            while chunk := os.read(fd, 1 << 20):
                os.write(out, chunk)
            if uid is not None:
                os.fchown(out, uid, gid)
        finally:
            os.close(out)
    finally:
        os.close(fd)


def _copy_tree(src_dir_fd: int, dst_dir_fd: int, uid: int | None, gid: int | None, depth: int = 0) -> None:
    if depth > 32:
        return
    for entry in os.scandir(src_dir_fd):
        if entry.is_symlink():
            continue
        if entry.is_file(follow_symlinks=False):
            _copy_file(src_dir_fd, entry.name, dst_dir_fd, uid, gid)
        elif entry.is_dir(follow_symlinks=False):
            os.mkdir(entry.name, 0o755, dir_fd=dst_dir_fd)
            sub_src = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=src_dir_fd)
            sub_dst = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dst_dir_fd)
            try:
                if uid is not None:
                    os.fchown(sub_dst, uid, gid)
                _copy_tree(sub_src, sub_dst, uid, gid, depth + 1)
            finally:
                os.close(sub_src)
                os.close(sub_dst)


def make_scratch(source: Path, uid: int | None = None, gid: int | None = None, size: int | None = None) -> Path:
    """A fresh copy of ``source``'s regular files and folders, writable by ``uid`` only.

    The copy is ``<private>/work``, where ``<private>`` is a new 0700 folder
    of the grader's own; links and special files in ``source`` are left out.
    With ``size``, ``work`` is a tmpfs of that many bytes where the grader
    may mount one (see :mod:`.bounds`).
    """
    from htcourse.grading.sandbox import bounds

    private = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
    work = private / "work"
    work.mkdir(mode=0o700)
    if size:
        bounds.mount_tmpfs(work, size)
    src_fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(work, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        _copy_tree(src_fd, dst_fd, uid, gid)
        if uid is not None:
            os.fchown(dst_fd, uid, gid)
    finally:
        os.close(src_fd)
        os.close(dst_fd)
    return work


def scan_left_behind(work: Path, shown_as: str | Path | None = None, limit: int = 20) -> list[str]:
    """The links, special files and hard links under ``work``, following nothing (at most ``limit``)."""
    found: list[str] = []
    shown = Path(shown_as) if shown_as else work
    for root, dirs, files in os.walk(work, followlinks=False):
        for name in dirs + files:
            path = Path(root) / name
            try:
                info = os.lstat(path)
            except OSError:
                continue
            rel = shown / path.relative_to(work)
            if stat.S_ISLNK(info.st_mode):
                try:
                    target = os.readlink(path)
                except OSError:
                    target = "?"
                found.append(f"a link {rel.name} -> {target}")
            elif not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
                found.append(f"a special file {rel.name}")
            elif stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
                found.append(f"a hard link {rel.name}")
            if len(found) >= limit:
                return found
    return found


def remove_scratch(work: Path) -> None:
    """Delete the copy and its private folder (links inside are removed, never followed)."""
    from htcourse.grading.sandbox import bounds

    private = Path(work).parent
    if private.name.startswith(SCRATCH_PREFIX):
        if bounds.is_mount(work):
            bounds.unmount(work)
        shutil.rmtree(private, ignore_errors=True)


#: The longest temporary folder a kernel's run folder is made in. The kernel's sockets are files in the run
#: folder (IPC transport), and a Unix socket's path has room for 107 bytes: the run folder's own name and
#: the sockets' names ("/kernel-<n>") take up to about 40 of them.
MAX_RUNDIR_PARENT = 60


def rundir_parent(tmpdir: Path | None = None) -> str:
    """Where a kernel's run folder is made: the temporary folder, or ``/tmp`` if that is too deep for sockets."""
    base = str(tmpdir or tempfile.gettempdir())
    return base if len(base) <= MAX_RUNDIR_PARENT else "/tmp"


def remove_stale(tmpdir: Path | None = None) -> list[Path]:
    """Working copies (and kernel run folders) left by a grading process that was killed; returns them."""
    from htcourse.grading.sandbox import bounds

    removed = []
    folders = [(SCRATCH_PREFIX, Path(tmpdir or tempfile.gettempdir())), (RUNDIR_PREFIX, Path(rundir_parent(tmpdir)))]
    for prefix, parent in folders:
        for private in parent.glob(prefix + "*"):
            if not owner_gone(private.name, prefix):
                continue
            if bounds.is_mount(private / "work"):
                bounds.unmount(private / "work")
            shutil.rmtree(private, ignore_errors=True)
            removed.append(private)
    bounds.remove_stale_cgroups()
    return removed


def copy_regular(src: Path, dst: Path) -> bool:
    """Copy ``src`` to ``dst`` if ``src`` is a regular file and not a link (by file descriptor); say whether it was."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            while chunk := os.read(fd, 1 << 20):
                os.write(out, chunk)
        finally:
            os.close(out)
        return True
    finally:
        os.close(fd)
