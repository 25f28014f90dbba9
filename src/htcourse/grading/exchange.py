"""nbgrader's file exchange, with permissions that keep each student's submission their own.

nbgrader's default exchange (``nbgrader.exchange.default``) is a shared
folder. Out of the box its ``inbound`` folder is ``2733`` without the sticky
bit, and each submission is a ``0777`` folder of ``0644`` files, "hidden"
only by its name: a student who learns or guesses the name can read, replace
or delete a classmate's submission, and the instructor then collects a
``0777`` folder. These classes, plugged in with nbgrader's
``ExchangeFactory`` (the classroom's system-wide config,
``classroom/manage.py``), change only permissions:

- :class:`ReleaseAssignment` makes ``inbound`` sticky (``3733``): nobody
  but the owner of an entry (or the instructor, who owns the folder) can
  rename or remove it;
- :class:`Submit` makes a submission folder ``2750``: the set-group-id
  ``inbound`` gives it the instructor's group, so the instructor reads it
  and other students cannot enter it;
- :class:`Collect` leaves the collected copies writable by the instructor
  only (``go-w``).

The exchange's root must be sticky and the course's folder made by the
instructor before any student can make it (``classroom/manage.py`` does
both). What a shared filesystem on Kubernetes needs besides is in the
deployment guide.
"""

from __future__ import annotations

import os
import stat

from nbgrader.exchange.default import ExchangeCollect, ExchangeReleaseAssignment, ExchangeSubmit

INBOUND_MODE = 0o3733  # set-group-id, sticky, rwx for the instructor, wx for everyone
SUBMISSION_DIR_MODE = 0o2750
#: The files inside are 0644: nbgrader writes timestamp.txt after the copy has cleared the folder's
#: set-group-id bit, so they may keep the student's own group; the 0750 folder of the instructor's
#: group is what keeps other students out.
SUBMISSION_FILE_MODE = 0o644


def _chmod_tree(root: str, dir_mode: int, file_mode: int | None = None, clear: int = 0) -> None:
    for dirname, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirname, name)
            if os.path.islink(path):
                continue
            mode = file_mode if file_mode is not None else stat.S_IMODE(os.lstat(path).st_mode) & ~clear
            os.chmod(path, mode)
        mode = dir_mode if clear == 0 else stat.S_IMODE(os.lstat(dirname).st_mode) & ~clear
        os.chmod(dirname, mode)


class ReleaseAssignment(ExchangeReleaseAssignment):
    """nbgrader's release, then ``inbound`` (and ``feedback`` if there) made sticky."""

    def init_dest(self):
        super().init_dest()
        os.chmod(self.inbound_path, INBOUND_MODE)


class Submit(ExchangeSubmit):
    """nbgrader's submit, then the submission readable by its owner and the instructor's group only."""

    def copy_files(self):
        super().copy_files()
        _chmod_tree(
            os.path.join(self.inbound_path, self.assignment_filename), SUBMISSION_DIR_MODE, SUBMISSION_FILE_MODE
        )


class Collect(ExchangeCollect):
    """nbgrader's collect, then the collected copies writable by the instructor only."""

    def copy_files(self):
        super().copy_files()
        submitted = self.coursedir.format_path(self.coursedir.submitted_directory, "*", self.coursedir.assignment_id)
        import glob

        for folder in glob.glob(submitted):
            _chmod_tree(folder, 0, clear=0o022)
