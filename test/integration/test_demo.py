"""scripts/demo: both seed pairs end to end, inside the time budget, and a build that stops at
the four programs it runs.

- The whole demo (on the already-built tree: PORTCULLIS_BUILD) must bring up the Vyatta
  west/east VTI tunnel and the VyOS site A/B policy tunnel, ping and iperf3 through both, show
  the op commands, and finish in under 3 minutes (the build is measured separately).
- The ninja targets scripts/demo builds, dry-run (`ninja -n`) in a fresh build directory, link
  vpn-dataplane, dpctl, vpnd and vpnctl and compile nothing under test/.
- Its progress filter, on a real ninja run: one line per 10 % without a terminal, compiler
  noise hidden, a failing step's output passed through and the failure kept.
"""
import os
import pathlib
import re
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO = ROOT / 'scripts' / 'demo'


def test_demo_runs_both_seed_pairs_in_under_three_minutes(build_root):
    start = time.time()
    r = subprocess.run([str(DEMO)], capture_output=True, text=True, timeout=400, cwd=ROOT,
                       env=dict(os.environ, PORTCULLIS_BUILD=str(build_root)))
    elapsed = time.time() - start
    out = re.sub(r'\x1b\[[0-9;]*m', '', r.stdout)
    assert r.returncode == 0, out[-4000:] + r.stderr[-4000:]
    assert elapsed < 180, elapsed
    assert re.search(r'west/east tunnel up [\d.]+ s', out)
    assert re.search(r'site A/B tunnel up [\d.]+ s', out)
    # Both pings, no loss; both iperf3 runs moved data.
    assert out.count('5 packets transmitted, 5 received, 0% packet loss') == 2, out
    rates = re.findall(r'iperf3 TCP 3 s -> (\S+): (\d+) Mbit/s', out)
    assert [d for d, _ in rates] == ['10.127.132.130', '10.2.0.10'] and all(
        int(m) > 0 for _, m in rates), rates
    # The op commands of both pairs: the VTI tunnel and policy tunnel 1 up.
    # (the Id is the CHILD SA's: 1, or 2 when both ends initiated at once and one was dropped)
    assert re.search(r'^\s+vti\s+\d+\s+up\s', out, re.M), out
    assert re.search(r'^\s+1\s+\d+\s+up\s', out, re.M), out
    assert 'site-b@example.com / 198.51.100.1' in out
    assert re.search(r'ESP\(spi=0x[0-9a-f]+,seq=0x[0-9a-f]+\)', out)  # tcpdump on the router
    assert 'demo: both seed pairs done' in out
    m = re.search(r'demo: finished in (\d+) s', out)
    assert m and int(m.group(1)) < 180


def test_demo_builds_only_the_programs_it_runs(tmp_path):
    text = DEMO.read_text()
    m = re.search(r"ninja -C build ((?:[\w/-]+ ?(?:\\\n\s*)?)+)2>&1", text)
    assert m, 'no ninja line in scripts/demo'
    targets = m.group(1).replace('\\\n', ' ').split()
    assert sorted(targets) == ['control/vpnctl', 'control/vpnd', 'dataplane/dpctl',
                               'dataplane/vpn-dataplane'], targets
    build = tmp_path / 'build'
    subprocess.run(['meson', 'setup', str(build), str(ROOT)], check=True, capture_output=True,
                   timeout=300)
    plan = subprocess.run(['ninja', '-C', str(build), '-n', *targets], check=True,
                          capture_output=True, text=True, timeout=120).stdout
    steps = [line for line in plan.splitlines() if re.match(r'^\[\d+/\d+\] ', line)]
    assert not [s for s in steps if ' test/' in s], [s for s in steps if ' test/' in s][:5]
    for t in targets:
        assert any(s.endswith(f'Linking target {t}') for s in steps), t
    everything = subprocess.run(['ninja', '-C', str(build), '-n'], check=True,
                                capture_output=True, text=True, timeout=120).stdout
    assert len(steps) < 0.7 * everything.count('\n'), (len(steps), everything.count('\n'))


def progress(tmp_path, n, fail_at=None):
    rules = ['rule step\n  command = $cmd\n  description = CXX $out\n']
    for i in range(1, n + 1):
        cmd = 'echo compiler noise; false' if i == fail_at else 'true'
        rules.append(f'build o{i}: step\n  cmd = {cmd}\n')
    (tmp_path / 'build.ninja').write_text('\n'.join(rules))
    script = ("NINJA_STATUS='[%f/%t] ' ninja -j1 -C \"$1\" 2>&1 | "
              f"/usr/bin/python3 {ROOT}/scripts/lib/build_progress.py build")
    return subprocess.run(['bash', '-o', 'pipefail', '-c', script, 'sh', str(tmp_path)],
                          capture_output=True, text=True, timeout=60)


def test_build_progress_condenses_ninja_and_keeps_failures(tmp_path):
    r = progress(tmp_path, 40)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    steps = [l for l in lines if re.match(r'^  build: \d+/40 ', l)]
    assert 4 <= len(steps) <= 11 and steps[-1].startswith('  build: 40/40 (100%)'), lines
    assert lines[-1].startswith('  build: 40 steps in'), lines
    assert not any('CXX' in l for l in lines)
    bad = tmp_path / 'bad'
    bad.mkdir()
    r = progress(bad, 10, fail_at=5)
    assert r.returncode != 0
    assert 'FAILED: o5' in r.stdout and 'compiler noise' in r.stdout, r.stdout
