# The README's two commands: `make demo` and `make test`. Both create .venv if missing.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-install test-all bench clean

$(PY):
	python3.11 -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[torch,test,bench,ray]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m fakelens.demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -m "not slow and not install"

test-install: $(STAMP)
	$(PY) -m pytest -q -m install

test-all: $(STAMP)
	$(PY) -m pytest -q -n 2

bench: $(STAMP)  # speed and robustness; each writes benchmarks/results/ (see docs/benchmarks.md)
	$(PY) benchmarks/bench_analyze.py
	$(PY) benchmarks/bench_video.py
	$(PY) benchmarks/bench_faces.py
	$(PY) benchmarks/bench_faithfulness_meta.py
	$(PY) benchmarks/bench_faithfulness_cost.py
	$(PY) benchmarks/bench_robustness.py --per-source 60
	$(PY) benchmarks/bench_explain.py
	$(PY) benchmarks/bench_scan.py
	$(PY) benchmarks/bench_train.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
