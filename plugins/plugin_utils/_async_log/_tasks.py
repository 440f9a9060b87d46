# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the async_log tracker needs to know of a task, as plain values (built from a Task or by hand in tests)."""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_log._results import as_bool, as_number, is_template, literal, plain_copy

STATUS_ACTIONS = frozenset((
    'async_status',
    'ansible.builtin.async_status',
    'ansible.legacy.async_status',
    'asyncops.jobs.async_status',
))
ASYNCOPS_STATUS_ACTIONS = frozenset(('asyncops.jobs.async_status',))
# the task arguments the tracker reads (literal values only: templates are left unresolved)
STATUS_ARGS = ('jid', 'jids', 'mode', 'cleanup', 'wait_timeout', 'wait_for')


class TaskInfo(object):
    """A task's name, uuid, action, status arguments, async settings, delegation, become and no_log."""

    __slots__ = ('name', 'uuid', 'action', 'args', 'async_val', 'poll', 'delegate_to', 'become', 'become_user', 'no_log')

    def __init__(self, name: t.Optional[str] = None, uuid: t.Optional[str] = None, action: t.Optional[str] = None,
                 args: t.Optional[t.Mapping[str, t.Any]] = None, async_val: int = 0, poll: t.Optional[int] = None,
                 delegate_to: t.Optional[str] = None, become: t.Optional[bool] = None,
                 become_user: t.Optional[str] = None, no_log: bool = False) -> None:
        self.name = name
        self.uuid = uuid
        self.action = action
        self.args = dict(args or {})
        self.async_val = async_val or 0
        self.poll = poll
        self.delegate_to = delegate_to
        self.become = become
        self.become_user = become_user
        self.no_log = no_log

    @classmethod
    def from_task(cls, task: t.Any) -> 'TaskInfo':
        if task is None:
            return cls()
        if isinstance(task, TaskInfo):
            return task

        def attr(name: str, default: t.Any = None) -> t.Any:
            try:
                return getattr(task, name, default)
            except Exception:  # pylint: disable=broad-except
                return default

        name = None
        try:
            name = task.get_name()
        except Exception:  # pylint: disable=broad-except
            name = attr('name')
        raw_args = attr('args') or {}
        args = {}
        if isinstance(raw_args, dict):
            for key in STATUS_ARGS:
                if key in raw_args:
                    args[key] = plain_copy(raw_args[key])
        async_val = attr('async_val', 0)
        poll = attr('poll')
        become = attr('become')
        no_log = attr('no_log')
        return cls(
            name=to_text(name) if name is not None else None,
            uuid=attr('_uuid'),
            action=attr('action'),
            args=args,
            async_val=async_val if isinstance(async_val, int) else int(as_number(async_val) or 0),
            poll=poll if isinstance(poll, int) else (None if as_number(poll) is None else int(as_number(poll) or 0)),
            delegate_to=literal(attr('delegate_to')),
            become=become if isinstance(become, bool) else None,
            become_user=literal(attr('become_user')),
            # an untemplated no_log counts as set: hiding too much is the safe side
            no_log=True if is_template(no_log) else as_bool(no_log),
        )

    @property
    def is_status(self) -> bool:
        return self.action in STATUS_ACTIONS

    @property
    def is_asyncops_status(self) -> bool:
        return self.action in ASYNCOPS_STATUS_ACTIONS

    @property
    def is_polled_async(self) -> bool:
        return bool(self.async_val) and (self.poll is None or self.poll > 0)
