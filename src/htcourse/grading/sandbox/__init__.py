"""The grading sandbox: where student code runs while a submission is graded.

Threat model, in short (the instructor's version is in
``book/instructors/index.md``, "What the grading sandbox protects").

*What it protects:* the solutions (``assignments/source``), ``release/``,
other students' submissions, ``gradebook.db``, the instructor's home and
files, the network, and the grading machine's CPU, memory and process table.

*From whom:* the code in one student's submission, which nbgrader would
otherwise run as the instructor, beside all of the above; and, on a shared
grading host, other local users (each kernel's sockets and connection file,
with its signing key, belong to that sandbox's own uid alone).

*How:* :mod:`.bwrap` builds the bubblewrap command (read-only system, Python
and datasets, one writable working copy, private ``/tmp``, no network, a
fresh unprivileged uid, CPU, memory and process limits); :mod:`.kernel` is
the jupyter_client kernel manager that starts each kernel inside it (and
its variant without jupyter_client's fixed pauses, also used unsandboxed);
:mod:`.forkserver` starts sandboxed kernels as forks of a warm interpreter,
moved into the same sandbox; :mod:`.processes` has the small process helpers
the fork server and the trusted checker share.

*What it does not protect against:* a student who knows the right answer
forging the report of it (that earns only what the honest answer would); a
public fork publishing the solutions; a forked kernel seeing which modules
the fork server preloaded (never another student's data: each request is
read by a throw-away child); kernel bugs in Linux namespaces themselves;
and nothing at all when grading runs unsandboxed
(``c.BoundedExecute.sandbox = False``, ``make grade UNSANDBOXED=1``).
Hidden tests are kept out of the student's kernel by a different part of
the grader (:mod:`htcourse.grading.answers`, :mod:`htcourse.grading.checker`).

This package imports nothing on purpose: the fork server
(``python -m htcourse.grading.sandbox.forkserver``) is forked into every
kernel, and must load only what it preloads.
"""
