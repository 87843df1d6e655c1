"""vpn-dataplane's table-size options on the real binary: --help documents them, and a bad
size stops it before the EAL starts with a message naming the option and its range (no
namespaces, no ports opened)."""
import os
import pathlib
import subprocess

BUILD = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', 'build'))
DATAPLANE = str(BUILD / 'dataplane' / 'vpn-dataplane')
BASE = ['--channel', 'opttest', '--port', 'lan=net_null0']


def run(*app):
    return subprocess.run([DATAPLANE, '--no-huge', '-m', '64', '--', *app], capture_output=True,
                          text=True, timeout=30)


def test_help_lists_the_table_sizes():
    r = run('--help')
    assert r.returncode == 0
    for option in ('--max-interfaces', '--max-sas', '--max-routes', '--max-next-hops',
                   '--max-neighbors', '--max-policies', '--fib-tbl8-groups'):
        assert option in r.stdout
    assert '--max-sas          N  SAs, both directions: 64..1048576, default 8192' in r.stdout


def test_bad_sizes_stop_the_dataplane_with_a_clear_error():
    cases = [
        (['--max-sas', 'lots'], "--max-sas must be a number from 64 to 1048576, not 'lots'"),
        (['--max-sas=0'], "--max-sas must be a number from 64 to 1048576, not '0'"),
        (['--max-interfaces', '70000'], '--max-interfaces must be a number from 16 to 65535'),
        (['--max-routes', '-5'], '--max-routes must be a number from 16 to 2097152'),
        (['--max-policies'], '--max-policies needs a value'),
        (['--max-interfaces', '40000', '--max-next-hops', '1000'],
         '--max-next-hops 1000 is less than 2 per interface'),
    ]
    for args, message in cases:
        r = run(*BASE, *args)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert 'EAL' not in r.stderr  # refused before DPDK started


def test_dpctl_names_interfaces_beyond_a_telemetry_reply(tmp_path):
    """600 VTIs (a telemetry array holds 512 entries; ifindexes above 255): a later dpctl
    batch resolves every name, the last one included, with --max-interfaces raised."""
    import json
    import signal
    import time
    channel = f'opttest{os.getpid()}'
    log = tmp_path / 'dataplane.log'
    proc = subprocess.Popen([DATAPLANE, '-l', '0,1', '--no-huge', '-m', '256',
                             '--log-level=*:error', '--', '--channel', channel,
                             '--port', 'wan=net_null0,no-rx=1', '--max-interfaces', '2048'],
                            stdout=open(log, 'w'), stderr=subprocess.STDOUT)
    dpctl = [str(BUILD / 'dataplane' / 'dpctl'), '--channel', channel]
    try:
        deadline = time.time() + 30
        while 'vpn-dataplane: ready' not in log.read_text():
            assert proc.poll() is None and time.time() < deadline, log.read_text()
            time.sleep(0.1)
        lines = [f'interface add vti{i} kind vti' for i in range(600)]
        r = subprocess.run([*dpctl, 'batch', '-'], input='\n'.join(lines) + '\n',
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([*dpctl, 'batch', '-'], input='address add vti599 172.16.0.1/30\n'
                           'route add 10.9.0.0/16 dev vti599\n', capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([*dpctl, 'show', 'interface', 'vti599', '--json'],
                           capture_output=True, text=True, timeout=60)
        shown = json.loads(r.stdout)
        assert shown['ifindex'] == 600
        assert shown['addresses'] == '172.16.0.1/30'
        # The list shows all of them, not the 512 a telemetry array holds.
        r = subprocess.run([*dpctl, 'show', 'interfaces', '--json'], capture_output=True,
                           text=True, timeout=120)
        listed = [json.loads(line)['name'] for line in r.stdout.splitlines() if line.strip()]
        assert len(listed) == 600 and listed[-1] == 'vti599', len(listed)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        subprocess.run(['rm', '-rf', f'/var/run/dpdk/portcullis-{channel}',
                        f'/dev/shm/portcullis-{channel}'])
