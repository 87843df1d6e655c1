"""scripts/lib/test_summary.py on build directories made up here: passed, failed and skipped
cases are all counted, and a suite that must run fails the verdict when it skipped, unless
PORTCULLIS_ALLOW_SKIP=1 says skips are allowed (they are still listed)."""
import json
import os
import pathlib
import subprocess

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / 'scripts' / 'lib' / 'test_summary.py'

CATCH2 = """<Catch name="t">
  <Group name="t">
    <TestCase name="one"><OverallResult success="true"/></TestCase>
    <TestCase name="two"><OverallResult success="true"/></TestCase>
  </Group>
</Catch>"""

# pytest's JUnit XML for a suite that skipped itself: no root, no strongSwan.
SKIPPED = """<testsuites><testsuite name="pytest">
  <testcase classname="test_strongswan" name="test_a"><skipped message="needs root"/></testcase>
  <testcase classname="test_strongswan" name="test_b"><skipped message="needs root"/></testcase>
</testsuite></testsuites>"""

PASSED = """<testsuites><testsuite name="pytest">
  <testcase classname="test_offline" name="test_check"/>
</testsuite></testsuites>"""


def builddir(tmp_path, suites):
    """A build directory whose testlog names one meson test per (suite, name, report text)."""
    bd = tmp_path / 'build'
    (bd / 'meson-logs').mkdir(parents=True)
    (bd / 'test-results').mkdir()
    runs = []
    for suite, name, report in suites:
        path = bd / 'test-results' / (name + '.xml')
        path.write_text(report)
        flag = '-o' if report.startswith('<Catch') else '--junitxml=' + str(path)
        command = ['x', flag, str(path)] if flag == '-o' else ['x', flag]
        runs.append({'name': 'portcullis:%s / %s' % (suite, name), 'result': 'OK',
                     'returncode': 0, 'command': command})
    (bd / 'meson-logs' / 'testlog.json').write_text(''.join(json.dumps(r) + '\n' for r in runs))
    return bd


def summary(bd, *args, allow=False):
    env = dict(os.environ)
    env.pop('PORTCULLIS_ALLOW_SKIP', None)
    if allow:
        env['PORTCULLIS_ALLOW_SKIP'] = '1'
    r = subprocess.run(['/usr/bin/python3', str(SCRIPT), str(bd), *args], capture_output=True,
                       text=True, env=env, timeout=30)
    return r.returncode, r.stdout


def test_skipped_cases_are_counted_and_listed(tmp_path):
    bd = builddir(tmp_path, [('unit', 'unit_a', CATCH2), ('interop', 'interop_x', SKIPPED)])
    rc, out = summary(bd)
    assert out.splitlines()[-1] == 'tests: 2 passed, 0 failed, 2 skipped', out
    assert 'portcullis:interop / interop_x: 2 cases: needs root' in out
    assert rc == 0


def test_a_must_run_suite_that_skipped_fails(tmp_path):
    bd = builddir(tmp_path, [('unit', 'unit_a', CATCH2), ('interop', 'interop_x', SKIPPED),
                             ('integration', 'offline', PASSED)])
    rc, out = summary(bd, '--must-run', 'interop', '--must-run', 'integration')
    assert out.splitlines()[-1] == 'tests: 3 passed, 2 failed, 0 skipped', out
    assert 'skipped (needs root), but the interop suite must run' in out
    assert rc == 1


def test_the_opt_out_counts_them_as_skipped(tmp_path):
    bd = builddir(tmp_path, [('unit', 'unit_a', CATCH2), ('interop', 'interop_x', SKIPPED)])
    rc, out = summary(bd, '--must-run', 'interop', allow=True)
    assert out.splitlines()[-1] == 'tests: 2 passed, 0 failed, 2 skipped', out
    assert 'interop_x: 2 cases: needs root' in out
    assert rc == 0


def test_a_must_run_suite_that_never_ran_fails(tmp_path):
    bd = builddir(tmp_path, [('unit', 'unit_a', CATCH2)])
    rc, out = summary(bd, '--must-run', 'interop')
    assert out.splitlines()[-1] == 'tests: 2 passed, 1 failed, 0 skipped', out
    assert 'suite interop' in out and 'it did not run at all' in out
    assert rc == 1
