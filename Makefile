# Two entry points for a fresh machine:
#   make demo   installs what is missing, then explores the example Gemmini space on the analytical model
#   make test   installs what is missing (EDA tools included), then runs the whole suite
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := $(shell grep -v '^\#' .ci/apt-packages.txt)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test install python-deps system-deps lint bench clean

demo: python-deps
	$(VENV)/bin/diffuse run examples/gemmini-asap7.yaml --sampler diffuse --budget 60 --seed 0 \
		--storage demo.db --study demo-diffuse-s0

test: python-deps system-deps
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m pytest -q

install: python-deps system-deps

# torch first, pinned to the CPU wheel that lies on this kind of machine; then the package.
python-deps: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev,eda]"
	touch $@

# Debian packages that are missing, in one apt-get update + install.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing Debian packages:$$missing"; \
		$(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q $$missing; fi

lint: python-deps
	$(PY) -m ruff check src tests benchmarks

clean:
	rm -rf $(VENV) demo.db demo.artifacts
