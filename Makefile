# chatlab: `make demo` shows the chat, `make test` checks the whole kit.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint lab translations bench stress notebook clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[course,dev,similarity]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .

# Regenerate the student skeleton in lab/ (and lab_pt_BR/) from reference_solution/.
lab: $(STAMP)
	$(PY) scripts/make_lab.py
	$(PY) scripts/make_lab.py --lang pt_BR

# Regenerate the Portuguese notebooks (notebooks/pt_BR/) and update the message catalogues.
translations: $(STAMP)
	$(PY) scripts/make_translations.py
	$(PY) scripts/update_catalogue.py

# Figures, not pass/fail: grader speed, server load (50/200/500 clients), batch grading,
# clients that never read.
bench: $(STAMP)
	$(PY) scripts/bench_grader.py
	$(PY) scripts/bench_load.py
	$(PY) scripts/bench_batch.py
	$(PY) scripts/bench_slow_readers.py
	$(PY) scripts/bench_foreign.py
	$(PY) scripts/bench_isolation.py

# Long repetitions kept out of `make test`: grader flake hunt, reference stress, soak.
stress: $(STAMP)
	$(PY) -m pytest -m slow
	$(PY) scripts/stress_reference.py

# The course, headless: Jupyter prints the address to open. Root (containers, lab
# machines) needs --allow-root, which Jupyter refuses to guess.
notebook: $(STAMP)
	$(VENV)/bin/jupyter lab --no-browser $$([ "$$(id -u)" = 0 ] && echo --allow-root) notebooks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
