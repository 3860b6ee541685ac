#!/usr/bin/env bash
# Serve the demo broker from this checkout: `broker demo --serve` with the instance under ./instance.
# It writes instance/broker.toml once (its own secret), loads the demo network, then runs the SIP2
# emulator, the demo mailbox and Sésame (`broker serve`); the URL follows HOST and PORT at every start.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${1:-127.0.0.1}"
PORT="${2:-5000}"
export BROKER_INSTANCE_PATH="${BROKER_INSTANCE_PATH:-$PWD/instance}"
export BROKER_BASE_URL="${BROKER_BASE_URL:-http://$HOST:$PORT}"
exec .venv/bin/broker demo --serve --bind "$HOST:$PORT" \
  --sip2-port "${SIP2_PORT:-6001}" --smtp-port "${SMTP_PORT:-8025}"
