#!/usr/bin/env bash
# Make .venv match pyproject.toml + constraints.txt for the given extras.
#
# The venv is rebuilt from nothing when it is missing or when the dependencies changed
# since it was built (so a removed dependency really goes away); a second call with
# nothing changed installs nothing. Usage: scripts/bootstrap.sh [EXTRAS]  e.g. "dev,notebooks"
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv
extras=${1:-}
python=${PYTHON:-python3}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "bootstrap: $python is $("$python" --version 2>&1); durable-research needs Python 3.11 or newer." >&2
    echo "bootstrap: install one and run again with PYTHON=/path/to/python3.11 make ..." >&2
    exit 1
fi

# Only what decides the installed packages counts: tool settings in pyproject.toml
# (ruff, pytest, ...) may change without a reinstall.
deps_hash=$("$python" - <<'PY'
import hashlib, json, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
keys = ("dependencies", "optional-dependencies", "scripts", "entry-points", "requires-python")
blob = json.dumps({k: project.get(k) for k in keys}, sort_keys=True) + open("constraints.txt").read()
print(hashlib.sha256(blob.encode()).hexdigest()[:16])
PY
)
if [ -f "$venv/.deps-hash" ] && [ "$(cat "$venv/.deps-hash")" != "$deps_hash" ]; then
    echo "bootstrap: pyproject.toml or constraints.txt changed; rebuilding $venv"
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "bootstrap: creating $venv with $("$python" --version 2>&1)"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    echo "$deps_hash" > "$venv/.deps-hash"
    : > "$venv/.extras"
fi

want=".${extras:+[$extras]}"
missing=0
for extra in base ${extras//,/ }; do
    grep -qx "$extra" "$venv/.extras" || missing=1
done
if [ "$missing" = 1 ]; then
    echo "bootstrap: installing durable-research$want (pinned by constraints.txt)"
    "$venv/bin/python" -m pip install --quiet -c constraints.txt -e "$want"
    for extra in base ${extras//,/ }; do
        grep -qx "$extra" "$venv/.extras" || echo "$extra" >> "$venv/.extras"
    done
fi
