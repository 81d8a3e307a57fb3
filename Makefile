# certify: `make run` serves the application with demo data; `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
# Debian packages the tests need, as command=package or /absolute/file=package (fonts bring
# no command).  The certificate PDFs print names in any script with the Noto fonts.
NOTO := /usr/share/fonts
# The application itself renders certificates (the demo issues one), so `make run` needs these.
APP_PACKAGES := wkhtmltopdf=wkhtmltopdf \
	$(NOTO)/opentype/noto/NotoSansCJK-Regular.ttc=fonts-noto-cjk \
	$(NOTO)/opentype/noto/NotoSerifCJK-Regular.ttc=fonts-noto-cjk \
	$(NOTO)/truetype/noto/NotoSans-Regular.ttf=fonts-noto-core \
	$(NOTO)/truetype/noto/NotoSerif-Regular.ttf=fonts-noto-core
SYSTEM_PACKAGES := $(APP_PACKAGES) pdftotext=poppler-utils chromium=chromium

.PHONY: run test lint app-packages system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-app: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed-app

run: $(VENV)/.installed-app app-packages
	$(BIN)/certify db upgrade
	$(BIN)/certify demo load --if-empty
	@echo "certify is running at http://$(HOST):$(PORT)/ (Ctrl+C to stop)"
	$(BIN)/certify run --host $(HOST) --port $(PORT)

app-packages:
	@scripts/ensure-system-packages $(APP_PACKAGES)

system-packages:
	@scripts/ensure-system-packages $(SYSTEM_PACKAGES)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

test: $(VENV)/.installed-test system-packages lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
