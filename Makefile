# Set-up, tests and demo. Both `make test` and `make demo` work on a fresh
# Debian machine with Python >= 3.11: they create .venv, install the package
# with its test tools, and install SoftHSM2 with apt-get when it is missing
# and we are root.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: test demo lint bench softhsm fat rstuf clean

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

# fusefat + mkfs.vfat: the tests write on a real FAT filesystem (a USB stick's)
# mounted through FUSE; only useful where /dev/fuse exists.
fat:
	@if [ -e /dev/fuse ] && ! { command -v fusefat >/dev/null 2>&1 && \
	    { command -v mkfs.vfat >/dev/null 2>&1 || [ -x /usr/sbin/mkfs.vfat ] || [ -x /sbin/mkfs.vfat ]; }; }; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing fusefat and dosfstools with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fusefat dosfstools; \
	  else \
	    echo "fusefat/dosfstools missing: run 'sudo apt-get install fusefat dosfstools' once" >&2; exit 1; \
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

lint: $(BIN)/.installed
	$(BIN)/ruff check tuf_ceremony tests benchmarks
	$(BIN)/mypy

test: $(BIN)/.installed softhsm fat rstuf lint
	$(BIN)/pytest -n 2 -q

demo: $(BIN)/.installed
	@$(MAKE) --no-print-directory softhsm || echo "demo: continuing with software keys"
	PATH="$(abspath $(BIN)):$$PATH" bash ceremonies/demo/run-demo.sh

bench: $(BIN)/.installed softhsm
	$(BIN)/python benchmarks/bench_pkcs11_sign.py
	$(BIN)/python benchmarks/bench_verify.py

clean:
	rm -rf $(VENV) $(RSTUF_VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
