# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of asyncops.jobs.async_status.

One round trip per call: the async dir goes to the module unexpanded, in its
environment (the module expands ``~`` on the target for the user it runs
as), the options are checked here against the same spec the module uses,
and ``query`` runs here, on the controller, over the jobs the module returns.

A task ``environment`` entry ``ANSIBLE_ASYNC_DIR`` (how cores before 2.8 set
the job directory) reaches the module as ``ASYNCOPS_TASK_ASYNC_DIR``, and the
module searches that directory after the one of the shell option.
"""

from __future__ import annotations

import importlib
import json
import types
import typing as t

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status
from ansible_collections.asyncops.jobs.plugins.plugin_utils._async_dir import execute_module_with_async_dir

MODULE = 'asyncops.jobs.async_status'


def _load_jmespath() -> t.Tuple[t.Optional[types.ModuleType], t.Tuple[t.Type[Exception], ...]]:
    """The jmespath library and its error class, when the controller has it (only query needs it)."""
    try:
        library = importlib.import_module('jmespath')
        exceptions = importlib.import_module('jmespath.exceptions')
    except ImportError:  # pragma: no cover - depends on the controller
        return None, ()
    return library, (exceptions.JMESPathError,)


jmespath, JMESPATH_ERRORS = _load_jmespath()
HAS_JMESPATH = jmespath is not None


class QueryError(Exception):
    pass


def compile_query(expression: str) -> t.Any:
    """Compile a JMESPath expression or fail with a message that says what to do."""
    if not HAS_JMESPATH or jmespath is None:
        raise QueryError("%s: the option 'query' needs the Python library jmespath on the controller "
                         "(pip install jmespath, in the Python that runs ansible)" % MODULE)
    try:
        return jmespath.compile(expression)
    except JMESPATH_ERRORS as e:
        raise QueryError('%s: invalid JMESPath query %r: %s' % (MODULE, expression, e)) from None


def apply_query(compiled: t.Any, expression: str, jobs: t.List[t.Any]) -> t.Any:
    # JMESPath checks types by name: give it plain JSON types, not the controller's tagged ones
    data = json.loads(json.dumps(jobs, default=str))
    try:
        return compiled.search(data)
    except JMESPATH_ERRORS as e:
        raise QueryError('%s: JMESPath query %r failed on the jobs: %s' % (MODULE, expression, e)) from None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp: t.Optional[str] = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        self._supports_check_mode = True
        self._supports_async = False
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp

        # Failures found here are returned, not raised, so that failed_when and ignore_errors apply to them
        try:
            dummy, args = self.validate_argument_spec(
                argument_spec=_status.ARGUMENT_SPEC,
                mutually_exclusive=_status.MUTUALLY_EXCLUSIVE,
                required_if=_status.REQUIRED_IF,
            )
        except AnsibleActionFail as e:
            # core names the plugin it loaded, this routed _async_status, where the task names the module
            msg = to_text(getattr(e, 'message', None) or e).replace('(%s)' % self._load_name, '(asyncops.jobs.async_status)')
            result.update(failed=True, msg=msg)
            return result
        mode = args['mode']
        single = mode in _status.JOB_MODES and args.get('jids') is None

        if mode in _status.JOB_MODES:
            # refused here already, with the module's message: a NUL, for one, would not even reach the
            # module's code (AnsibleModule fails to log its arguments to syslog first)
            for jid in ([args['jid']] if args.get('jid') is not None else []) + list(args.get('jids') or []):
                try:
                    _record.validate_jid(jid)
                except _record.InvalidJid as e:
                    result.update(failed=True, msg='%s: %s' % (MODULE, e.msg))
                    return result

        query = args.get('query')
        compiled = None
        if query is not None:
            if single or mode == _status.PRUNE:
                result.update(failed=True, msg="%s: 'query' applies to the jobs of mode=list and of jids; this task "
                                               "has %s" % (MODULE, 'mode=prune' if mode == _status.PRUNE else 'one jid'))
                return result
            try:
                compiled = compile_query(query)
            except QueryError as e:
                result.update(failed=True, msg=str(e))
                return result

        if single:
            # the built-in's return shape
            result['started'] = result['finished'] = False
            result['stdout'] = result['stderr'] = ''
            result['stdout_lines'] = result['stderr_lines'] = []
            if _record.is_check_mode_jid(args['jid']):
                # a launch in check mode started nothing: nothing to look for on the host, no module run
                result.update(_record.not_started_result(args['jid']))
                return result

        # only what the task gave (the module checks the spec again and sets the defaults itself)
        module_args = dict((k, v) for k, v in self._task.args.items() if k != 'query')

        jids = _status.dedupe_jids(args['jids']) if mode in _status.JOB_MODES and args.get('jids') else []
        started_jids = [jid for jid in jids if not _record.is_check_mode_jid(jid)]
        if len(started_jids) < len(jids):
            result.update(self._with_not_started(mode, args, jids, started_jids, module_args, task_vars))
        else:
            result = t.cast(t.Dict[str, t.Any], merge_hash(result, execute_module_with_async_dir(
                self, module_name=MODULE, module_args=module_args, task_vars=task_vars)))

        # started/finished were ints once; the finished/started tests want bools
        for key in ('started', 'finished'):
            if key in result:
                result[key] = bool(result[key])

        if compiled is not None and isinstance(result.get('jobs'), list):
            try:
                result['query_result'] = apply_query(compiled, query, result['jobs'])
            except QueryError as e:
                result.update(failed=True, msg=str(e))
        return result

    def _with_not_started(self, mode: str, args: t.Mapping[str, t.Any], jids: t.List[str], started_jids: t.List[str],
                          module_args: t.Dict[str, t.Any], task_vars: t.Optional[t.Dict[str, t.Any]]) -> t.Dict[str, t.Any]:
        """The result of jids of which some were launched in check mode.

        Those are answered here, untouched on the host; the others go to the module. The jobs are then
        merged in the order given and the summary, state, started, finished, changed and failed are
        computed again over them all.
        """
        views = []  # type: t.List[t.Dict[str, t.Any]]
        result = {}  # type: t.Dict[str, t.Any]
        if started_jids:
            result = execute_module_with_async_dir(self, module_name=MODULE, module_args=dict(module_args, jids=started_jids),
                                                   task_vars=task_vars)
            if not isinstance(result.get('jobs'), list):
                return result  # the module failed as a whole (a job not found, a bad option): its failure stands
            views = result['jobs']
        try:
            merged = _status.with_not_started(jids, views)
        except ValueError:
            return dict(result, failed=True, msg='%s: the module returned %d jobs for %d job ids'
                        % (MODULE, len(views), len(started_jids)))
        for key in ('failed', 'msg', 'skipped'):
            result.pop(key, None)
        result.update(_status.many_result(mode, merged, args['fail_on_job_failure']))
        return result
