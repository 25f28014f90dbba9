"""Class-grading benchmark for ``make bench`` (see :mod:`htcourse.bench`).

Builds a throw-away course from the committed ps4-dirty-data source, writes
``n`` synthetic submissions (a mix of correct, partial and blank), and
measures on the same submissions:

* stock ``nbgrader autograde`` then ``nbgrader generate_feedback``, serially
  (the course's config, unsandboxed, but with the hidden tests run in the
  student's kernel as nbgrader does): the same work the course's grader does;
* the course's grader (``python -m htcourse.grading grade``) with its
  default number of workers (one more than the CPUs), with and without the
  sandbox;
* raw nbclient execution of the same notebooks, one after another;

and checks that both graders give every student the same score. It also
reports the trusted checker's cost per notebook (the hidden tests, run
outside the kernel; from the grader's completion markers) against raw
nbclient execution.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from htcourse.bench import submissions
from htcourse.paths import REPO_ROOT

ASSIGNMENT = "ps4-dirty-data"
BIN = Path(sys.executable).parent


def _env(**extra: str) -> dict:
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra)


def _run(cmd: list[str], cwd: Path, **env: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=_env(**env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def make_course(root: Path, n: int) -> Path:
    """A course folder with ``n`` submissions of ps4-dirty-data."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "assignments" / "nbgrader_config.py", root)
    shutil.copytree(REPO_ROOT / "assignments" / "source" / ASSIGNMENT, root / "source" / ASSIGNMENT)
    subprocess.run(
        [sys.executable, "-m", "htcourse.grading", "--course", str(root), "generate", ASSIGNMENT],
        cwd=root,
        env=_env(),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    kinds = [
        lambda: submissions.correct(root, ASSIGNMENT),
        lambda: submissions.partial(root, ASSIGNMENT, ["q1-answer", "q2-answer"]),
        lambda: submissions.blank(root, ASSIGNMENT),
    ]
    for i in range(n):
        submissions.write_submission(root, f"student{i:03d}", ASSIGNMENT, kinds[i % len(kinds)]())
    return root


def scores(course: Path) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "htcourse") as gb:
        return {s.student.id: s.code_score for s in gb.assignment_submissions(ASSIGNMENT)}


STOCK_HIDDEN_TESTS = """
# make bench, stock run: hidden tests run in the student's kernel, as in nbgrader.
c.Autograde.sanitize_preprocessors = [p for p in c.Autograde.sanitize_preprocessors
                                      if not p.startswith("htcourse.grading.answers.")]
c.Autograde.autograde_preprocessors = [p for p in c.Autograde.autograde_preprocessors
                                       if not p.startswith("htcourse.grading.answers.")]
"""


def stage_figures(course: Path) -> list[dict]:
    """Each graded submission's seconds per stage (``{stage: [wall, CPU, helpers' CPU, kernel CPU]}``)."""
    import json

    out = []
    for marker in sorted((course / "autograded").glob(f"*/{ASSIGNMENT}/.htcourse-graded.json")):
        out.append(json.loads(marker.read_text(encoding="utf-8")).get("stages", {}))
    return out


def stage_table(figures: list[dict]) -> dict:
    """Mean seconds per notebook of each stage (:data:`htcourse.grading.stages.STAGES`) and its share of the wall time.

    ``wall_s``: the time a worker spent in the stage; ``cpu_s``: the worker's CPU in it; ``helper_cpu_s``:
    CPU in its helper processes (the trusted checker and its child); ``kernel_cpu_s``: CPU of the sandbox's
    processes (the kernel; 0 where the machine does not count it). With more workers than CPUs a wall
    time includes waiting for a CPU.
    """
    from htcourse.grading.stages import STAGES

    n = len(figures) or 1
    names = list(STAGES) + sorted({s for f in figures for s in f} - set(STAGES))

    def mean(name: str, i: int) -> float:
        return sum((f.get(name, []) + [0.0] * 4)[i] for f in figures) / n

    sums = {name: [mean(name, i) for i in range(4)] for name in names}
    total = sum(row[0] for row in sums.values()) or 1.0
    keys = ("wall_s", "cpu_s", "helper_cpu_s", "kernel_cpu_s")
    table = {name: {key: round(row[i], 3) for i, key in enumerate(keys)} for name, row in sums.items()}
    for name, row in table.items():
        row["share"] = round(sums[name][0] / total, 3)
    table["total"] = {key: round(sum(row[i] for row in sums.values()), 3) for i, key in enumerate(keys)}
    table["total"]["share"] = 1.0
    return table


def stage_lines(table: dict) -> list[str]:
    """The stage table as text: mean seconds per notebook, share of the total."""
    lines = [
        f"{'stage (mean per notebook)':<26} {'wall s':>8} {'share':>7} {'CPU s':>8} {'helpers CPU s':>14} "
        f"{'kernel CPU s':>13}"
    ]
    for name, row in table.items():
        share = f"{100 * row['share']:>6.1f}%"
        lines.append(
            f"{name:<26} {row['wall_s']:>8.3f} {share} {row['cpu_s']:>8.3f} {row['helper_cpu_s']:>14.3f} "
            f"{row.get('kernel_cpu_s', 0.0):>13.3f}"
        )
    return lines


def raw_execution(course: Path) -> float:
    """Seconds to execute every submitted notebook with nbclient, one after another."""
    from nbclient import NotebookClient

    start = time.perf_counter()
    for folder in sorted((course / "submitted").iterdir()):
        path = folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        nb = nbformat.read(path, as_version=4)
        NotebookClient(
            nb,
            timeout=60,
            kernel_name="python3",
            allow_errors=True,
            extra_arguments=["--IPKernelApp.log_level=ERROR"],  # as the graders run it
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return time.perf_counter() - start


def course_grader(course: Path, jobs: int, *options: str) -> float:
    """Seconds ``python -m htcourse.grading grade`` takes on ``course`` with ``jobs`` workers."""
    return _run(
        [sys.executable, "-m", "htcourse.grading", "--course", str(course), "grade", ASSIGNMENT, "--jobs", str(jobs)]
        + list(options),
        course,
    )


def check_ready() -> None:
    """Raise :class:`~htcourse.grading.course.CourseError` if a dataset the benchmark's assignment reads is missing.

    Without it every run of :func:`run` would grade the whole class to failure, which takes minutes.
    """
    from htcourse.grading.batch import check_datasets
    from htcourse.grading.course import Course

    check_datasets(Course(REPO_ROOT / "assignments"), ASSIGNMENT)


def run(n: int, workdir: Path) -> dict:
    from htcourse.grading.batch import default_jobs

    check_ready()
    jobs, cpus = default_jobs(), os.cpu_count() or 1
    template = make_course(workdir / "template", n)

    def fresh(name: str) -> Path:
        target = workdir / name
        shutil.copytree(template, target)
        return target

    stock = fresh("stock")
    # Stock nbgrader runs the hidden tests in the student's kernel: take the course's
    # trusted-checker steps out of its copy of the config (everything else stays).
    with open(stock / "nbgrader_config.py", "a", encoding="utf-8") as fh:
        fh.write(STOCK_HIDDEN_TESTS)
    stock_autograde_s = _run(
        [str(BIN / "nbgrader"), "autograde", ASSIGNMENT, "--force", "--BoundedExecute.sandbox=False"], stock
    )
    # The course's grader also writes feedback, so stock nbgrader is timed doing the same.
    stock_feedback_s = _run([str(BIN / "nbgrader"), "generate_feedback", ASSIGNMENT, "--force"], stock)
    stock_s = stock_autograde_s + stock_feedback_s
    ours = fresh("parallel")
    ours_s = course_grader(ours, jobs)
    unsandboxed = fresh("parallel-unsandboxed")
    unsandboxed_s = course_grader(unsandboxed, jobs, "--unsandboxed")
    raw_s = raw_execution(template)

    stock_scores, our_scores = scores(stock), scores(ours)
    table = stage_table(stage_figures(ours))
    check = table.get("check", {"wall_s": float("nan"), "cpu_s": float("nan"), "helper_cpu_s": float("nan")})
    return {
        "submissions": n,
        "cpus": cpus,
        "workers": jobs,
        "stock_nbgrader_autograde_s": round(stock_autograde_s, 1),
        "stock_nbgrader_feedback_s": round(stock_feedback_s, 1),
        "stock_nbgrader_serial_s": round(stock_s, 1),
        "course_grader_parallel_sandboxed_s": round(ours_s, 1),
        "course_grader_parallel_unsandboxed_s": round(unsandboxed_s, 1),
        "raw_nbclient_serial_s": round(raw_s, 1),
        "speedup_vs_stock": round(stock_s / ours_s, 2),
        "sandbox_overhead_ratio": round(ours_s / unsandboxed_s, 2),
        "per_notebook_cost_vs_raw_nbclient": round((ours_s * cpus / n) / (raw_s / n), 2),  # CPU-seconds
        "stock_autograde_per_notebook_vs_raw_nbclient": round(stock_autograde_s / raw_s, 2),
        "identical_scores": stock_scores == our_scores and len(our_scores) == n,
        # hidden tests in the trusted checker: the time a worker waits for them, mean per notebook (its
        # start and setup, once per worker, included); with more workers than CPUs that includes waiting
        # for a CPU. Then the CPU they cost (the worker's part of a check, the checker's and its child's).
        "trusted_checker_per_notebook_s": check["wall_s"],
        "trusted_checker_cost_vs_raw_nbclient": round(check["wall_s"] / (raw_s / n), 3),
        "trusted_checker_cpu_per_notebook_s": round(check["cpu_s"] + check["helper_cpu_s"], 3),
        "trusted_checker_cpu_vs_raw_nbclient": round((check["cpu_s"] + check["helper_cpu_s"]) / (raw_s / n), 3),
        # CPU seconds per sandboxed notebook by process, from the stage table: what the machine's other load
        # changes least (a wall time includes waiting for a CPU). Once-per-worker costs (starting a worker,
        # its fork server and its checker) are not in them.
        "cpu_per_notebook_worker_s": table["total"]["cpu_s"],
        "cpu_per_notebook_checker_s": table["total"]["helper_cpu_s"],
        "cpu_per_notebook_kernel_s": table["total"]["kernel_cpu_s"],
        "sandboxed_kernel_start": (
            "forked from a warm interpreter (htcourse.grading.sandbox.forkserver)"
            if os.geteuid() == 0
            else "a fresh Python (fast start needs root)"
        ),
        # where a sandboxed notebook's time goes in the course's grader (htcourse.grading.stages)
        "stages": table,
    }


def main(argv: list[str] | None = None) -> int:
    """``python -m htcourse.bench.grading``: the course's grader alone (sandboxed), for A/B comparisons.

    Prints the seconds, the stage table and the scores' digest (the same
    digest on two runs means the same scores). ``make bench`` runs the whole
    comparison with stock nbgrader instead (:func:`run`).
    """
    import argparse
    import hashlib
    import json
    import tempfile

    from htcourse.grading.batch import default_jobs

    parser = argparse.ArgumentParser(prog="python -m htcourse.bench.grading", description=main.__doc__)
    parser.add_argument("--students", type=int, default=24, help="synthetic submissions")
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="grading workers")
    parser.add_argument("--unsandboxed", action="store_true", help="grade without the sandbox")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="htcourse-bench-") as tmp:
        course = make_course(Path(tmp) / "course", args.students)
        seconds = course_grader(course, args.jobs, *(["--unsandboxed"] if args.unsandboxed else []))
        graded = scores(course)
        table = stage_table(stage_figures(course))
    digest = hashlib.sha256(json.dumps(sorted(graded.items())).encode()).hexdigest()[:12]
    print(
        json.dumps(
            {
                "submissions": args.students,
                "graded": len(graded),
                "seconds": round(seconds, 2),
                "scores_digest": digest,
                "load": os.getloadavg(),
            }
        )
    )
    print("\n".join(stage_lines(table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
