# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A supervised job's output: the streams kept in sidecars, lines, and progress found by progress_regex.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and ``_record``.
"""

from __future__ import annotations

import json
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


def _text(data: t.Union[bytes, bytearray], strip_empty_ends: bool = True) -> str:
    """Output bytes as the result's text; strip_empty_ends drops its trailing newlines, as ansible.builtin.command does."""
    data = bytes(data)
    if strip_empty_ends:
        data = data.rstrip(b'\r\n')
    return data.decode('utf-8', 'replace')


_SIDECAR_FLAGS = os.O_WRONLY | os.O_APPEND


def create_private(path: str) -> int:
    """Create path afresh (0600, O_EXCL), never following a link; a leftover at that name is replaced.

    Raises JobError when it cannot (_record.open_private says why).
    """
    try:
        return _record.open_private(path, _SIDECAR_FLAGS | os.O_CREAT | os.O_EXCL)
    except _record.JobNotFound:
        raise
    except _record.JobError:
        # something is at the name (a link included: unlink removes a link, not its target)
        try:
            os.unlink(path)
        except OSError:
            pass
        return _record.open_private(path, _SIDECAR_FLAGS | os.O_CREAT | os.O_EXCL)


class OutputStream(object):
    """One output stream of the job: the live sidecar and the tail kept for the result.

    The sidecar is appended to as output arrives; an append that would take it
    past twice the limit (the ceiling) is replaced by an atomic rewrite of the
    last ``limit`` bytes instead, so the file holds at least the tail and is
    never larger than the ceiling, not even for a moment; at the end it holds
    exactly the tail. The sidecar is created with O_EXCL and reopened through
    ``_record.open_private`` (O_NOFOLLOW, ours, one link): a link at its name
    is never followed.
    """

    def __init__(self, path: str, limit: int) -> None:
        self.path = path
        self.limit = limit
        self.ceiling = 2 * limit
        self.tail = bytearray()
        self.total = 0
        self.file_size = 0
        self.max_file_size = 0  # the largest the sidecar was (tests and measurements)
        try:
            self.fd = create_private(path)  # type: t.Optional[int]
        except _record.JobError:
            self.fd = None

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
        if self.file_size + len(data) > self.ceiling:
            self._rewrite()  # the tail already holds data (or its last limit bytes)
            return
        try:
            write_all(self.fd, data)
            self.file_size += len(data)
        except OSError:  # disk full: the tail in memory still makes the result
            close_fd(self.fd)
            self.fd = None
            return
        self.max_file_size = max(self.max_file_size, self.file_size)

    def _rewrite(self) -> None:
        try:
            _record.atomic_write(self.path, bytes(self.tail))
        except _record.JobError:
            return
        close_fd(self.fd)
        try:
            self.fd = _record.open_private(self.path, _SIDECAR_FLAGS)
        except _record.JobError:
            self.fd = None
        self.file_size = len(self.tail)
        self.max_file_size = max(self.max_file_size, self.file_size)

    def close(self) -> None:
        if self.fd is not None and self.file_size > len(self.tail):
            self._rewrite()
        close_fd(self.fd)
        self.fd = None

    def text(self) -> str:
        return _text(self.tail)

    def kept_text(self, skip: int, strip_empty_ends: bool = True) -> str:
        """The tail as text without its first skip bytes (the record's budget, see fit_output)."""
        return _text(self.tail[skip:], strip_empty_ends)


def encoded_cost(text: str) -> int:
    """Bytes the text and its lines (stdout and stdout_lines) take in a JSON record."""
    return len(json.dumps(text)) + len(json.dumps(text.splitlines()))


def _skip_to_fit(tail: bytes, budget: int, strip_empty_ends: bool) -> int:
    """The fewest bytes to drop from the head of tail so that its text and lines cost at most budget."""
    if encoded_cost(_text(tail, strip_empty_ends)) <= budget:
        return 0
    low, high = 0, len(tail)  # dropping high bytes always fits (an empty text costs 4)
    while low < high:
        middle = (low + high) // 2
        if encoded_cost(_text(tail[middle:], strip_empty_ends)) <= budget:
            high = middle
        else:
            low = middle + 1
    return high


def fit_output(tails: t.Sequence[bytes], budget: int, strip_empty_ends: bool = True) -> t.List[int]:
    """How many bytes to drop from the head of each tail so that all texts and lines cost at most budget.

    JSON escaping makes a byte cost up to 6 (binary, NUL) and every text is
    stored twice (as text and as lines): the tails of output_limit bytes can
    take 13 times that in a record. Each stream gets an equal share of the
    budget; what one does not need goes to the others.
    """
    costs = [encoded_cost(_text(tail, strip_empty_ends)) for tail in tails]
    if sum(costs) <= budget:
        return [0] * len(tails)
    shares = [0] * len(tails)
    left, open_ = budget, list(range(len(tails)))
    while open_:
        share = left // len(open_)
        small = [i for i in open_ if costs[i] <= share]
        if not small:
            for i in open_:
                shares[i] = share
            break
        for i in small:
            shares[i] = costs[i]
            left -= costs[i]
            open_.remove(i)
    return [_skip_to_fit(bytes(tail), share, strip_empty_ends) for tail, share in zip(tails, shares)]


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
