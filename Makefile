# `make demo` and `make test` work on a fresh machine with Python 3.11: each creates .venv itself.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test system-packages bench format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

demo: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/cnncalc show posenet --no-bias
	@echo
	@echo "cnncalc is installed in $(VENV), which is not on your PATH yet. Either activate it (once per shell):"
	@echo "    . $(VENV)/bin/activate"
	@echo "    cnncalc show posenet"
	@echo "or call it by its path: $(BIN)/cnncalc show posenet"

# constraints.txt pins torch 2.14.1, torchvision 0.29.1 and timm 1.0.31 (on this machine's disk); a looser pin downloads GBs.
test: $(BIN)/python system-packages
	$(BIN)/pip install -q -e '.[test]' -c constraints.txt
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# Debian packages the tests use: pdflatex and TikZ (the LaTeX worked solutions and diagrams compile) and chromium (the web page's browser
# tests, driven by Playwright with executable_path=/usr/bin/chromium). Installed when missing and apt-get can (as
# root); elsewhere those tests are skipped with the reason.
system-packages:
	@missing=""; command -v pdflatex >/dev/null || missing="$$missing texlive-latex-base"; \
	kpsewhich tikz.sty >/dev/null 2>&1 || missing="$$missing texlive-pictures"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "installing Debian packages:$$missing"; \
			apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends $$missing >/dev/null 2>&1; } || \
			echo "note: could not install$$missing; the tests that need them will be skipped"; \
		else echo "note:$$missing not installed; the tests that need them will be skipped"; fi; \
	fi

# The comparison with torchinfo, fvcore, ptflops, thop and torch-scan (not part of the tests).
bench: $(BIN)/python
	$(BIN)/pip install -q -e '.[bench]' -c constraints.txt
	$(BIN)/python bench/bench_zoo.py resnet50 resnet152 efficientnet_b7
	$(BIN)/python bench/compare.py

format: $(BIN)/python
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
