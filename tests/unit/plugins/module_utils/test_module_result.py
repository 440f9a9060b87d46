# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of a module's output turned into its result (plugins/module_utils/_module_result.py).

The expected values are those of ansible-core's async_wrapper (_filter_non_json_lines and _run_module).
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.asyncops.jobs.plugins.module_utils import _module_result as M


# ---------------------------------------------------------------- filter_non_json_lines

def test_clean_json_passes_untouched():
    text = '{"changed": true, "msg": "done"}'
    assert M.filter_non_json_lines(text) == (text, [])


def test_junk_before_is_dropped_without_a_warning():
    text, warnings = M.filter_non_json_lines('Welcome to host!\nlast login: never\n{"a": 1}\n')
    assert (text, warnings) == ('{"a": 1}', [])


def test_a_json_object_over_several_lines_is_kept_whole():
    data = 'motd\n' + json.dumps({'a': [1, 2], 'b': {'c': 'd'}}, indent=2) + '\n'
    text, warnings = M.filter_non_json_lines(data)
    assert json.loads(text) == {'a': [1, 2], 'b': {'c': 'd'}} and warnings == []
    assert text.startswith('{') and text.endswith('}')


def test_junk_after_is_dropped_with_core_s_warning():
    text, warnings = M.filter_non_json_lines('  {"a": 1}  \nbye\nsee you\n')
    assert text == '  {"a": 1}  '
    assert warnings == ['Module invocation had junk after the JSON data: bye\nsee you']
    assert warnings[0] == M.JUNK_AFTER_JSON % 'bye\nsee you'


def test_only_blank_lines_after_give_no_warning():
    text, warnings = M.filter_non_json_lines('{"a": 1}\n\n   \n\t\n')
    assert (text, warnings) == ('{"a": 1}', [])


def test_blank_lines_between_junk_lines_are_in_the_warning():
    dummy, warnings = M.filter_non_json_lines('{"a": 1}\n\nbye\n')
    assert warnings == [M.JUNK_AFTER_JSON % '\nbye']


@pytest.mark.parametrize('data', ['', 'no json here\n', '  \n', '"a string"', '[1, 2]', '}\n'])
def test_no_start_of_a_json_object(data):
    with pytest.raises(ValueError, match='^No start of json char found$'):
        M.filter_non_json_lines(data)


@pytest.mark.parametrize('data', ['{"a": 1', '{\n"a": 1,\njunk\n', 'motd\n{"a":\n'])
def test_no_end_of_a_json_object(data):
    with pytest.raises(ValueError, match='^No end of json char found$'):
        M.filter_non_json_lines(data)


# ---------------------------------------------------------------- module_result

def test_module_result_is_the_printed_object_verbatim():
    printed = {'changed': True, 'msg': 'ok', 'rc': 0, 'nested': {'x': [1, None, 'y']}, 'failed': False}
    assert M.module_result(json.dumps(printed) + '\n', '') == printed


def test_junk_warning_is_appended_to_the_module_s_warning_list():
    out = json.dumps({'warnings': ['first', 'second']}) + '\ntrailing\n'
    result = M.module_result(out, '')
    assert result['warnings'] == ['first', 'second', M.JUNK_AFTER_JSON % 'trailing']


def test_junk_warning_turns_a_string_warning_into_a_list():
    result = M.module_result(json.dumps({'warnings': 'only one'}) + '\ntrailing\n', '')
    assert result['warnings'] == ['only one', M.JUNK_AFTER_JSON % 'trailing']


def test_junk_warning_without_module_warnings():
    result = M.module_result(json.dumps({'changed': False}) + '\ntrailing', '')
    assert result == {'changed': False, 'warnings': [M.JUNK_AFTER_JSON % 'trailing']}


def test_module_warnings_stay_untouched_without_junk():
    result = M.module_result('motd\n' + json.dumps({'warnings': 'as it is'}), '')
    assert result == {'warnings': 'as it is'}


def test_stderr_is_added_only_when_there_is_some():
    assert M.module_result('{"a": 1}', 'oops\n') == {'a': 1, 'stderr': 'oops\n'}
    assert 'stderr' not in M.module_result('{"a": 1}', '')
    # the module's own stderr key is replaced by what it wrote, as core does
    assert M.module_result('{"stderr": "mine"}', 'written') == {'stderr': 'written'}


@pytest.mark.parametrize('printed', ['{1, 2}', '{"a": }', "{'a': 1}"])
def test_broken_json_raises_value_error(printed):
    with pytest.raises(ValueError):
        M.module_result(printed, '')


def test_json_that_is_not_an_object_is_refused(monkeypatch):
    # printed as a top-level value, a list or a string has no line starting with '{'
    for printed in ('[{"a": 1}, {"b": 2}]', '"{x}"', '42'):
        with pytest.raises(ValueError, match='No start of json char found'):
            M.module_result(printed, '')
    # text that starts with '{' always loads as an object; the check behind it, reached directly
    monkeypatch.setattr(M, 'filter_non_json_lines', lambda data: ('[1, 2]', []))
    with pytest.raises(ValueError, match='^the module printed JSON that is not an object: list$'):
        M.module_result('whatever', '')


# ---------------------------------------------------------------- unparsable_result

def test_unparsable_result_has_core_s_keys():
    result = M.unparsable_result('/usr/bin/python3 /tmp/x/AnsiballZ_m.py', 'junk', 'Traceback...', 'No start of json')
    assert result == {'failed': True, 'cmd': '/usr/bin/python3 /tmp/x/AnsiballZ_m.py', 'data': 'junk',
                      'stderr': 'Traceback...', 'msg': 'No start of json'}
