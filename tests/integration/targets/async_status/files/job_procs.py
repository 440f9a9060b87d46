# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Print, as JSON, the processes of a job of the built-in async keyword: job_procs.py JID

{"watchers": [pid...], "groups": [pgid...]}: the async_wrapper processes (argv holds the
jid prefix followed by the time limit) that are not group leaders, and the process
groups of those that are (the module runner's group: the job).
"""

import json
import os
import sys


def main():
    prefix = sys.argv[1].rsplit('.', 1)[0]
    watchers, groups = [], []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as f:
                argv = [a.decode('utf-8', 'replace') for a in f.read().split(b'\0')]
            pgid = os.getpgid(pid)
        except OSError:
            continue
        if any(a == prefix and argv[i + 1].isdigit() for i, a in enumerate(argv[:-1])):
            (groups if pgid == pid else watchers).append(pid if pgid != pid else pgid)
    print(json.dumps({'watchers': watchers, 'groups': groups}))


if __name__ == '__main__':
    main()
