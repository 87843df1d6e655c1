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
