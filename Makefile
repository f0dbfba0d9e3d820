# Set-up, tests and demo. Both `make test` and `make demo` work on a fresh
# Debian machine with Python >= 3.11: they create .venv, install the package
# with its test tools, and install SoftHSM2 with apt-get when it is missing
# and we are root.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: test demo lint bench softhsm fat rstuf clean wheelhouse wheelhouse-requirements offline-install

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

softhsm:
	@if ! command -v softhsm2-util >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing softhsm2 with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq softhsm2; \
	  else \
	    echo "softhsm2 is missing: run 'sudo apt-get install softhsm2' once" >&2; exit 1; \
	  fi; \
	fi

# FAT and exFAT tools: the tests write on real FAT (fusefat) and exFAT
# (exfat-fuse on a loop device) filesystems, a USB stick's, mounted through
# FUSE; only useful where /dev/fuse exists.
FAT_TOOLS := fusefat mkfs.vfat mkfs.exfat mount.exfat-fuse
fat:
	@if [ -e /dev/fuse ]; then \
	  missing=; for t in $(FAT_TOOLS); do \
	    PATH="$$PATH:/usr/sbin:/sbin" command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	  if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	      echo "installing fusefat, dosfstools, exfat-fuse, exfatprogs with apt-get (missing:$$missing)"; \
	      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	        fusefat dosfstools exfat-fuse exfatprogs; \
	    else \
	      echo "missing:$$missing: run 'sudo apt-get install fusefat dosfstools exfat-fuse exfatprogs' once" >&2; exit 1; \
	    fi; \
	  fi; \
	fi

# RSTUF's own CLI (PyPI: repository-service-tuf) in a venv of its own: it pins
# its own tuf/securesystemslib; tests/test_rstuf*.py run it to read our payloads.
RSTUF_VENV ?= .venv-rstuf
RSTUF_VERSION ?= 1.0.0b1

$(RSTUF_VENV)/.installed:
	$(PYTHON) -m venv $(RSTUF_VENV)
	$(RSTUF_VENV)/bin/pip install --quiet 'repository-service-tuf==$(RSTUF_VERSION)'
	touch $@

rstuf: $(RSTUF_VENV)/.installed

# Lint of python-tuf's kind: ruff (with complexity limits: [tool.ruff.lint] in
# pyproject.toml), the formatter's check, mypy --strict on the package and the tests.
LINT_PATHS := tuf_ceremony tests benchmarks ceremonies

lint: $(BIN)/.installed
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# The suite with line and branch coverage (verify's worker processes and CLI
# subprocesses included) and its 90 % floor ([tool.coverage] in pyproject.toml).
test: $(BIN)/.installed softhsm fat rstuf lint
	mkdir -p build/coverage
	$(BIN)/pytest -n 2 -q -p no:cacheprovider --cov --cov-branch --cov-report=term-missing:skip-covered
	@$(MAKE) --no-print-directory test-min

# The suite again, against the lowest versions pyproject.toml allows: a
# second venv where every `>=` bound of the dependencies and of the test
# extra is pinned exactly (constraints made from pyproject.toml by sed).
MIN_VENV ?= .venv-min
MIN_CONSTRAINTS := $(MIN_VENV)/constraints.txt

.PHONY: test-min
$(MIN_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/pip install --quiet --upgrade pip
	sed -n '/^dependencies = \[/,/^\]/p; /^test = \[/{:a; /\]/!{N; ba}; p}' pyproject.toml \
	  | grep -oE '"[A-Za-z0-9_.-]+(\[[^]]*\])?>=[^",; ]+' \
	  | sed -E 's/^"//; s/\[[^]]*\]//; s/>=([^,]*).*/==\1/' > $(MIN_CONSTRAINTS)
	$(MIN_VENV)/bin/pip install --quiet -c $(MIN_CONSTRAINTS) -e '.[test]'
	touch $@

test-min: $(MIN_VENV)/.installed softhsm rstuf
	@echo "tests with the minimum versions: $$(tr '\n' ' ' < $(MIN_CONSTRAINTS))"
	$(MIN_VENV)/bin/pip check
	$(MIN_VENV)/bin/pytest -n 2 -q -p no:cacheprovider

# Line and branch coverage ([tool.coverage] in pyproject.toml): verify's
# worker processes and the CLI run as a subprocess included; fails under the
# floor (fail_under). Data in build/coverage/.
.PHONY: coverage
coverage: $(BIN)/.installed softhsm fat rstuf
	mkdir -p build/coverage
	$(BIN)/pytest -n 2 -q -p no:cacheprovider --cov --cov-branch --cov-report=term-missing:skip-covered

demo: $(BIN)/.installed
	@$(MAKE) --no-print-directory softhsm || echo "demo: continuing with software keys"
	PATH="$(abspath $(BIN)):$$PATH" bash ceremonies/demo/run-demo.sh

bench: $(BIN)/.installed softhsm
	$(BIN)/python benchmarks/bench_pkcs11_sign.py
	$(BIN)/python benchmarks/bench_verify.py

# --- Air-gapped set-up -------------------------------------------------------
# On a connected machine with the same Python version and architecture as the
# air-gapped laptop:  make wheelhouse WHEELS=/media/usb/wheels
# builds the project's wheel, downloads every dependency as a wheel, and writes
# WHEELS/requirements.txt pinning each one (name==version) with its SHA-256.
# WHEEL_TARGET passes pip's platform options for another target, e.g.
#   WHEEL_TARGET="--python-version 3.11 --platform manylinux2014_x86_64"
# On the air-gapped laptop (Python >= 3.11 with its venv module):
#   make offline-install WHEELS=/media/usb/wheels   then   .venv/bin/tuf-ceremony
# installs from the folder alone (--no-index) and refuses any wheel whose hash
# differs from requirements.txt (--require-hashes).
PIP ?= $(BIN)/pip
WHEELS ?=
WHEEL_TARGET ?=

wheelhouse:
	@test -n "$(WHEELS)" || { echo "usage: make wheelhouse WHEELS=DIR (a new or empty folder)" >&2; exit 2; }
	@if [ -d "$(WHEELS)" ] && [ -n "$$(ls -A "$(WHEELS)")" ]; then \
	  echo "$(WHEELS) is not empty: give a new or empty folder" >&2; exit 1; fi
	@$(MAKE) --no-print-directory $(BIN)/.installed
	mkdir -p "$(WHEELS)"
	$(PIP) wheel --quiet --no-deps --wheel-dir "$(WHEELS)" .
	$(PIP) download --quiet --dest "$(WHEELS)" --only-binary=:all: $(WHEEL_TARGET) "$(WHEELS)"/tuf_ceremony-*.whl
	@$(MAKE) --no-print-directory wheelhouse-requirements WHEELS="$(WHEELS)" PIP="$(PIP)"

wheelhouse-requirements:
	@test -n "$(WHEELS)" || { echo "usage: make wheelhouse-requirements WHEELS=DIR" >&2; exit 2; }
	@pip="$(abspath $(PIP))"; [ -x "$$pip" ] || pip="$(PIP)"; \
	cd "$(WHEELS)" && for w in *.whl; do \
	  n="$${w%%-*}"; rest="$${w#*-}"; v="$${rest%%-*}"; \
	  h="$$($$pip hash --algorithm sha256 "$$w" | sed -n 's/^--hash=//p')"; \
	  [ -n "$$h" ] || { echo "cannot hash $$w" >&2; exit 1; }; \
	  echo "$$n==$$v --hash=$$h"; \
	done | awk '{ if ($$1 in h) h[$$1] = h[$$1] " " $$2; else { h[$$1] = $$2; o[++n] = $$1 } } \
	  END { for (i = 1; i <= n; i++) print o[i], h[o[i]] }' > requirements.txt.tmp && \
	mv requirements.txt.tmp requirements.txt && \
	echo "$(WHEELS): $$(ls *.whl | wc -l) wheels, $$(du -sk . | cut -f1) KiB; requirements.txt pins each with its SHA-256"

offline-install:
	@test -n "$(WHEELS)" || { echo "usage: make offline-install WHEELS=DIR" >&2; exit 2; }
	@test -f "$(WHEELS)/requirements.txt" || { echo "$(WHEELS)/requirements.txt is missing: make it with make wheelhouse" >&2; exit 1; }
	$(PYTHON) -m venv "$(VENV)"
	"$(VENV)/bin/pip" --isolated install --quiet --no-index --disable-pip-version-check --find-links "$(WHEELS)" \
	  --only-binary=:all: --require-hashes -r "$(WHEELS)/requirements.txt"
	@echo "installed offline into $(VENV): run $(VENV)/bin/tuf-ceremony --help (or: . $(VENV)/bin/activate)"

clean:
	rm -rf $(VENV) $(RSTUF_VENV) $(MIN_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
