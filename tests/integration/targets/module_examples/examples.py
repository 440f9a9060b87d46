# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run each module's EXAMPLES block top to bottom against localhost.

    python examples.py --work WORK --www WWW --port PORT [--inventory INV] MODULE_FILE...

For each module file: the YAML of its ``EXAMPLES`` string (read with ``ast``,
nothing is imported) is rewritten by the rules below, indented under
``tasks:`` of one play (localhost, connection local, the controller's Python,
``ansible_async_dir`` in DIR = WORK/<module>) and run with ansible-playbook,
as written, top to bottom; then the jobs it left running are killed
(cleanup.yml). A failed task
is named with its module and printed with its message; the exit code is 1 when
any example failed, 0 otherwise.

The rewriting rules (few and generic; each example stays as written otherwise):

1. URLs: the scheme and host of every ``http(s)://`` URL become
   ``http://127.0.0.1:PORT``, the loopback server runme.sh starts, which serves
   the files of WWW by name. The file each URL names is created there (1 MiB of
   random bytes); a file whose name ends in ``SUMS`` (``SHA256SUMS``) is a
   checksum list of the other files, made with the algorithm its name starts
   with.
2. Literal checksums: ``<algorithm>:<hex digest>`` in a task with a ``url``
   becomes the digest of the file that URL serves.
3. Paths: every absolute path moves under DIR/root (``/opt/app`` becomes
   ``DIR/root/opt/app``), so no example touches the host. Each one's parent
   directory is created, and the path itself when it ends in ``/`` or is a
   ``chdir``.
4. Programs: the program of each command an example runs (``cmd``, ``argv``,
   a one-line ``shell``, free-form ``command``/``shell``, each ``batch`` item)
   is replaced by a stub that runs for STUB_SECONDS and exits 0: a moved
   absolute path gets the stub at its new place, a bare name (``make``) gets
   one in DIR/bin, first on the PATH of ansible-playbook. STUB_SECONDS is a
   stand-in for the work, long enough that the job an example cancels is
   still running when it does (the task before starts it and returns at
   once); multi-line scripts run as written.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import re
import subprocess
import sys

import yaml

STUB_SECONDS = 5
SERVED_SIZE = 1024 * 1024
HASHES = ('md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512')
COMMAND_MODULES = ('command', 'shell', 'ansible.builtin.command', 'ansible.builtin.shell',
                   'ansible.legacy.command', 'ansible.legacy.shell')
RUN_MODULES = ('asyncops.jobs.run', 'run')

_URL_RE = re.compile(r'https?://[^/\s\'"]+')
# an absolute path: not inside a word, a URL or another path
_PATH_RE = re.compile(r'(?<![\w/.:~$-])/[\w.+-][^\s\'",;)>}\]]*')
_LITERAL_CHECKSUM_RE = re.compile(r'\A(%s):([0-9a-fA-F]{32,128})\Z' % '|'.join(HASHES))
_STUB = '''#!/bin/sh
# stand-in for a program an EXAMPLES task runs (tests/integration/targets/module_examples)
sleep %d
echo "stub: $0 $*"
'''


def examples_of(module_file):
    """The EXAMPLES string of a module file, read without importing it."""
    with open(module_file) as f:
        tree = ast.parse(f.read(), module_file)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'EXAMPLES' for target in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit('%s has no EXAMPLES' % module_file)


def module_name(module_file):
    return 'asyncops.jobs.' + os.path.splitext(os.path.basename(module_file))[0]


class Rewriter(object):
    """Applies the rules of the module docstring to one EXAMPLES block."""

    def __init__(self, work, www, port):
        self.work = work
        self.root = os.path.join(work, 'root')
        self.www = www
        self.bin = os.path.join(work, 'bin')
        self.base_url = 'http://127.0.0.1:%d' % port

    def rewrite(self, text):
        """Rules 1 to 4 over the text of an EXAMPLES block; returns the new text."""
        text = _URL_RE.sub(self.base_url, text)
        text = _PATH_RE.sub(lambda m: self.root + m.group(0), text)
        tasks = yaml.safe_load(text) or []
        for task in tasks:
            self._serve_urls(task)
        self._make_sums()
        for task in tasks:
            text = self._fix_checksums(task, text)
        for key, value in _walk(tasks):
            self._make_dirs(key, value)
        for task in tasks:
            for program in _programs(task):
                if program:
                    self._stub(program)
        return text

    def _served_path(self, url):
        # the server serves the files of www by their name, whatever the directories of the URL
        return os.path.join(self.www, os.path.basename(url.split('?')[0]))

    def _serve_urls(self, task):
        for _key, value in _walk(task):
            for url in re.findall(re.escape(self.base_url) + r'/[^\s\'"]*', value):
                path = self._served_path(url)
                if not os.path.exists(path):
                    with open(path, 'wb') as f:
                        f.write(b'' if path.endswith('SUMS') else os.urandom(SERVED_SIZE))

    def _make_sums(self):
        files = []
        for top, _dirs, names in os.walk(self.www):
            files.extend(os.path.join(top, name) for name in names)
        for path in files:
            name = os.path.basename(path)
            algorithm = next((h for h in HASHES if name.lower().startswith(h)), None)
            if not name.endswith('SUMS') or algorithm is None:
                continue
            with open(path, 'w') as f:
                for other in sorted(files):
                    if not other.endswith('SUMS'):
                        f.write('%s  %s\n' % (_digest(algorithm, other), os.path.basename(other)))

    def _fix_checksums(self, task, text):
        args = _module_args(task)
        if not isinstance(args, dict) or not isinstance(args.get('url'), str):
            return text
        match = _LITERAL_CHECKSUM_RE.match(str(args.get('checksum', '')))
        if match:
            text = text.replace(match.group(2), _digest(match.group(1), self._served_path(args['url'])))
        return text

    def _make_dirs(self, key, value):
        for path in re.findall(re.escape(self.root) + r'/[^\s\'",;)>}\]]*', value):
            if path.endswith('/') or key == 'chdir':
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)

    def _stub(self, program):
        if '{{' in program or '{%' in program:
            return
        if os.path.isabs(program):
            if not program.startswith(self.root + '/'):
                return
            path = program
        else:
            path = os.path.join(self.bin, program)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(_STUB % STUB_SECONDS)
        os.chmod(path, 0o755)


def _digest(algorithm, path):
    h = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()


def _walk(node, key=None):
    """(key, string) of every string in a YAML tree (key: the nearest mapping key)."""
    if isinstance(node, str):
        yield key, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _walk(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, key)


def _module_args(task):
    for name in COMMAND_MODULES + RUN_MODULES + ('asyncops.jobs.download',):
        if name in task:
            return task[name]
    return None


def _first_word(command):
    words = command.split() if isinstance(command, str) and '\n' not in command.strip() else []
    return words[0] if words else None


def _programs(task):
    """The programs a task runs, per rule 4."""
    for name in COMMAND_MODULES:
        if name in task:
            args = task[name]
            yield _first_word(args.get('cmd') if isinstance(args, dict) else args)
    for name in RUN_MODULES:
        if isinstance(task.get(name), dict):
            args = task[name]
            for item in [args] + [i for i in args.get('batch') or [] if isinstance(i, dict)]:
                argv = item.get('argv')
                yield argv[0] if isinstance(argv, list) and argv and isinstance(argv[0], str) else None
                yield _first_word(item.get('cmd'))
                yield _first_word(item.get('shell'))


def playbook_text(module, examples, async_dir):
    """One play around the (rewritten) examples, which stay as they are, indented under tasks."""
    tasks = '\n'.join(('    ' + line) if line.strip() else '' for line in examples.strip('\n').splitlines())
    return '''---
- name: EXAMPLES of %s
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    ansible_async_dir: %s
  tasks:
%s
''' % (module, async_dir, tasks)


def failed_tasks(output):
    """(task name, message) of each failed task in ansible-playbook's default output."""
    failures, task = [], None
    lines = output.splitlines()
    for index, line in enumerate(lines):
        heading = re.match(r'TASK \[(.*)\] \**$', line)
        if heading:
            task = heading.group(1)
        elif re.match(r'(fatal|failed): \[', line):
            block = '\n'.join([line] + lines[index + 1:index + 40])
            msg = re.search(r'"msg": "((?:[^"\\]|\\.)*)"', block)
            failures.append((task, msg.group(1) if msg else line))
        elif re.match(r'ERROR! |\[ERROR\]: ', line) and task is None:
            failures.append(('(the playbook did not load)', line))
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work', required=True, help='a scratch directory of the test (made if missing)')
    parser.add_argument('--www', required=True, help='the directory the loopback server serves')
    parser.add_argument('--port', required=True, type=int, help='port of the loopback server')
    parser.add_argument('--inventory', default='localhost,')
    parser.add_argument('module_files', nargs='+')
    options = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    failures = []
    for module_file in options.module_files:
        module = module_name(module_file)
        work = os.path.join(os.path.abspath(options.work), module.rsplit('.', 1)[1])
        os.makedirs(work, exist_ok=True)
        text = Rewriter(work, os.path.abspath(options.www), options.port).rewrite(examples_of(module_file))
        playbook = os.path.join(work, 'examples.yml')
        async_dir = os.path.join(work, 'async')
        with open(playbook, 'w') as f:
            f.write(playbook_text(module, text, async_dir))
        env = dict(os.environ, PATH=os.path.join(work, 'bin') + os.pathsep + os.environ.get('PATH', ''),
                   ANSIBLE_NOCOLOR='1', ANSIBLE_CALLBACK_RESULT_FORMAT='json')
        print('=== %s: %s' % (module, playbook), flush=True)
        proc = subprocess.run(['ansible-playbook', '-i', options.inventory, playbook], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, check=False)
        print(proc.stdout, flush=True)
        found = failed_tasks(proc.stdout)
        if proc.returncode != 0 and not found:
            found = [('(unknown)', 'ansible-playbook exited %d' % proc.returncode)]
        failures.extend((module, task, msg) for task, msg in found)
        # the jobs the examples left running (a background job nobody waits for)
        subprocess.run(['ansible-playbook', '-i', options.inventory, os.path.join(here, 'cleanup.yml'),
                        '-e', 'examples_async_dir=' + async_dir], env=env, check=False)
    for module, task, msg in failures:
        print('FAIL: EXAMPLES of %s, task %r: %s' % (module, task, msg))
    if not failures:
        print('ok: every example of %s ran' % ', '.join(module_name(m) for m in options.module_files))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
