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
.PHONY: book test serve clean datasets setup browser bench

$(STAMP): requirements.txt pyproject.toml package.json package-lock.json
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip==26.3"
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build -W -n --keep-going .
	@echo "Site built: _build/html/index.html"

# Debian's chromium for the browser tests (never a browser download).
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Debian's chromium at $(CHROMIUM): run 'sudo apt-get install chromium' (or set CHROMIUM=/path/to/chromium)."; exit 1; \
	  fi; \
	fi

test: book browser
	$(BIN)/python -m pytest

serve: 
	@test -f _build/html/index.html || { echo "Build the site first: make book"; exit 1; }
	$(BIN)/python -m http.server --bind 127.0.0.1 --directory _build/html 8000

# Performance figures (printed, never asserted): build, notebooks, grading, page weight.
bench: $(STAMP) browser
	$(BIN)/python -m htcourse.bench

datasets: $(STAMP)
	$(BIN)/python -m htcourse.datasets generate

clean:
	rm -rf _build book/_vendor .pytest_cache
