# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Release a job blocked on a FIFO, then watch its sidecars until its record is final.

Prints one JSON object: the largest size seen of the .out and .err sidecars, how
often they were looked at, and the final record's size and the size of its
output keys as JSON.
"""

from __future__ import annotations

import json
import os
import sys


def size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def finished(path: str) -> bool:
    try:
        with open(path, 'rb') as f:
            return bool(json.loads(f.read().decode('utf-8')).get('finished'))
    except (OSError, ValueError):
        return False


def main() -> None:
    async_dir, jid, gate = sys.argv[1:4]
    record = os.path.join(async_dir, jid)
    out, err = record + '.out', record + '.err'
    with open(gate, 'wb') as f:
        f.write(b'go\n')
    largest = {'out': 0, 'err': 0}
    looks = 0
    while True:
        done = finished(record)  # looked at before the sizes: the last look sees the final files
        largest['out'] = max(largest['out'], size(out))
        largest['err'] = max(largest['err'], size(err))
        looks += 1
        if done:
            break
    with open(record, 'rb') as f:
        data = f.read()
    final = json.loads(data.decode('utf-8'))
    output = sum(len(json.dumps(final[key])) for key in ('stdout', 'stdout_lines', 'stderr', 'stderr_lines'))
    print(json.dumps({'sidecar_out_max': largest['out'], 'sidecar_err_max': largest['err'], 'looks': looks,
                      'record_bytes': len(data), 'output_json_bytes': output,
                      'stdout_truncated': final['asyncops']['stdout_truncated'],
                      'stderr_truncated': final['asyncops']['stderr_truncated'],
                      'state': final['asyncops']['state'], 'rc': final['rc']}))


if __name__ == '__main__':
    main()
