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


def start_dataplane(lab, tmp_path, extra=()):
    """vpn-dataplane with two net_null ports, as the generated configurations name them, in a
    namespace of its own."""
    import time
    from portcullis_lab import Dataplane
    ns = lab.ns('c')
    channel = f'{lab.id}c'
    lab.channels.append(channel)
    log = tmp_path / 'dataplane.log'
    proc, _ = lab.spawn(['ip', 'netns', 'exec', ns, lab.dataplane_bin, '--no-huge', '-m', '1024',
                         '--', '--channel', channel, '--idle-sleep-us', '50',
                         '--port', 'dp0p1s1=net_null0', '--port', 'dp0p2s1=net_null1', *extra],
                        'dataplane.log')
    deadline = time.time() + 60
    while 'vpn-dataplane: ready' not in log.read_text():
        assert proc.poll() is None and time.time() < deadline, log.read_text()
        time.sleep(0.1)
    return Dataplane(lab, ns, channel, str(log), proc)


def start_appliance(lab, tmp_path, conf, extra=()):
    """start_dataplane and vpnd on it with `conf`; returns (dataplane, vpnd, seconds from
    vpnd's start until it logged the commit)."""
    import time
    dp = start_dataplane(lab, tmp_path, extra)
    ns = dp.ns
    t0 = time.monotonic()  # vpnd's start: it loads the file and commits it
    vpnd = lab.vpnd(ns, dp, str(conf), 'c')
    while 'configuration committed' not in vpnd.log():
        assert vpnd.proc.poll() is None and time.monotonic() - t0 < 300, vpnd.log()[-3000:]
        time.sleep(0.05)
    assert 'refused' not in vpnd.log(), vpnd.log()[-3000:]
    return dp, vpnd, time.monotonic() - t0


def test_a_large_tunnel_configuration_commits_through_vpnd_to_the_dataplane(lab, tmp_path):
    """vpnd starts with COMMIT_TUNNELS (default 200) route-based tunnels and commits them, as one
    streamed batch, to a real vpn-dataplane; every VTI and its route are then in the dataplane.
    For 10,000 tunnels pass the dataplane's table sizes in COMMIT_DATAPLANE_ARGS."""
    import shlex

    import tunnel_config
    tunnels = int(os.environ.get('COMMIT_TUNNELS', '200'))
    extra = shlex.split(os.environ.get('COMMIT_DATAPLANE_ARGS', ''))
    conf = tmp_path / 'tunnels.conf'
    conf.write_text(tunnel_config.config(tunnels, 'route'))
    dp, _, seconds = start_appliance(lab, tmp_path, conf, extra)
    print(f'{tunnels} tunnels: vpnd start to committed {seconds:.2f} s')
    import random
    routes = set(dp.show_json('routes'))
    want = {f'10.{k >> 8}.{k & 255}.0/24 interface vti{k + 1}' for k in range(tunnels)}
    total = dp.show_json('stats')['routes']
    if total <= len(routes):
        missing = sorted(want - routes)
        assert missing == [], f'{len(missing)} tunnel routes missing, first {missing[:5]}'
    else:
        # A telemetry answer holds 512 entries and 16 KB at most: the count, what is listed, and
        # a sample of the VTIs below.
        assert total >= tunnels
        # (the VTIs' own /30s are connected routes of theirs, not tunnel routes)
        listed = {r for r in routes if r.startswith('10.') and ' interface vti' in r}
        assert listed and listed <= want, sorted(listed - want)[:5]
    for k in {0, tunnels // 2, tunnels - 1, *random.Random(7).sample(range(tunnels),
                                                                    min(tunnels, 100))}:
        assert dp.interface(f'vti{k + 1}')['kind'] == 'vti', k


def test_thirty_thousand_static_routes_stream_to_the_dataplane_in_one_commit(lab, tmp_path):
    """Over seven times the old 4,096-message batch cap, within what today's FIB takes (half of
    its 65,536 routes: the other half is room for the swap)."""
    n = 30000
    lines = ['set interfaces dataplane dp0p1s1 address 198.18.0.1/15']
    lines += [f'set protocols static route 10.{k >> 16 | 100}.{(k >> 8) & 255}.{k & 255}/32 '
              'next-hop 198.18.0.254' for k in range(n)]
    conf = tmp_path / 'routes.conf'
    conf.write_text('\n'.join(lines) + '\n')
    dp, vpnd, seconds = start_appliance(lab, tmp_path, conf)
    print(f'{n} static routes: vpnd start to committed {seconds:.2f} s')
    # `show routes` lists the first few hundred: each must be one of ours (or the connected
    # ones); the count says all of them are there.
    shown = [r for r in dp.show_json('routes') if r.startswith('10.')]
    want = {f'10.{k >> 16 | 100}.{(k >> 8) & 255}.{k & 255}/32 gateway dp0p1s1 via 198.18.0.254'
            for k in range(n)}
    assert len(shown) > 100 and set(shown) <= want, shown[:5]
    # The connected /15 and the local /32 besides the static routes.
    assert dp.show_json('stats')['routes'] == n + 2
    assert 'dataplane configuration committed' in vpnd.log()
    channel = dp.show_json('channel')
    assert channel['batches_applied'] == 1 and channel['messages_consumed'] > n, channel


def test_a_commit_over_max_batch_messages_is_refused_clearly_and_counted(lab, tmp_path):
    """vpn-dataplane --max-batch-messages 1000 and a configuration of 2,000 static routes: vpnd
    refuses the commit naming the limit, nothing reaches the dataplane, and the refusal is
    counted in the channel's rejects."""
    lines = ['set interfaces dataplane dp0p1s1 address 198.18.0.1/15']
    lines += [f'set protocols static route 10.100.{k >> 8}.{k & 255}/32 next-hop 198.18.0.254'
              for k in range(2000)]
    conf = tmp_path / 'routes.conf'
    conf.write_text('\n'.join(lines) + '\n')
    dp = start_dataplane(lab, tmp_path, ['--max-batch-messages', '1000'])
    assert dp.show_json('channel')['max_batch_messages'] == 1000
    with pytest.raises(RuntimeError) as e:
        lab.vpnd(dp.ns, dp, str(conf), 'c')
    assert 'more than the 1000 vpn-dataplane takes in one batch' in str(e.value), str(e.value)
    channel = dp.show_json('channel')
    assert channel['messages_consumed'] == 0 and channel['batches_applied'] == 0, channel
    assert channel['rejects'] == {'batch_too_large': 1}, channel
    assert dp.show_json('stats')['routes'] == 0


def test_reconfiguration_under_a_fixed_rate_loses_no_packet_sent(lab):
    """Exact accounting: every packet a generator sent at a fixed rate through a veth leaves
    the WAN port, across a batch that adds one tunnel and removes another."""
    import reconf_bench
    tunnels = int(os.environ.get('RECONF_TUNNELS', '200'))
    r = reconf_bench.run_reconf_paced(lab, tunnels)
    print(r)
    assert r['sent'] > 20000  # 4 s at RECONF_RATE (10,000/s)
    assert r['lost'] == 0, r
    assert r['drops'] == {}, r
