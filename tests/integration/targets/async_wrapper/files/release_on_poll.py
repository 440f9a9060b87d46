# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Create a file once the async_log callback's log holds a poll event, with progress, of a task.

    python release_on_poll.py LOG TASK RELEASE_FILE TIMEOUT

Runs in the background of runme.sh: the test module of progress.yml keeps running until
RELEASE_FILE exists, so the controller's poll: N loop sees it running for as long as the
test needs. The file is created in the end whatever happens (the module must not hang);
the exit code says whether the event was seen (0) or the wait timed out (1).
"""

from __future__ import annotations

import json
import os
import sys
import time


def seen(log, task):
    if not os.path.exists(log):
        return False
    with open(log, 'rb') as f:
        data = f.read()
    for line in data.split(b'\n')[:-1]:  # complete lines only
        event = json.loads(line.decode('utf-8'))
        if event.get('event') == 'poll' and event.get('task') == task and event.get('progress'):
            return True
    return False


def main(log, task, release, timeout):
    deadline = time.monotonic() + float(timeout)
    try:
        while time.monotonic() < deadline:
            if seen(log, task):
                return 0
            time.sleep(0.1)
        sys.stderr.write('release_on_poll: no poll event with progress of %r in %s after %ss\n' % (task, log, timeout))
        return 1
    finally:
        with open(release, 'w') as f:
            f.write('released\n')


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:]))
