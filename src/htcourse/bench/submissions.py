"""A synthetic class for the grading benchmark: submissions derived from an assignment's own notebooks.

Every submission starts from ``release/<assignment>/<assignment>.ipynb``
(what students receive) and is changed programmatically, so the class stays
in step with the sources: :func:`correct` is the release with the source's
solution code in every answer cell, :func:`blank` the release untouched,
:func:`wrong` right types but wrong values (:data:`WRONG`), :func:`partial`
some of each; :func:`write_submission` puts one into a course's
``submitted/`` folder. Used by :mod:`htcourse.bench.grading`; the tests'
fake students (tests/fixtures/submissions/fake_students.py) build their
adversarial submissions on these.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

from htcourse.grading import cells

# Answers of the right type and shape but the wrong value: visible tests pass, hidden tests fail.
WRONG = {
    "ps4-dirty-data": {
        "q1-answer": "n_namibia_lost = 0",
        "q2-answer": "mean_months_naive = 1.0\nmean_months_without_code = 2.0",
        "q3-answer": "n_links = 0\ndeduped = raw.copy()\nn_people = deduped.shape[0]",
        "q4-answer": 'fl_share_by_year = raw.groupby("yearOfRegistration")["isSexualExploit"].mean()',
        "q5-answer": "police_jump = 0.0",
    },
    "ps3-counting": {
        "q1-answer": "n_police, n_ngo, n_both = 1, 1, 1",
        "q2-answer": "lincoln_petersen = float(len(independent))\nchapman = float(len(independent))",
        "q3-answer": "chapman_dependent = 1.0\nshare_of_truth = 0.5",
        "q7-answer": (
            "estimate_independence = estimate_best = float(len(dependent))\n"
            'best_interaction = "police:health"\nshare_of_truth_best = 0.5'
        ),
    },
    "ps5-evaluation": {
        "q1-answer": "tp, fp, fn, tn = 0, 0, 0, len(listings)",
        "q2-answer": "precision = recall = false_positive_rate = 0.5",
        "q3-answer": 'fp_by_group = listings["advertiserGroup"].value_counts()\nshare_fp_independent = 0.5',
        "q4-answer": "base_rate = 0.5\nflags_per_true_case = 1.0",
        "q9-answer": (
            "sample_precision = 0.5\nsample_low, sample_high = 0.4, 0.6\n"
            "pr_curve = pd.DataFrame({'precision': 0.5, 'recall': 0.5}, index=CURVE_THRESHOLDS)"
        ),
    },
    "ps6-trends": {
        "q1-answer": (
            'contacts_by_year = contacts.groupby(contacts["month"].str[:4].astype(int))["contactsPhone"].sum()'
        ),
        "q2-answer": "contacts_growth = incidence_growth = 1.0",
        "q3-answer": "phone_before = phone_after = 10.0",
        "q4-answer": 'incidence_before = incidence_after = float(truth["trueIncidence"].min())',
        "q5-answer": "rate_ratio = 1.1\nrate_ratio_low = 1.0\nrate_ratio_high = 1.2\ndispersion = 1.0",
    },
    "ps2-image-matching": {
        "q1-answer": "distance_ab = 0\nab_match = True",
        "q2-answer": "distance_cropped = distance_rotated = distance_mirrored = 0\nn_copies_matched = 3",
        "q3-answer": "n_pairs = len(uploads) ** 2\nfalse_matches = 0\nfalse_match_rate = 0.0",
        "q4-answer": "false_reports_per_day = false_reports_one_in_a_billion = 0.0",
    },
    "ps1-linking": {
        "q1-answer": "n_networks_phone = 1\nlargest_phone = 2",
        "q2-answer": "precision_phone = recall_phone = 0.5",
        "q3-answer": "n_mixed = 1\nlargest_mixed = 2",
        "q4-answer": "independents_in_mixed = independents_with_operation = 0",
        # question 5: names spelt exactly alike, honestly scored: right pairs and figures, below LINK_QUALITY
        "q5-answer": (
            'people = records.assign(given=records["givenName"].str.strip().str.lower(),\n'
            '                        family=records["familyName"].str.strip().str.lower())\n'
            'people = people.reset_index(names="unique_id")\n'
            'same = people.merge(people, on=["yearOfRegistration", "given", "family"], suffixes=("_l", "_r"))\n'
            'links = same.loc[same["unique_id_l"] < same["unique_id_r"], ["unique_id_l", "unique_id_r"]]\n'
            "links = links.assign(match_probability=1.0)\n"
            'row_of_case = dict(zip(records["caseId"], records.index))\n'
            'second = manifest[manifest["defect"] == "duplicate"]\n'
            "true_pairs = {tuple(sorted((int(r), row_of_case[c])))\n"
            '              for r, c in zip(second["rawRow"], second["duplicateOf"])}\n'
            'found = {(int(a), int(b)) for a, b in zip(links["unique_id_l"], links["unique_id_r"])}\n'
            "link_precision = len(found & true_pairs) / len(found)\n"
            "link_recall = len(found & true_pairs) / len(true_pairs)"
        ),
    },
    "ps7-supply-chains": {
        "q1-answer": "detection_announced_supplier = detection_unannounced_buyer = 0.5",
        "q2-answer": "share_passing = share_free_all = 0.5\nforced_passing = 0",
        "q3-answer": "prevalence_by_tier = pd.Series({1: 0.5, 2: 0.5, 3: 0.5})\nshare_forced_invisible = 0.5",
        "q4-answer": "n_channel_only = 0\nmigrant_report_gap = migrant_gap_within_sites = 0.0",
        "q5-answer": (
            "detection_low, detection_high = 0.1, 0.2\naudits_needed = 1\n"
            "n_audit_list = n_channel_list = n_both = 0\nchapman_sites = 0.0\ntrue_covered = 0"
        ),
    },
}

STUDENT_PROSE = (
    "My answer, written by a fake student for the tests. The numbers moved because "
    "one source changed how it recorded cases, not because the world changed."
)


def read_notebook(path: Path):
    return nbformat.read(str(path), as_version=4)


def release(course_root: Path, assignment: str):
    return read_notebook(Path(course_root) / "release" / assignment / f"{assignment}.ipynb")


def source(course_root: Path, assignment: str):
    return read_notebook(Path(course_root) / "source" / assignment / f"{assignment}.ipynb")


def cell(nb, grade_id: str):
    for c in nb.cells:
        if cells.grade_id(c) == grade_id:
            return c
    raise KeyError(grade_id)


def solution_text(source_cell) -> str:
    """The code between BEGIN and END SOLUTION, without the markers and canary comments."""
    _, solution = cells.split_hidden(source_cell.source, cells.BEGIN_SOLUTION, cells.END_SOLUTION)
    return "\n".join(line for line in solution if not re.match(r"\s*#\s*CANARY-", line))


def answer_ids(nb, cell_type: str = "code") -> list[str]:
    return [cells.grade_id(c) for c in nb.cells if cells.is_solution(c) and c.cell_type == cell_type]


def set_answer(nb, grade_id: str, text: str):
    cell(nb, grade_id).source = text
    return nb


def blank(course_root: Path, assignment: str):
    return release(course_root, assignment)


def correct(course_root: Path, assignment: str, only: list[str] | None = None, prose: bool = True):
    """The release with the solution in every answer cell (or in ``only`` those)."""
    nb = release(course_root, assignment)
    src = source(course_root, assignment)
    for gid in answer_ids(nb):
        if only is None or gid in only:
            set_answer(nb, gid, solution_text(cell(src, gid)))
    if prose:
        for gid in answer_ids(nb, "markdown"):
            set_answer(nb, gid, STUDENT_PROSE)
    return nb


def wrong(course_root: Path, assignment: str):
    nb = release(course_root, assignment)
    for gid, text in WRONG[assignment].items():
        set_answer(nb, gid, text)
    return nb


def partial(course_root: Path, assignment: str, right: list[str]):
    """Solutions for the answer cells in ``right``, wrong answers elsewhere."""
    nb = correct(course_root, assignment, only=right)
    for gid, text in WRONG[assignment].items():
        if gid not in right:
            set_answer(nb, gid, text)
    return nb


def write_submission(
    course_root: Path,
    student: str,
    assignment: str,
    nb=None,
    *,
    raw: bytes | None = None,
    files: dict[str, bytes] | None = None,
    timestamp: str = "2025-03-01 12:00:00.000000 UTC",
) -> Path:
    folder = Path(course_root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{assignment}.ipynb"
    if raw is not None:
        target.write_bytes(raw)
    else:
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False), encoding="utf-8")
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    (folder / "timestamp.txt").write_text(timestamp + "\n", encoding="utf-8")
    return folder
