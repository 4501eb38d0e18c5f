# The two commands of the README: `make demo` and `make test`. Each sets up what it needs
# on a fresh Debian machine (Python 3.11, Node 20): the venv, the package, npm packages.

VENV   := .venv
BIN    := $(VENV)/bin
PY_OK  := $(VENV)/.installed
NODE_OK := node_modules/.installed
# Browser tests (tests/browser) drive Debian's chromium through Playwright. The binary is
# the prerequisite file: installed once (as root, from the Debian mirrors), then skipped.
CHROMIUM := /usr/bin/chromium

.PHONY: demo test setup lint clean

demo: setup
	$(BIN)/fengqiao demo

test: setup $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/pytest

setup: $(PY_OK) $(NODE_OK)

$(PY_OK): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_OK): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk; \
	else \
		echo "chromium is missing and this is not root: the browser tests will be skipped" \
		     "(install it with: sudo apt-get install --no-install-recommends chromium fonts-noto-cjk)"; \
	fi

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules var
