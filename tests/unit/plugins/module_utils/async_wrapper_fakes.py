# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A fake module and the remote side of an async task, for the tests of the async_wrapper replacement.

Used by test_async_wrapper.py (supervised) and test_core_wrapper.py (the opt-out).
"""

from __future__ import annotations

import json
import os
import random
import sys

from ansible_collections.asyncops.jobs.plugins.module_utils import _async_wrapper as W
from ansible_collections.asyncops.jobs.tests.unit.helpers import wait_for

COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(W.__file__), *(['..'] * 5)))
WRAPPER_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(W.__file__)), 'async_wrapper', 'async_wrapper.py')

# A module as the wrapper runs it: its configuration in the args file (2.17 form) or beside it
FAKE_MODULE = r'''#!@PYTHON@
import json, os, signal, subprocess, sys, time
here = os.path.dirname(os.path.abspath(__file__))
with open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'fake.json')) as f:
    conf = json.load(f)
if conf.get('ignore_term'):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # inherited by what it starts


def note(name, value):
    path = os.path.join(conf['notes'], name)
    with open(path + '.tmp', 'w') as f:
        f.write(str(value))
    os.rename(path + '.tmp', path)


if conf.get('stray'):  # a child in a session of its own: outside the job's process group
    stray = subprocess.Popen(['sleep', '60'], start_new_session=True, stdout=subprocess.DEVNULL)
    note('stray', stray.pid)
if conf.get('progress'):
    sys.path.insert(0, conf['progress'])
    from ansible_collections.asyncops.jobs.plugins.module_utils._progress import ProgressReporter
    reporter = ProgressReporter(total=10, unit='files')
    note('progress_mode', reporter.target.mode if reporter.target else 'none')
    reporter.update(current=4, message='four', force=True)
note('pid', os.getpid())
if conf.get('gate'):
    with open(conf['gate']) as f:
        f.read()
sys.stdout.write(conf.get('before', ''))
if 'result' in conf:
    sys.stdout.write(json.dumps(conf['result']))
sys.stdout.write(conf.get('after', ''))
sys.stdout.flush()
sys.stderr.write(conf.get('stderr', ''))
sys.stderr.flush()
if conf.get('sleep'):
    time.sleep(conf['sleep'])
sys.exit(conf.get('rc', 0))
'''


class Task(object):
    """One async task's remote side: its tmp dir (named as core names it) with the module, and its notes."""

    def __init__(self, tmp_path, dirname='ansible-tmp-1764760000.12-4242-123456789'):
        self.tmpdir = str(tmp_path / 'remote' / dirname)
        os.makedirs(self.tmpdir)
        self.module = os.path.join(self.tmpdir, 'AnsiballZ_fake.py')
        with open(self.module, 'w') as f:
            f.write(FAKE_MODULE.replace('@PYTHON@', sys.executable))
        os.chmod(self.module, 0o644)  # core 2.17's command names no interpreter: the wrapper reads the shebang
        self.notes = str(tmp_path / 'notes')
        os.mkdir(self.notes)
        self.gate = str(tmp_path / 'gate')
        os.mkfifo(self.gate)
        self.prefix = 'j%d' % random.randint(10 ** 10, 10 ** 12 - 1)
        self.args_file = os.path.join(self.tmpdir, 'args')

    def configure(self, **conf):
        conf['notes'] = self.notes
        for path in (os.path.join(self.tmpdir, 'fake.json'), self.args_file):
            with open(path, 'w') as f:
                json.dump(conf, f)

    def argv_new(self, limit=60, preserve='false', args_file=False):
        """sys.argv of the wrapper as ansible-core 2.19+ runs it."""
        invocation = [sys.executable, self.module] + ([self.args_file] if args_file else [])
        return [os.path.join(self.tmpdir, 'AnsiballZ_async_wrapper.py'), self.prefix, str(limit), preserve,
                self.module] + invocation

    def argv_old(self, limit=60, args_file=True, preserve=False):
        """sys.argv of the wrapper as ansible-core 2.17 and 2.18 run it."""
        return ([os.path.join(self.tmpdir, 'AnsiballZ_async_wrapper.py'), self.prefix, str(limit), self.module,
                 self.args_file if args_file else '_'] + (['-preserve_tmp'] if preserve else []))

    def note(self, name):
        path = os.path.join(self.notes, name)
        wait_for(lambda: os.path.exists(path), 'the module to note its %s' % name)
        with open(path) as f:
            return f.read()

    def jid(self, pid=None):
        return '%s.%d' % (self.prefix, os.getpid() if pid is None else pid)
