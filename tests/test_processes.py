"""The grader's end of its helper processes (grading/sandbox/processes.py)."""

from __future__ import annotations

import subprocess
import time

import pytest

from htcourse.grading.sandbox.processes import Helper


@pytest.fixture
def helper_running():
    """A Helper whose process is a shell command (the class as the grader uses it, without ``python -m``)."""
    made = []

    def start(script: str) -> Helper:
        helper = Helper.__new__(Helper)
        helper._unread = bytearray()
        helper.process = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        made.append(helper)
        return helper

    yield start
    for helper in made:
        helper.process.kill()
        helper.process.wait()


def test_two_replies_that_arrive_together_are_read_one_by_one_without_waiting(helper_running):
    """The checker answers a prepare and a check with two lines that can arrive in one read. The second must
    not wait out the timeout: through a buffered file, select() did not see it (420 s in a loaded test run)."""
    helper = helper_running("printf 'first\\nsecond\\n'; sleep 60")
    time.sleep(0.2)  # both lines are in the pipe before the first is read
    assert helper.read_line(3) == b"first\n"
    assert helper.read_line(3) == b"second\n"


def test_no_reply_in_time_or_an_unfinished_line_is_an_empty_reply(helper_running):
    quiet = helper_running("sleep 60")
    started = time.monotonic()
    assert quiet.read_line(0.3) == b""
    assert time.monotonic() - started < 10
    ended = helper_running("printf 'whole\\npart'")
    assert ended.read_line(10) == b"whole\n"
    assert ended.read_line(10) == b"", "a line the helper did not finish before it ended is no reply"
