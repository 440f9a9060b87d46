# -*- coding: utf-8 -*-
# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Loads async_log timeline pages in headless chromium and checks them against the JSON-lines log of their run.

Usage: python check_timeline.py --page PAGE --log LOG --screenshot PNG [--expect-jobs N] [--expect-states S,...]
       [--click-all [--expect-field STATE:FIELD:TEXT ...]]

For each page: no SEVERE entry in the browser's console log; no request but the page itself; one bar per
distinct host+jid among the log's events, each with the state the job's last event says (and shown as
"never collected" exactly when the log has an ``unreaped`` event for it); a hover and a click on a bar show
that job's jid and task in the details panel (with --click-all, for every bar); the state and host filters hide
and show bars; a screenshot of the page with a bar's details open.
Exits non-zero with a message on the first failed check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import typing as t

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = os.environ.get('ASYNCOPS_CHROMIUM', '/usr/bin/chromium')
CHROMEDRIVER = os.environ.get('ASYNCOPS_CHROMEDRIVER', '/usr/bin/chromedriver')
WAIT = 60.0

BARS_FROM_DOM = """
return Array.prototype.map.call(document.querySelectorAll('#lanes .bar'), function (b) {
  return {host: b.dataset.host, jid: b.dataset.jid, state: b.dataset.state, shown: b.dataset.shown,
          index: Number(b.dataset.index)};
});
"""
VISIBLE_BARS = """
return window.asyncopsTimeline.bars().filter(function (b) { return b.visible; }).length;
"""


class CheckFailed(Exception):
    pass


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def read_log(path: str) -> t.List[t.Dict[str, t.Any]]:
    """The events of the log's last run (one run_id)."""
    events = []
    with open(path, encoding='utf-8') as stream:
        for number, line in enumerate(stream, 1):
            if line.strip():
                try:
                    events.append(json.loads(line))
                except ValueError as exc:
                    raise CheckFailed('%s:%d is not JSON: %s' % (path, number, exc)) from exc
    expect(bool(events), 'the log %s has no events' % path)
    run_id = events[-1].get('run_id')
    return [event for event in events if event.get('run_id') == run_id]


class Expected(object):
    """What the log says about each job: host+jid -> last state, never collected or not, task, events."""

    def __init__(self, events: t.Sequence[t.Mapping[str, t.Any]]) -> None:
        self.jobs = {}  # type: t.Dict[t.Tuple[str, str], t.List[t.Mapping[str, t.Any]]]
        for event in events:
            if event.get('jid'):
                self.jobs.setdefault((event.get('host') or '', event['jid']), []).append(event)

    def state(self, key: t.Tuple[str, str]) -> str:
        return self.jobs[key][-1].get('state') or 'unknown'

    def uncollected(self, key: t.Tuple[str, str]) -> bool:
        return any(event.get('event') == 'unreaped' for event in self.jobs[key])

    def task(self, key: t.Tuple[str, str]) -> t.Optional[str]:
        return self.jobs[key][0].get('task')


def make_driver() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--window-size=1400,900',
                '--no-first-run', '--disable-extensions', '--disable-background-networking'):
        options.add_argument(arg)
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def requested_urls(driver: webdriver.Chrome) -> t.List[str]:
    urls = []
    for entry in driver.get_log('performance'):
        message = json.loads(entry['message'])['message']
        if message.get('method') == 'Network.requestWillBeSent':
            urls.append(message['params']['request']['url'])
    return urls


class Console(object):
    """The browser's console log, kept as read (reading it empties the browser's copy)."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self.entries = []  # type: t.List[t.Dict[str, t.Any]]

    def severe(self) -> t.List[t.Dict[str, t.Any]]:
        self.entries.extend(self.driver.get_log('browser'))
        return [entry for entry in self.entries if entry.get('level') == 'SEVERE']


def details(driver: webdriver.Chrome) -> t.Dict[str, t.Any]:
    fields = driver.execute_script("""
var out = {title: document.getElementById('details-title').textContent,
           hidden: document.getElementById('details').hidden,
           pinned: document.getElementById('details').classList.contains('pinned')};
document.querySelectorAll('#details-list dd').forEach(function (dd) { out[dd.dataset.field] = dd.textContent; });
return out;""")
    return t.cast(t.Dict[str, t.Any], fields)


def wait_for(driver: webdriver.Chrome, what: str, predicate: t.Callable[[webdriver.Chrome], t.Any]) -> t.Any:
    try:
        return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(predicate)
    except TimeoutException as exc:
        raise CheckFailed('timed out after %ss waiting for %s' % (WAIT, what)) from exc


def check_details(driver: webdriver.Chrome, expected: Expected, key: t.Tuple[str, str], how: str,
                  pinned: bool) -> None:
    def shown(drv: webdriver.Chrome) -> t.Optional[t.Dict[str, t.Any]]:
        fields = details(drv)
        if not fields['hidden'] and fields.get('jid') == key[1] and fields['pinned'] == pinned:
            return fields
        return None

    fields = wait_for(driver, 'the details of %s on %s after a %s' % (key[1], key[0], how), shown)
    task = expected.task(key)
    expect(fields.get('task') == task and fields['title'] == task,
           'after a %s on %s: the details panel shows task %r (title %r), the log says %r'
           % (how, key[1], fields.get('task'), fields['title'], task))
    expect(key[0] in fields.get('host', ''), 'after a %s on %s: the details panel shows host %r, not %r'
           % (how, key[1], fields.get('host'), key[0]))
    for name in ('state', 'duration', 'polls'):
        expect(bool(fields.get(name)), 'after a %s on %s: the details panel has no %s' % (how, key[1], name))


def bar_element(driver: webdriver.Chrome, index: int) -> t.Any:
    page_bar = driver.find_element(By.CSS_SELECTOR, '#lanes .bar[data-index="%d"]' % index)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center', inline: 'center'});", page_bar)
    return page_bar


def pick(bars: t.Sequence[t.Mapping[str, t.Any]], states: t.Sequence[str]) -> t.Mapping[str, t.Any]:
    for state in states:
        for page_bar in bars:
            if page_bar['shown'] == state:
                return page_bar
    return bars[len(bars) // 2]


def check_details_of_every_bar(driver: webdriver.Chrome, page: str, expected: Expected,
                               bars: t.Sequence[t.Mapping[str, t.Any]], fields: t.Sequence[str]) -> None:
    """Click each bar: its details name its jid, task and host; for each STATE:FIELD:TEXT of ``fields``, the details
    of some bar drawn STATE show TEXT in FIELD."""
    wanted = [spec.split(':', 2) for spec in fields]
    matched = set()  # type: t.Set[int]
    for page_bar in bars:
        key = (page_bar['host'], page_bar['jid'])
        ActionChains(driver).click(bar_element(driver, page_bar['index'])).perform()
        check_details(driver, expected, key, 'click', pinned=True)
        shown = details(driver)
        for number, (state, field, text) in enumerate(wanted):
            if page_bar['shown'] == state and text in (shown.get(field) or '\0'):
                matched.add(number)
    for number, spec in enumerate(fields):
        expect(number in matched, '%s: the details of no bar drawn %r show %r in their %r'
               % (page, wanted[number][0], wanted[number][2], wanted[number][1]))


def check_page(driver: webdriver.Chrome, args: argparse.Namespace) -> str:
    page = args.page
    expected = Expected(read_log(args.log))
    size = os.path.getsize(page)
    started = time.monotonic()
    console = Console(driver)
    driver.get('file://' + os.path.abspath(page))

    def drawn(drv: webdriver.Chrome) -> bool:
        severe = console.severe()
        expect(not severe, '%s: errors in the browser console: %s' % (page, json.dumps(severe, indent=1)))
        return bool(drv.execute_script("return document.body.dataset.ready === '1'"))

    wait_for(driver, 'the page to draw its bars', drawn)
    load_seconds = time.monotonic() - started
    try:
        alert = driver.switch_to.alert
        raise CheckFailed('%s: an alert opened (%r): data ran as script' % (page, alert.text))
    except NoAlertPresentException:
        pass

    bars = driver.execute_script(BARS_FROM_DOM)
    by_key = {}  # type: t.Dict[t.Tuple[str, str], t.Mapping[str, t.Any]]
    for page_bar in bars:
        key = (page_bar['host'], page_bar['jid'])
        expect(key not in by_key, '%s: two bars for %s on %s' % (page, key[1], key[0]))
        by_key[key] = page_bar
    expect(set(by_key) == set(expected.jobs),
           '%s: %d bars, the log has %d jobs; bars without a job: %s; jobs without a bar: %s'
           % (page, len(by_key), len(expected.jobs), sorted(set(by_key) - set(expected.jobs))[:5],
              sorted(set(expected.jobs) - set(by_key))[:5]))
    if args.expect_jobs is not None:
        expect(len(bars) == args.expect_jobs, '%s: %d bars, expected %d' % (page, len(bars), args.expect_jobs))
    for key, page_bar in by_key.items():
        expect(page_bar['state'] == expected.state(key), '%s: the bar of %s on %s says %r, its last event says %r'
               % (page, key[1], key[0], page_bar['state'], expected.state(key)))
        expect((page_bar['shown'] == 'uncollected') == expected.uncollected(key),
               '%s: the bar of %s on %s is drawn %r, but the log %s an unreaped event for it'
               % (page, key[1], key[0], page_bar['shown'], 'has' if expected.uncollected(key) else 'has no'))
    accessor = driver.execute_script('return window.asyncopsTimeline.bars();')
    expect([(item['host'], item['jid'], item['state']) for item in accessor]
           == [(item['host'], item['jid'], item['state']) for item in bars],
           '%s: window.asyncopsTimeline.bars() does not list the bars of the page' % page)
    counts = {}  # type: t.Dict[str, int]
    for page_bar in bars:
        counts[page_bar['shown']] = counts.get(page_bar['shown'], 0) + 1
    for state in args.expect_states.split(','):
        expect(not state or counts.get(state, 0) > 0, '%s: no bar is drawn %r (bars: %s)' % (page, state, counts))
    legend = driver.execute_script("""
var out = {};
document.querySelectorAll('#legend .chip').forEach(function (c) { out[c.dataset.state] = Number(c.querySelector('.n').textContent); });
return out;""")
    for state, count in counts.items():
        expect(legend.get(state) == count, '%s: the legend counts %s %r bars, the page draws %d'
               % (page, legend.get(state), state, count))

    # hover shows the details, a click pins them (on another bar when there is one), Escape closes them
    hovered = pick(bars, ['succeeded', 'failed'])
    ActionChains(driver).move_to_element(bar_element(driver, hovered['index'])).perform()
    check_details(driver, expected, (hovered['host'], hovered['jid']), 'hover', pinned=False)
    if args.click_all:
        check_details_of_every_bar(driver, page, expected, bars, args.expect_field)
    clicked = pick([page_bar for page_bar in bars if page_bar is not hovered] or bars, ['timeout', 'uncollected', 'killed', 'lost'])
    clicked_key = (clicked['host'], clicked['jid'])
    ActionChains(driver).click(bar_element(driver, clicked['index'])).perform()
    check_details(driver, expected, clicked_key, 'click', pinned=True)
    driver.save_screenshot(args.screenshot)
    expect(os.path.getsize(args.screenshot) > 0, 'no screenshot written to %s' % args.screenshot)
    ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait_for(driver, 'Escape to close the details', lambda drv: details(drv)['hidden'])

    # the state filter hides the bars of a state, and shows them again
    state = clicked['shown']
    chip = driver.find_element(By.CSS_SELECTOR, '#legend .chip[data-state="%s"]' % state)
    chip.click()
    visible = driver.execute_script(VISIBLE_BARS)
    expect(visible == len(bars) - counts[state], '%s: hiding %r leaves %d bars visible, expected %d'
           % (page, state, visible, len(bars) - counts[state]))
    chip.click()
    expect(driver.execute_script(VISIBLE_BARS) == len(bars), '%s: showing %r again does not show every bar' % (page, state))
    # the host filter keeps the lanes whose name holds the text
    host_filter = driver.find_element(By.ID, 'host-filter')
    host_filter.send_keys(clicked_key[0])
    on_host = sum(1 for page_bar in bars if clicked_key[0].lower() in page_bar['host'].lower())
    expect(driver.execute_script(VISIBLE_BARS) == on_host, '%s: filtering on host %r does not leave its %d bars'
           % (page, clicked_key[0], on_host))
    host_filter.clear()

    severe = console.severe()
    expect(not severe, '%s: errors in the browser console: %s' % (page, json.dumps(severe, indent=1)))
    page_url = 'file://' + os.path.abspath(page)
    others = [url for url in requested_urls(driver) if url != page_url and not url.startswith('data:')]
    expect(not others, '%s: the page requested %s' % (page, others))
    return ('%s: %d bars on %d lanes match the log (%s); %d bytes; drawn in %.2fs; console: %d entries, none SEVERE; '
            'no request but the page; screenshot %s'
            % (page, len(bars), len({page_bar['host'] for page_bar in bars}),
               ', '.join('%s %d' % item for item in sorted(counts.items())), size, load_seconds, len(console.entries),
               args.screenshot))


def main(argv: t.Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or '').split('\n', 1)[0])
    parser.add_argument('--page', required=True, help='the timeline page')
    parser.add_argument('--log', required=True, help='the JSON-lines log of the same run')
    parser.add_argument('--screenshot', required=True, help='where to save a PNG of the page')
    parser.add_argument('--expect-jobs', type=int, help='the number of bars the page must draw')
    parser.add_argument('--expect-states', default='', help='comma-separated states that must each colour a bar')
    parser.add_argument('--click-all', action='store_true', help='click every bar and check its details')
    parser.add_argument('--expect-field', action='append', default=[], metavar='STATE:FIELD:TEXT',
                        help='with --click-all: the details of some bar drawn STATE show TEXT in FIELD')
    args = parser.parse_args(argv)
    driver = make_driver()
    try:
        print('ok: ' + check_page(driver, args))
    finally:
        driver.quit()
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except CheckFailed as failure:
        print('FAILED: %s' % failure, file=sys.stderr)
        sys.exit(1)
