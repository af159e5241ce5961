# One command on a fresh Debian 12 machine:
#   make demo   system packages, .venv, sample certificates ingested and summarized
#   make test   the same setup, then the test suite
# Every setup step checks first and does nothing when already done.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils
# The review page's browser tests drive Debian's Chromium (never a downloaded browser).
TEST_APT_PACKAGES := chromium
# sudo only when not root (containers and CI images often have no sudo at all).
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
# The install stamp is keyed on pyproject.toml's content: a changed dependency list
# reinstalls, an unchanged one costs nothing.
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)

.PHONY: help setup system-deps demo test lint clean

help:
	@echo "make demo    set up (apt packages, .venv) and run 'coi demo'"
	@echo "make test    set up and run the tests"
	@echo "make lint    ruff"
	@echo "make clean   remove .venv, data/ and inbox/"

setup: system-deps $(STAMP)

system-deps:
	@missing=""; \
	if command -v dpkg >/dev/null 2>&1; then \
	  for p in $(APT_PACKAGES) $(EXTRA_APT); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" \
	      || missing="$$missing $$p"; \
	  done; \
	  if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	    missing="$$missing python3-venv"; \
	  fi; \
	  if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -qq; \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      --no-install-recommends $$missing; \
	  fi; \
	else \
	  for t in tesseract pdftoppm; do \
	    command -v "$$t" >/dev/null 2>&1 || { \
	      echo "no dpkg here: install tesseract (with eng + osd data) and poppler yourself" >&2; \
	      exit 1; }; \
	  done; \
	fi

$(VENV)/bin/python: | system-deps
	@# A half-created venv (e.g. ensurepip was missing) would never be repaired: start over.
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(VENV)/bin/python
	$(VENV)/bin/python -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup
	$(VENV)/bin/coi demo

test: EXTRA_APT = $(TEST_APT_PACKAGES)
test: setup
	$(VENV)/bin/python -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) data inbox build *.egg-info
