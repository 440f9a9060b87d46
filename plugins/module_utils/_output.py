# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A supervised job's output: the streams kept in sidecars, lines, and progress found by progress_regex.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and ``_record``.
"""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _record

LINE_MAX = 65536  # a line longer than this is cut to its end before progress_regex sees it


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def close_fd(fd: t.Optional[int]) -> None:
    if fd is None:
        return
    try:
        os.close(fd)
    except OSError:
        pass


def _text(data: t.Union[bytes, bytearray]) -> str:
    return bytes(data).rstrip(b'\r\n').decode('utf-8', 'replace')


class OutputStream(object):
    """One output stream of the job: the live sidecar and the tail kept for the result.

    The sidecar is appended to as output arrives; when it grows past twice the
    limit it is replaced (atomically) by the last ``limit`` bytes, so it holds
    at least the tail and never more than twice the limit; at the end it holds
    exactly the tail.
    """

    def __init__(self, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.tail = bytearray()
        self.total = 0
        self.file_size = 0
        self.fd = self._open(truncate=True)

    def _open(self, truncate: bool) -> t.Optional[int]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, 'O_CLOEXEC', 0)
        if truncate:
            flags |= os.O_TRUNC
        try:
            return os.open(self.path, flags, 0o600)
        except OSError:
            return None

    @property
    def dropped(self) -> int:
        return self.total - len(self.tail)

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        self.tail += data
        if len(self.tail) > self.limit:
            del self.tail[:len(self.tail) - self.limit]
        if self.fd is None:
            return
        try:
            write_all(self.fd, data)
            self.file_size += len(data)
        except OSError:  # disk full: the tail in memory still makes the result
            close_fd(self.fd)
            self.fd = None
            return
        if self.file_size > 2 * self.limit:
            self._rewrite()

    def _rewrite(self) -> None:
        try:
            _record.atomic_write(self.path, bytes(self.tail))
        except _record.JobError:
            return
        close_fd(self.fd)
        self.fd = self._open(truncate=False)
        self.file_size = len(self.tail)

    def close(self) -> None:
        if self.fd is not None and self.file_size > len(self.tail):
            self._rewrite()
        close_fd(self.fd)
        self.fd = None

    def text(self) -> str:
        return _text(self.tail)


class LineSplitter(object):
    """Cut a byte stream into lines at \\n or \\r (progress bars redraw with \\r)."""

    def __init__(self) -> None:
        self.buf = b''

    def feed(self, data: bytes) -> t.List[str]:
        self.buf += data
        parts = re.split(b'[\r\n]', self.buf)
        self.buf = parts.pop()
        if len(self.buf) > LINE_MAX:
            self.buf = self.buf[-LINE_MAX:]
        return [p.decode('utf-8', 'replace') for p in parts if p]

    def finish(self) -> t.List[str]:
        rest, self.buf = self.buf, b''
        return [rest.decode('utf-8', 'replace')] if rest else []


def compile_progress_regex(pattern: t.Optional[str]) -> t.Optional[t.Pattern[str]]:
    """Compile a progress_regex; it needs a named group percent, or current (with total)."""
    if not pattern:
        return None
    try:
        regex = re.compile(pattern)
    except re.error as e:
        raise ValueError('progress_regex %r is not a valid regular expression: %s' % (pattern, e))
    groups = set(regex.groupindex)
    if 'percent' not in groups and 'current' not in groups:
        raise ValueError('progress_regex %r needs a named group percent, e.g. (?P<percent>[0-9.]+)%%, '
                         'or current (with total)' % pattern)
    return regex


def match_progress(regex: t.Pattern[str], line: str) -> t.Optional[_record.Progress]:
    """The progress a progress_regex finds in one output line, or None."""
    m = regex.search(line)
    if not m:
        return None
    found = {k: v for k, v in m.groupdict().items() if v is not None}
    if 'percent' not in found and 'current' not in found:
        return None
    data = _record.normalize_progress(found)
    if data['percent'] is None and data['current'] is None:
        return None
    return data
