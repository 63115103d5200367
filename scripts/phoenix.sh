#!/usr/bin/env bash
# Arize Phoenix, a local LLM trace viewer, from its own virtualenv (its pins conflict with ours).
#
#   scripts/phoenix.sh            install if needed, then serve: UI and API on http://127.0.0.1:6006,
#                                 OTLP/gRPC on port 4317
#   scripts/phoenix.sh install    only make .venv-phoenix match deploy/phoenix/requirements.txt
#
# Then run workers with OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 and open the UI; a job's
# traces are under its session: http://127.0.0.1:6006/redirects/sessions/JOB_ID.
# Environment: PHOENIX_PORT (6006), PHOENIX_GRPC_PORT (4317), PHOENIX_WORKING_DIR (default: a new
# temporary folder, so traces go when Phoenix stops; name a folder to keep them), PHOENIX_VENV
# (.venv-phoenix), PYTHON (python3). The UI binds to loopback; Phoenix binds its gRPC port on
# every interface and has no switch for that, and no login: run it on a trusted machine.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=${PHOENIX_VENV:-.venv-phoenix}
requirements=deploy/phoenix/requirements.txt
python=${PYTHON:-python3}

install() {
    local want
    want=$(sha256sum "$requirements" | cut -c1-16)
    (
        flock 9  # two test runs starting at once build it once
        if [ -x "$venv/bin/phoenix" ] && [ "$(cat "$venv/.requirements-hash" 2>/dev/null)" = "$want" ]; then
            exit 0
        fi
        echo "phoenix: creating $venv from $requirements (about a minute)" >&2
        rm -rf "$venv"
        "$python" -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --upgrade pip
        "$venv/bin/python" -m pip install --quiet -r "$requirements"
        echo "$want" > "$venv/.requirements-hash"  # last: a build cut short is built again
    ) 9>"$venv.lock"
}

serve() {
    install
    export PHOENIX_HOST=127.0.0.1
    export PHOENIX_PORT=${PHOENIX_PORT:-6006}
    export PHOENIX_GRPC_PORT=${PHOENIX_GRPC_PORT:-4317}
    export PHOENIX_WORKING_DIR=${PHOENIX_WORKING_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/phoenix.XXXXXX")}
    # No calls home, no downloads, no server-side shell for its assistant.
    export PHOENIX_TELEMETRY_ENABLED=false PHOENIX_ALLOW_EXTERNAL_RESOURCES=false PHOENIX_AGENTS_DISABLE_BASH=true
    echo "phoenix: UI http://$PHOENIX_HOST:$PHOENIX_PORT, OTLP/gRPC http://$PHOENIX_HOST:$PHOENIX_GRPC_PORT," \
        "data in $PHOENIX_WORKING_DIR" >&2
    exec "$venv/bin/phoenix" serve
}

case "${1:-serve}" in
    install) install ;;
    serve) serve ;;
    *) echo "usage: scripts/phoenix.sh [serve|install]" >&2; exit 2 ;;
esac
