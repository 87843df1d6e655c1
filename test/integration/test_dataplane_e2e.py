"""Two vpn-dataplane processes in network namespaces (net_af_packet on veths, --no-huge), kernel
hosts behind them, static SAs installed with dpctl: ARP and ping to the appliances, ping and
iperf3 (TCP and UDP) through the VTI tunnel with raw ESP and with UDP 4500 encapsulation, and a
wrong key seen as counted ICV failures rather than silence."""
import json
import os
import re
import signal
import time

import pytest

from portcullis_lab import PY, TwoSites, ping, traffic_gap, wait_ping


def iperf(lab, sites, udp=False, seconds=2, rate='100M', streams=1):
    """iperf3 from the west host to the east host; `rate` is per stream (UDP)."""
    server = lab.spawn(['ip', 'netns', 'exec', sites.he, 'iperf3', '-s', '-1', '-p', '5201'],
                       'iperf3-server.log')[0]
    time.sleep(0.5)
    args = ['iperf3', '-c', '10.2.0.10', '-p', '5201', '-t', str(seconds), '-J']
    if streams > 1:
        args += ['-P', str(streams)]
    if udp:
        args += ['-u', '-b', rate, '-l', '1300']
    r = lab.exec(sites.hw, *args, timeout=seconds + 30)
    server.wait(timeout=10)
    return json.loads(r.stdout)


def test_arp_and_ping_to_the_appliances(lab):
    s = TwoSites(lab)
    ok, out = ping(lab, s.hw, '10.1.0.1')
    assert ok, out
    ok, out = ping(lab, s.he, '10.2.0.1')
    assert ok, out
    # The kernel host learned the dataplane's MAC by ARP.
    neigh = lab.exec(s.hw, 'ip', 'neigh', 'show', '10.1.0.1').stdout
    mac = s.west.show_json('ports')['lan']['mac'].lower()
    assert mac in neigh.lower()
    # And the dataplane learned the host.
    assert any('10.1.0.10' in n and 'reachable' in n for n in s.west.show_json('neighbors'))


@pytest.mark.parametrize('cipher', ['aes-gcm-128', 'aes-gcm-256', 'aes-cbc-256'])
def test_ping_through_the_vti_tunnel(lab, cipher):
    s = TwoSites(lab, cipher=cipher)
    ok, out = ping(lab, s.hw, '10.2.0.10', count=5)
    assert ok, out
    assert '5 received' in out
    # Five requests went out encrypted with SPI 0x1001 and came back with 0x2001.
    assert s.west.sa(0x1001, 'out')['packets'] >= 5
    assert s.west.sa(0x2001, 'in')['packets'] >= 5
    assert s.east.sa(0x1001, 'in')['packets'] >= 5
    # Pings to the far VTI address work too (decrypted, answered locally, encrypted back).
    ok, out = ping(lab, s.hw, '172.16.0.2', count=2)
    assert ok, out


def test_iperf_tcp_and_udp_through_the_tunnel(lab):
    s = TwoSites(lab)
    tcp = iperf(lab, s)
    bps = tcp['end']['sum_received']['bits_per_second']
    assert bps > 50e6, f'TCP through the tunnel: {bps / 1e6:.0f} Mbit/s'
    udp = iperf(lab, s, udp=True)
    lost = udp['end']['sum']['lost_percent']
    assert udp['end']['sum']['packets'] > 1000
    assert lost < 5, f'UDP loss {lost}%'
    print(f'TCP {bps / 1e6:.0f} Mbit/s, UDP 100 Mbit/s offered, {lost:.2f}% lost')


def test_udp_encapsulated_esp(lab):
    s = TwoSites(lab, encap=True)
    cap = lab.spawn(['ip', 'netns', 'exec', s.de, 'tcpdump', '-n', '-c', '4', '-i', 'dew',
                     'udp port 4500'], 'tcpdump.log')
    time.sleep(1)
    ok, out = ping(lab, s.hw, '10.2.0.10', count=4)
    assert ok, out
    cap[0].wait(timeout=10)
    text = open(cap[1]).read()
    assert 'UDP-encap: ESP(spi=0x00001001' in text or '4500: UDP-encap' in text, text
    udp = iperf(lab, s, udp=True)
    assert udp['end']['sum']['lost_percent'] < 5


def test_wrong_key_shows_as_counted_icv_failures(lab):
    s = TwoSites(lab, wrong_key=True)
    ok, _ = ping(lab, s.hw, '10.2.0.10', count=3, timeout=1)
    assert not ok
    sa = s.east.sa(0x1001, 'in')
    assert sa['drops'].get('esp_auth_failed', 0) >= 3
    assert sa['packets'] == 0
    assert s.east.interface('wan')['drops'].get('esp_auth_failed', 0) >= 3
    assert s.east.drops().get('esp_auth_failed', 0) >= 3


def test_ip_header_and_unknown_traffic_are_counted(lab):
    s = TwoSites(lab)
    before = s.west.show_json('stats')
    # A packet to a network nobody routes: the appliance answers ICMP network unreachable (3/0)
    # from its LAN address, and counts that one drop.
    r = lab.exec(s.hw, 'ping', '-c', '1', '-W', '1', '203.0.113.5', check=False)
    assert r.returncode != 0, r.stdout  # no echo reply
    assert re.search(r'^From 10\.1\.0\.1 icmp_seq=1 Destination Net Unreachable$', r.stdout,
                     re.M), r.stdout
    after = s.west.show_json('stats')
    assert after['drops'].get('no_route', 0) == before['drops'].get('no_route', 0) + 1, after
    # TTL 1 through the appliance: ICMP time exceeded (11/0), one drop.
    r = lab.exec(s.hw, 'ping', '-c', '1', '-W', '1', '-t', '1', '10.2.0.10', check=False)
    assert r.returncode != 0, r.stdout
    assert re.search(r'^From 10\.1\.0\.1 icmp_seq=1 Time to live exceeded$', r.stdout, re.M), \
        r.stdout
    last = s.west.show_json('stats')
    assert last['drops'].get('ttl_exceeded', 0) == \
        after['drops'].get('ttl_exceeded', 0) + 1, last
    assert last['icmp_sent'] == before['icmp_sent'] + 2, last


def test_two_workers_per_dataplane(lab):
    """af_packet fans receive out over one queue per worker; packets for an SA another worker
    owns are handed to it. TCP through the tunnel must not reorder into loss or stall."""
    s = TwoSites(lab, workers=2)
    assert 'vpn-dataplane: channel' in open(s.west.log).read()
    assert '2 workers' in open(s.west.log).read()
    ok, out = ping(lab, s.hw, '10.2.0.10', count=5)
    assert ok and '5 received' in out, out
    tcp = iperf(lab, s)
    bps = tcp['end']['sum_received']['bits_per_second']
    assert bps > 20e6, f'TCP through the tunnel with two workers: {bps / 1e6:.0f} Mbit/s'
    # Eight UDP flows at a rate nothing drops: af_packet spreads them over both workers' queues
    # (by flow hash), so packets reach a worker that does not own their SA and are handed off.
    # Every packet west encrypts, east decrypts: none is lost in a handoff.
    out_before = s.west.sa(0x1001, 'out')['packets']
    in_before = s.east.sa(0x1001, 'in')['packets']
    before = {side: getattr(s, side).show_json('stats') for side in ('west', 'east')}
    handed = {side: before[side].get('handed_off', 0) for side in before}
    # TCP at full rate may have filled an owner's ring (the owner is the bottleneck: it
    # decrypts what the other worker only receives and hands over), counted as
    # handoff_queue_full; the UDP flows below must lose nothing.
    full = {side: before[side]['drops'].get('handoff_queue_full', 0) for side in before}
    # ... but only a small part of what was handed over.
    for side in before:
        assert full[side] * 100 <= max(handed[side], 1), (side, full[side], handed[side])
    udp = iperf(lab, s, udp=True, rate='2M', streams=8)
    assert udp['end']['sum']['lost_packets'] == 0, udp['end']['sum']
    time.sleep(0.5)
    sent = s.west.sa(0x1001, 'out')['packets'] - out_before
    received = s.east.sa(0x1001, 'in')['packets'] - in_before
    assert sent >= udp['end']['sum']['packets'] and received == sent, (sent, received)
    stats = {side: getattr(s, side).show_json('stats') for side in ('west', 'east')}
    for side, st in stats.items():
        assert st['drops'].get('handoff_queue_full', 0) == full[side], (side, st['drops'])
    moved = {side: stats[side].get('handed_off', 0) - handed[side] for side in stats}
    assert moved['west'] + moved['east'] > 0, moved
    print(f'two workers: TCP {bps / 1e6:.0f} Mbit/s (handoff ring full during it: {full}); '
          f'UDP {sent} packets, handed off {moved}')
    # Through the route-based tunnel too, no flow is reordered: flows in trains (several
    # packets of one flow per burst and handoff), paced on average (flow_order.py).
    tool = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'flow_order.py')
    recv, recv_log = lab.spawn(['ip', 'netns', 'exec', s.he, PY, tool, 'recv', '7000', '16',
                                '200', '3'], 'flow-recv.log')
    deadline = time.time() + 10
    while 'listening' not in open(recv_log).read():
        assert time.time() < deadline and recv.poll() is None, open(recv_log).read()
        time.sleep(0.05)
    lab.exec(s.hw, PY, tool, 'send', '10.2.0.10', '7000', '16', '200', '1000', timeout=120)
    recv.wait(timeout=60)
    got = json.loads(open(recv_log).read().strip().splitlines()[-1])
    assert got['received'] == 3200 and got['missing'] == 0 and got['duplicates'] == 0, got
    assert got['reordered'] == 0, got


def test_policy_based_tunnel(lab):
    """The VyOS-style tunnel: SAs tied to selectors (SPD), no VTI and no route to the far LAN."""
    s = TwoSites(lab, policy=True)
    ok, out = ping(lab, s.hw, '10.2.0.10', count=4)
    assert ok, out
    assert s.west.sa(0x1001, 'out')['packets'] >= 4
    assert s.east.sa(0x1001, 'in')['packets'] >= 4
    policies = s.west.show_json('policies')
    assert 'out 10.1.0.0/24 -> 10.2.0.0/24 protect priority 100 reqid 1 spi 00001001' in \
        ' '.join(policies), policies
    # TCP through it (PMTU discovery against the policy's MTU included).
    tcp = iperf(lab, s, seconds=2)
    assert tcp['end']['sum_received']['bits_per_second'] > 50e6


def test_lacp_bonded_wan_survives_a_link_loss(lab):
    """Vyatta's dp0bond1: the WAN as an LACP bond of two af_packet links, built by each
    dataplane from its configuration (interface wan kind bond mode lacp; wan1/wan2 bond wan),
    the partner another dataplane's bond. Traffic flows once LACP has converged, and keeps
    flowing when one member link goes down; the gaps are measured and printed."""
    s = TwoSites(lab, bond=True)
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic over the LACP bond within 30 s'
    wan = s.west.interface('wan')
    assert wan['kind'] == 'bond' and wan['bond_mode'] == 'lacp', wan
    assert wan['members'] == 'wan1 wan2', wan
    assert wan['device'].startswith('net_bonding'), wan
    assert s.west.interface('wan1')['device'] == 'none'  # members belong to the bond
    assert s.west.interface('wan1')['bond'] == 'wan'
    # Both links in the aggregator on both ends (LACP agreed on them).
    deadline = time.time() + 15
    while time.time() < deadline and not all(
            d.interface('wan')['active_members'] == 'wan1 wan2' for d in (s.west, s.east)):
        time.sleep(0.5)
    assert s.west.interface('wan')['active_members'] == 'wan1 wan2', s.west.interface('wan')
    # Take each member down in turn (one of them carries the flow; which one, the hash decides).
    for down, up in (('dww1', None), ('dww2', 'dww1')):
        if up:
            lab.exec(s.dw, 'ip', 'link', 'set', up, 'up')
            time.sleep(4)  # LACP brings it back into the aggregator
        gap, sent, got = traffic_gap(
            lab, s.hw, '10.2.0.10', lambda: lab.exec(s.dw, 'ip', 'link', 'set', down, 'down'))
        ok, out = ping(lab, s.hw, '10.2.0.10', count=5)
        assert ok and '5 received' in out, f'after losing {down}: {out}'
        print(f'LACP, {down} down: longest gap {gap * 1000:.0f} ms ({got} replies after it, {sent} sent)')


def test_tagged_wan_vif_on_an_lacp_bond_between_two_appliances(lab):
    """The seed's dp0bond0.1750 shape between two appliances: each WAN address on VLAN vif
    wan.1750 of an LACP bond built from the configuration. The tunnel's ESP crosses the veths
    tagged 1750 (tcpdump on the member links sees it), both ways, and the vifs count it."""
    s = TwoSites(lab, bond=True, wan_vlan=1750)
    # On the receiving ends (a packet socket's own sends may bypass the capture taps).
    dumps = [lab.spawn(['ip', 'netns', 'exec', ns, 'tcpdump', '-nn', '-e', '-l', '-i', dev,
                        'vlan 1750'], f'tcpdump-{dev}.log')
             for ns, dev in ((s.de, 'dew1'), (s.de, 'dew2'), (s.dw, 'dww1'), (s.dw, 'dww2'))]
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic over the tagged bond'
    ok, out = ping(lab, s.hw, '10.2.0.10', count=5)
    assert ok and '5 received' in out, out
    # A full 1500-byte packet (DF) to the far end's vif address and its answer, both routed in
    # the clear (a host route on east keeps the answer out of the tunnel, whose MTU is less):
    # 1518-byte tagged frames on the member links, both ways.
    s.east.batch('route add 10.1.0.10/32 via 192.0.2.1\n')
    r = lab.exec(s.hw, 'ping', '-c', '2', '-M', 'do', '-s', '1472', '-W', '2', '192.0.2.2',
                 check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    time.sleep(0.5)
    for proc, _ in dumps:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    seen = ''.join(open(log).read() for _, log in dumps)
    # Both directions of the tunnel, tagged 1750, on the member links.
    assert re.search(r'vlan 1750, .*192\.0\.2\.1 > 192\.0\.2\.2: ESP', seen), seen[-2000:]
    assert re.search(r'vlan 1750, .*192\.0\.2\.2 > 192\.0\.2\.1: ESP', seen), seen[-2000:]
    for d in (s.west, s.east):
        vif = d.interface('wan.1750')
        assert vif['kind'] == 'vif' and vif['vlan'] == 1750
        assert vif['rx_packets'] >= 5 and vif['tx_packets'] >= 5, vif
        assert d.interface('wan')['rx_packets'] == 0, d.interface('wan')  # nothing untagged


def test_lacp_minimum_links_takes_the_bond_down_and_up(lab):
    """minimum-links 2 on both LACP bonds: with one link down (LACP stops distributing on it
    within its 3 s fast timeout) the bond is below its minimum and down: traffic stops, the
    drops are counted as interface_down; with the link back, the bond is up and traffic flows."""
    # The WAN address on vif wan.1750, as the seed's dp0bond0.1750: the vif goes down with it.
    s = TwoSites(lab, bond=True, bond_mode='lacp lacp-rate fast min-links 2', wan_vlan=1750)
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic over the LACP bond'
    assert s.west.interface('wan')['state'] == 'up'
    assert s.west.interface('wan.1750')['state'] == 'up'
    lab.exec(s.dw, 'ip', 'link', 'set', 'dww1', 'down')
    deadline = time.time() + 15
    while time.time() < deadline and s.west.interface('wan')['state'] == 'up':
        time.sleep(0.2)
    assert s.west.interface('wan')['state'] == 'down', s.west.interface('wan')
    assert s.west.interface('wan.1750')['state'] == 'down', s.west.interface('wan.1750')
    ok, _ = ping(lab, s.hw, '10.2.0.10', count=3, timeout=1)
    assert not ok
    vif = s.west.interface('wan.1750')
    assert vif['drops'].get('interface_down', 0) > 0, vif
    lab.exec(s.dw, 'ip', 'link', 'set', 'dww1', 'up')
    gap_start = time.time()
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic once the link is back'
    print(f'minimum-links: back {time.time() - gap_start:.1f} s after the link came up')
    assert s.west.interface('wan')['state'] == 'up'


@pytest.mark.parametrize('mode', ['balanced', 'lacp lacp-rate fast'])
def test_bond_reconfigured_at_commit_without_a_restart(lab, mode):
    """A member removed and the mode changed by a commit (no dataplane restart): the bond is
    stopped, rebuilt and started (for LACP that is a new negotiation); the removed member is a
    plain port again only if configured as one. The traffic gap of each change is printed."""
    s = TwoSites(lab, bond=True, bond_mode=mode)
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic over the balanced bond'
    pid = s.west.proc.pid
    # wan2 leaves both bonds: the bonds run on wan1 alone.
    def remove_member():
        for d in (s.west, s.east):
            d.batch('interface update wan2 kind port\n')
    gap, sent, got = traffic_gap(lab, s.hw, '10.2.0.10', remove_member, settle=10)
    print(f'{mode}: member removed: longest gap {gap * 1000:.0f} ms '
          f'({got} replies after it, {sent} sent)')
    assert got > 0, 'no traffic after the member was removed'  # replies after the action
    assert s.west.interface('wan')['members'] == 'wan1'
    wan2 = s.west.interface('wan2')
    assert 'bond' not in wan2 and wan2['device'] == 'net_af_packet2', wan2  # a plain port again
    ok, out = ping(lab, s.hw, '10.2.0.10', count=3)
    assert ok, out
    # balanced -> active-backup with wan1 as primary, on both ends.
    def change_mode():
        for d in (s.west, s.east):
            d.batch('interface update wan kind bond mode active-backup primary wan1\n')
    gap, sent, got = traffic_gap(lab, s.hw, '10.2.0.10', change_mode, settle=10)
    print(f'{mode} -> active-backup: longest gap {gap * 1000:.0f} ms ({got} replies after it, {sent} sent)')
    assert s.west.interface('wan')['bond_mode'] == 'active-backup'
    ok, out = ping(lab, s.hw, '10.2.0.10', count=3)
    assert ok, out
    # The member back in the bond.
    for d in (s.west, s.east):
        d.batch('interface update wan2 kind port bond wan\n')
    ok, out = ping(lab, s.hw, '10.2.0.10', count=3)
    assert ok, out
    assert s.west.interface('wan')['members'] == 'wan1 wan2'
    assert s.west.proc.pid == pid and s.west.proc.poll() is None  # never restarted


def test_active_backup_fails_over_and_returns_to_the_primary(lab):
    """Active-backup with a primary: the primary's link carries the traffic; when it goes down
    the backup takes over (gap printed), and when it comes back the primary is active again.
    The members are TAP ports (bridged to the veths between the appliances), whose link state
    the bonding PMD sees; the failed link is seen by both ends, as a cut cable is."""
    s = TwoSites(lab, bond=True, bond_mode='active-backup primary wan1', links='tap')

    def link(state):
        lab.exec(s.dw, 'ip', 'link', 'set', 'dwt1', state)
        lab.exec(s.de, 'ip', 'link', 'set', 'det1', state)
    assert wait_ping(lab, s.hw, '10.2.0.10'), 'no traffic over the active-backup bond'
    assert s.west.interface('wan')['current_member'] == 'wan1', s.west.interface('wan')
    w2 = s.west.show_json('ports')
    gap, sent, got = traffic_gap(lab, s.hw, '10.2.0.10',
                                 lambda: link('down'))
    print(f'active-backup, primary down: longest gap {gap * 1000:.0f} ms ({got} replies after it, {sent} sent)')
    ok, out = ping(lab, s.hw, '10.2.0.10', count=5)
    if not ok:
        print(s.west.interface('wan'), s.west.show_json('ports'), s.east.show_json('ports'))
    assert ok and '5 received' in out, out
    assert s.west.interface('wan')['current_member'] == 'wan2'
    # The bond's MAC moved to the member now in use (a NIC filters on its own MAC).
    ports = s.west.show_json('ports')
    assert ports['wan2']['mac'] == ports['wan']['mac'], ports
    # The tunnel's packets went out on the backup member (its port counters moved).
    after = s.west.show_json('ports')
    assert after['wan2']['opackets'] > w2['wan2']['opackets']
    gap, sent, got = traffic_gap(lab, s.hw, '10.2.0.10',
                                 lambda: link('up'))
    print(f'active-backup, primary back: longest gap {gap * 1000:.0f} ms ({got} replies after it, {sent} sent)')
    deadline = time.time() + 10
    while time.time() < deadline and s.west.interface('wan')['current_member'] != 'wan1':
        time.sleep(0.2)
    assert s.west.interface('wan')['current_member'] == 'wan1'
    ok, out = ping(lab, s.hw, '10.2.0.10', count=3)
    assert ok, out
