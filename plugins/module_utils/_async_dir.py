# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Where the job dir is for the user a task runs as, whether it can be trusted, and making sure it can hold records.

Private to the collection. Runs on the target (Python 3.8+) and imports only the
standard library and ``_record``.
"""

from __future__ import annotations

import collections
import os
import pwd
import re
import stat
import typing as t

from ansible_collections.asyncops.jobs.plugins.module_utils import _record

DEFAULT_ASYNC_DIR = '~/.ansible_async'
# In a module's environment: the shell option async_dir, ~ not expanded, as the action
# plugins of the collection and core (for its async_wrapper) put it there.
ASYNC_DIR_ENV = 'ANSIBLE_ASYNC_DIR'
# The task's own environment entry ANSIBLE_ASYNC_DIR, which ASYNC_DIR_ENV overrides; the
# action plugins pass it on under this name so async_status can search that directory too.
TASK_ASYNC_DIR_ENV = 'ASYNCOPS_TASK_ASYNC_DIR'

_VAR_RE = re.compile(r'\$(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|\{(?P<braced>[^}]*)\})')


def _expand(raw: str, environ: t.Mapping[str, str], home: t.Optional[str] = None) -> str:
    """os.path.expandvars and expanduser, from environ; ``~`` is home when given."""
    def var(m: t.Match[str]) -> str:
        return environ.get(m.group('name') or m.group('braced'), m.group(0))
    raw = _VAR_RE.sub(var, raw)
    if raw == '~' or raw.startswith('~/'):
        base = home if home is not None else (environ.get('HOME') or _passwd_home())
        if base:
            raw = base + raw[1:]
    else:
        raw = os.path.expanduser(raw)  # ~user
    return os.path.abspath(raw)


def _passwd_home() -> t.Optional[str]:
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return None


def resolve_async_dir(environ: t.Optional[t.Mapping[str, str]] = None) -> str:
    """The async dir: $ANSIBLE_ASYNC_DIR (of os.environ unless given), else ~/.ansible_async.

    ``~`` expands for the user this process runs as (the become user on a target).
    """
    return candidate_async_dirs(environ=environ)[0]


def restore_task_environment(environ: t.MutableMapping[str, str]) -> None:
    """Give environ back the task's own ANSIBLE_ASYNC_DIR, or none: what the task's jobs inherit.

    The action plugin's entry only carries the async dir to the module; a
    command of the task (an ansible-playbook, say) must not see it.
    """
    task_dir = environ.pop(TASK_ASYNC_DIR_ENV, None)
    if task_dir:
        environ[ASYNC_DIR_ENV] = task_dir
    else:
        environ.pop(ASYNC_DIR_ENV, None)


def candidate_async_dirs(explicit: t.Optional[str] = None,
                         environ: t.Optional[t.Mapping[str, str]] = None) -> t.List[str]:
    """The async dir, then where else the same setting may point.

    Core's wrapper expands ``~`` with $HOME while its status action asks the
    passwd entry; when the two differ (sudo keeping HOME, an overridden HOME)
    a record may sit in either place.
    """
    environ = os.environ if environ is None else environ
    raw = explicit or environ.get(ASYNC_DIR_ENV) or DEFAULT_ASYNC_DIR
    # environ may be a task's environment on top of this process's
    variables = collections.ChainMap(dict(environ), os.environ)  # type: t.Mapping[str, str]
    dirs = [_expand(raw, variables)]
    passwd_home = _passwd_home()
    if passwd_home:
        other = _expand(raw, variables, passwd_home)
        if other not in dirs:
            dirs.append(other)
    return dirs


PRIVATE_MODE = 0o700
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _describe(st: os.stat_result) -> str:
    return 'owner %s, mode %04o' % (_record.user_name(st.st_uid), stat.S_IMODE(st.st_mode))


def untrusted_dir_reason(path: str, st: os.stat_result) -> t.Optional[str]:
    """Why a directory with lstat st is no async dir for this task's user, as a message; None when it is ours."""
    euid = os.geteuid()
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = '?'
        return ('async dir %s is a symbolic link (to %s, made by %s); refusing to follow it: whoever can change '
                'the link chooses where job records are read and written. Make it a real directory of %s, or set '
                'ansible_async_dir to one' % (path, target, _record.user_name(st.st_uid), _record.user_name(euid)))
    if not stat.S_ISDIR(st.st_mode):
        return 'async dir %s exists but is not a directory (%s)' % (path, _describe(st))
    if st.st_uid != euid:
        return ('async dir %s belongs to %s, not to %s, the user this task runs as (mode %04o); refusing to read or '
                'write job records there: its owner could plant or swap them. Run the task as %s with become_user, '
                'or set ansible_async_dir to a directory of %s'
                % (path, _record.user_name(st.st_uid), _record.user_name(euid), stat.S_IMODE(st.st_mode),
                   _record.user_name(st.st_uid), _record.user_name(euid)))
    return None


def check_async_dir(path: str, tighten: bool = True) -> bool:
    """Whether the async dir path exists (False: it does not); JobError when it cannot be trusted.

    Trusted: a real directory (not a symbolic link) owned by the effective
    user. One we own that its group or others may enter is tightened to 0700
    (core itself creates ~/.ansible_async 0755; its records stay readable)
    unless tighten is False. Every reader and writer of a dir's jobs calls
    this first (ensure_async_dir for writers).
    """
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        raise _record.JobError('cannot access async dir %s: %s' % (path, e.strerror or e), path) from None
    reason = untrusted_dir_reason(path, st)
    if reason is not None:
        raise _record.JobError(reason, path)
    if tighten and stat.S_IMODE(st.st_mode) & 0o077:
        _tighten(path)
    return True


def _tighten(path: str) -> None:
    """chmod 0700 the directory path, through an fd opened without following a link (no swap in between)."""
    try:
        fd = os.open(path, _DIR_FLAGS)
    except OSError as e:
        raise _record.JobError('cannot open async dir %s to make it private (0700): %s'
                               % (path, e.strerror or e), path) from None
    try:
        st = os.fstat(fd)
        reason = untrusted_dir_reason(path, st)
        if reason is not None:
            raise _record.JobError(reason, path)
        os.fchmod(fd, PRIVATE_MODE)
    except OSError as e:
        raise _record.JobError('cannot make async dir %s private (chmod 0700): %s; other users can reach the job '
                               'records there' % (path, e.strerror or e), path) from None
    finally:
        os.close(fd)


def ensure_async_dir(path: str) -> str:
    """Create the async dir 0700 if missing; else check it can be trusted (check_async_dir) and holds records."""
    if not check_async_dir(path):
        try:
            os.makedirs(path, mode=PRIVATE_MODE)
        except FileExistsError:
            pass  # made in between: judged below
        except OSError as e:
            raise _record.JobError('cannot create async dir %s: %s' % (path, e.strerror or e), path) from e
        if not check_async_dir(path):
            raise _record.JobError('async dir %s vanished while it was created' % path, path)
        _tighten(path)  # whatever the umask
    if not os.access(path, os.W_OK | os.X_OK):
        raise _record.JobError('async dir %s is not writable by %s' % (path, _record.user_name(os.geteuid())), path)
    return path
