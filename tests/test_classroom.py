"""The local classroom hub (classroom/manage.py, behind `make classroom`): errors, and one assignment's whole cycle.

The cycle runs on a hub this module starts and stops itself, with real system
users, the proxy and the single-user servers, and checks afterwards that none
of them is left. Every step goes through the hub the way a person's browser
does: the REST API with the user's own token (``jupyterhub token USER``), the
nbgrader server extensions behind the Assignments tab and the formgrader, and
the formgrader's page in Chromium for the hand grade.

1. the instructor generates and releases ps4-dirty-data (formgrader);
2. two students fetch it (Assignments tab), answer, validate and submit (the
   second student's prose answer carries script); Fetch Feedback says there is
   none yet;
3. the instructor collects (formgrader) and grades with the course's grader,
   sandboxed, typing the guide's commands into their own terminal on the hub;
4. in Chromium, as the instructor: the formgrader inside JupyterLab, its
   assignment and Preview links, its Autograde button (the course's grader) on
   the hostile submission, whose grading page runs none of its script, and a
   hand grade typed into the grading page;
5. the instructor writes the feedback again (the guide's command, in the
   terminal) and releases it;
6. a student fetches the feedback and sees the score.

The single-user environment is built once (a few minutes) into
``/srv/htcourse-classroom-env`` and reused while the requirements are unchanged,
as ``.venv`` is; everything else is removed at the end.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import importlib.util
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from htcourse.paths import REPO_ROOT

MANAGE = REPO_ROOT / "classroom" / "manage.py"
ENV_CACHE = Path(os.environ.get("HTCOURSE_CLASSROOM_ENV", "/srv/htcourse-classroom-env"))
ASSIGNMENT = "ps4-dirty-data"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

sys.path.insert(0, str(REPO_ROOT / "classroom"))
import manage  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "htcourse_hostile_markup_hub", REPO_ROOT / "tests" / "fixtures" / "submissions" / "hostile_markup.py"
)
HOSTILE = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(HOSTILE)
GUIDE = REPO_ROOT / "book" / "instructors" / "deployment.md"


def guide_commands() -> list[str]:
    """The commands of the guide's "Grading from the instructor's account", in order, comments left out."""
    text = GUIDE.read_text()
    section = text.split("### Grading from the instructor's account", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines() if line.strip()]


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the classroom creates system users: needs root")


def free_ports() -> int:
    """A port p with p, p+1 and p+2 free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port < 65000 and not any(manage.port_in_use(port + i) for i in range(3)):
            return port
    raise RuntimeError("no three free ports in a row")


def run_manage(*args, timeout=900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(MANAGE), *args], capture_output=True, text=True, timeout=timeout)


def test_combined_requirements_replace_only_the_classroom_pins():
    combined = manage.combined_requirements().splitlines()
    lines = [l.strip() for l in (REPO_ROOT / "requirements.txt").read_text().splitlines()]
    root = [l for l in lines if l and not l.startswith(("#", "-"))]  # the lock's pins, without its "# via" notes
    assert len(combined) == len(root)
    assert "soupsieve==2.10" in combined and not any(l.startswith("soupsieve==4") for l in combined)
    assert {l for l in combined if not l.startswith("soupsieve")} == {l for l in root if not l.startswith("soupsieve")}
    assert any(l.startswith("nbgitpuller==") for l in combined) and any(l.startswith("jupyterhub==") for l in combined)


def test_classroom_uids_stay_clear_of_the_sandbox():
    from htcourse.grading.sandbox.bwrap import SANDBOX_UIDS

    assert manage.free_uid(SANDBOX_UIDS.start - 1, {SANDBOX_UIDS.start - 1}) == SANDBOX_UIDS.stop
    assert manage.FIRST_UID not in SANDBOX_UIDS


@needs_root
def test_a_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_manage("--state", str(tmp_path / "state"), "up", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 (the classroom's address) is in use" in result.stderr
    assert not manage.classroom_users() and not (tmp_path / "state").exists()


@needs_root
def test_a_missing_exchange_is_a_clear_error(tmp_path):
    result = run_manage(
        "--state",
        str(tmp_path / "state"),
        "up",
        "--port",
        str(free_ports()),
        "--exchange",
        str(tmp_path / "no-such-exchange"),
        timeout=60,
    )
    assert result.returncode == 1
    assert "the exchange folder" in result.stderr and "does not exist" in result.stderr
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)
    result = run_manage(
        "--state", str(tmp_path / "state"), "up", "--port", str(free_ports()), "--exchange", str(closed), timeout=60
    )
    assert result.returncode == 1 and "chmod ugo+rw" in result.stderr
    assert not manage.classroom_users() and not (tmp_path / "state").exists()


class Hub:
    def __init__(self, state: Path, record: dict):
        self.state, self.record = state, record
        self.url = record["url"]
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            out = subprocess.run(
                [str(manage.HUB), "token", "-f", str(self.state / "hub" / "jupyterhub_config.py"), user],
                cwd=self.state / "hub",
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            self.tokens[user] = out.stdout.strip().splitlines()[-1]
        return self.tokens[user]

    def api(self, user: str, method: str, path: str, **kw) -> requests.Response:
        headers = {"Authorization": f"token {self.token(user)}"}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=300, **kw)

    def start_server(self, user: str) -> None:
        response = self.api(user, "POST", f"/hub/api/users/{user}/server")
        assert response.status_code in (201, 202), response.text
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            model = self.api(user, "GET", f"/hub/api/users/{user}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready"):
                return
            time.sleep(1)
        raise AssertionError(f"{user}'s server did not start; see {self.state / 'hub' / 'jupyterhub.log'}")


@pytest.fixture(scope="module")
def hub():
    if os.geteuid() != 0:
        pytest.skip("the classroom creates system users: needs root")
    for tool in ("/usr/bin/python3", CHROMIUM, shutil.which("bwrap") or "/usr/bin/bwrap"):
        if not Path(tool).exists():
            pytest.fail(f"{tool} is missing (make system-packages)")
    assert not manage.classroom_users(), "classroom users exist already: run `make classroom-down` first"
    state = Path(f"/srv/htcourse-classroom-test-{os.getpid()}")
    port = free_ports()
    started = time.monotonic()
    result = run_manage("--state", str(state), "up", "--port", str(port), "--students", "2", "--env", str(ENV_CACHE))
    try:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
        assert f"The classroom is running: http://127.0.0.1:{port}" in result.stdout
        assert "htc-teacher" in result.stdout and "htc-student2" in result.stdout and "password" in result.stdout
        record = json.loads((state / "state.json").read_text())
        print(f"\nclassroom up in {time.monotonic() - started:.0f} s")
        yield Hub(state, record)
    finally:
        uids = {u.pw_uid for u in manage.classroom_users()}
        down = run_manage("--state", str(state), "down", "--keep-env")
        assert down.returncode == 0, down.stderr
        # Nothing is left: no users, no processes of theirs, no hub or proxy, no state.
        assert not manage.classroom_users()
        assert not manage.processes_of(uids)
        assert not any(manage.port_in_use(port + i) for i in range(3))
        assert not state.exists()
        assert not any(Path("/home").glob("htc-*"))


def answer_notebook(hub: Hub, student: str, course: Path, listener=None) -> None:
    """The student writes answers in the fetched notebook (contents API, as JupyterLab saves it)."""
    sys.path.insert(0, str(REPO_ROOT / "tests" / "fixtures" / "submissions"))
    import fake_students
    import nbformat

    nb = fake_students.correct(course, ASSIGNMENT)
    if student.endswith("2"):
        # The second student gets question 1 wrong and writes script into a hand-graded prose answer.
        fake_students.set_answer(nb, "q1-answer", fake_students.WRONG[ASSIGNMENT]["q1-answer"])
        if listener is not None:
            answer = fake_students.cell(nb, "q6-answer")
            answer.source = HOSTILE.hostile_markdown(listener.port)
            answer["attachments"] = {
                "drawing.png": {"image/png": base64.b64encode(fake_students.tiny_png(6, 6)).decode()}
            }
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    saved = hub.api(
        student,
        "PUT",
        f"/user/{student}/api/contents/{path}",
        json={"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))},
    )
    assert saved.status_code == 200, saved.text


def test_a_whole_assignment_cycle_through_the_hub(hub, tmp_path):
    teacher, students = manage.INSTRUCTOR, [u for u in hub.record["users"] if u != manage.INSTRUCTOR]
    course = Path(hub.record["course"])
    started = time.monotonic()
    listener = HOSTILE.Listener()  # every payload in the hostile answer calls it if it runs

    # 0. Students see the Assignments tab but not the formgrader; the instructor has the formgrader.
    for user in [teacher, *students]:
        hub.start_server(user)
    assert hub.api(students[0], "GET", f"/user/{students[0]}/formgrader").status_code == 404
    assert hub.api(teacher, "GET", f"/user/{teacher}/formgrader/api/assignments").status_code == 200
    listed = hub.api(students[0], "GET", f"/user/{students[0]}/assignments", params={"course_id": "htcourse"}).json()
    assert listed == {"success": True, "value": []}

    # 0b. The site's JupyterHub button: its nbgitpuller link, on this hub, for a copy of the repository
    #     (a local bare repository stands in for the fork's address, which needs the internet).
    launch_button_pulls_the_repository(hub, students[0])

    # 1. The instructor generates and releases ps4-dirty-data from the formgrader.
    for action in ("assign", "release"):
        done = hub.api(teacher, "POST", f"/user/{teacher}/formgrader/api/assignment/{ASSIGNMENT}/{action}").json()
        assert done["success"], done.get("error", "")[-2000:]

    # 2. Two students fetch it, answer, validate and submit.
    for student in students:
        listed = hub.api(student, "GET", f"/user/{student}/assignments", params={"course_id": "htcourse"}).json()
        assert [a["status"] for a in listed["value"] if a["assignment_id"] == ASSIGNMENT] == ["released"]
        form = {"course_id": "htcourse", "assignment_id": ASSIGNMENT}
        fetched = hub.api(student, "POST", f"/user/{student}/assignments/fetch", data=form).json()
        assert [a["status"] for a in fetched["value"] if a["assignment_id"] == ASSIGNMENT] == ["fetched"], fetched
        answer_notebook(hub, student, course, listener)
        valid = hub.api(
            student, "POST", f"/user/{student}/assignments/validate", data={"path": f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"}
        ).json()
        assert valid["success"], valid
        submitted = hub.api(student, "POST", f"/user/{student}/assignments/submit", data=form).json()
        assert submitted["success"] and any(a["status"] == "submitted" for a in submitted["value"]), submitted
    # Fetch Feedback before the instructor has returned any says so (nbgrader's list would not change).
    early = hub.api(students[0], "POST", f"/user/{students[0]}/assignments/fetch_feedback", data=form).json()
    assert early["success"] is False and f"No feedback for {ASSIGNMENT} yet" in early["value"], early

    # 3. The instructor collects, then grades with the course's grader in its sandbox.
    collected = hub.api(teacher, "POST", f"/user/{teacher}/formgrader/api/assignment/{ASSIGNMENT}/collect").json()
    assert collected["success"], collected.get("error", "")[-2000:]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == sorted(students)
    a_student_reaches_nothing_of_others(hub, course, attacker=students[1], victim=students[0])
    # The instructor grades in their own terminal on the hub, with the guide's commands.
    commands = guide_commands()
    assert commands[:2] == ["cd ~/course", f"htcourse grade {ASSIGNMENT}"], commands
    assert f"htcourse grade {ASSIGNMENT}" in manage.INSTRUCTOR_WELCOME
    began = time.monotonic()
    graded = run_in_terminal(hub, teacher, commands[:2])
    print(f"\nhtcourse grade in the instructor's terminal: {time.monotonic() - began:.0f} s\n{graded[-1500:]}")
    assert f"Summary for {ASSIGNMENT}: 2 submission(s)" in graded and "graded: 2" in graded, graded[-3000:]
    assert "WITHOUT the sandbox" not in graded, graded[-3000:]
    # Hidden tests put back by the grader on purpose are not reported as changed cells.
    assert "has changed!" not in graded, graded[-3000:]
    flagged = next(line for line in graded.splitlines() if line.strip().startswith(f"{students[1]}:"))
    assert "<script>" in flagged, flagged  # the hostile markup was removed, and the instructor is told
    scores = {
        s["student"]: s["score"]
        for s in hub.api(teacher, "GET", f"/user/{teacher}/formgrader/api/submissions/{ASSIGNMENT}").json()
    }
    assert scores == {students[0]: 10.0, students[1]: 8.0}, scores  # second student got q1 (2 points) wrong

    # 4. In Chromium, as the instructor: the formgrader in JupyterLab and its links, the Autograde button,
    #    the hostile submission (nothing of it runs), and the hand grade typed into the grading page.
    instructor_in_chromium(hub, teacher, students, listener, tmp_path)
    scores = {
        s["student"]: s["score"]
        for s in hub.api(teacher, "GET", f"/user/{teacher}/formgrader/api/submissions/{ASSIGNMENT}").json()
    }
    assert scores == {students[0]: 14.0, students[1]: 8.0}, scores

    # 5. Feedback written again after hand grading (the guide's command, in the instructor's terminal),
    #    then released from the formgrader.
    assert commands[2:] == ["cd ~/course", f"htcourse feedback {ASSIGNMENT}"], commands
    written = run_in_terminal(hub, teacher, commands[2:])
    assert "EXIT=0" in written, written[-2000:]
    released = hub.api(
        teacher, "POST", f"/user/{teacher}/formgrader/api/assignment/{ASSIGNMENT}/release_feedback"
    ).json()
    assert released["success"], released.get("error", "")[-2000:]

    # 6. The student fetches the feedback and sees the score.
    student = students[0]
    form = {"course_id": "htcourse", "assignment_id": ASSIGNMENT}
    listed = hub.api(student, "POST", f"/user/{student}/assignments/fetch_feedback", data=form).json()
    entry = next(a for a in listed["value"] if a["assignment_id"] == ASSIGNMENT and a["status"] == "submitted")
    latest = entry["submissions"][-1]
    assert latest["has_local_feedback"], latest
    folder = f"{ASSIGNMENT}/feedback/{latest['timestamp']}"  # where the Assignments tab links it, in the home folder
    from urllib.parse import quote

    response = hub.api(student, "GET", f"/user/{student}/api/contents/{quote(folder)}/{ASSIGNMENT}.html")
    assert response.status_code == 200, f"{response.status_code} for {folder}: {response.text[:300]}"
    page = response.json()
    assert re.search(rf"{ASSIGNMENT} \(Score: 14\.0 / 23\.0\)", page["content"]), (
        "the feedback shows the total: 10 autograded + 4 by hand, out of 23"
    )
    assert "Written response</a> (Score: 4.0 / 5.0)" in page["content"], "and the hand grade"
    print(f"\nassignment cycle through the hub: {time.monotonic() - started:.0f} s")


#: Each attempt, run as a student: Python that succeeds only if the student got through.
ATTEMPTS = {
    "read the instructor's source": "open({source!r}).read()",
    "read the gradebook": "open({gradebook!r}, 'rb').read()",
    "list another student's home": "os.listdir({victim_home!r})",
    "read another student's notebook at home": "open({victim_notebook!r}).read()",
    "list the exchange's submissions": "os.listdir({inbound!r})",
    "read another's submission": "open({submission!r}).read()",
    "replace another's submission": "open({submission!r}, 'w').write('{{}}')",
    "move another's submission aside": "os.rename({submission_dir!r}, {submission_dir!r} + '-aside')",
    "rename the exchange's course folder": "os.rename({course_exchange!r}, {course_exchange!r} + '-old')",
    "alter a released notebook": "open({released!r}, 'a').write('x')",
    "replace a collected submission": "open({collected!r}, 'a').write('x')",
    "write in the single-user environment": "open({env_file!r}, 'w').write('x')",
    "read the hub's secrets": "open({cookie_secret!r}, 'rb').read()",
}


def a_student_reaches_nothing_of_others(hub: Hub, course: Path, attacker: str, victim: str) -> None:
    """From a student's own process: every attempt on the instructor's files, a classmate's or the exchange fails."""
    exchange = Path(hub.record["exchange"])
    inbound = exchange / "htcourse" / "inbound"
    submission_dir = next(inbound.glob(f"{victim}+{ASSIGNMENT}+*"))
    env = Path(hub.record["env"])
    paths = {
        "source": str(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "gradebook": str(course / "gradebook.db"),
        "victim_home": pwd.getpwnam(victim).pw_dir,
        "victim_notebook": str(Path(pwd.getpwnam(victim).pw_dir) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "inbound": str(inbound),
        "submission": str(submission_dir / f"{ASSIGNMENT}.ipynb"),
        "submission_dir": str(submission_dir),
        "course_exchange": str(exchange / "htcourse"),
        "released": str(exchange / "htcourse" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "collected": str(course / "submitted" / victim / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"),
        "env_file": str(next(env.glob("lib/python3*/site-packages")) / "htcourse-planted.py"),
        "cookie_secret": str(hub.state / "hub" / "cookie_secret"),
    }
    for path in ("source", "gradebook", "victim_notebook", "submission", "released", "collected"):
        assert Path(paths[path]).is_file(), f"{path} should exist for this check: {paths[path]}"
    user = pwd.getpwnam(attacker)
    for what, code in ATTEMPTS.items():
        tried = subprocess.run(
            [
                "setpriv",
                f"--reuid={user.pw_uid}",
                f"--regid={user.pw_gid}",
                "--init-groups",
                "--",
                "/usr/bin/python3",
                "-c",
                "import os\n" + code.format(**paths),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
        )
        assert tried.returncode != 0 and "PermissionError" in tried.stderr, (
            f"a student could {what}: {tried.stderr[-500:]}"
        )
    assert submission_dir.is_dir() and (exchange / "htcourse").is_dir()


def launch_button_pulls_the_repository(hub: Hub, student: str) -> None:
    from htcourse.sitebuild import launch

    _, branch = launch.repository()
    repo = hub.state / "ht-course"
    subprocess.run(["git", "init", "-q", "--bare", "-b", branch, str(repo)], check=True)
    subprocess.run(
        ["git", "push", "-q", str(repo), f"HEAD:refs/heads/{branch}"], cwd=REPO_ROOT, check=True, capture_output=True
    )
    owner = pwd.getpwnam(student)
    subprocess.run(["chown", "-R", f"{owner.pw_uid}:{owner.pw_gid}", str(repo)], check=True)
    lab = "book/modules/06-clean-data/lab-dirty-data.ipynb"
    link = launch.nbgitpuller_link(hub.url, str(repo), branch, lab)
    # The hub sends a logged-in person from /hub/user-redirect/X to /user/NAME/X (for a token, its
    # HTML pages ask for a login instead): follow that redirect by hand, then open nbgitpuller's page.
    path = link.removeprefix(hub.url)
    assert path.startswith("/hub/user-redirect/git-pull?"), path
    page = hub.api(student, "GET", f"/user/{student}/" + path.removeprefix("/hub/user-redirect/"))
    assert page.status_code == 200 and "nbgitpuller" in page.text.lower(), (page.status_code, page.text[:300])
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    from urllib.parse import unquote

    stream = hub.api(
        student,
        "GET",
        f"/user/{student}/git-pull/api",
        params={"repo": unquote(query["repo"]), "branch": query["branch"]},
    )
    assert '"phase": "finished"' in stream.text, stream.text[-2000:]
    opened = hub.api(
        student, "GET", f"/user/{student}/api/contents/{unquote(query['urlpath']).removeprefix('lab/tree/')}"
    )
    assert opened.status_code == 200, f"the link's notebook is not in the pulled folder: {unquote(query['urlpath'])}"


def run_in_terminal(hub: Hub, user: str, commands: list[str], timeout: float = 600) -> str:
    """Type ``commands`` into a new terminal of ``user``'s server on the hub, as a person would in
    JupyterLab's terminal (same shell, same environment), and return what the terminal showed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    created = hub.api(user, "POST", f"/user/{user}/api/terminals")
    assert created.status_code == 200, created.text
    name = created.json()["name"]
    url = hub.url.replace("http://", "ws://") + f"/user/{user}/terminals/websocket/{name}"
    # The exit status is printed as EXIT=<digits>: the echo of the typed line shows EXIT=$? instead.
    line = " && ".join(commands) + "; echo EXIT=$?\r"

    async def talk() -> str:
        request = HTTPRequest(url, headers={"Authorization": f"token {hub.token(user)}"})
        connection = await websocket_connect(request)
        await connection.write_message(json.dumps(["stdin", line]))
        shown, deadline = "", time.monotonic() + timeout
        while not re.search(r"EXIT=\d+", shown) and time.monotonic() < deadline:
            message = await asyncio.wait_for(connection.read_message(), deadline - time.monotonic())
            if message is None:
                break
            kind, *data = json.loads(message)
            if kind == "stdout":
                shown += data[0]
        connection.close()
        return shown

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # its own event loop, whatever runs in this thread
        shown = pool.submit(asyncio.run, talk()).result()
    hub.api(user, "DELETE", f"/user/{user}/api/terminals/{name}")
    shown = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r", "", shown)
    assert re.search(r"EXIT=0\b", shown), f"{commands} failed in {user}'s terminal:\n{shown[-3000:]}"
    return shown


def _log_in(page, hub: Hub, user: str) -> None:
    page.goto(f"{hub.url}/hub/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", hub.record["passwords"][user])
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{hub.url}/user/{user}/lab**", timeout=120_000)


def instructor_in_chromium(hub: Hub, teacher: str, students: list[str], listener, shots: Path) -> None:
    """The instructor's browser: the formgrader inside JupyterLab, its links, its Autograde button on the
    hostile submission, that submission's grading page (nothing of it runs), and a hand grade."""
    from playwright.sync_api import sync_playwright

    base = f"{hub.url}/user/{teacher}"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            _log_in(page, hub, teacher)
            # JupyterLab's page sets the server's _xsrf cookie, which the formgrader's saves send back.
            page.wait_for_function("() => document.cookie.includes('_xsrf')", timeout=60_000)
            # JupyterLab opens Welcome.md at start (the hub's default_url). On a busy machine it could open after
            # the formgrader and cover it (seen once: the formgrader's heading loaded but hidden), so wait for it.
            welcome = page.locator(".jp-RenderedMarkdown").filter(has_text="Welcome, instructor").first
            welcome.wait_for(state="visible", timeout=60_000)

            # Nbgrader > Formgrader opens the formgrader inside JupyterLab (not a blank, refused frame).
            page.get_by_text("Nbgrader", exact=True).first.click()
            page.get_by_text("Formgrader", exact=True).first.click()
            frame = page.frame_locator("iframe[src*='formgrader']")
            heading = frame.locator("h1", has_text="Manage Assignments")
            heading.wait_for(state="attached", timeout=60_000)
            page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Formgrader").first.click()  # in front
            heading.wait_for(state="visible", timeout=60_000)
            frame.locator(f"a:text-is('{ASSIGNMENT}')").first.wait_for(state="attached", timeout=60_000)
            page.screenshot(path=str(shots / "instructor-lab-formgrader.png"))
            print(f"\nthe instructor's formgrader in JupyterLab: {shots / 'instructor-lab-formgrader.png'}")

            # The formgrader's own tab: the assignment's name and its Preview icon lead into the
            # instructor's server (nbgrader's own links, /tree/..., are the hub's 404).
            page.goto(f"{base}/formgrader/manage_assignments")
            row = page.locator("tr", has=page.get_by_text(ASSIGNMENT, exact=True))
            row.locator(".preview a").wait_for(timeout=60_000)
            for link, folder in (
                (row.locator("a", has_text=ASSIGNMENT), "source"),
                (row.locator(".preview a"), "release"),
            ):
                href = link.get_attribute("href")
                target = hub.url + href if href.startswith("/") else href
                assert target == f"{base}/tree/course/{folder}/{ASSIGNMENT}", href
                opened = page.request.get(target)
                assert opened.status == 200 and ASSIGNMENT in opened.text(), (href, opened.status)

            page.goto(f"{base}/formgrader/gradebook")
            assert "htcourse grade" in page.locator("#htcourse-manual-grading-hint").inner_text()

            # Autograde for the hostile student: the course's grader runs, in its sandbox.
            page.goto(f"{base}/formgrader/manage_submissions/{ASSIGNMENT}")
            hint = page.locator("#htcourse-grade-hint")
            assert f'htcourse grade "{ASSIGNMENT}"' in hint.inner_text(), "the page points to the course's grader"
            row = page.locator("tr", has=page.get_by_text(students[1], exact=True))
            row.locator(".autograde a").click()
            modal = page.locator("#success-modal, #error-modal")
            modal.wait_for(timeout=300_000)
            shown = modal.inner_text()
            assert "Successfully autograded" in shown, shown[-2000:]
            assert f"Summary for {ASSIGNMENT}: 1 submission(s)" in shown and "<script>" in shown, shown[-2000:]
            assert "has changed!" not in shown, shown[-2000:]
            page.screenshot(path=str(shots / "instructor-autograde.png"))

            # The hostile submission in the grading page: its prose shows, nothing of its script runs.
            submissions = hub.api(
                teacher, "GET", f"/user/{teacher}/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}"
            ).json()
            ids = {s["student"]: s["id"] for s in submissions}
            page.goto(f"{base}/formgrader/submissions/{ids[students[1]]}/", wait_until="load")
            page.locator("#notebook-container").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            assert list(page.evaluate("() => window.__pwned || []")) + list(listener.hits) == []
            assert page.locator("strong", has_text="Bold words").count() >= 1
            assert page.locator('a[href^="javascript:"]').count() == 0

            give_hand_grade(page, hub, base, teacher, ids[students[0]], points=4)
        finally:
            browser.close()


def give_hand_grade(page, hub: Hub, base: str, teacher: str, submission_id: str, points: int) -> None:
    """Type the points for question 6 in the formgrader's grading page, where its rubric shows."""
    saves = []
    page.on(
        "response",
        lambda r: (
            saves.append(f"{r.request.method} {r.url} {r.status}") if r.request.method in ("PUT", "POST") else None
        ),
    )
    page.goto(f"{base}/formgrader/submissions/{submission_id}/")
    score = page.locator("input.score#q6-answer")
    score.wait_for(timeout=60_000)
    rubric = page.locator("#q6-answer-rubric")  # beside the answer it grades, from the course's README
    assert rubric.is_visible() and "Uses the numbers" in rubric.inner_text(), "no rubric beside question 6"
    # The visible checks are worth no points: no "/ 0.0" box to fill in for them.
    assert page.locator(".htcourse-no-points").count() == 5 and page.locator("input.score#q1-visible").is_hidden()
    assert page.locator("input.score#q1-hidden").is_visible()
    page.wait_for_load_state("networkidle")
    # The formgrader saves a grade when the field changes and loses focus. Its script binds
    # the fields only once it has loaded the grades, so a person who types too early just
    # types again: so does this (clear, type, move on), until the grade is saved.
    deadline, hand = time.monotonic() + 60, []
    while time.monotonic() < deadline:
        for value in ("", str(points)):
            score.fill(value)
            score.press("Tab")
        for _ in range(10):
            grades = hub.api(
                teacher, "GET", f"/user/{teacher}/formgrader/api/grades", params={"submission_id": submission_id}
            ).json()
            hand = [g for g in grades if g["name"] == "q6-answer"]
            if hand and hand[0]["manual_score"] == points:
                return
            time.sleep(0.5)
    raise AssertionError(f"the formgrader did not save the hand grade: {hand}; requests: {saves}")


def test_the_first_minute_on_the_hub(hub, tmp_path):
    """A student's first screen: no news pop-up, the welcome page saying where the Assignment List is,
    the datasheets where the notebooks name them; the instructor's terminal finds nbgrader; the
    formgrader shows the students' names. (Runs after the cycle, on the same hub.)"""
    from playwright.sync_api import sync_playwright

    teacher, students = manage.INSTRUCTOR, [u for u in hub.record["users"] if u != manage.INSTRUCTOR]
    student = students[0]
    sheet = hub.api(student, "GET", f"/user/{student}/api/contents/datasets/listings.md")
    assert sheet.status_code == 200, "the datasheet the notebooks name is not in the student's home"
    env_bin = str(Path(hub.record["env"]) / "bin")
    for flags in ("-lc", "-ic"):  # a terminal's login shell, and an interactive one
        found = subprocess.run(
            [
                shutil.which("runuser") or "/usr/sbin/runuser",
                "-u",
                teacher,
                "--",
                "bash",
                flags,
                "command -v nbgrader python",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert found.stdout.split() == [f"{env_bin}/nbgrader", f"{env_bin}/python"], (flags, found.stdout, found.stderr)
    names = hub.api(teacher, "GET", f"/user/{teacher}/formgrader/api/students").json()
    assert {s["id"]: (s["first_name"], s["last_name"]) for s in names} == {
        name: ("Student", str(i)) for i, name in enumerate(students, start=1)
    }, names

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{hub.url}/hub/login")
            page.fill("input[name=username]", student)
            page.fill("input[name=password]", hub.record["passwords"][student])
            page.click("input[type=submit], button[type=submit]")
            page.wait_for_url(f"{hub.url}/user/{student}/lab**", timeout=120_000)
            welcome = page.locator(".jp-RenderedMarkdown").filter(has_text="Assignment List").first
            welcome.wait_for(state="visible", timeout=60_000)
            page.wait_for_timeout(3000)  # the news question, when on, comes a moment after start
            page.screenshot(path=str(tmp_path / "student-first-screen.png"))
            print(f"\nthe student's first screen: {tmp_path / 'student-first-screen.png'}")
            assert not page.get_by_text("official Jupyter news").count(), "the news pop-up is shown"
            assert not page.locator(".jp-Notification-Toast-Container .Toastify__toast").count(), (
                "a notification is shown"
            )
        finally:
            browser.close()
