#!/usr/bin/env bash
# Real MCP clients against the server, each starting and stopping its own servers on loopback:
# the MCP Inspector CLI (stdio and HTTP) and the official conformance suite's server scenarios.
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsx scripts/ecosystem/inspector.ts
npx tsx scripts/ecosystem/conformance.ts
