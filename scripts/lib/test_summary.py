#!/usr/bin/python3
"""Counts test cases across every suite that `meson test` ran and prints the verdict line.

Each suite leaves a report in <builddir>/test-results/<test name>.xml: Catch2's XML reporter
or pytest's JUnit XML. A suite that crashed, timed out or left no readable report is counted as
one failed case under its meson name, so a dead binary can never look like a pass.
Usage: test_summary.py BUILDDIR... [--extra-failed NAME]...
The last line printed is always `tests: N passed, N failed`.
"""
import json
import os
import sys
import xml.etree.ElementTree as ET


def catch2_cases(root):
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
        out.append((tc.get('name'), ok, why))
    return out


def junit_cases(root):
    out = []
    for tc in root.iter('testcase'):
        name = '%s.%s' % (tc.get('classname', ''), tc.get('name'))
        bad = [e for e in tc if e.tag in ('failure', 'error')]
        if any(e.tag == 'skipped' for e in tc):
            continue
        why = [((e.get('message') or '') + '\n' + (e.text or '')).strip()[-3000:] for e in bad]
        out.append((name, not bad, why))
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


def main(argv):
    builddirs, extra_failed = [], []
    it = iter(argv)
    for a in it:
        if a == '--extra-failed':
            extra_failed.append(next(it))
        else:
            builddirs.append(a)
    passed, failed = 0, []
    for bd in builddirs:
        log = os.path.join(bd, 'meson-logs', 'testlog.json')
        if not os.path.exists(log):
            continue
        with open(log) as f:
            runs = [json.loads(line) for line in f if line.strip()]
        for run in runs:
            name = run['name']
            report = report_path(bd, run)
            cases = []
            if os.path.exists(report):
                try:
                    cases = read_report(report)
                except ET.ParseError as e:
                    cases = []
                    failed.append((name, ['unreadable report %s: %s' % (report, e)]))
            n_bad = 0
            for cname, ok, why in cases:
                if ok:
                    passed += 1
                else:
                    n_bad += 1
                    failed.append(('%s: %s' % (name, cname), why))
            if run['result'] not in ('OK', 'EXPECTEDFAIL', 'SKIP') and n_bad == 0:
                tail = (run.get('stdout') or '').strip().splitlines()[-30:]
                failed.append((name, ['meson result %s (exit %s)' % (run['result'],
                                                                      run.get('returncode'))] + tail))
            elif not cases and run['result'] == 'OK':
                failed.append((name, ['suite passed but left no report at ' + report]))
    for name in extra_failed:
        failed.append((name, ['see output above']))
    if failed:
        print('\nFAILED:')
        for name, why in failed:
            print('  ' + name)
            for w in why[:20]:
                for line in str(w).splitlines():
                    print('      ' + line)
    print('tests: %d passed, %d failed' % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
