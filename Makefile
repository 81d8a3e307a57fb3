# certify: `make run` serves the application with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Debian packages the tests need, as command=package or /absolute/file=package (fonts bring
# no command).  The certificate PDFs print names in any script with the Noto fonts.
NOTO := /usr/share/fonts
SYSTEM_PACKAGES := wkhtmltopdf=wkhtmltopdf pdftotext=poppler-utils chromium=chromium \
	$(NOTO)/opentype/noto/NotoSansCJK-Regular.ttc=fonts-noto-cjk \
	$(NOTO)/opentype/noto/NotoSerifCJK-Regular.ttc=fonts-noto-cjk \
	$(NOTO)/truetype/noto/NotoSans-Regular.ttf=fonts-noto-core \
	$(NOTO)/truetype/noto/NotoSerif-Regular.ttf=fonts-noto-core

.PHONY: run test lint system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-app

run: $(VENV)/.installed-app
	$(BIN)/certify db upgrade
	$(BIN)/certify demo load --if-empty
	@echo "certify is running at http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	$(BIN)/certify run --host $(HOST) --port $(PORT)

system-packages:
	@scripts/ensure-system-packages $(SYSTEM_PACKAGES)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

test: $(VENV)/.installed-test system-packages lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
