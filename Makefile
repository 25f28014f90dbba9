# Two commands: `make book` builds the site, `make test` runs every test.
# Both create .venv and install the pinned requirements first, so a fresh
# clone needs only Python 3.11, Node.js/npm and (for the browser tests) apt.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
# nbgrader runs alembic as a subprocess: the venv's bin/ must be on PATH.
export PATH := $(BIN):$(PATH)
STAMP  := $(VENV)/.installed
CHROMIUM ?= /usr/bin/chromium

# These targets share names with folders (datasets/, assignments/): always run them.
.PHONY: book test serve clean datasets setup system-packages assignments validate grade bench \
        reader zip launch-cells classroom classroom-down canvas lint format

# uv (pinned in the lock) installs the lock in a fraction of pip's time. Its cache lives in
# .venv/uv-cache, where the classroom's single-user environment (classroom/manage.py) finds the
# same wheels again; removing .venv removes it.
$(STAMP): requirements.txt pyproject.toml package.json package-lock.json jupyter-config/jupyter_server_config.d/htcourse.json
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3" "$$(grep -m1 '^uv==' requirements.txt)"
	# --compile-bytecode: uv writes no .pyc files by default (pip does), so every Python process (each kernel,
	# nbgrader command and test) compiled its imports again, about 6 s of CPU for the course's stack.
	UV_CACHE_DIR=$(VENV)/uv-cache UV_PYTHON_DOWNLOADS=never $(BIN)/uv pip install --quiet --compile-bytecode \
	  --python $(BIN)/python -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	# An editable install leaves out pyproject's data-files: the switch of the formgrader's
	# Content-Security-Policy (a Jupyter server extension), copied as a wheel would install it.
	install -D -m 644 jupyter-config/jupyter_server_config.d/htcourse.json \
	    $(VENV)/etc/jupyter/jupyter_server_config.d/htcourse.json
	# The site's browser libraries and the classroom's proxy; Lighthouse (a dev dependency) only for make bench.
	npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

# Lighthouse, for make bench only (about 190 MB more in node_modules; make book and make test leave it out).
# Its stamp lives in node_modules, which the install above replaces.
LIGHTHOUSE := node_modules/.with-lighthouse
$(LIGHTHOUSE): $(STAMP)
	npm ci --include=dev --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(LIGHTHOUSE)

setup: $(STAMP)

# Most targets are thin calls to the course's command, `htcourse` (src/htcourse/cli.py;
# `.venv/bin/htcourse --help`), which instructors may also run directly.
book: $(STAMP)
	$(BIN)/htcourse build

# System programs the tests need, from Debian: chromium for the browser tests
# (never a browser download) and bubblewrap for the grading sandbox.
system-packages:
	@missing=""; \
	[ -x "$(CHROMIUM)" ] || missing="$$missing chromium"; \
	command -v bwrap >/dev/null || missing="$$missing bubblewrap"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "The tests need these Debian packages: sudo apt-get install$$missing (or set CHROMIUM=/path/to/chromium)."; exit 1; \
	  fi; \
	fi

# The linter and formatter (ruff; rules in pyproject.toml): the tree must be clean.
# `make format` applies the formatter and the safe fixes.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The tests run in TEST_WORKERS processes (pytest-xdist; `auto`: one per CPU), each file's tests in one
# worker, the longest files first (conftest.py). TEST_WORKERS=0 runs them in this process, one by one.
TEST_WORKERS ?= auto

# The linter, the build and Debian's packages first, side by side (the packages download while the site builds).
test: $(STAMP)
	$(MAKE) --no-print-directory -j3 lint book system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

serve: $(STAMP)
	$(BIN)/htcourse serve

# Performance figures (printed, never asserted): build, notebooks, grading, page weight,
# and Lighthouse (npm, pinned in package.json) per page type against Debian chromium.
bench: $(STAMP) $(LIGHTHOUSE) system-packages
	CHROME_PATH=$(CHROMIUM) $(BIN)/python -m htcourse.bench

# The course reader: every page of _toc.yml in one PDF (chromium print-to-PDF,
# merged with pypdf), written into the built site and linked from its landing page.
reader: book system-packages
	$(BIN)/htcourse reader

# The built site (with the reader, when made) as one zip to read offline: _build/course-site.zip.
zip: $(STAMP)
	$(BIN)/htcourse zip

# make datasets regenerates the committed files; make datasets SEED=2027 gives a new variant.
datasets: $(STAMP)
	$(BIN)/htcourse datasets $(if $(SEED),--seed $(SEED))

clean:
	rm -rf _build book/_vendor .pytest_cache

# Graded assignments (nbgrader; see assignments/README.md).
# make assignments: nbgrader generate_assignment for every assignment (release/ and gradebook.db),
# with each due date and the late policy (nbgrader_config.py) at the top of the released notebook.
assignments: $(STAMP)
	$(BIN)/htcourse assignments

# make validate: nbgrader validate on every source notebook, plus canary and points checks.
validate: $(STAMP)
	$(BIN)/htcourse validate

# make grade ASSIGNMENT=ps4-dirty-data: autograde every submission, write feedback, export grades.
# Student code runs in a bubblewrap sandbox; JOBS=n workers (default: one more than the CPUs);
# UNSANDBOXED=1 only for trusted submissions on a machine without bubblewrap.
# The grader exits 0 if all were graded, 1 if some could not be (make shows "Error 1"), 2 on usage errors.
grade: $(STAMP)
	@test -n "$(ASSIGNMENT)" || { echo "Usage: make grade ASSIGNMENT=<name>, one of: $$(ls assignments/source | tr '\n' ' ')"; exit 2; }
	$(BIN)/htcourse grade $(ASSIGNMENT) $(if $(JOBS),--jobs $(JOBS)) $(if $(UNSANDBOXED),--unsandboxed)

# make launch-cells: after changing repository.url in _config.yml, rewrite the hidden
# first cell of every notebook (it installs the course from that repository in Colab).
launch-cells: $(STAMP)
	$(BIN)/python -m htcourse.sitebuild.launch sync

# make canvas ROSTER=path/to/canvas-export.csv [ASSIGNMENT=ps4-dirty-data] [ALLOW_UNMATCHED=1]:
# writes assignments/grades/canvas.csv (Canvas gradebook import) and grades.csv (plain),
# matching hub usernames to the roster's SIS Login ID or SIS User ID; every mismatch is reported.
canvas: $(STAMP)
	@test -n "$(ROSTER)" || { echo "Usage: make canvas ROSTER=<Canvas gradebook export .csv> [ASSIGNMENT=<name>] [ALLOW_UNMATCHED=1]"; exit 2; }
	$(BIN)/htcourse export canvas --roster "$(ROSTER)" $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) $(if $(ALLOW_UNMATCHED),--allow-unmatched)

# make classroom [PORT=8765] [STUDENTS=3] [EXCHANGE=/existing/folder]: a local JupyterHub on
# 127.0.0.1 with real system users (one instructor, a few students), nbgrader's exchange,
# assignment list and formgrader, and the course installed for them (book/instructors/deployment.md).
# Needs root. Prints the URL and logins. make classroom-down removes all of it again
# (KEEP_ENV=1 keeps the single-user environment, which takes minutes to build).
classroom: $(STAMP)
	$(BIN)/htcourse classroom up $(if $(PORT),--port $(PORT)) $(if $(STUDENTS),--students $(STUDENTS)) $(if $(EXCHANGE),--exchange $(EXCHANGE))

classroom-down: $(STAMP)
	$(BIN)/htcourse classroom down $(if $(KEEP_ENV),--keep-env)
