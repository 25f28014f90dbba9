"""Unit tests of htcourse.grading.stages: where grading one submission spends its time (make bench's table)."""

from __future__ import annotations

import json
import time

import nbformat


def test_a_lap_moves_the_stages_measured_within_it_out_of_it():
    from htcourse.grading import stages

    figures: dict = {}
    clock = stages.Clock(figures)
    time.sleep(0.01)
    clock.lap("working copy")
    time.sleep(0.02)
    clock.lap("converter", within={"execution": [0.015, 0.001, 0.0, 0.3], "check": [0.001, 0.0005, 0.2, 0.0]})
    assert set(figures) == {"working copy", "converter", "execution", "check"}
    assert figures["working copy"][0] >= 0.01
    assert figures["execution"] == [0.015, 0.001, 0.0, 0.3], "the sandbox's CPU is kept too"
    assert figures["check"] == [0.001, 0.0005, 0.2, 0.0], "a helper's CPU is kept, never taken from the converter"
    # the converter keeps what its notebooks' stages did not take
    assert 0.02 - 0.016 <= figures["converter"][0] < 1


def test_a_checked_notebook_carries_its_check_stage_in_its_resources():
    """CheckAnswers' figures travel in the notebook's resources (no module state): wall, CPU, the checker's CPU."""
    from htcourse.grading import answers, stages, wire

    hidden = {
        "q1-hidden": "# ANSWERS CHECKED: a\n### BEGIN HIDDEN TESTS\nassert a == 42, 'a is off'\n### END HIDDEN TESTS"
    }
    cell = nbformat.v4.new_code_cell("a = 42", metadata={"nbgrader": {"grade_id": "q1-hidden", "grade": True}})
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={wire.MIME: json.loads(json.dumps(wire.build_answers_message("q1-hidden", ["a"], {"a": 42})))},
        )
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    resources: dict = {}
    results = answers.check_executed(nb, hidden, [], timeout=60, setup_timeout=60, resources=resources)
    assert results["q1-hidden"]["passed"] is True
    wall, cpu, checker_cpu, kernel_cpu = resources[stages.KEY]["check"]
    assert wall > 0 and cpu > 0 and checker_cpu > 0 and kernel_cpu == 0
    assert not hasattr(answers, "CHECK_SECONDS"), "the figures travel in resources, not in module state"


def test_what_a_sandbox_showed_reaches_the_converter_through_nbconverts_deep_copy():
    """BoundedExecute adds to a deep copy of the resources (nbconvert's); the converter's findings still see it."""
    import copy

    from htcourse.grading import stages
    from htcourse.grading.sandbox import bounds, workdir

    findings = stages.Findings()
    resources = copy.deepcopy({"unique_key": "ps1", stages.FINDINGS_KEY: findings})
    stages.add_findings(resources, {"reached": ["it filled its working folder (1 MB)"], "left_behind": []})
    stages.add_findings(resources, {"reached": [], "left_behind": ["a link x -> /etc/shadow"]})
    assert findings == {"reached": ["it filled its working folder (1 MB)"], "left_behind": ["a link x -> /etc/shadow"]}
    assert not hasattr(bounds, "REACHED") and not hasattr(workdir, "LEFT_BEHIND"), "no module state"
