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
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="${DEMO_DIR:-$(mktemp -d -t tuf-ceremony-demo.XXXXXX)}"
cd "$work"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

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
echo "artifacts in: $work"
ls -l "$work" "$work/repository"
