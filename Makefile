# Two commands a user needs: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.edgecnn-installed
DEMO_OUT ?= artifacts/demo

.PHONY: demo test test-fast install fashion-mnist chromium wheel pi-check clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv' failed: install python3-venv (Debian/Ubuntu: sudo apt install python3-venv)"; exit 2; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all]"
	@touch $(STAMP)

install: $(STAMP)

# The real Fashion-MNIST from apt (Debian/Ubuntu's dataset-fashion-mnist), installed when
# missing; needs root or passwordless sudo. CI runs it before `make test`; without it the
# real-data tests skip locally (and fail when CI=true).
fashion-mnist:
	bash scripts/install_fashion_mnist.sh

# Debian/Ubuntu's chromium, for the headless-browser test of `edgecnn serve`'s page
# (tests/runtime/test_serve_browser.py: skipped without it locally, failed when CI=true).
chromium:
	bash scripts/install_chromium.sh

demo: $(STAMP)
	$(PY) scripts/demo.py --out $(DEMO_OUT)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# The wheel a Raspberry Pi installs (with its [pi] extra: numpy, Pillow, ai-edge-litert).
# Pure Python: built by the system's pip in an isolated build environment, no .venv, no TensorFlow.
wheel:
	$(PYTHON) -m pip wheel --quiet --no-deps --wheel-dir dist .
	@ls dist/*.whl

pi-check: $(STAMP)
	bash scripts/pi_check.sh $(PI_CHECK_ARGS)

clean:
	rm -rf artifacts .pytest_cache build dist src/*.egg-info
