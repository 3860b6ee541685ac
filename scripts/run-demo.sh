#!/usr/bin/env bash
# Serve the demo broker: embedded SQLite + SQL state store, the SIP2 emulator, an SMTP sink, gunicorn.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST="${1:-127.0.0.1}"
PORT="${2:-5000}"
SIP2_PORT="${SIP2_PORT:-6001}"
SMTP_PORT="${SMTP_PORT:-8025}"
BIN=.venv/bin
INSTANCE="${BROKER_INSTANCE_PATH:-$PWD/instance}"
export BROKER_INSTANCE_PATH="$INSTANCE"
mkdir -p "$INSTANCE"
if [ ! -f "$INSTANCE/broker.toml" ]; then
  secret=$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')
  cat > "$INSTANCE/broker.toml" <<TOML
# Created by make run for the demo instance. See config/broker.example.toml for every key.
secret_key = "$secret"
base_url = "http://$HOST:$PORT"
demo = true
log_json = false

[smtp]
host = "127.0.0.1"
port = $SMTP_PORT
TOML
fi
"$BIN/broker" check-config
"$BIN/broker" db upgrade >/dev/null
"$BIN/broker" demo --sip2-port "$SIP2_PORT" >/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

"$BIN/broker" sip2-emulator --host 127.0.0.1 --port "$SIP2_PORT" --patrons config/demo/sip2-patrons.csv \
  --login sesame --login-password sip2-demo > "$INSTANCE/sip2-emulator.log" 2>&1 &
pids+=($!)
"$BIN/python" -m aiosmtpd -n -l "127.0.0.1:$SMTP_PORT" -c aiosmtpd.handlers.Debugging stdout > "$INSTANCE/mail.log" 2>&1 &
pids+=($!)

export PROMETHEUS_MULTIPROC_DIR="$INSTANCE/metrics"
rm -rf "$PROMETHEUS_MULTIPROC_DIR"; mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
workers=$(( $(nproc) * 2 )); [ "$workers" -ge 2 ] || workers=2

cat <<TXT

  Sésame (demo) on http://$HOST:$PORT/
    patron pages   http://$HOST:$PORT/            (choose a library, then log in)
    staff          http://$HOST:$PORT/staff/
    SAML metadata  http://$HOST:$PORT/saml/metadata
    OIDC discovery http://$HOST:$PORT/.well-known/openid-configuration
    health         http://$HOST:$PORT/healthz   http://$HOST:$PORT/readyz   http://$HOST:$PORT/metrics

  Demo patrons (library "Médiathèque Les 7 Lieux", Bayeux, FR-140476101; PIN 1234):
    29001000000017  Camille Martin   active member
    29001000000025  Lucas Bernard    registration pending
    29001000000033  Chloé Petit      registration refused
    29001000000041  Hugo Durand      suspended
    29001000000058  Léa Moreau       membership expired
    29001000000066  Nathan Leroy     card expired in the SIGB
    29001000000074  Inès Fournier    card reported lost
    29001000000082  Jules Girard     born 2017 (too young for diGame)
    29001000000090  Emma Roux        not registered yet: try /register
    29002000000016  Manon Lambert    Condé-en-Normandie: the partner's agreement ended
    V0001 (PIN 4321) Sarah Fontaine  Médiathèque de Vire, local patron list
  Staff:
    referent@bayeux.example.org / demo-referent-2026   (referent of FR-140476101)
    admin@calvados.example.org  / demo-admin-2026!     (network admin; sets up TOTP at first login)
  E-mails sent by the demo are printed in $INSTANCE/mail.log.

TXT
"$BIN/gunicorn" --workers "$workers" --bind "$HOST:$PORT" --access-logfile - wsgi:app
