# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The JSON-lines event log: one JSON object per line, appended with ``O_APPEND`` and one ``write()``
per line, so several ``ansible-playbook`` runs can share one file."""

from __future__ import annotations

import json
import os
import threading
import typing as t

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._private_dirs import make_private_dirs


def _json_default(value: t.Any) -> str:
    text = to_text(value)  # type: str
    return text


def event_line(event: t.Mapping[str, t.Any]) -> str:
    """One JSON line (str, with the newline) for an event."""
    return json.dumps(event, ensure_ascii=False, separators=(', ', ': '), default=_json_default) + '\n'


class JsonLinesWriter(object):
    """Appends JSON lines to a file: O_APPEND, one write() per line, created 0600."""

    def __init__(self, path: str) -> None:
        self.path = os.path.expanduser(path)
        self._fd = None  # type: t.Optional[int]
        self._lock = threading.Lock()

    def open(self) -> 'JsonLinesWriter':
        with self._lock:
            if self._fd is None:
                parent = os.path.dirname(self.path)
                if parent:
                    make_private_dirs(parent)
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0)
                self._fd = os.open(self.path, flags, 0o600)
        return self

    def write(self, event: t.Mapping[str, t.Any]) -> None:
        data = event_line(event).encode('utf-8', 'replace')
        with self._lock:
            if self._fd is None:
                raise ValueError('log file %s is not open' % self.path)
            written = os.write(self._fd, data)
            if written != len(data):  # pragma: no cover - disk full and the like
                raise IOError('short write to %s (%d of %d bytes)' % (self.path, written, len(data)))

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                try:
                    os.close(self._fd)
                finally:
                    self._fd = None
