"""Zero-loss reconfiguration (FD.io CSIT "reconf"): RECONF_TUNNELS (default 200) tunnels carry
traffic through a real vpn-dataplane (net_pcap -> net_null, no namespaces needed) while one
batch adds a tunnel and removes another; the dataplane must drop no packet meanwhile and every
tunnel that stays must keep carrying traffic. See test/bench/reconf_bench.py; the benchmark
(`scripts/bench reconf`) prints the same numbers."""
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / 'bench'))

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='vpn-dataplane needs root')


def test_adding_and_removing_a_tunnel_loses_no_packet_of_the_others(tmp_path):
    import reconf_bench
    tunnels = int(os.environ.get('RECONF_TUNNELS', '200'))
    r = reconf_bench.run_reconf(tunnels, tmp_path)
    print(r)
    assert r['loss'] == 0, r['drops']
    assert r['stalled'] == []
    assert not r['removed_present']
    assert r['added_present']
