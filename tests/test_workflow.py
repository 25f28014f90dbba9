"""The GitHub workflow publishes the site only after the README's test command passed."""

from __future__ import annotations

from pathlib import Path

import yaml

WORKFLOW = Path(__file__).resolve().parents[1] / ".github" / "workflows" / "publish.yml"


def test_publishing_waits_for_make_test():
    jobs = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]
    runs = [step.get("run") for step in jobs["test"]["steps"]]
    assert "make test" in runs
    uploads = [i for i, step in enumerate(jobs["test"]["steps"]) if "upload-pages-artifact" in step.get("uses", "")]
    assert uploads and uploads[0] > runs.index("make test"), "the site is uploaded only after the tests ran"
    assert jobs["deploy"]["needs"] == "test"
    assert all("upload-pages-artifact" not in step.get("uses", "") for step in jobs["deploy"]["steps"])


def test_the_test_job_runs_where_make_test_can_install_chromium_and_bubblewrap():
    job = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["test"]
    assert job["container"]["image"].startswith("python:3.11-")  # Debian, root, Python 3.11
    assert "--privileged" in job["container"]["options"]  # bubblewrap creates namespaces
