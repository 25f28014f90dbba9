"""Every bound on a submission: one setting each, with help, and the instructors' guide lists exactly these."""

from __future__ import annotations

import re
from pathlib import Path

from traitlets.config import Config

from htcourse.grading import limits

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "book" / "instructors" / "index.md"


def _guide_table() -> list[str]:
    lines = GUIDE.read_text(encoding="utf-8").splitlines()
    header = "| " + " | ".join(limits.HEADER) + " |"
    assert lines.count(header) == 1, "the guide has one table of limits"
    start = lines.index(header)
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


def test_the_guides_table_of_limits_is_generated_from_the_settings():
    # If this fails after changing a limit: .venv/bin/python -m htcourse.grading.limits, and paste its table.
    assert _guide_table() == limits.markdown_table(limits.course_config()).splitlines()


def test_every_limit_is_a_configurable_setting_with_help():
    for module, class_name, name in limits.LIMITS:
        cls = limits._class(module, class_name)
        trait = cls.class_traits().get(name)
        assert trait is not None, f"{class_name}.{name} is not a setting"
        assert trait.metadata.get("config"), f"{class_name}.{name} cannot be configured"
        assert limits._help(cls, name), f"{class_name}.{name} has no help"


def test_the_course_config_does_not_repeat_the_defaults_of_the_courses_own_settings():
    config = limits.course_config()
    repeated = [
        f"c.{class_name}.{name}"
        for module, class_name, name in limits.LIMITS
        if module.startswith("htcourse.") and class_name in config and name in config[class_name]
    ]
    assert repeated == []
    # the CPU limit is 300 s wherever it is read (it once was 60 in one place and 300 in another)
    from htcourse.grading.sandbox.bwrap import SandboxLimits
    from htcourse.grading.sandbox.kernel import SandboxKernelManager

    assert SandboxLimits().cpu_seconds == SandboxKernelManager().limits.cpu_seconds
    assert any(row[0] == "`c.SandboxKernelManager.cpu_seconds`" and row[1] == "300 s" for row in limits.rows(config))


def test_configured_follows_traitlets_precedence():
    from htcourse.grading.execute import BoundedExecute

    default = BoundedExecute.class_traits()["timeout"].default_value
    assert limits.configured(None, BoundedExecute, "timeout") == default
    parent = Config({"Execute": {"timeout": 7}})
    assert limits.configured(parent, BoundedExecute, "timeout") == 7
    both = Config({"Execute": {"timeout": 7}, "BoundedExecute": {"timeout": 9}})
    assert limits.configured(both, BoundedExecute, "timeout") == 9


def test_the_cell_timeout_can_be_set_for_one_run(monkeypatch):
    from htcourse.grading.course import Course
    from htcourse.grading.execute import BoundedExecute

    monkeypatch.setenv("HTCOURSE_CELL_TIMEOUT", "8")
    assert limits.configured(Course(ROOT / "assignments").config, BoundedExecute, "timeout") == 8
    # and course_config() is the file as shipped, whatever the environment says
    assert limits.configured(limits.course_config(), BoundedExecute, "timeout") != 8


def test_numbers_are_shown_with_their_units():
    assert limits._show("memory_bytes", 2 * 1024**3) == "2 GiB"
    assert limits._show("tmp_bytes", 512 * 1024**2) == "512 MiB"
    assert limits._show("max_answers_bytes", 20_000_000) == "20,000,000 bytes"
    assert limits._show("timeout", 120.0) == "120 s"
    assert limits._show("max_file_size", 20_000) == "20,000 kB"
    assert re.fullmatch(r"\d+", limits._show("max_processes", 64))
