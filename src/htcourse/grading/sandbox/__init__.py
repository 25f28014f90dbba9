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
moved into the same sandbox; :mod:`.workdir` makes the kernel's private
working copy; :mod:`.bounds` bounds a whole sandbox (a memory cgroup for all
its processes, size-capped working folder and ``/tmp``); :mod:`.processes`
has the small process helpers the fork server and the trusted checker share.

*Who touches which files* (the grader's user is root on a grading host, or
the instructor; the sandbox user is a fresh uid of ``bwrap.SANDBOX_UIDS``
with group ``nogroup``, different for every kernel):

1. the grader, before any student code runs: reads
   ``submitted/<student>/<assignment>/`` (:mod:`..preflight` skips links;
   files are copied by file descriptor with ``O_NOFOLLOW``, and a picture
   saved beside the notebook becomes an attachment of the notebook,
   :func:`htcourse.grading.markup.inline_uploaded_images`) into a private
   0700 staging folder; nbgrader copies that into
   ``autograded/<student>/<assignment>/``, which the sandbox never sees;
2. the sandbox user, while the kernel runs: its own working copy
   (:mod:`.workdir`: ``htc-work-*/work``, regular files copied by file
   descriptor, inside a 0700 folder of the grader's, bound at the path of
   the autograded folder so that relative paths work), its run folder
   ``htc-kernel-*`` (sockets and connection file), a private ``/tmp``;
   nothing else writable;
3. the grader, after the kernel has ended: lists the links and special
   files left in the working copy (``lstat``, following nothing; the
   submission is flagged), deletes the copy and the run folder
   (``shutil.rmtree``, which removes links without following them) and
   reads nothing the kernel wrote but its messages; then nbgrader writes
   the graded notebook, sets permissions and writes the feedback in folders
   that only the grader's user has ever written (markup in the notebook
   cleaned first, :mod:`htcourse.grading.markup`, ids renamed
   ``user-content-…``); hidden tests run in the trusted checker
   (:mod:`htcourse.grading.checker`), the grader's own process with working
   folder ``/``, on the answers as data;
4. the instructor's browser, later: the formgrader's pages carry a
   Content-Security-Policy that runs only nbgrader's own inline scripts
   (:mod:`htcourse.grading.formgrader_csp`), the feedback pages one that runs
   no script at all.

*Bounds on what the grader reads from a kernel:* at most
``BoundedExecute.max_output_chars_read`` of a cell's output is kept as it
arrives, and no single message over ``NoPauseKernelClient.max_message_bytes``
is read at all (ZeroMQ refuses it before storing it; the notebook's run ends
there and the submission is flagged).

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
