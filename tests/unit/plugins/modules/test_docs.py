# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ansible-doc shows of the modules, doc fragments merged in."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ansible_collections.asyncops.jobs.plugins.modules import run

MODULES = ['asyncops.jobs.run', 'asyncops.jobs.download', 'asyncops.jobs.async_status']
# the directory holding ansible_collections/asyncops/jobs
COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(run.__file__), *(['..'] * 5)))


def test_no_internal_option_and_where_the_job_dir_comes_from():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS_ROOT, ANSIBLE_NOCOLOR='1')
    out = subprocess.run([sys.executable, '-m', 'ansible.cli.doc', '--json'] + MODULES, env=env, check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    docs = json.loads(out)
    assert sorted(docs) == sorted(MODULES)
    for name in MODULES:
        doc = docs[name]['doc']
        assert doc['options'], name
        # the async dir reaches the module in its environment (ANSIBLE_ASYNC_DIR), not as an option
        assert [option for option in doc['options'] if option.startswith('_')] == [], name
        assert 'ansible_async_dir' in json.dumps(doc), name
