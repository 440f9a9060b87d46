# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._private_dirs import make_private_dirs


def mode_of(path):
    return stat.S_IMODE(os.stat(str(path)).st_mode)


def test_every_missing_directory_is_made_0700_whatever_the_umask(tmp_path):
    old_umask = os.umask(0)
    try:
        make_private_dirs(str(tmp_path / 'a' / 'b' / 'c'))
    finally:
        os.umask(old_umask)
    assert [mode_of(tmp_path / 'a'), mode_of(tmp_path / 'a' / 'b'), mode_of(tmp_path / 'a' / 'b' / 'c')] == [0o700] * 3


def test_an_existing_directory_keeps_its_mode(tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    shared.chmod(0o755)
    make_private_dirs(str(shared / 'mine'))
    assert (mode_of(shared), mode_of(shared / 'mine')) == (0o755, 0o700)


def test_a_file_in_the_way_is_an_error(tmp_path):
    (tmp_path / 'a').write_text(u'not a directory')
    with pytest.raises(OSError):
        make_private_dirs(str(tmp_path / 'a' / 'b'))
