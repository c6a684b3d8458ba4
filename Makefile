# The two commands of the README:
#   make reproduce   set up, print seedstudy doctor, run the default study (preset quick) -> results/report/
#   make test        set up, then run the tests (pytest + nbval)
# Set-up creates $(VENV) with torch==2.13.0 installed first (a bare `torch` would pull a CUDA
# build) and everything else pinned by requirements-lock.txt.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
SHARED_DATA := $(abspath ../shared/data)
export SEEDSTUDY_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),)
export HF_HUB_OFFLINE ?= 1

.PHONY: setup test reproduce report lab clean notebook-outputs

$(VENV)/.installed: pyproject.toml requirements-lock.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -c requirements-lock.txt -e ".[test,lab]"
	touch $@

setup: $(VENV)/.installed

test: setup
	$(BIN)/python -m pytest

reproduce: setup
	$(BIN)/seedstudy doctor
	$(BIN)/seedstudy reproduce --output-dir results/report

report: setup
	$(BIN)/seedstudy report --output-dir results/report

lab: setup
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV)

# Re-execute both notebooks in place so their committed outputs match the code (nbval checks
# them). Results and outputs of this small fixed configuration go to a scratch folder.
notebook-outputs: setup
	tmp=$$(mktemp -d) && SEEDSTUDY_RESULTS_DIR=$$tmp/results SEEDSTUDY_OUTPUT_DIR=$$tmp/out \
	  $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
	  notebooks/finetune.ipynb notebooks/paper.ipynb
