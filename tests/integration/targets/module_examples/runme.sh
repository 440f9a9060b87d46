#!/usr/bin/env bash
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Runs the EXAMPLES block of every module top to bottom against localhost
# (examples.py: how, and the few rules by which URLs, checksums, paths and
# programs are substituted), with the loopback HTTP server of the download
# target standing in for the examples' web servers; stopped whatever happens.
#
#   ./runme.sh [MODULE_FILE...]     (default: every plugins/modules/*.py)
set -euo pipefail

cd "$(dirname "$0")"
work=$(mktemp -d "${OUTPUT_DIR:-/tmp}/module_examples.XXXXXX")
mkdir "$work/www"
mkfifo "$work/port"
python=$(command -v python || command -v python3)
"$python" ../download/files/range_server.py --root "$work/www" --port-file "$work/port" --log "$work/server.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

# The server writes its port into the FIFO once it listens. Opened read-write
# so that the read cannot hang if the server dies first (-t is a safety net only).
exec 3<>"$work/port"
read -r -t 60 port <&3
exec 3<&-

# the modules of the collection the playbooks use: the first on
# ANSIBLE_COLLECTIONS_PATH (ansible-test sets it), else this source tree
if (($# == 0)); then
    modules=../../../../plugins/modules
    IFS=: read -ra collection_paths <<<"${ANSIBLE_COLLECTIONS_PATH:-}"
    for dir in "${collection_paths[@]}"; do
        if [[ -d $dir/ansible_collections/asyncops/jobs/plugins/modules ]]; then
            modules=$dir/ansible_collections/asyncops/jobs/plugins/modules
            break
        fi
    done
    set -- "$modules"/*.py
fi
"$python" examples.py --work "$work" --www "$work/www" --port "$port" --inventory "${INVENTORY_PATH:-localhost,}" "$@"
