# Copyright (c) 2026, asyncops.jobs developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures, the Markdown report and the chart of benchmarks/run."""

from __future__ import annotations

import statistics


def clean(values):
    return [v for v in values if v is not None]


def med(values):
    v = clean(values)
    return statistics.median(v) if v else None


def fmt_value(value, unit):
    if value is None:
        return 'n/a'
    if unit == 's':
        if abs(value) >= 100:
            return '%.0f s' % value
        if abs(value) >= 10:
            return '%.1f s' % value
        return '%.3f s' % value if abs(value) < 1 else '%.2f s' % value
    if unit == 'count':
        return ('%.1f' % value).rstrip('0').rstrip('.') if value != int(value) else '%d' % value
    if unit == '%':
        return '%+.1f %%' % value
    return '%.3g %s' % (value, unit)


def fmt_ratio(value):
    if value is None:
        return 'n/a'
    if value >= 100:
        return '%.0f×' % value
    if value >= 10:
        return '%.1f×' % value
    return '%.2f×' % value


class Row:
    """One measure of a scenario: the per-round values of side A and side B.

    ``ratio`` is A/B per round (built-in / asyncops), or B/A with
    ``ratio_b_over_a`` (the callback scenario: with / without).
    ``check(a_median, b_median, ratio_median)`` returns (verdict, detail).
    """

    def __init__(self, label, unit, a=None, b=None, target='', check=None, ratio_b_over_a=False, note=''):
        self.label = label
        self.unit = unit
        self.a = list(a or [])
        self.b = list(b or [])
        self.target = target
        self.check = check
        self.ratio_b_over_a = ratio_b_over_a
        self.note = note

    def ratios(self):
        out = []
        for a, b in zip(self.a, self.b):
            if a is None or b is None:
                continue
            num, den = (b, a) if self.ratio_b_over_a else (a, b)
            if den == 0:
                continue
            out.append(num / den)
        return out

    def stats(self, values):
        v = clean(values)
        if not v:
            return None
        return {'median': statistics.median(v), 'min': min(v), 'max': max(v), 'n': len(v)}

    def verdict(self):
        if self.check is None:
            return '', ''
        sa, sb = self.stats(self.a), self.stats(self.b)
        r = self.ratios()
        try:
            return self.check(sa and sa['median'], sb and sb['median'], med(r) if r else None)
        except TypeError:
            return 'n/a', 'no figures'

    def cell(self, values):
        s = self.stats(values)
        if s is None:
            return '—' if not values else 'n/a'
        if s['n'] == 1:
            return fmt_value(s['median'], self.unit)
        return '%s [%s – %s]' % (fmt_value(s['median'], self.unit), fmt_value(s['min'], self.unit),
                                 fmt_value(s['max'], self.unit))

    def as_dict(self):
        verdict, detail = self.verdict()
        return {'label': self.label, 'unit': self.unit, 'a': self.a, 'b': self.b, 'ratios': self.ratios(),
                'a_stats': self.stats(self.a), 'b_stats': self.stats(self.b),
                'ratio_median': med(self.ratios()), 'ratio_b_over_a': self.ratio_b_over_a,
                'target': self.target, 'verdict': verdict, 'verdict_detail': detail, 'note': self.note}


def markdown_table(rows, a_name='built-in', b_name='asyncops.jobs', ratio_name='built-in / asyncops'):
    lines = ['| Measure | %s | %s | %s, per round | median ratio | Target | Result |' % (a_name, b_name, ratio_name),
             '|---|---|---|---|---|---|---|']
    for row in rows:
        r = row.ratios()
        per_round = ', '.join(fmt_ratio(x).rstrip('×') for x in r) if r else '—'
        verdict, detail = row.verdict()
        result = ('**%s**' % verdict if verdict else '') + ((': ' + detail) if detail else '')
        lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            row.label, row.cell(row.a), row.cell(row.b), per_round, fmt_ratio(med(r)) if r else '—',
            row.target or '', result))
    return '\n'.join(lines)


# ---------------------------------------------------------------- checks

def at_most(limit, unit='s', on='b'):
    def check(a, b, r):
        v = b if on == 'b' else a
        if v is None:
            return 'n/a', 'no figures'
        ok = v <= limit
        return ('met' if ok else 'missed'), '%s %s %s' % (fmt_value(v, unit), '≤' if ok else '>', fmt_value(limit, unit))
    return check


def ratio_at_least(limit):
    def check(a, b, r):
        if r is None:
            return 'n/a', 'no figures'
        ok = r >= limit
        return ('met' if ok else 'missed'), '%s %s %s' % (fmt_ratio(r), '≥' if ok else '<', fmt_ratio(limit))
    return check


def ratio_at_most(limit):
    def check(a, b, r):
        if r is None:
            return 'n/a', 'no figures'
        ok = r <= limit
        return ('met' if ok else 'missed'), '%s %s %s' % (fmt_ratio(r), '≤' if ok else '>', fmt_ratio(limit))
    return check


def all_of(*checks):
    def check(a, b, r):
        verdicts, details = [], []
        for c in checks:
            v, d = c(a, b, r)
            verdicts.append(v)
            details.append(d)
        verdict = 'met' if all(v == 'met' for v in verdicts) else ('n/a' if 'n/a' in verdicts else 'missed')
        return verdict, '; '.join(details)
    return check


def equals(value, unit='count'):
    def check(a, b, r):
        if b is None:
            return 'n/a', 'no figures'
        ok = abs(b - value) < 1e-9
        return ('met' if ok else 'missed'), '%s %s %s' % (fmt_value(b, unit), '=' if ok else '≠', fmt_value(value, unit))
    return check


# ---------------------------------------------------------------- chart

def chart(path, scenarios):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    panels = [p for s in scenarios for p in s.chart_panels()
              if any(st for _name, series in p['series'] for st in series)]
    if not panels:
        return False
    cols = 3 if len(panels) > 4 else 2 if len(panels) > 1 else 1
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(6.2 * cols, 4.6 * nrows), squeeze=False)
    for ax, panel in zip([a for row in axes for a in row], panels):
        _draw(ax, panel)
    for ax in [a for row in axes for a in row][len(panels):]:
        ax.axis('off')
    fig.suptitle('asyncops.jobs vs ansible-core built-in async (median, whiskers: min–max over rounds)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def _draw(ax, panel):
    """panel: {'title', 'ylabel', 'groups': [label], 'series': [(name, [stats or None per group])], 'log', 'hline'}"""
    groups = panel['groups']
    series = panel['series']
    n = max(len(series), 1)
    width = 0.8 / n
    colors = panel.get('colors') or ['#c0504d', '#e8a33d', '#8e6bb8', '#7f7f7f', '#2e7d32', '#4f81bd', '#1b9e77']
    for i, (name, stats) in enumerate(series):
        xs, ys, lo, hi = [], [], [], []
        for g, s in enumerate(stats):
            if not s:
                continue
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(s['median'])
            lo.append(s['median'] - s['min'])
            hi.append(s['max'] - s['median'])
        if xs:
            ax.bar(xs, ys, width=width * 0.95, label=name, color=colors[i % len(colors)], yerr=[lo, hi], capsize=2,
                   error_kw={'elinewidth': 0.8})
            for x, y in zip(xs, ys):
                ax.annotate(panel.get('fmt', '{:.3g}').format(y), (x, y), ha='center', va='bottom', fontsize=6.5,
                            rotation=90 if n > 3 else 0, xytext=(0, 2), textcoords='offset points')
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(groups, fontsize=8)
    ax.set_title(panel['title'], fontsize=10)
    ax.set_ylabel(panel.get('ylabel', ''))
    if panel.get('log'):
        from matplotlib.ticker import FuncFormatter, NullFormatter
        ax.set_yscale('log')
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: '%g' % v))
        ax.yaxis.set_minor_formatter(NullFormatter())
    if panel.get('hline') is not None:
        ax.axhline(panel['hline'], color='black', linestyle='--', linewidth=0.8)
        ax.annotate(panel.get('hline_label', 'target'), (len(groups) - 0.5, panel['hline']), fontsize=7, ha='right',
                    va='bottom')
    ax.legend(fontsize=7, loc=panel.get('legend', 'best'))
    ax.grid(axis='y', alpha=0.3)
