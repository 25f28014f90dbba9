"""A local JupyterHub classroom on 127.0.0.1: ``make classroom`` / ``make classroom-down``.

``up`` (run as root, on a Linux machine) makes, and records in
``STATE/state.json``:

* real system users: one instructor (``htc-teacher``, in the group
  ``htc-instructors``) and a few students (``htc-student1`` ...), with
  random passwords, uids from 30100 up (far from the grading sandbox's
  200000-259999, see ``htcourse.grading.sandbox.bwrap.SANDBOX_UIDS``), tagged
  "htcourse classroom" in their GECOS field;
* the single-user environment ``STATE/env``: a venv of Debian's
  ``/usr/bin/python3`` (the default python here lives under ``/root``, which
  is 0700, so other users could not run a venv made from it) with
  ``classroom/requirements.txt`` (the course's pins: JupyterLab, nbgrader,
  nbgitpuller, jupyterhub-singleuser) and the course package installed from
  this checkout, non-editable, with its datasets;
* the nbgrader exchange ``STATE/exchange``, world-writable (``chmod
  ugo+rw``, as nbgrader documents), and a system-wide nbgrader config in the
  environment naming the course (``htcourse``) and the exchange;
* the instructor's course folder ``~htc-teacher/course`` (the course's
  ``nbgrader_config.py`` and ``source/``); the formgrader is on in the
  instructor's server and off in the students', who keep the Assignments tab;
* what users meet first (:func:`first_minute`): a ``Welcome.md`` that JupyterLab
  opens at login and that says where to go, no "Jupyter news" question, the
  datasheets in each student's ``datasets/``, the environment on the
  terminal's ``PATH``, and the students' names in the instructor's gradebook;
* a JupyterHub (pinned ``jupyterhub`` from this project's venv; PAM login;
  local processes) with ``configurable-http-proxy`` from ``node_modules``
  (pinned in package-lock.json), on ``127.0.0.1:PORT``, the hub's API on
  PORT+1 and the proxy's on PORT+2, running in the background.

It prints the URL and the logins. ``down`` stops the hub and proxy, ends
every process of the classroom's users, removes the users, their homes and
group, and deletes ``STATE``. The default ``STATE`` is
``/srv/htcourse-classroom`` (``HTCOURSE_CLASSROOM_DIR`` or ``--state``).
"""

from __future__ import annotations

import argparse
import grp
import hashlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_STATE = Path(os.environ.get("HTCOURSE_CLASSROOM_DIR", "/srv/htcourse-classroom"))
DEFAULT_PORT = 8765
SYSTEM_PYTHON = Path("/usr/bin/python3")
PROXY = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
HUB = Path(sys.executable).parent / "jupyterhub"
MARKER = "htcourse classroom"
INSTRUCTOR = "htc-teacher"
INSTRUCTORS_GROUP = "htc-instructors"
FIRST_UID = 30100
COURSE_ID = "htcourse"
#: nbgrader's lab extensions a student does not need (the formgrader is the instructor's).
STUDENT_DISABLED_LAB = [
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:course-list",
]


#: The instructor's server: the course's formgrader fixes (its Autograde button runs the course's
#: sandboxed grader, its file links work on a hub; htcourse.nbgrader_ui), and pages that JupyterLab
#: may show in a tab of its own (JupyterHub's default, frame-ancestors 'none', leaves the Lab's
#: Nbgrader > Formgrader tab blank). 'self' is this hub's address: only the hub's own pages may
#: frame the instructor's. The hub does not let the instructor open students' servers
#: (JupyterHub's admin_access is off), so no page a student wrote loads with the instructor's login.
INSTRUCTOR_SERVER_CONFIG = {
    "ServerApp": {
        "jpserver_extensions": {"htcourse.nbgrader_ui": True},
        "tornado_settings": {"headers": {"Content-Security-Policy": "frame-ancestors 'self'"}},
    }
}


class ClassroomError(RuntimeError):
    """The classroom cannot be started or stopped as asked; the message says why and what to do."""


def student_names(count: int) -> list[str]:
    return [f"htc-student{i}" for i in range(1, count + 1)]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise ClassroomError(f"{' '.join(map(str, cmd))} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return result


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def check_ports(port: int) -> None:
    for p, role in ((port, "the classroom's address"), (port + 1, "the hub's API"), (port + 2, "the proxy's API")):
        if port_in_use(p):
            raise ClassroomError(
                f"port {p} on 127.0.0.1 ({role}) is in use: stop whatever listens there, "
                f"or choose other ports with `make classroom PORT=<n>` (uses n, n+1, n+2)"
            )


def user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def classroom_users() -> list[pwd.struct_passwd]:
    """Every system user this tool made (found by the GECOS tag, so a crashed run can still be cleaned up)."""
    return [u for u in pwd.getpwall() if u.pw_gecos.startswith(MARKER)]


def free_uid(start: int, taken: set[int]) -> int:
    from htcourse.grading.sandbox.bwrap import SANDBOX_UIDS

    uid = start
    while uid in taken or uid in SANDBOX_UIDS:
        uid += 1
    return uid


# --- the single-user environment -----------------------------------------------------------


def env_fingerprint() -> str:
    h = hashlib.sha256()
    for f in ("requirements.txt", "classroom/requirements.txt"):
        h.update((REPO / f).read_bytes())
    h.update(SYSTEM_PYTHON.resolve().name.encode())
    return h.hexdigest()


def _name(line: str) -> str:
    return line.split("==", 1)[0].strip().lower().replace("_", "-")


def combined_requirements() -> str:
    """../requirements.txt with the pins of classroom/requirements.txt replacing those of the same name."""

    def pins(path: Path) -> list[str]:
        lines = [l.strip() for l in path.read_text().splitlines()]
        return [l for l in lines if l and not l.startswith(("#", "-"))]

    overrides = pins(REPO / "classroom" / "requirements.txt")
    replaced = {_name(l) for l in overrides}
    return "\n".join([l for l in pins(REPO / "requirements.txt") if _name(l) not in replaced] + overrides) + "\n"


#: uv, pinned in the lock's `lock` group, installs the environment from the same lock as .venv, in about
#: a minute where pip took several. Its cache lives inside the repository's .venv (removed with it), so
#: nothing is cached outside the repository that a fresh machine would lack.
UV = Path(sys.executable).parent / "uv"
UV_CACHE = REPO / ".venv" / "uv-cache"


def _uv(*args: str, **kw) -> subprocess.CompletedProcess:
    # Files are copied out of the cache (never hard-linked into it), and uv never downloads a Python.
    env = dict(os.environ, UV_CACHE_DIR=str(UV_CACHE), UV_LINK_MODE="copy", UV_PYTHON_DOWNLOADS="never")
    return run([str(UV), *args], env=env, **kw)


def build_env(env: Path, log) -> None:
    if not SYSTEM_PYTHON.exists():
        raise ClassroomError(
            f"{SYSTEM_PYTHON} is missing: the single-user environment needs Debian's python3 "
            "(apt-get install python3 python3-venv), readable by every user"
        )
    if not UV.exists():
        raise ClassroomError(f"{UV} is missing: run `make setup` (uv is pinned in requirements.txt's lock group)")
    stamp = env / ".htcourse-env"
    python = str(env / "bin" / "python")
    if not (stamp.is_file() and stamp.read_text() == env_fingerprint()):
        if env.exists():
            shutil.rmtree(env)
        log(
            f"building the single-user environment in {env} with uv "
            f"(Debian's {SYSTEM_PYTHON}; about a minute the first time)"
        )
        _uv("venv", "--quiet", "--python", str(SYSTEM_PYTHON), str(env))
        (env / "requirements.txt").write_text(combined_requirements())
        # pip too (as python -m venv would give it), at the version .venv uses. Compiled (.pyc) as pip would:
        # the users cannot write into the environment, so each of their kernels would compile its imports again.
        _uv(
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            python,
            "-r",
            str(env / "requirements.txt"),
            "pip==26.3",
        )
        stamp.write_text(env_fingerprint())
    log("installing the course package (non-editable, with its datasets) into the single-user environment")
    build = Path(run(["mktemp", "-d"]).stdout.strip())
    try:
        _uv(
            "pip",
            "install",
            "--quiet",
            "--python",
            python,
            "--no-deps",
            "--reinstall",
            "--no-cache",
            "--compile-bytecode",
            str(REPO),
            cwd=build,
        )
    finally:
        shutil.rmtree(build, ignore_errors=True)
        shutil.rmtree(REPO / "build", ignore_errors=True)


def write_env_config(env: Path, exchange: Path) -> None:
    """nbgrader config for everyone using the environment: the course and its exchange."""
    etc = env / "etc" / "jupyter"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "nbgrader_config.py").write_text(
        "# Written by classroom/manage.py: every user of this environment takes part in one course.\n"
        "c = get_config()  # noqa: F821\n"
        f"c.CourseDirectory.course_id = {COURSE_ID!r}\n"
        f"c.Exchange.root = {str(exchange)!r}\n"
        # Permissions that keep each student's submission their own (htcourse.grading.exchange).
        "c.ExchangeFactory.release_assignment = 'htcourse.grading.exchange.ReleaseAssignment'\n"
        "c.ExchangeFactory.submit = 'htcourse.grading.exchange.Submit'\n"
        "c.ExchangeFactory.collect = 'htcourse.grading.exchange.Collect'\n"
    )


# --- users ---------------------------------------------------------------------------------


def create_users(students: list[str], log) -> dict[str, str]:
    names = [INSTRUCTOR, *students]
    clash = [n for n in names if user_exists(n)]
    if clash:
        raise ClassroomError(f"user(s) {', '.join(clash)} already exist: run `make classroom-down` first")
    taken = {u.pw_uid for u in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
    try:
        grp.getgrnam(INSTRUCTORS_GROUP)
    except KeyError:
        run(["groupadd", "--gid", str(free_uid(FIRST_UID, taken)), INSTRUCTORS_GROUP])
    passwords = {}
    for name in names:
        taken = {u.pw_uid for u in pwd.getpwall()} | {g.gr_gid for g in grp.getgrall()}
        uid = free_uid(FIRST_UID, taken)
        cmd = [
            "useradd",
            "--create-home",
            "--uid",
            str(uid),
            "--user-group",
            "--shell",
            "/bin/bash",
            "--comment",
            f"{MARKER} {'instructor' if name == INSTRUCTOR else 'student'}",
        ]
        if name == INSTRUCTOR:
            cmd += ["--groups", INSTRUCTORS_GROUP]
        run(cmd + [name])
        passwords[name] = secrets.token_urlsafe(9)
        run(["chpasswd"], input=f"{name}:{passwords[name]}\n")
        log(f"created user {name} (uid {uid})")
    return passwords


def _write_as(user: str, path: Path, text: str) -> None:
    info = pwd.getpwnam(user)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    for p in [path, *path.parents]:
        if p == Path(info.pw_dir):
            break
        os.chown(p, info.pw_uid, info.pw_gid)


def set_up_homes(students: list[str]) -> Path:
    """The instructor's course folder and config; the students' servers without the formgrader."""
    teacher = pwd.getpwnam(INSTRUCTOR)
    course = Path(teacher.pw_dir) / "course"
    shutil.copytree(REPO / "assignments" / "source", course / "source")
    shutil.copy(REPO / "assignments" / "nbgrader_config.py", course / "nbgrader_config.py")
    # The instructors' README: the cycle's commands and the rubrics, which the formgrader shows
    # beside the answers they grade (htcourse.nbgrader_ui).
    shutil.copy(REPO / "assignments" / "README.md", course / "README.md")
    for root, dirs, files in os.walk(course):
        for name in [*dirs, *files, "."]:
            os.chown(os.path.join(root, name), teacher.pw_uid, teacher.pw_gid)
    _write_as(
        INSTRUCTOR,
        Path(teacher.pw_dir) / ".jupyter" / "nbgrader_config.py",
        f"c = get_config()  # noqa: F821\nc.CourseDirectory.root = {str(course)!r}\n",
    )
    _write_as(
        INSTRUCTOR,
        Path(teacher.pw_dir) / ".jupyter" / "jupyter_server_config.json",
        json.dumps(INSTRUCTOR_SERVER_CONFIG, indent=2),
    )
    for student in students:
        home = Path(pwd.getpwnam(student).pw_dir)
        _write_as(
            student,
            home / ".jupyter" / "jupyter_server_config.json",
            json.dumps(
                {
                    "ServerApp": {
                        "jpserver_extensions": {
                            "nbgrader.server_extensions.formgrader": False,
                            "htcourse.nbgrader_ui": True,  # Fetch Feedback says when there is none yet
                        }
                    }
                },
                indent=2,
            ),
        )
        _write_as(
            student,
            home / ".jupyter" / "labconfig" / "page_config.json",
            json.dumps({"disabledExtensions": {name: True for name in STUDENT_DISABLED_LAB}}, indent=2),
        )
    return course


def secure_files(course: Path, exchange: Path, users: list[str]) -> None:
    """Each user's files their own: homes 0700; the course folder the instructors' group's only; a safe exchange.

    The exchange's root is sticky (``chmod +t``: nobody renames or removes
    what another user made there) and its course folder is the instructor's
    from the start, so no student can make or replace it; the exchange
    classes of :mod:`htcourse.grading.exchange` do the rest. The
    single-user environment and the hub's files are root's (0755 and 0700).
    """
    for name in users:
        os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    teacher = pwd.getpwnam(INSTRUCTOR)
    group = grp.getgrnam(INSTRUCTORS_GROUP).gr_gid
    for root, _dirs, files in os.walk(course):
        os.chown(root, teacher.pw_uid, group)
        os.chmod(root, 0o2750)
        for name in files:
            os.chown(os.path.join(root, name), teacher.pw_uid, group)
            os.chmod(os.path.join(root, name), 0o640)
    os.chmod(exchange, os.stat(exchange).st_mode & 0o7777 | 0o1000)
    course_exchange = exchange / COURSE_ID
    course_exchange.mkdir(exist_ok=True)
    os.chown(course_exchange, teacher.pw_uid, teacher.pw_gid)
    os.chmod(course_exchange, 0o755)


# --- the first minute: what a student and the instructor see when they log in ---------------

#: The page every user's JupyterLab opens at login (in their home folder).
WELCOME = "Welcome.md"
#: JupyterLab settings for every user of the environment: no "Jupyter news" question or update
#: check at first start, and Markdown files open rendered (so the welcome page reads as a page).
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension:plugin": {"defaultViewers": {"markdown": "Markdown Preview"}},
}
STUDENT_WELCOME = """# Welcome to the course hub

**Your problem sets are in the Assignment List:** open the **Nbgrader** menu at the top of the
screen and choose **Assignment List**. When your instructor releases a problem set, it appears
under *Released assignments*: press **Fetch**, then open the notebook in the folder it makes
(for example `ps4-dirty-data/ps4-dirty-data.ipynb`). When you are done, press **Submit** in the
same list. Once your instructor has returned feedback, **Fetch Feedback** puts it next to your
notebook, in a `feedback` folder.

The datasheets the notebooks ask you to read are in the `datasets` folder, in the file browser
on the left (for example `datasets/listings.md`).

To open this page again: `Welcome.md`, in the file browser.
"""
#: The commands in it are the guide's (book/instructors/deployment.md) and the hub test's.
INSTRUCTOR_WELCOME = """# Welcome, instructor

- Your course is in `course/` (its `nbgrader_config.py` and `source/`). **Nbgrader → Formgrader**
  releases and collects assignments and is where you grade the written answers by hand.
- Grade in a terminal (**File → New → Terminal**), where the course's tools are on your `PATH`:

  ```bash
  cd ~/course
  htcourse grade ps4-dirty-data       # after Collect: every submission, in the grading sandbox
  htcourse feedback ps4-dirty-data    # after your hand grades, before Release Feedback
  ```

  The formgrader's **Autograde** button grades one submission with the same sandboxed grader.
- The instructor guide on the course site walks through the whole cycle.
"""


def write_lab_overrides(env: Path) -> None:
    """JupyterLab settings for everyone using ``env`` (its ``share/jupyter/lab/settings/overrides.json``)."""
    settings = env / "share" / "jupyter" / "lab" / "settings"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=2) + "\n")


def first_minute(env: Path, students: list[str], log) -> None:
    """What users meet at login: a welcome page that says where to go, the datasheets the notebooks
    name where they name them, the course's tools on the terminal's PATH, and the students' names
    in the instructor's gradebook (so the formgrader shows "Student 1", not "None, None")."""
    write_lab_overrides(env)
    path_line = f'\n# The course environment (classroom/manage.py)\nexport PATH="{env / "bin"}:$PATH"\n'
    for user in [INSTRUCTOR, *students]:
        home = Path(pwd.getpwnam(user).pw_dir)
        _write_as(user, home / WELCOME, INSTRUCTOR_WELCOME if user == INSTRUCTOR else STUDENT_WELCOME)
        # A terminal runs a login shell, whose /etc/profile resets PATH: put the environment back.
        for rc in (".profile", ".bashrc"):
            existing = (home / rc).read_text() if (home / rc).exists() else ""
            _write_as(user, home / rc, existing + path_line)
        if user != INSTRUCTOR:
            for sheet in sorted((REPO / "datasets").glob("*.md")):
                _write_as(user, home / "datasets" / sheet.name, sheet.read_text())
    teacher = pwd.getpwnam(INSTRUCTOR)
    course = Path(teacher.pw_dir) / "course"
    for number, student in enumerate(students, start=1):
        run(
            [
                shutil.which("runuser") or "/usr/sbin/runuser",
                "-u",
                INSTRUCTOR,
                "--",
                str(env / "bin" / "nbgrader"),
                "db",
                "student",
                "add",
                student,
                "--first-name=Student",
                f"--last-name={number}",
            ],
            cwd=course,
            env={"PATH": f"{env / 'bin'}:/usr/bin:/bin", "HOME": teacher.pw_dir},
        )
    log(f"welcome pages, datasheets and the roster ({len(students)} students) written")


# --- the hub -------------------------------------------------------------------------------


def hub_config(state: Path, port: int, env: Path, exchange: Path, users: list[str]) -> str:
    return f"""# Written by classroom/manage.py for the local classroom; removed by `make classroom-down`.
c = get_config()  # noqa: F821
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {port + 1}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{port + 2}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.ConfigurableHTTPProxy.pid_file = {str(state / "hub" / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{state / "hub" / "jupyterhub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(state / "hub" / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(state / "hub" / "jupyterhub.pid")!r}
# Real system users, logging in with their passwords (PAM).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {set(users)!r}
# Nobody is a hub admin: an admin may open every user's server, and every server here shares one
# address, so a page a student wrote would run with the instructor's login (and could frame the
# instructor's formgrader, which JupyterLab shows in a frame). Stop or start servers as root.
c.Authenticator.admin_users = set()
# Each user's server runs as that user, from the environment of Debian's python.
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(env / "bin" / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab/tree/{WELCOME}"
c.Spawner.environment = {{
    "HTCOURSE_EXCHANGE": {str(exchange)!r},
    "PATH": {str(env / "bin") + ":/usr/local/bin:/usr/bin:/bin"!r},
}}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
"""


def wait_for_hub(port: int, process: subprocess.Popen, log_file: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ClassroomError(f"the hub exited ({process.returncode}); its log:\n{log_file.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/hub/api/", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise ClassroomError(f"the hub did not answer on port {port} within {timeout:.0f} s; see {log_file}")


def up(state: Path, port: int, students: int, exchange: Path | None, log=print, env: Path | None = None) -> dict:
    if os.geteuid() != 0:
        raise ClassroomError("make classroom creates system users and runs a hub that switches to them: run it as root")
    if (state / "state.json").exists():
        raise ClassroomError(f"a classroom is already set up ({state / 'state.json'}): run `make classroom-down` first")
    if not PROXY.exists():
        raise ClassroomError(f"{PROXY} is missing: run `npm ci` (or `make setup`) in {REPO}")
    check_ports(port)
    if exchange is not None:
        exchange = exchange.resolve()
        if not exchange.is_dir():
            raise ClassroomError(
                f"the exchange folder {exchange} does not exist: create (or mount) it, with "
                "`chmod ugo+rw` as nbgrader documents, or leave out EXCHANGE to get one"
            )
        if (exchange.stat().st_mode & 0o777) & 0o666 != 0o666:
            raise ClassroomError(
                f"the exchange folder {exchange} is not readable and writable by everyone: "
                f"`chmod ugo+rw {exchange}` (nbgrader needs that for release, fetch and submit)"
            )
    names = student_names(students)
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o755)
    env = (env or state / "env").resolve()
    record = {
        "port": port,
        "users": [],
        "group": INSTRUCTORS_GROUP,
        "state": str(state),
        "env": str(env),
        "own_exchange": exchange is None,
    }
    (state / "state.json").write_text(json.dumps(record))
    os.chmod(state / "state.json", 0o600)
    try:
        if exchange is None:
            exchange = state / "exchange"
            exchange.mkdir(exist_ok=True)
            os.chmod(exchange, 0o777)  # chmod ugo+rw on a fresh 0755 folder, as nbgrader documents
        record["exchange"] = str(exchange)
        build_env(env, log)
        write_env_config(env, exchange)
        passwords = create_users(names, log)
        record["users"] = list(passwords)
        record["passwords"] = passwords
        (state / "state.json").write_text(json.dumps(record))
        course = set_up_homes(names)
        first_minute(env, names, log)
        record["course"] = str(course)
        secure_files(course, exchange, [INSTRUCTOR, *names])
        hub_dir = state / "hub"
        hub_dir.mkdir(exist_ok=True)
        os.chmod(hub_dir, 0o700)
        (hub_dir / "jupyterhub_config.py").write_text(hub_config(state, port, env, exchange, list(passwords)))
        log_file = hub_dir / "jupyterhub.log"
        with open(log_file, "ab") as out:
            process = subprocess.Popen(
                [str(HUB), "-f", str(hub_dir / "jupyterhub_config.py")],
                cwd=hub_dir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        record["hub_pid"] = process.pid
        (state / "state.json").write_text(json.dumps(record))
        wait_for_hub(port, process, log_file)
        record["url"] = f"http://127.0.0.1:{port}"
        (state / "state.json").write_text(json.dumps(record))
    except BaseException:
        down(state, log=lambda *a: None, keep_env=env != state / "env")
        raise
    return record


def print_logins(record: dict) -> None:
    print(f"\nThe classroom is running: {record['url']}")
    print(f"  instructor  {INSTRUCTOR:<14} password {record['passwords'][INSTRUCTOR]}  (course in {record['course']})")
    # JupyterHub >= 4.1 forbids frames, so the formgrader's tab inside JupyterLab is blank: open it on its own.
    print(f"              formgrader: {record['url']}/user/{INSTRUCTOR}/formgrader")
    for name in record["users"]:
        if name != INSTRUCTOR:
            print(
                f"  student     {name:<14} password {record['passwords'][name]}  "
                "(Assignments tab: Nbgrader > Assignment List)"
            )
    print(f"  exchange    {record['exchange']}")
    print("Stop it and remove the users with: make classroom-down")


# --- down ----------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _stop(pid: int, timeout: float = 15) -> None:
    if not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
        try:  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def processes_of(uids: set[int]) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                continue
    return pids


def down(state: Path, log=print, keep_env: bool = False) -> None:
    if os.geteuid() != 0:
        raise ClassroomError("make classroom-down removes system users: run it as root")
    record = {}
    if (state / "state.json").exists():
        record = json.loads((state / "state.json").read_text())
    hub_dir = state / "hub"
    for pid in (record.get("hub_pid"), _read_pid(hub_dir / "jupyterhub.pid")):
        if pid:
            _stop(pid)
    proxy = _read_pid(hub_dir / "proxy.pid")
    if proxy:
        _stop(proxy)
    users = {u.pw_name: u.pw_uid for u in classroom_users()}
    uids = set(users.values())
    for _ in range(3):
        pids = processes_of(uids)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.5)
    for name in users:
        run(["userdel", "--remove", name]) if user_exists(name) else None
        log(f"removed user {name}")
    try:
        grp.getgrnam(INSTRUCTORS_GROUP)
        run(["groupdel", INSTRUCTORS_GROUP])
    except KeyError:
        pass
    env = Path(record.get("env", state / "env"))
    if env.exists() and not keep_env:
        shutil.rmtree(env)
        log(f"removed {env}")
    if state.exists():
        if keep_env and env.is_relative_to(state):
            for child in state.iterdir():
                if child != env:
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(state)
        log(f"removed {state}" + (f" (kept the environment {env})" if keep_env else ""))


def status(state: Path) -> int:
    """Exit 0 if the classroom is up and its exchange usable; else say what is wrong."""
    if not (state / "state.json").exists():
        print(f"no classroom is set up in {state}: run `make classroom`")
        return 1
    record = json.loads((state / "state.json").read_text())
    exchange = Path(record.get("exchange", ""))
    if not exchange.is_dir():
        print(
            f"error: the exchange folder {exchange} is missing: nbgrader cannot release, fetch or submit. "
            "Run `make classroom-down` and `make classroom` again (or recreate it with `chmod ugo+rw`).",
            file=sys.stderr,
        )
        return 1
    if not _alive(record.get("hub_pid", 0) or 0):
        print(
            f"error: the hub (pid {record.get('hub_pid')}) is not running; see {state / 'hub' / 'jupyterhub.log'}",
            file=sys.stderr,
        )
        return 1
    print(f"up: {record.get('url')}; exchange {exchange}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="classroom/manage.py", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--state", type=Path, default=DEFAULT_STATE, help=f"where the classroom lives (default {DEFAULT_STATE})"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    u = sub.add_parser("up", help="create the users, the environment and the exchange; start the hub")
    u.add_argument("--port", type=int, default=DEFAULT_PORT)
    u.add_argument("--students", type=int, default=3)
    u.add_argument(
        "--exchange", type=Path, default=None, help="use this existing exchange folder instead of making one"
    )
    u.add_argument(
        "--env",
        type=Path,
        default=None,
        help="the single-user environment's folder (default STATE/env); reused if its requirements are unchanged",
    )
    d = sub.add_parser("down", help="stop the hub and remove everything `up` made")
    d.add_argument("--keep-env", action="store_true", help="keep the single-user environment (to start again faster)")
    sub.add_parser("status", help="is the classroom up, and is its exchange there?")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            if not 1 <= args.students <= 20:
                raise ClassroomError("--students must be between 1 and 20")
            print_logins(up(args.state, args.port, args.students, args.exchange, env=args.env))
            return 0
        if args.command == "down":
            down(args.state, keep_env=args.keep_env)
            return 0
        return status(args.state)
    except ClassroomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
