# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A module's output turned into its result, as ansible-core's async_wrapper does it.

Private to the collection; runs on the target (Python 3.8+), standard library only.
The async_wrapper replacement (``_async_wrapper``) runs a module under the
supervisor and reads its stdout here: the JSON object it printed, with junk
before it dropped and junk after it warned about, plus ``stderr`` when the
module wrote any. A module that printed no JSON gets core's failure result
(``failed``, ``cmd``, ``data``, ``stderr``, ``msg``).
"""

from __future__ import annotations

import json
import typing as t

JUNK_AFTER_JSON = 'Module invocation had junk after the JSON data: %s'


def filter_non_json_lines(data: str) -> t.Tuple[str, t.List[str]]:
    """The JSON object in data (lines before the first '{' line and after the last '}' line dropped), and warnings.

    Raises ValueError with core's message when there is no start or no end of a JSON object.
    """
    lines = data.splitlines()
    for start, line in enumerate(lines):
        if line.strip().startswith('{'):
            break
    else:
        raise ValueError('No start of json char found')
    lines = lines[start:]
    for end_offset, line in enumerate(reversed(lines)):
        if line.strip().endswith('}'):
            break
    else:
        raise ValueError('No end of json char found')
    warnings = []
    if end_offset > 0:
        trailing = lines[len(lines) - end_offset:]
        if any(line.strip() for line in trailing):
            warnings.append(JUNK_AFTER_JSON % '\n'.join(trailing))
    return '\n'.join(lines[:len(lines) - end_offset]), warnings


def module_result(stdout: str, stderr: str) -> t.Dict[str, t.Any]:
    """The module's result from its output. Raises ValueError when stdout holds no JSON object."""
    text, json_warnings = filter_non_json_lines(stdout)
    result = json.loads(text)
    if not isinstance(result, dict):
        raise ValueError('the module printed JSON that is not an object: %s' % type(result).__name__)
    if json_warnings:
        warnings = result.get('warnings', [])
        if not isinstance(warnings, list):
            warnings = [warnings]
        result['warnings'] = warnings + json_warnings
    if stderr:
        result['stderr'] = stderr
    return result


def unparsable_result(cmd: str, stdout: str, stderr: str, msg: str) -> t.Dict[str, t.Any]:
    """Core's result for a module whose output is not a result (it died, or printed no JSON)."""
    return {'failed': True, 'cmd': cmd, 'data': stdout, 'stderr': stderr, 'msg': msg}
