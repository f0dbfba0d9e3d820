#!/usr/bin/env bash
# A full 2-of-3 root ceremony, end to end, in a temporary directory:
# keys -> plan -> prepare -> two keyholders sign -> status -> merge -> verify
# -> the repository adds snapshot/timestamp with its online key -> python-tuf's
# client refreshes against the result.
#
# Keyholders use SoftHSM2 tokens when SoftHSM2 is installed (the hardware
# path), software keys otherwise. Demo secrets are fed on stdin, one line
# each, the way tuf-ceremony reads them when stdin is not a terminal; they
# never appear on a command line.
#
# Clean-up: the demo works in a temporary directory and removes it when it
# ends (tokens, keys, requests, bundles, repository). DEMO_KEEP=1 keeps it;
# DEMO_DIR=DIR works in DIR instead and leaves it. After a failure the files
# are kept for inspection. The last line says which happened, and where.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ -n "${DEMO_DIR:-}" ]; then
  work="$DEMO_DIR"; own_dir=
  mkdir -p "$work"
else
  work="$(mktemp -d -t tuf-ceremony-demo.XXXXXX)"; own_dir=1
fi
finish() {
  status=$?
  cd /
  if [ "$status" -ne 0 ]; then
    echo "demo FAILED (exit $status): its files are left in $work for inspection; remove them with: rm -rf '$work'" >&2
  elif [ -n "$own_dir" ] && [ -z "${DEMO_KEEP:-}" ]; then
    rm -rf "$work"
    echo "demo: removed its temporary directory $work (DEMO_KEEP=1 keeps it)"
  else
    echo "demo: its files are left in $work (remove them with: rm -rf '$work')"
  fi
}
trap finish EXIT
cd "$work"
# bold headings on a terminal only: no raw escape codes in a pipe or a log
if [ -t 1 ]; then
  step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
  step() { printf '\n== %s\n' "$*"; }
fi

mode=software
if [ -z "${DEMO_SOFTWARE_KEYS:-}" ] && python3 "$here/softhsm_setup.py" --check >/dev/null 2>&1; then
  mode=softhsm
fi

step "1. Keys (${mode})"
if [ "$mode" = softhsm ]; then
  export SOFTHSM2_CONF="$work/softhsm2.conf"
  python3 "$here/softhsm_setup.py" "$work" alice bob carol
  for who in alice bob carol; do
    echo "demo-pin-$who" | tuf-ceremony key generate --type ecdsa-p256 \
      --uri "pkcs11:token=$who;object=$who-root" --public-out "$who.pub.json"
  done
  tuf-ceremony key list
else
  for who in alice bob carol; do
    echo "demo-passphrase-$who" | tuf-ceremony key generate --type ecdsa-p256 \
      --private-out "$who.pem" --public-out "$who.pub.json"
  done
fi
echo "demo-passphrase-online" | tuf-ceremony key generate --type ed25519 \
  --private-out online.pem --public-out online.pub.json

step "2. The plan (reviewed before the day)"
cp "$here/plan.toml" plan.toml
cat plan.toml

step "3. prepare: the signing request for root v1 and targets v1"
tuf-ceremony prepare plan.toml --out request.json

key_of() { if [ "$mode" = softhsm ]; then echo "pkcs11:token=$1;object=$1-root"; else echo "$1.pem"; fi; }
secret_of() { if [ "$mode" = softhsm ]; then echo "demo-pin-$1"; else echo "demo-passphrase-$1"; fi; }

for who in alice bob; do
  step "4. sign: $who (on the air-gapped machine)"
  # a token key is identified before its PIN: confirm first, then the PIN;
  # an encrypted key file is identified after its passphrase: passphrase first
  if [ "$mode" = softhsm ]; then answers="y\n$(secret_of $who)\n"; else answers="$(secret_of $who)\ny\n"; fi
  printf "$answers" | tuf-ceremony sign request.json --key "$(key_of $who)" --out "$who.bundle.json"
done

step "5. status: signatures against each threshold"
tuf-ceremony status request.json alice.bundle.json bob.bundle.json

step "6. merge: write the signed metadata"
tuf-ceremony merge request.json alice.bundle.json bob.bundle.json --out repository

step "7. verify: what an auditor runs"
tuf-ceremony verify repository --names plan.toml

step "8. the repository signs snapshot and timestamp online; python-tuf's client refreshes"
echo "demo-passphrase-online" | python3 "$here/client_check.py" repository online.pem online.pub.json

step "Done"
echo "the signed repository:"
ls -l "$work/repository"
