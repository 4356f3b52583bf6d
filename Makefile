# DeepLeak study. Two commands on a fresh machine: `make book` and `make test`.
# Papermill (through `deepleak run`) is the only executor; Jupyter Book only renders.
SHELL := /bin/bash
PROFILE ?= default
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LIB := $(shell find deepleak_lib -name '*.py' -not -path '*/__pycache__/*')
# Chapter stems in build order; "reproducibility" sorts after the numbered chapters and runs last.
CHAPTERS := $(sort $(basename $(notdir $(wildcard notebooks/*.md))))
RES := results/$(PROFILE)
NBS := $(foreach c,$(CHAPTERS),$(RES)/$(c)/$(c).ipynb)
DATA_STAMP := data/.stamp-$(PROFILE)
BOOK_OUT := _build/$(PROFILE)
HTML := $(BOOK_OUT)/_build/html/index.html
BOOK_PAGES := $(wildcard book/*)

ifeq ($(wildcard params/$(PROFILE)/00_setup.yaml),)
$(error unknown PROFILE '$(PROFILE)': choose one of: $(notdir $(wildcard params/*)) (folders under params/))
endif

.PHONY: book smoke test lint clean env help
.DELETE_ON_ERROR:

help:
	@echo "make book [PROFILE=default|smoke|paper]  execute the chapters (papermill) and build the site"
	@echo "make test                                 library tests + smoke notebooks + smoke book (-W)"
	@echo "make smoke | lint | clean"

book: $(HTML)
	@echo "book: $(HTML)"

smoke:
	$(MAKE) book PROFILE=smoke

env: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(DATA_STAMP): params/$(PROFILE)/00_setup.yaml data/checksums.json | $(STAMP)
	$(PY) -m deepleak_lib data --profile $(PROFILE) --stamp $@

# One rule per chapter: its notebook, its params, the library sources, the data, and every earlier
# chapter (later chapters consume earlier artifacts). Outputs appear only when execution succeeded.
define CHAPTER_RULE
$(RES)/$(1)/$(1).ipynb: notebooks/$(1).md params/$(PROFILE)/$(1).yaml $(LIB) $(DATA_STAMP) $(2) | $(STAMP)
	$(PY) -m deepleak_lib run $(1) --profile $(PROFILE)
endef
$(foreach i,$(shell seq 1 $(words $(CHAPTERS))),$(eval $(call CHAPTER_RULE,$(word $(i),$(CHAPTERS)),$(wordlist 1,$(shell expr $(i) - 1),$(NBS)))))

$(HTML): $(NBS) _config.yml _toc.yml $(BOOK_PAGES) | $(STAMP)
	$(PY) -m deepleak_lib stage-book --profile $(PROFILE)
	$(VENV)/bin/jupyter-book build $(BOOK_OUT)/src --path-output $(BOOK_OUT) -n -W --keep-going --quiet
	touch $@

# Smoke notebooks and book first, so pytest's summary is the closing line.
test: $(STAMP)
	$(MAKE) book PROFILE=smoke
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check deepleak_lib tests benchmarks

clean:
	rm -rf _build results data/.stamp-*
