#!/usr/bin/python3
"""Counts test cases across every suite that `meson test` ran and prints the verdict line.

Each suite leaves a report in <builddir>/test-results/<test name>.xml: Catch2's XML reporter
or pytest's JUnit XML. A suite that crashed, timed out or left no readable report is counted as
one failed case under its meson name, so a dead binary can never look like a pass.

Skipped cases are counted, never dropped: a suite that skips itself (no root, no strongSwan)
must not look like one that passed. A suite named with --must-run has to run in full: each case
it skipped, and the suite itself when it did not run at all, counts as failed, unless the
environment says PORTCULLIS_ALLOW_SKIP=1 (a developer without root), which lists them as
skipped instead.

Usage: test_summary.py BUILDDIR... [--extra-failed NAME]... [--must-run SUITE]...
The last line printed is always `tests: N passed, N failed, N skipped`; the exit status is 1
when anything failed.
"""
import collections
import json
import os
import sys
import xml.etree.ElementTree as ET

ALLOW_SKIP_ENV = 'PORTCULLIS_ALLOW_SKIP'


def catch2_cases(root):
    """(name, 'pass' | 'fail', reasons) per Catch2 test case."""
    out = []
    for tc in root.iter('TestCase'):
        res = tc.find('OverallResult')
        ok = res is not None and res.get('success') == 'true'
        why = []
        if not ok:
            for expr in tc.iter('Expression'):
                if expr.get('success') == 'false':
                    orig = (expr.findtext('Original') or '').strip()
                    exp = (expr.findtext('Expanded') or '').strip()
                    why.append('%s:%s: %s  (%s)' % (expr.get('filename'), expr.get('line'), orig, exp))
            for tag in ('FatalErrorCondition', 'Exception', 'Failure'):
                for e in tc.iter(tag):
                    why.append('%s:%s: %s: %s' % (e.get('filename'), e.get('line'), tag,
                                                  (e.text or '').strip()))
        out.append((tc.get('name'), 'pass' if ok else 'fail', why))
    return out


def junit_cases(root):
    """(name, 'pass' | 'fail' | 'skip', reasons) per pytest test case."""
    out = []
    for tc in root.iter('testcase'):
        name = '%s.%s' % (tc.get('classname', ''), tc.get('name'))
        bad = [e for e in tc if e.tag in ('failure', 'error')]
        skipped = [e for e in tc if e.tag == 'skipped']
        if bad:
            why = [((e.get('message') or '') + '\n' + (e.text or '')).strip()[-3000:] for e in bad]
            out.append((name, 'fail', why))
        elif skipped:
            out.append((name, 'skip', [(skipped[0].get('message') or 'skipped').strip()]))
        else:
            out.append((name, 'pass', []))
    return out


def read_report(path):
    root = ET.parse(path).getroot()
    if root.tag == 'Catch':
        return catch2_cases(root)
    return junit_cases(root)


def report_path(builddir, run):
    """The report a suite was told to write: '-o FILE' (Catch2) or '--junitxml=FILE' (pytest)."""
    cmd = run.get('command') or []
    for i, arg in enumerate(cmd):
        if arg.startswith('--junitxml='):
            return arg.split('=', 1)[1]
        if arg == '-o' and i + 1 < len(cmd) and cmd[i + 1].endswith('.xml'):
            return cmd[i + 1]
    short = run['name'].split(' / ')[-1]
    return os.path.join(builddir, 'test-results', short + '.xml')


def suite_of(name):
    """'portcullis:interop / interop_strongswan' -> 'interop' (meson names a test by its first
    suite)."""
    return name.split(' / ')[0].split(':', 1)[-1]


class Tally:
    def __init__(self, must_run, allow_skip):
        self.must_run = set(must_run)
        self.allow_skip = allow_skip
        self.passed = 0
        self.failed = []   # (name, reasons)
        self.skipped = []  # (meson test name, reason)

    def skip(self, test, name, suite, reason):
        if suite in self.must_run and not self.allow_skip:
            self.failed.append((name, ['skipped (%s), but the %s suite must run; %s=1 allows '
                                       'skips where it cannot' % (reason, suite, ALLOW_SKIP_ENV)]))
        else:
            self.skipped.append((test, reason))


def tally(builddirs, extra_failed=(), must_run=(), allow_skip=False):
    t = Tally(must_run, allow_skip)
    ran_suites = set()
    for bd in builddirs:
        log = os.path.join(bd, 'meson-logs', 'testlog.json')
        if not os.path.exists(log):
            continue
        with open(log) as f:
            runs = [json.loads(line) for line in f if line.strip()]
        for run in runs:
            name = run['name']
            suite = suite_of(name)
            ran_suites.add(suite)
            report = report_path(bd, run)
            cases = []
            if os.path.exists(report):
                try:
                    cases = read_report(report)
                except ET.ParseError as e:
                    cases = []
                    t.failed.append((name, ['unreadable report %s: %s' % (report, e)]))
            n_bad = 0
            for cname, status, why in cases:
                if status == 'pass':
                    t.passed += 1
                elif status == 'skip':
                    t.skip(name, '%s: %s' % (name, cname), suite, why[0])
                else:
                    n_bad += 1
                    t.failed.append(('%s: %s' % (name, cname), why))
            if run['result'] == 'SKIP' and not cases:
                t.skip(name, name, suite, 'meson: the test skipped itself (exit 77)')
            elif run['result'] not in ('OK', 'EXPECTEDFAIL', 'SKIP') and n_bad == 0:
                tail = (run.get('stdout') or '').strip().splitlines()[-30:]
                t.failed.append((name, ['meson result %s (exit %s)' % (run['result'],
                                                                        run.get('returncode'))]
                                 + tail))
            elif not cases and run['result'] == 'OK':
                t.failed.append((name, ['suite passed but left no report at ' + report]))
    for suite in sorted(t.must_run - ran_suites):
        t.skip(suite, 'suite ' + suite, suite, 'it did not run at all')
    for name in extra_failed:
        t.failed.append((name, ['see output above']))
    return t


def print_verdict(t):
    if t.skipped:
        # One line per test and reason: a suite that skips itself skips every case the same way.
        groups = collections.Counter(t.skipped)
        print('\nSKIPPED:')
        for (test, reason), n in sorted(groups.items()):
            print('  %s: %d case%s: %s' % (test, n, '' if n == 1 else 's', reason))
    if t.failed:
        print('\nFAILED:')
        for name, why in t.failed:
            print('  ' + name)
            for w in why[:20]:
                for line in str(w).splitlines():
                    print('      ' + line)
    print('tests: %d passed, %d failed, %d skipped' % (t.passed, len(t.failed), len(t.skipped)))


def main(argv):
    builddirs, extra_failed, must_run = [], [], []
    it = iter(argv)
    for a in it:
        if a == '--extra-failed':
            extra_failed.append(next(it))
        elif a == '--must-run':
            must_run.append(next(it))
        else:
            builddirs.append(a)
    t = tally(builddirs, extra_failed, must_run, os.environ.get(ALLOW_SKIP_ENV) == '1')
    print_verdict(t)
    return 1 if t.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
