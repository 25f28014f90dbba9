"""nbgrader configuration for the course's graded notebooks.

nbgrader reads this file when a command runs in this folder (``cd assignments``),
and the course's grader (``python -m htcourse.grading``, behind ``make grade``)
loads it wherever it runs from. Every path is relative to this file, so a
fork works wherever it is cloned. See README.md in this folder.

Environment variables (all optional):

- ``HTCOURSE_EXCHANGE``: the exchange folder for release, fetch, submit and
  collect. Default: ``exchange/`` in this folder (one machine). On a
  JupyterHub, set it to the shared exchange, e.g. ``/srv/nbgrader/exchange``.
- ``HTCOURSE_CELL_TIMEOUT``: seconds one cell may run when a submission is
  graded before it is interrupted (default: ``c.BoundedExecute.timeout``).
  Later cells still run.

Every bound on a submission (time, memory, disk, output, size) is a setting
with its default and help in the class that applies it; this file sets only
those whose course value differs from their class's default. The
instructors' guide lists them all in one table (``python -m
htcourse.grading.limits`` prints it); set any of them here to change it.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = Path(__file__).resolve().parent

# The course and its folders: source/ (committed), release/, submitted/,
# autograded/, feedback/ and gradebook.db (generated, git-ignored).
c.CourseDirectory.course_id = "htcourse"
c.CourseDirectory.root = str(HERE)
c.CourseDirectory.db_url = f"sqlite:///{HERE / 'gradebook.db'}"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store", ".~*"]
# Uploaded pictures for the prose-or-art questions are small; refuse files over 20 MB.
# nbgrader submit and collect leave larger files out; the grader (preflight.py)
# applies the same limit: a notebook over it is not graded, another file is left out.
c.CourseDirectory.max_file_size = 20_000  # kilobytes

# One machine: the exchange lives in this folder. JupyterHub: a shared folder.
c.Exchange.root = os.environ.get("HTCOURSE_EXCHANGE", str(HERE / "exchange"))

# Grading: a per-cell timeout (c.BoundedExecute.timeout), after which the kernel is
# interrupted and the remaining cells still run; a bound on the whole notebook's time
# (c.BoundedExecute.max_seconds, max_cell_timeouts); the time a kernel may take to
# start and a cell's output to arrive (startup_timeout, iopub_timeout). Their
# defaults are in src/htcourse/grading/execute.py.
if os.environ.get("HTCOURSE_CELL_TIMEOUT"):
    c.BoundedExecute.timeout = int(os.environ["HTCOURSE_CELL_TIMEOUT"])
c.Execute.interrupt_on_timeout = True
# Keep the kernel's own start-up warnings out of the grading report.
c.Execute.extra_arguments = ["--IPKernelApp.log_level=ERROR"]
# Once the last cell has run, its outputs are in: stop the kernel at once
# rather than waiting for it to shut down politely.
c.Execute.shutdown_kernel = "immediate"
# Student code runs in a bubblewrap sandbox (src/htcourse/grading/sandbox/): it sees
# only its own working copy, the datasets and the course package, read-only
# system files, no network, as an unprivileged user, within the limits of
# c.SandboxKernelManager (cpu_seconds, memory_bytes, max_processes; defaults in
# src/htcourse/grading/sandbox/kernel.py).
# make grade UNSANDBOXED=1 (python -m htcourse.grading grade --unsandboxed) sets
# it False for that run, as does --BoundedExecute.sandbox=False on an nbgrader
# command line: only for submissions you trust, on a machine without bubblewrap.
c.BoundedExecute.sandbox = True
# Bounds for a whole sandbox (src/htcourse/grading/sandbox/bounds.py): the memory of all
# its processes together (a memory cgroup, c.SandboxKernelManager.sandbox_memory_bytes),
# and the size of its working folder and /tmp (workdir_bytes, tmp_bytes; memory-backed,
# so they count towards that memory too). A submission that reaches one is flagged with
# the reason. What the grader keeps of one cell's output while it runs
# (c.BoundedExecute.max_output_chars_read, max_outputs_read) is bounded too: the rest is
# dropped as it arrives, so an endless print cannot grow the grader's memory.
# One message larger than c.NoPauseKernelClient.max_message_bytes (e.g. one print of a
# 200 MB string) is not read at all: the cell says so, later cells are not run, the summary flags it.
# Each kernel starts as a fork of a Python that has already imported ipykernel
# and pandas (src/htcourse/grading/sandbox/forkserver.py), moved into the same sandbox: most of
# the start-up time of a fresh Python is saved. Needs root (as the sandbox does to
# change user); otherwise, or if the fork fails, kernels start afresh. Set
# False to always start them afresh.
c.SandboxKernelManager.fast_start = True
# nbgrader's own bound on what a cell printed (its defaults are 1000 lines and 100 of traceback).
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60
# Hidden tests never reach the student's kernel (src/htcourse/grading/answers.py,
# authoring: assignments/README.md). After nbgrader's own sanitising
# steps, which put the hidden tests back from the gradebook, each hidden-test cell
# becomes a cell that only reports the answers it declares (# ANSWERS CHECKED: ...)
# as JSON; nbgrader writes that copy into the folder the kernel runs in. After the
# notebook has run, CheckAnswers runs the setup cells and each hidden test in the
# grader's trusted checker process and writes pass or fail into the cell, which
# SaveAutoGrades turns into points as usual.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
    "htcourse.grading.answers.SendAnswers",
]
# The largest report of one cell's answers (c.SendAnswers.max_answers_bytes), and how
# long one notebook's hidden tests may run (c.CheckAnswers.timeout): see answers.py.
c.Autograde.autograde_preprocessors = [
    "htcourse.grading.execute.BoundedExecute",
    "htcourse.grading.answers.CheckAnswers",
    "nbgrader.preprocessors.IgnorePattern",
    "nbgrader.preprocessors.LimitOutput",
    "htcourse.grading.outputs.LimitOutputSize",
    "htcourse.grading.markup.SanitizeMarkup",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# No student markup runs where the instructor or a student looks (formgrader,
# feedback, autograded notebook): SanitizeMarkup (src/htcourse/grading/markup.py)
# cleans every Markdown cell and rich output with nh3 while autograding, drops
# JavaScript and widget outputs, and records what it removed (the grading
# summary flags it). nbconvert's own sanitiser is on too wherever the course's
# config reaches an HTML exporter (the feedback, and the formgrader when it
# runs with this config).
c.HTMLExporter.sanitize_html = True

# Feedback never shows hidden tests: their source is removed and the output of
# every cell that held them (including a failing test's traceback, which would
# quote its assert lines) is replaced by a plain message. Pictures that students
# upload for the prose-or-art questions are embedded in the feedback page: the
# grader makes them attachments of the notebook before any student code runs,
# so the exporter never reads a file from the working folder (embed_images off).
c.GenerateFeedback.preprocessors = [
    "htcourse.grading.feedback.SanitizeHiddenTests",
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
c.HTMLExporter.embed_images = False
# The same HTML exporter, with its templates compiled once per grading process.
c.GenerateFeedback.exporter_class = "htcourse.grading.feedback.FeedbackHTMLExporter"

# Due dates, extensions and the late policy (src/htcourse/grading/late.py;
# `htcourse grade` writes them into the gradebook before grading, and
# `htcourse assignments` puts the due date and policy at the top of each
# released notebook). nbgrader's AssignLatePenalties step applies the policy.
# Per-student extensions: extensions.csv beside this file (student, assignment,
# due, reason), git-ignored because the reasons are private. Example:
#   c.LatePolicy.due_dates = {"ps4-dirty-data": "2026-10-16 17:00 UTC"}
#   c.LatePolicy.method = "per_day"; c.LatePolicy.fraction = 0.1; c.LatePolicy.cutoff_hours = 72
c.AssignLatePenalties.plugin_class = "htcourse.grading.late.LatePolicy"
