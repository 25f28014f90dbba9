"""Every bound the grader puts on a submission, in one list, with the value the course uses.

Each bound is a traitlets setting of the class that applies it, declared once
with its default and ``help=``: the course's own classes hold the course's
defaults (``assignments/nbgrader_config.py`` does not repeat them), and for
the few of nbgrader's own settings the course changes (``LimitOutput``,
``CourseDirectory.max_file_size``) the course's value is set once in
``assignments/nbgrader_config.py``. Code that needs a bound reads it from its
setting (:func:`configured`); nothing types the number again.

:data:`LIMITS` lists them all, and :func:`markdown_table` writes the table in
the instructors' guide (``book/instructors/index.md``); tests/test_limits.py
checks that the guide's table is this one, so the two cannot drift apart::

    python -m htcourse.grading.limits        # print the table for the guide
"""

from __future__ import annotations

from importlib import import_module

from traitlets.config import Config

#: (module, class, setting): every bound on a submission's time, memory, disk, output and size.
LIMITS: list[tuple[str, str, str]] = [
    # time
    ("htcourse.grading.execute", "BoundedExecute", "timeout"),
    ("htcourse.grading.execute", "BoundedExecute", "max_cell_timeouts"),
    ("htcourse.grading.execute", "BoundedExecute", "max_seconds"),
    ("htcourse.grading.execute", "BoundedExecute", "startup_timeout"),
    ("htcourse.grading.execute", "BoundedExecute", "iopub_timeout"),
    ("htcourse.grading.answers", "CheckAnswers", "timeout"),
    ("htcourse.grading.answers", "CheckAnswers", "setup_timeout"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "fast_start_timeout"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "cpu_seconds"),
    # memory, processes, disk
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "memory_bytes"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "max_processes"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "sandbox_memory_bytes"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "workdir_bytes"),
    ("htcourse.grading.sandbox.kernel", "SandboxKernelManager", "tmp_bytes"),
    # output
    ("htcourse.grading.execute", "BoundedExecute", "max_output_chars_read"),
    ("htcourse.grading.execute", "BoundedExecute", "max_outputs_read"),
    ("htcourse.grading.sandbox.kernel", "NoPauseKernelClient", "max_message_bytes"),
    ("nbgrader.preprocessors", "LimitOutput", "max_lines"),
    ("nbgrader.preprocessors", "LimitOutput", "max_traceback"),
    ("htcourse.grading.outputs", "LimitOutputSize", "max_output_chars"),
    ("htcourse.grading.outputs", "LimitOutputSize", "max_cell_chars"),
    ("htcourse.grading.answers", "SendAnswers", "max_answers_bytes"),
    # what is submitted
    ("nbgrader.coursedir", "CourseDirectory", "max_file_size"),
    ("nbgrader.coursedir", "CourseDirectory", "max_dir_size"),
]

#: What nbgrader's own settings bound in this course, in the course's words (nbgrader's help is about
#: nbgrader's commands only); the course's own settings carry theirs as ``help=``.
NBGRADER_HELP = {
    ("LimitOutput", "max_lines"): "Lines of output kept from one cell of a graded notebook (-1: no limit).",
    ("LimitOutput", "max_traceback"): "Lines of an error's traceback kept in a graded notebook (-1: no limit).",
    ("CourseDirectory", "max_file_size"): (
        "Size of one submitted file (kilobytes): a notebook over it is not graded, another file is left out "
        "(nbgrader submit and collect, htcourse collect and the grader's checks)."
    ),
    ("CourseDirectory", "max_dir_size"): (
        "Size of one whole submission (kilobytes): a larger submission is not graded (the grader's checks)."
    ),
}

HEADER = ("Setting", "Value", "What it bounds")


def _class(module: str, name: str) -> type:
    return getattr(import_module(module), name)


def configured(config: Config | None, cls: type, name: str):
    """The value of ``cls.name`` under ``config``, as traitlets would give an instance of ``cls``.

    The trait's default, then the config of each class ``cls`` inherits from
    (``c.Execute.timeout`` applies to ``BoundedExecute``), then ``cls``'s own.
    """
    value = cls.class_traits()[name].default_value
    for klass in reversed(cls.mro()):
        section = klass.__name__
        if config is not None and section in config and name in config[section]:
            value = config[section][name]
    return value


def _show(name: str, value) -> str:
    if isinstance(value, int) and name.endswith("_bytes") and value >= 1024**2:
        for unit, size in (("GiB", 1024**3), ("MiB", 1024**2)):
            if value % size == 0:
                return f"{value // size} {unit}"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        text = f"{value:,}"
        if name.endswith(("timeout", "seconds")):
            return f"{text} s"
        if name in ("max_file_size", "max_dir_size"):
            return f"{text} kB"
        if name.endswith("_bytes"):
            return f"{text} bytes"
        if name.endswith("_chars") or name.endswith("_chars_read"):
            return f"{text} characters"
        return text
    return str(value)


def _help(cls: type, name: str) -> str:
    text = NBGRADER_HELP.get((cls.__name__, name)) or cls.class_traits()[name].help
    text = " ".join(text.split())
    return text.replace("|", "\\|")


def rows(config: Config | None = None) -> list[tuple[str, str, str]]:
    """(``c.Class.setting``, the course's value, what it bounds) for every bound in :data:`LIMITS`."""
    out = []
    for module, class_name, name in LIMITS:
        cls = _class(module, class_name)
        out.append((f"`c.{class_name}.{name}`", _show(name, configured(config, cls, name)), _help(cls, name)))
    return out


def course_config() -> Config:
    """``assignments/nbgrader_config.py`` alone, as the course ships it (no environment overrides)."""
    import os
    from unittest import mock

    from traitlets.config.loader import PyFileConfigLoader

    from htcourse.grading.course import CONFIG_FILE, DEFAULT_COURSE_DIR

    env = {k: v for k, v in os.environ.items() if not k.startswith("HTCOURSE_")}
    with mock.patch.dict(os.environ, env, clear=True):
        return PyFileConfigLoader(CONFIG_FILE, path=str(DEFAULT_COURSE_DIR)).load_config()


def markdown_table(config: Config | None = None) -> str:
    """The table of :func:`rows` in Markdown (MyST), as the instructors' guide shows it."""
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows(config)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(course_config()))
