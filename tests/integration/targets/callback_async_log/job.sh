#!/bin/sh
# Copyright (c) 2025, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# job.sh RELEASE_FILE MIN_SECONDS: a job that runs at least MIN_SECONDS and, when RELEASE_FILE is not
# empty, until that file exists (the test creates it once the events it needs were logged; at most 300 s).
release="$1"
min="${2:-0}"
sleep "${min}"
if [ -n "${release}" ]; then
    n=0
    while [ ! -e "${release}" ] && [ "${n}" -lt 3000 ]; do
        sleep 0.1
        n=$((n + 1))
    done
fi
exit 0
