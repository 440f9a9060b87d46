#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: async_status
short_description: Status, wait, kill, list and prune of asynchronous jobs
version_added: 0.1.0
description:
  - A drop-in replacement for M(ansible.builtin.async_status). It takes the same options (O(jid), O(mode=status),
    O(mode=cleanup)) and returns the same keys (RV(ansible_job_id), RV(started), RV(finished), RV(results_file),
    RV(erased), RV(stdout), RV(stderr) and the job's own result once it has finished, untouched, with the same values),
    so a playbook written for the built-in runs unchanged with the fully qualified name swapped, including a loop
    C(until) the result C(is finished). Everything this module adds is under the one key RV(asyncops).
  - It reads jobs started by the built-in C(async) keyword and jobs started by this collection's launchers
    (M(asyncops.jobs.run), M(asyncops.jobs.download)).
  - It finds the job directory the way ansible-core does (the shell option C(async_dir), variable
    C(ansible_async_dir), default C(~/.ansible_async)), with C(~) expanded on the target for the user the task runs
    as, so it finds jobs under C(become), C(become_user), C(delegate_to) and pipelining. It also looks where the
    built-in wrapper writes when C(HOME) differs from the passwd home of that user, and in a directory set with a task
    C(environment) entry C(ANSIBLE_ASYNC_DIR).
  - One status call is one round trip to the target when pipelining is on.
  - New modes. V(wait) blocks on the target until the job ends (seen within a fraction of a second), V(kill) stops a
    job (SIGTERM to its process group, a grace period, then SIGKILL), V(list) lists every job with its state, age,
    progress and size, V(prune) removes finished jobs older than an age.
  - Several jobs at once with O(jids), with a summary of their states, and a JMESPath O(query) over the jobs on the
    controller.
  - A job whose record says running while none of its processes is alive (killed with C(kill -9), the OOM killer, a
    reboot) is reported finished and failed, in state C(lost), instead of running forever.
  - Job ids are checked before any path is built from them, so a job id such as C(../file) can never reach a file
    outside the job directory.
options:
  jid:
    description:
      - The job id of one job, as returned by a task with C(async) and C(poll=0) (RV(ansible_job_id)) or by this
        collection's launchers.
      - A job id has the shape core makes (C(j123456789.4242), older cores C(123456789.4242)); anything else (a slash,
        C(..), whitespace, a NUL) is refused before a path is built.
      - Exactly one of O(jid) and O(jids) is required with O(mode=status), O(mode=wait), O(mode=kill) and
        O(mode=cleanup).
      - A check-mode job id (C(j0.<n>)), which M(asyncops.jobs.run) and M(asyncops.jobs.download) return in check mode
        for a job they did not start, is answered in every mode, in check mode or not, as not started (RV(skipped),
        RV(finished=true), RV(started=false), C(asyncops.state=not_started)) on the controller, without touching the
        target, so that a start-then-wait pair passes C(--check).
    type: str
  jids:
    description:
      - Several job ids. The result then holds one entry per job in RV(jobs) (in the order given, duplicates dropped),
        RV(jobs_by_jid) and RV(summary) instead of one job's keys at the top level.
      - Works with O(mode=status), O(mode=wait), O(mode=kill) and O(mode=cleanup).
      - Check-mode job ids among them are answered as for O(jid), in their place in RV(jobs); only the others are
        looked for on the target (and waited for; a wait for V(any) job waits for one of those).
    type: list
    elements: str
  mode:
    description:
      - V(status) returns the state of the job (the default, as with the built-in).
      - V(cleanup) removes the job's record and its sidecar files whatever the state of the job, as the built-in does;
        sidecars left without a record are removed too.
      - V(wait) blocks on the target until the job finishes (or, with O(jids), all or any of the jobs, see
        O(wait_for)) or O(wait_timeout) seconds pass, and returns what V(status) returns then, with
        RV(finished=false) if the wait ran out. A job that dies while it is waited for ends the wait as C(lost).
      - V(kill) stops a running job. For a job of this collection it tells the job's supervisor (SIGUSR1) that the job
        is killed from outside, sends SIGTERM to the job's process group, waits O(kill_grace) seconds for it to exit,
        sends SIGKILL to what is left and returns the final record. For a job of the built-in C(async) keyword it
        stops the wrapper's watcher (so it never writes C(Timeout exceeded) later), kills the module's process group
        the same way and writes the record C(killed). A PID is only signalled after checking that it is still the job's
        process (not a reused PID). Killing a job that has finished changes nothing and says so.
      - V(list) lists every job of the job directory with its state, age, elapsed time, progress and size; files that
        are not jobs of this shape (stray temp files, sidecars without a record, damaged records) are listed apart in
        RV(garbage).
      - V(prune) removes the records and sidecars of finished (and lost) jobs whose last activity is older than
        O(max_age), and stray temp files and orphaned sidecars older than both O(max_age) and one hour. It never
        removes a running job.
    type: str
    choices: [ status, cleanup, wait, kill, list, prune ]
    default: status
  wait_timeout:
    description:
      - With O(mode=wait), the most seconds to wait. The task then returns the status of the job(s), with
        RV(finished=false) when they are still running; it does not fail for that (use C(failed_when) or C(until)).
      - V(0) returns at once, like O(mode=status).
      - Long waits keep one connection open without traffic; raise the connection's timeouts if a firewall drops idle
        connections.
    type: float
    default: 300
  wait_for:
    description:
      - With O(mode=wait) and O(jids), whether to wait for V(all) jobs to finish or for V(any) one of them.
    type: str
    choices: [ all, any ]
    default: all
  kill_grace:
    description:
      - With O(mode=kill), the seconds between SIGTERM and SIGKILL (the name the launchers use for the same
        idea, see M(asyncops.jobs.run)).
    type: float
    default: 5
  cleanup:
    description:
      - With O(mode=status) or O(mode=wait), remove the record and the sidecars of each job that has finished (a
        running job is left alone). The removed record is returned in RV(erased), every file removed in
        RV(asyncops.removed_files).
    type: bool
    default: false
  tail:
    description:
      - The number of last lines of the job's live output (its C(<jid>.out) and C(<jid>.err) sidecars) returned in
        RV(asyncops.stdout_tail) and RV(asyncops.stderr_tail). V(0) returns none.
      - The sidecars are found from the job id only (never from paths the record names), and only read when they are
        regular files of the user the task runs as (no link is followed).
    type: int
    default: 10
  state_filter:
    description:
      - With O(mode=list), list only the jobs in these states.
      - A filter of the list, not a state to bring jobs to as the C(state) of other modules is; hence not called
        C(state).
    type: list
    elements: str
    choices: [ running, succeeded, failed, timeout, killed, lost ]
  max_age:
    description:
      - With O(mode=prune) (where it is required), the age of the jobs to remove, counted from their last activity
        (the newest of the record and its sidecars).
      - Seconds (V(600)) or a duration with units C(s), C(m), C(h), C(d), C(w) (V(30m), V(2h), V(7d), V(1h30m)).
    type: raw
  fail_on_job_failure:
    description:
      - With O(mode=status) or O(mode=wait), fail the task when a job that has finished failed (its result says so,
        or its state is C(failed), C(timeout), C(killed) or C(lost)), as the built-in does for one job.
      - With V(false) the task succeeds. For one O(jid) the result's C(failed) is then V(false),
        RV(asyncops.job_failed) is V(true) when the job failed and RV(asyncops.state) tells how it ended; with O(jids),
        RV(summary), RV(state) and each entry's C(asyncops.state) tell what happened.
    type: bool
    default: true
  query:
    description:
      - A JMESPath expression applied on the controller to the list of jobs that O(mode=list) and O(jids) return
        (RV(jobs)); the outcome is returned in RV(query_result). For example, with O(mode=list)
        V([?state=='running' && elapsed > `600`].ansible_job_id); with O(jids), whose entries are job results,
        V([?asyncops.state=='running'].ansible_job_id).
      - Needs the Python library C(jmespath) on the controller. A missing library or a bad expression fails the task
        before anything runs on the target.
    type: str
notes:
  - The job directory C(async_dir) is resolved per host and expanded for the user the module runs as; a job started
    with C(become_user=X) is found by a status task that also runs as C(X).
  - The result rule. For one job the top-level keys of the result are exactly the job's own result plus the keys
    M(ansible.builtin.async_status) adds (RV(ansible_job_id), RV(started), RV(finished), RV(results_file),
    RV(erased), RV(stdout), RV(stderr), RV(stdout_lines), RV(stderr_lines)), with the same values; the job's own
    C(state), C(elapsed), C(msg), C(rc) are never changed. Everything this module adds is under RV(asyncops). A
    playbook that read C(r.state) before reads C(r.asyncops.state) (see the migration note in the collection's
    C(docs/async_status.md)).
  - The jobs of this collection record the state, timing and process ids in an C(asyncops) block of the record; it is
    returned under RV(asyncops) with what this module computes over it.
  - For a job of the built-in C(async) keyword that is still running, RV(asyncops.elapsed) and
    RV(asyncops.time_limit) come from the job's processes (Linux C(/proc)); once it has finished,
    RV(asyncops.elapsed) comes from the C(delta) of its result when it has one and is V(null) otherwise.
  - With O(mode=cleanup) the result reports C(changed=false), as the built-in does; what it removed is listed in
    RV(asyncops.removed_files).
requirements:
  - jmespath (on the controller, only for O(query))
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - Every mode reports what it would do and changes nothing (no signal is sent, no file is removed).
      - A check-mode job id (see O(jid)) is answered as not started in any mode, in check mode or not.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
seealso:
  - module: ansible.builtin.async_status
  - module: asyncops.jobs.run
  - ref: playbooks_async
    description: Asynchronous actions and polling.
author:
  - asyncops.jobs developers (@asyncops)
"""

EXAMPLES = r"""
- name: Start a long task in the background
  ansible.builtin.command: /usr/local/bin/migrate-database
  async: 3600
  poll: 0
  register: migration

# As with ansible.builtin.async_status
- name: Poll until it has finished
  asyncops.jobs.async_status:
    jid: "{{ migration.ansible_job_id }}"
  register: job
  until: job is finished
  retries: 360
  delay: 10

# What this module adds is under asyncops; the job's own keys stay at the top level
- name: Show the progress and the last lines of output of a running job
  asyncops.jobs.async_status:
    jid: "{{ migration.ansible_job_id }}"
    tail: 5
  register: job

- name: Print them
  ansible.builtin.debug:
    msg: >-
      {{ job.asyncops.state }} after {{ job.asyncops.elapsed }}s:
      {{ (job.asyncops.progress or {}).percent | default('?') }}%
      {{ job.asyncops.stdout_tail | default([]) | last | default('') }}

# The same as the poll above in one round trip: the end of the job is seen within a fraction of a second
- name: Wait for it and remove its record
  asyncops.jobs.async_status:
    jid: "{{ migration.ansible_job_id }}"
    mode: wait
    wait_timeout: 3600
    cleanup: true
  register: job
  failed_when: job is failed or not job.finished

- name: Start several jobs
  ansible.builtin.command: "/usr/local/bin/build {{ item }}"
  async: 1800
  poll: 0
  loop: [a, b, c]
  register: builds

- name: Wait for all of them; do not fail the task if one failed
  asyncops.jobs.async_status:
    jids: "{{ builds.results | map(attribute='ansible_job_id') }}"
    mode: wait
    wait_for: all
    wait_timeout: 1800
    fail_on_job_failure: false
  register: all_builds

- name: Report them
  ansible.builtin.debug:
    msg: >-
      {{ all_builds.summary.succeeded }} of {{ all_builds.summary.total }} builds succeeded;
      failed: {{ all_builds.jobs | selectattr('asyncops.state', '!=', 'succeeded') | map(attribute='ansible_job_id') }}

- name: Start a job to cancel
  ansible.builtin.command: /usr/local/bin/reindex
  async: 3600
  poll: 0
  register: reindex

- name: Cancel it (SIGTERM, 10 s grace, SIGKILL)
  asyncops.jobs.async_status:
    jid: "{{ reindex.ansible_job_id }}"
    mode: kill
    kill_grace: 10
  register: killed

- name: Say how it ended
  ansible.builtin.debug:
    msg: "{{ killed.asyncops.state }} by {{ killed.asyncops.kill.signal }}"

- name: Jobs that have been running for more than 10 minutes
  asyncops.jobs.async_status:
    mode: list
    state_filter: [running]
    query: "[?elapsed > `600`].ansible_job_id"
  register: slow

- name: Remove the records of jobs that finished more than a week ago
  asyncops.jobs.async_status:
    mode: prune
    max_age: 7d
"""

RETURN = r"""
ansible_job_id:
  description: The job id, as the built-in returns it.
  returned: with O(jid) (not with O(jids), O(mode=list) or O(mode=prune))
  type: str
  sample: j360874038559.4169
started:
  description:
    - Whether the job has started, as the built-in returns it. V(true) for every job found (V(false) with
      O(mode=cleanup)).
    - V(false) for a check-mode job id (see O(jid)).
    - With O(jids), V(true) when any of the jobs was found (V(false) with O(mode=cleanup)).
  returned: with O(jid) or O(jids)
  type: bool
  sample: true
finished:
  description:
    - Whether the job has finished (succeeded, failed, timed out, was killed or is lost), as the built-in returns it.
      Works with the C(finished) test (a loop C(until) the result C(is finished)).
    - V(true) for a check-mode job id (see O(jid)), so that a loop C(until) the result C(is finished) ends.
    - With O(jids), whether all the jobs have finished.
  returned: with O(jid) or O(jids)
  type: bool
  sample: false
results_file:
  description: The job's record on the target, as the built-in returns it.
  returned: with O(jid), except with O(mode=cleanup)
  type: str
  sample: /home/deploy/.ansible_async/j360874038559.4169
erased:
  description:
    - The record removed by O(mode=cleanup) or O(cleanup=true) (in check mode, the record that would be removed), as
      the built-in returns it.
  returned: with O(mode=cleanup), or O(cleanup=true) once the job has finished
  type: str
  sample: /home/deploy/.ansible_async/j360874038559.4169
stdout:
  description: The job's standard output once it has finished (from its result); an empty string before, as with the built-in.
  returned: with O(jid)
  type: str
  sample: ''
stderr:
  description: The job's standard error once it has finished (from its result); an empty string before, as with the built-in.
  returned: with O(jid)
  type: str
  sample: ''
stdout_lines:
  description: RV(stdout) split into lines.
  returned: with O(jid)
  type: list
  elements: str
  sample: []
stderr_lines:
  description: RV(stderr) split into lines.
  returned: with O(jid)
  type: list
  elements: str
  sample: []
msg:
  description:
    - The job's own message once it has finished; for a job that could not be found, exactly V(could not find job)
      (as the built-in says; where the module looked is in RV(asyncops.searched)); for a lost job, why it is lost;
      with O(mode=kill), what the kill did; with O(jids), which jobs failed.
  returned: when there is something to say
  type: str
  sample: job j1.2 is recorded as running but no process of it is alive
asyncops:
  description:
    - Everything this module adds to a job's result (the result rule; the job's own keys, such as the C(state) of a
      M(ansible.builtin.file) job or the C(elapsed) of a M(ansible.builtin.wait_for) job, stay at the top level as the
      job wrote them).
    - For a job of this collection (and a built-in job killed with O(mode=kill)) it also holds the block its record
      carries (process ids, start and end time, rc, signal, reason, resource use), with the keys below over it.
    - With O(jids), only RV(asyncops.waited), RV(asyncops.wait_started_at) and RV(asyncops.wait_ended_at) of a wait;
      each entry of RV(jobs) has its own C(asyncops).
  returned: with O(jid); with O(jids) and O(mode=wait); for a job that could not be found
  type: dict
  contains:
    state:
      description:
        - The state of the job, one of V(running), V(succeeded), V(failed), V(timeout), V(killed), V(lost).
        - V(lost) means the record says running but no process of the job is alive.
        - V(not_started) for a check-mode job id (see O(jid)), with C(check_mode=true).
        - With O(mode=cleanup), the state the job had when it was removed (V(null) for a damaged record).
      returned: for a job found
      type: str
      sample: running
    elapsed:
      description:
        - Seconds the job has run (while running) or ran (once finished). For a lost job, up to its last sign of life.
        - V(null) where it cannot be known (a finished built-in job whose result has no C(delta)).
      returned: for a job found
      type: float
      sample: 12.5
    time_limit:
      description: The job's time limit in seconds (the C(async) value of a built-in job), V(null) if none is known.
      returned: with O(mode=status), O(mode=wait), O(mode=kill)
      type: float
      sample: 3600
    time_left:
      description: Seconds left before the time limit while the job runs, else V(null).
      returned: with O(mode=status), O(mode=wait), O(mode=kill)
      type: float
      sample: 3587.5
    progress:
      description:
        - The progress the job reports (its C(<jid>.progress) sidecar, or the progress folded into a built-in job's
          record), with C(rate) and C(eta) computed here; V(null) if the job reports none.
        - Keys C(percent) (0 to 100), C(message), C(current), C(total), C(unit), C(updated_at) (epoch seconds), C(rate)
          (units per second since the start, percent per second without units) and C(eta) (estimated seconds left).
      returned: with O(mode=status), O(mode=wait), O(mode=kill)
      type: dict
      sample: {percent: 42.0, message: downloading, current: 420, total: 1000, unit: MB, updated_at: 1767225600.0,
               rate: 3.5, eta: 165.7}
    stdout_tail:
      description: The last O(tail) lines of the job's live standard output (its C(<jid>.out) sidecar).
      returned: when the job has an output sidecar of its own and O(tail) is above 0
      type: list
      elements: str
      sample: [step 3 of 5, step 4 of 5]
    stderr_tail:
      description: The last O(tail) lines of the job's live standard error (its C(<jid>.err) sidecar).
      returned: when the job has an error sidecar of its own and O(tail) is above 0
      type: list
      elements: str
      sample: []
    removed_files:
      description: The record and the sidecars removed (in check mode, that would be removed).
      returned: with O(mode=cleanup), or O(cleanup=true) once the job has finished
      type: list
      elements: str
      sample: [/root/.ansible_async/j360874038559.4169, /root/.ansible_async/j360874038559.4169.out]
    waited:
      description: Seconds O(mode=wait) waited.
      returned: with O(mode=wait)
      type: float
      sample: 1.25
    wait_started_at:
      description: When O(mode=wait) started to wait, epoch seconds on the target.
      returned: with O(mode=wait)
      type: float
      sample: 1767225600.0
    wait_ended_at:
      description: When O(mode=wait) stopped waiting, epoch seconds on the target.
      returned: with O(mode=wait)
      type: float
      sample: 1767225601.25
    kill:
      description:
        - What O(mode=kill) did. Keys C(msg) (what it did, in words; the job's own RV(msg) is left as the job
          wrote it), C(signal) (the last signal sent to the job's process group, V(SIGTERM) or
          V(SIGKILL), V(null) if none), C(kill_grace) (the O(kill_grace) it waited), C(supervisor_notified)
          (whether the supervisor was told with SIGUSR1), C(recorded_by) (who wrote the final record,
          V(supervisor), V(job) or V(asyncops.jobs.async_status)), C(pgid) (the job's process group, the
          C(pgid) of the record), C(term_sent_at) and C(kill_sent_at) (epoch seconds on the target).
      returned: with O(mode=kill)
      type: dict
      sample: {msg: "killed by asyncops.jobs.async_status (SIGTERM to process group 4242, then SIGKILL after the 5s grace)",
               signal: SIGKILL, kill_grace: 5, supervisor_notified: true, recorded_by: supervisor, pgid: 4242,
               term_sent_at: 1767225600.0, kill_sent_at: 1767225605.0}
    job_failed:
      description:
        - Whether the job's own result says failed while the task does not fail. With O(mode=kill) (a killed job
          did fail; the task only fails when the kill fails) and with O(fail_on_job_failure=false).
      returned: with O(mode=kill); with O(fail_on_job_failure=false) when the job failed
      type: bool
      sample: true
    searched:
      description: Where a job that could not be found was looked for.
      returned: when the job could not be found
      type: dict
      contains:
        dirs:
          description: The job directories searched.
          type: list
          elements: str
          returned: success
        user:
          description: The user the task ran as, as C(name (uid N)).
          type: str
          returned: success
      sample: {dirs: [/root/.ansible_async], user: root (uid 0)}
  sample: {state: running, elapsed: 12.5, time_limit: 600.0, time_left: 587.5, progress: null,
           stdout_tail: [step 3 of 5], pid: 4242, pgid: 4242, supervisor_pid: 4240, started_at: 1767225600.0}
state:
  description:
    - With O(jids), the state of all the jobs together; V(running) while any job runs, V(succeeded) when all did,
      else the state of the first job (in the order given) that did not succeed. Jobs of check-mode job ids are left
      out, unless all are (then V(not_started)).
    - With one O(jid) the state of the job is RV(asyncops.state); a C(state) at the top level is the job's own.
  returned: with O(jids)
  type: str
  sample: running
elapsed:
  description:
    - With O(jids), the largest RV(asyncops.elapsed) of the jobs.
    - With one O(jid) see RV(asyncops.elapsed); an C(elapsed) at the top level is the job's own.
  returned: with O(jids)
  type: float
  sample: 12.5
removed_files:
  description: Every file O(mode=prune) removed (records, sidecars and garbage). In check mode, what would be removed.
  returned: with O(mode=prune)
  type: list
  elements: str
  sample: [/root/.ansible_async/j360874038559.4169, /root/.ansible_async/j360874038559.4169.out]
jobs:
  description:
    - With O(jids), one result per job, in the order given, each what a single O(jid) returns (the job's own keys,
      ours under C(asyncops)), so a O(query) reads C(asyncops.state), for example
      V([?asyncops.state=='running'].ansible_job_id).
    - With O(mode=list), one entry per job of the job directory (the keys listed here, C(state) and C(elapsed) at the
      entry's top level).
  returned: with O(jids) or O(mode=list)
  type: list
  elements: dict
  contains:
    ansible_job_id:
      description: The job id.
      type: str
      returned: success
    state:
      description: The state of the job (with O(jids), in C(asyncops.state)).
      type: str
      returned: with O(mode=list)
    finished:
      description: Whether the job has finished.
      type: bool
      returned: success
    failed:
      description: Whether the job failed (states V(failed), V(timeout), V(killed), V(lost)).
      type: bool
      returned: with O(mode=list); with O(jids) when the job failed
    kind:
      description: V(asyncops) for a job of this collection, V(builtin) for one of the built-in C(async) keyword.
      type: str
      returned: with O(mode=list)
    started_at:
      description: When the job started (epoch seconds), if known.
      type: float
      returned: with O(mode=list)
    ended_at:
      description: When the job ended (epoch seconds), if known.
      type: float
      returned: with O(mode=list)
    elapsed:
      description: As RV(asyncops.elapsed).
      type: float
      returned: with O(mode=list)
    time_limit:
      description: As RV(asyncops.time_limit).
      type: float
      returned: with O(mode=list)
    time_left:
      description: As RV(asyncops.time_left).
      type: float
      returned: with O(mode=list)
    age:
      description: Seconds since the job's last activity (the newest of its record and sidecars).
      type: float
      returned: with O(mode=list)
    progress:
      description: As RV(asyncops.progress).
      type: dict
      returned: with O(mode=list)
    size:
      description: Bytes used by the record and its sidecars.
      type: int
      returned: with O(mode=list)
    files:
      description: The record and its sidecars.
      type: list
      elements: str
      returned: with O(mode=list)
    results_file:
      description: The record.
      type: str
      returned: with O(mode=list); with O(jids) except with O(mode=cleanup)
    async_dir:
      description: The job directory that holds the job.
      type: str
      returned: with O(mode=list)
    rc:
      description: The job's return code, if it has one.
      type: int
      returned: with O(mode=list)
    msg:
      description: The job's message, if it has one.
      type: str
      returned: with O(mode=list)
  sample: [{ansible_job_id: j1.2, state: running, elapsed: 12.5, age: 0.4, size: 1234}]
jobs_by_jid:
  description: RV(jobs) as a dictionary keyed by job id.
  returned: with O(jids) or O(mode=list)
  type: dict
  sample: {j1.2: {ansible_job_id: j1.2, started: true, finished: false, asyncops: {state: running}}}
summary:
  description: How many jobs are in each state.
  returned: with O(jids) or O(mode=list)
  type: dict
  contains:
    total:
      description: Jobs in all.
      type: int
      returned: success
    running:
      description: Jobs running.
      type: int
      returned: success
    finished:
      description: Jobs finished (in any of the other states).
      type: int
      returned: success
    succeeded:
      description: Jobs that succeeded.
      type: int
      returned: success
    failed:
      description: Jobs that failed.
      type: int
      returned: success
    timeout:
      description: Jobs that hit their time limit.
      type: int
      returned: success
    killed:
      description: Jobs that were killed.
      type: int
      returned: success
    lost:
      description: Jobs whose processes vanished without a final record.
      type: int
      returned: success
    not_started:
      description: Jobs of check-mode job ids (see O(jid)), counted as finished too.
      type: int
      returned: with O(jids) when there are any
  sample: {total: 3, running: 1, finished: 2, succeeded: 1, failed: 1, timeout: 0, killed: 0, lost: 0}
skipped:
  description: V(true) for a check-mode job id (see O(jid)); with O(jids), when all are.
  returned: for check-mode job ids
  type: bool
  sample: true
query_result:
  description: The outcome of O(query) applied to RV(jobs).
  returned: when O(query) is given
  type: raw
  sample: [j1.2, j3.4]
garbage:
  description: Files of the job directory that are not jobs (stray temp files, sidecars without a record, damaged records).
  returned: with O(mode=list) or O(mode=prune)
  type: list
  elements: dict
  sample: [{path: /root/.ansible_async/.j1.2.abc.tmp, reason: temp file, size: 0, age: 7200.0}]
async_dirs:
  description: The job directories looked at.
  returned: with O(mode=list) or O(mode=prune)
  type: list
  elements: str
  sample: [/root/.ansible_async]
removed:
  description: The job ids whose files O(mode=prune) removed (in check mode, would remove).
  returned: with O(mode=prune)
  type: list
  elements: str
  sample: [j1.2]
removed_garbage:
  description: The garbage files O(mode=prune) removed (in check mode, would remove).
  returned: with O(mode=prune)
  type: list
  elements: str
  sample: []
kept_unreadable:
  description:
    - Files named like a job record that O(mode=prune) left alone because they cannot be read or trusted (not JSON,
      a link, another user's), with the reason. They are for a human to look at.
  returned: with O(mode=prune)
  type: list
  elements: dict
  sample: [{path: /root/.ansible_async/j1.7, reason: "/root/.ansible_async/j1.7 is not a job record: not valid JSON"}]
kept_running:
  description: Running jobs O(mode=prune) left alone.
  returned: with O(mode=prune)
  type: int
  sample: 1
max_age:
  description: O(max_age) in seconds.
  returned: with O(mode=prune)
  type: float
  sample: 604800.0
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.asyncops.jobs.plugins.module_utils import _record
from ansible_collections.asyncops.jobs.plugins.module_utils import _status


def main() -> None:
    module = AnsibleModule(
        argument_spec=_status.ARGUMENT_SPEC,
        mutually_exclusive=_status.MUTUALLY_EXCLUSIVE,
        required_if=_status.REQUIRED_IF,
        supports_check_mode=True,
    )
    try:
        result = _status.run(module.params, check_mode=module.check_mode)
    except _record.JobError as e:
        module.fail_json(msg=e.msg, **e.result)

    if module.params['mode'] in (_status.LIST, _status.PRUNE):
        module.exit_json(**result)

    # A job's result goes out as the job wrote it, as the built-in does: exit_json would re-process
    # the job's own warnings, deprecations and 'path' (stat it, set 'state') as if this module had made them.
    _status.emit_job_result(result)


if __name__ == '__main__':
    main()
