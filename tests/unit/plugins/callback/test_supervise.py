# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the asyncops.jobs.supervise callback: it makes ansible.legacy.async_wrapper resolve to the
collection's replacement, and warns when something else wins. module_loader is restored after each test."""

from __future__ import annotations

import importlib
import os

import pytest
import yaml

import ansible.modules
from ansible.plugins.loader import module_loader

from ansible_collections.asyncops.jobs.plugins.callback import supervise
from ansible_collections.asyncops.jobs.tests.unit.plugins.plugin_utils._async_log.async_log_fakes import FakeDisplay

COLLECTION_DIR = os.path.realpath(os.path.join(os.path.dirname(supervise.__file__), '..', '..'))
REPLACEMENT = os.path.join(COLLECTION_DIR, 'plugins', 'async_wrapper', 'async_wrapper.py')
CORE_WRAPPER = os.path.realpath(os.path.join(os.path.dirname(ansible.modules.__file__), 'async_wrapper.py'))


def resolved():
    found = module_loader.find_plugin(supervise.WRAPPER_NAME)
    return None if found is None else os.path.realpath(found)


@pytest.fixture(autouse=True)
def loader():
    """module_loader as the controller has it before the callback is loaded; put back afterwards."""
    saved = list(module_loader._extra_dirs)
    module_loader._extra_dirs[:] = [d for d in saved if d != supervise.WRAPPER_DIR]
    module_loader._clear_caches()
    yield module_loader
    module_loader._extra_dirs[:] = saved
    module_loader._clear_caches()


def test_without_the_callback_core_s_wrapper_is_resolved():
    importlib.reload(supervise)  # importing the plugin changes nothing: only an enabled, loaded callback does
    assert supervise.WRAPPER_DIR not in module_loader._extra_dirs
    assert resolved() == CORE_WRAPPER


def test_the_callback_puts_the_replacement_first():
    display = FakeDisplay()
    callback = supervise.CallbackModule(display=display)
    assert supervise.WRAPPER_DIR == os.path.dirname(REPLACEMENT)
    assert resolved() == REPLACEMENT
    assert display.warnings == [] and display.lines == []  # it says nothing when all is well
    assert callback.CALLBACK_NEEDS_ENABLED is True and callback.CALLBACK_NAME == 'asyncops.jobs.supervise'
    # loaded once more (another play, another instance): the directory is there once
    supervise.CallbackModule(display=FakeDisplay())
    assert module_loader._extra_dirs.count(supervise.WRAPPER_DIR) == 1


def test_a_library_dir_that_wins_gets_a_warning(tmp_path):
    library = tmp_path / 'library'
    library.mkdir()
    (library / 'async_wrapper.py').write_text('#!/usr/bin/python\n# a playbook\'s own async_wrapper\n')
    module_loader.add_directory(str(library))
    display = FakeDisplay()
    supervise.CallbackModule(display=display)
    shadow = os.path.realpath(str(library / 'async_wrapper.py'))
    assert resolved() == shadow
    assert display.warnings == [
        'asyncops.jobs.supervise: ansible.legacy.async_wrapper resolves to %s, not to the replacement in %s; '
        'async tasks are not supervised' % (module_loader.find_plugin(supervise.WRAPPER_NAME), supervise.WRAPPER_DIR)]


def test_documentation_names_the_plugin_and_how_to_enable_it():
    doc = yaml.safe_load(supervise.DOCUMENTATION)
    assert doc['name'] == 'supervise' and doc['type'] == 'aggregate'
    assert any('callbacks_enabled=asyncops.jobs.supervise' in r for r in doc['requirements'])
    assert any('ASYNCOPS_SUPERVISE' in d for d in doc['description'])
