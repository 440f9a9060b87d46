#!/usr/bin/env bash
# Faults must give true answers: a full disk (a small tmpfs, as root) and output
# floods, with the record and sidecar sizes printed as MEASURE lines.
set -eux

ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" main.yml "$@"
