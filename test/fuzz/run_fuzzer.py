#!/usr/bin/python3
"""Runs one libFuzzer target for a bounded time and reports it as one JUnit test case.

usage: run_fuzzer.py NAME BINARY SECONDS REPORT.xml SEED_DIR...
The seeds are copied into a scratch corpus, so the source tree is never written. A crash, leak
or sanitizer report fails the case, with the tail of the fuzzer's output and the reproducer.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from xml.sax.saxutils import escape


def main(argv):
    name, binary, seconds, report = argv[1], argv[2], int(argv[3]), argv[4]
    seeds = argv[5:]
    work = tempfile.mkdtemp(prefix='fuzz-%s-' % name)
    corpus = os.path.join(work, 'corpus')
    os.makedirs(corpus)
    for s in seeds:
        if os.path.isdir(s):
            for f in os.listdir(s):
                shutil.copy(os.path.join(s, f), corpus)
    # UBSan's checks recover by default: a report would be printed and the run still pass.
    env = dict(os.environ)
    env['UBSAN_OPTIONS'] = 'halt_on_error=1:print_stacktrace=1:' + env.get('UBSAN_OPTIONS', '')
    start = time.time()
    proc = subprocess.run(
        [binary, '-max_total_time=%d' % seconds, '-rss_limit_mb=2048', '-timeout=10',
         '-print_final_stats=1', '-artifact_prefix=%s/' % work, corpus],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace', env=env)
    elapsed = time.time() - start
    out = proc.stdout
    # A sanitizer report fails the case even if the fuzzer exited 0 (e.g. a report printed
    # from a path that does not halt).
    ok = proc.returncode == 0 and 'runtime error:' not in out and 'ERROR: ' not in out
    stats = [l for l in out.splitlines() if l.startswith('stat::number_of_executed_units')]
    runs = stats[-1].split(':')[-1].strip() if stats else '?'
    print('%s: %s runs in %.0fs, exit %d' % (name, runs, elapsed, proc.returncode))
    body = ''
    if not ok:
        artifacts = [f for f in os.listdir(work) if f != 'corpus']
        tail = '\n'.join(out.splitlines()[-60:])
        print(tail)
        body = '<failure message="%s">%s</failure>' % (
            escape('fuzzer exit %d; artifacts in %s: %s' % (proc.returncode, work, artifacts)),
            escape(tail))
    else:
        shutil.rmtree(work, ignore_errors=True)
    with open(report, 'w') as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="fuzz" '
                'tests="1" failures="%d"><testcase classname="fuzz" name="%s (%s runs, %ds)" '
                'time="%.1f">%s</testcase></testsuite></testsuites>\n'
                % (0 if ok else 1, escape(name), runs, seconds, elapsed, body))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
