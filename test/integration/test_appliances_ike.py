"""Two appliances (vpn-dataplane + vpnd each) in network namespaces run the seed's route-based
pair, configs/vyatta-west.conf and vyatta-east.conf, with the seed's own addresses (SeedPair in
portcullis_lab.py): IKE over the dataplane's punt/inject path brings the VTI tunnel up, the
CHILD SAs land in both dataplanes, and the hosts ping each other through it. Then the east
appliance runs only what `vpnctl generate vpn peer-config` wrote from west's."""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

from portcullis_lab import (EAST_HOST, EAST_PUBLIC, WEST_HOST, SeedPair, SitePair,
                            appliance_config, ping)



def test_seed_pair_with_ike_through_the_dataplanes(lab, source_root, tmp_path):
    s = SeedPair(lab, source_root)
    s.wait_up()
    ike = s.vw.vpnctl('show', 'vpn', 'ike', 'sa').stdout
    assert re.search(r'^    up     aes256        sha2_256  20 ', ike, re.M), ike
    # The CHILD SA pair landed in both dataplanes: the same SPIs, crossed.
    west_sas = {(x['spi'], x['direction']) for x in s.west.show_json('sas')}
    east_sas = {(x['spi'], x['direction']) for x in s.east.show_json('sas')}
    assert len(west_sas) >= 2
    assert {(spi, 'in' if d == 'out' else 'out') for spi, d in west_sas} & east_sas
    assert s.west.interface('vti2')['out_sa'] != 'none'
    ok, out = ping(lab, s.hw, EAST_HOST, count=5)
    assert ok and '5 received' in out, out + '\n' + s.vw.log()[-3000:]
    ok, out = ping(lab, s.he, WEST_HOST, count=3)
    assert ok, out
    # IKE went through the dataplane's punt/inject path, not around it.
    stats = s.west.show_json('stats')
    assert stats['punt_to_vpnd'] > 0 and stats['inject_from_vpnd'] > 0, stats
    ipsec = s.vw.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout
    assert EAST_PUBLIC in ipsec, ipsec
    # The log says so in the seed's words.
    assert 'established' in s.vw.log().lower()


def test_vpnd_killed_and_restarted(lab, source_root, tmp_path):
    """kill -9 of vpnd leaves the dataplane forwarding with the SAs it has; a new vpnd attaches,
    recommits the configuration and resumes the IKE SA from its state file (hitless restart: the
    tunnel carries traffic throughout; test_hitless_restart counts the packets)."""
    s = SeedPair(lab, source_root)
    s.wait_up()
    s.vw.proc.kill()
    s.vw.proc.wait(timeout=10)
    ok, out = ping(lab, s.hw, EAST_HOST, count=3)
    assert ok, 'forwarding stopped with vpnd: ' + out
    os.unlink(s.vw.sock)
    s.vw = lab.vpnd(s.dw, s.west, str(tmp_path / 'west.conf'), 'west-again')
    s.wait_up()
    ok, out = ping(lab, s.hw, EAST_HOST, count=3)
    assert ok, out + s.vw.log()[-3000:] + s.ve.log()[-3000:]
    assert 'resumed after the restart' in s.vw.log(), s.vw.log()[-3000:]
    assert s.west.show_json('stats')['batches_failed'] == 0


def test_generated_vyatta_config_on_a_second_appliance(lab, source_root, tmp_path, build_root):
    """East's VPN configuration is what `generate vpn peer-config 159.8.98.213 format vyatta`
    writes from west's file; only east's interfaces and default route come from the seed. The
    VTI tunnel comes up between the two dataplanes and the hosts ping through it."""
    west = appliance_config(source_root, tmp_path, 'west')
    g = subprocess.run([str(build_root / 'control' / 'vpnctl'), '--file', west, 'generate', 'vpn',
                        'peer-config', EAST_PUBLIC, 'format', 'vyatta'],
                       capture_output=True, text=True, timeout=20)
    assert g.returncode == 0, g.stderr
    assert 'set security vpn ipsec site-to-site peer 169.50.194.197 vti bind vti2' in g.stdout
    # East's own lines minus everything the generator writes (VPN, the VTI and its route).
    seed_east = pathlib.Path(appliance_config(source_root, tmp_path, 'east')).read_text()
    own = [l for l in seed_east.splitlines()
           if not l.startswith(('set security vpn', 'set interfaces vti',
                                'set protocols static interface-route'))]
    east = tmp_path / 'east-generated.conf'
    east.write_text('\n'.join(own) + '\n' + g.stdout)
    s = SeedPair(lab, source_root, configs={'west': west, 'east': str(east)})
    s.wait_up()
    ok, out = ping(lab, s.hw, EAST_HOST, count=5)
    assert ok and '5 received' in out, out + '\n' + s.ve.log()[-3000:]
    ok, out = ping(lab, s.he, WEST_HOST, count=3)
    assert ok, out
    # The generated side negotiated what west asked for.
    ike = s.ve.vpnctl('show', 'vpn', 'ike', 'sa').stdout
    assert re.search(r'^    up     aes256        sha2_256  20 ', ike, re.M), ike


def test_close_action_trap_brings_the_tunnel_back_on_traffic(lab, source_root, tmp_path):
    """close-action trap on west: east (respond-only) deletes the IKE SA; west keeps the VTI
    without an SA and waits. Nothing comes back by itself; the next packet into vti2 raises the
    dataplane's acquire and west initiates, and the hosts ping through the tunnel again."""
    west = pathlib.Path(appliance_config(source_root, tmp_path, 'west'))
    west.write_text(west.read_text() +
                    'set security vpn ipsec ike-group IKE-Fergie close-action trap\n')
    east = pathlib.Path(appliance_config(source_root, tmp_path, 'east'))
    east.write_text(east.read_text() + 'set security vpn ipsec site-to-site peer '
                    '169.50.194.197 connection-type respond\n')
    s = SeedPair(lab, source_root, configs={'west': str(west), 'east': str(east)})
    s.wait_up()
    ok, out = ping(lab, s.hw, EAST_HOST, count=2)
    assert ok, out
    s.ve.vpnctl('reset', 'vpn', 'ipsec-peer', '169.50.194.197')
    deadline = time.time() + 15
    while 'trap installed' not in s.vw.log() and time.time() < deadline:
        time.sleep(0.2)
    assert 'deleted by the peer, close-action trap' in s.vw.log(), s.vw.log()[-3000:]
    assert 'trap installed' in s.vw.log(), s.vw.log()[-3000:]
    # A trap waits for traffic: nothing is initiated meanwhile.
    time.sleep(3)
    assert 'acquire for' not in s.vw.log()
    assert s.west.interface('vti2')['out_sa'] == 'none'
    sent_before = s.west.show_json('stats')['acquires_sent']
    # The first packets meet the VTI without an SA (dropped, an acquire); the tunnel comes up.
    deadline = time.time() + 20
    ok = False
    while not ok and time.time() < deadline:
        ok, out = ping(lab, s.hw, EAST_HOST, count=1, timeout=1)
    assert ok, out + '\n' + s.vw.log()[-3000:]
    log = s.vw.log()
    assert re.search(r'acquire for \S+: initiating \(trap\)', log), log[-3000:]
    stats = s.west.show_json('stats')
    assert stats['acquires_sent'] > sent_before, stats
    assert s.west.drops().get('vti_without_sa', 0) >= 1
    ok, out = ping(lab, s.he, WEST_HOST, count=3)
    assert ok, out


@pytest.mark.parametrize('restart', [False, True], ids=['', 'vpnd-restarted'])
def test_close_action_trap_on_a_policy_based_tunnel(lab, source_root, restart):
    """The VyOS site pair (policy-based) with close-action trap on site A and site B
    respond-only: B deletes the IKE SA; A keeps the tunnel's policies without an SA, so its
    LAN's traffic to B's LAN is dropped (policy_no_sa) and raises an acquire instead of leaving
    A's WAN in the clear (a capture on the router sees none of it); A initiates on that
    acquire and the hosts ping through the tunnel again. `restart`: A's vpnd is killed (-9) and
    started again while trapped: the trap, and its policies, survive the restart."""
    s = SitePair(lab, source_root, edit={
        'a': lambda t: t.replace("close-action 'none'", "close-action 'trap'"),
        'b': lambda t: t.replace("connection-type 'initiate'", "connection-type 'respond'")})
    s.wait_up()
    ok, out = ping(lab, s.ha, '10.2.0.10', count=2)
    assert ok, out
    s.vb.vpnctl('reset', 'vpn', 'ipsec-peer', 'SITE-A')
    deadline = time.time() + 15
    while 'trap installed' not in s.va.log() and time.time() < deadline:
        time.sleep(0.2)
    assert 'trap installed' in s.va.log(), s.va.log()[-3000:]
    time.sleep(1)
    if restart:
        s.va.proc.kill()
        s.va.proc.wait(timeout=10)
        os.unlink(s.va.sock)
        s.va = lab.vpnd(s.da, s.a, os.path.join(lab.workdir, 'vyos-site-a.conf'), 'site-a-again')
        deadline = time.time() + 15
        while 'hitless restart' not in s.va.log() and time.time() < deadline:
            time.sleep(0.2)
        assert 'from before the restart kept' in s.va.log(), s.va.log()[-3000:]
        time.sleep(1)
    assert 'acquire for' not in s.va.log()
    # What leaves A's WAN towards B's LAN while the tunnel is down: nothing in the clear.
    cap, cap_log = lab.spawn(['ip', 'netns', 'exec', s.rt, 'tcpdump', '-nn', '-l', '-i', 'ra0',
                              'icmp and host 10.2.0.10'], 'tcpdump-trap.log')
    time.sleep(1)
    no_sa = s.a.drops().get('policy_no_sa', 0)
    deadline = time.time() + 20
    ok = False
    while not ok and time.time() < deadline:
        ok, out = ping(lab, s.ha, '10.2.0.10', count=1, timeout=1)
    cap.terminate()
    cap.wait(timeout=5)
    assert ok, out + '\n' + s.va.log()[-3000:]
    log = s.va.log()
    assert re.search(r'acquire for \S+: initiating \(trap\)', log), log[-3000:]
    assert s.a.drops().get('policy_no_sa', 0) > no_sa
    leaked = [l for l in open(cap_log).read().splitlines() if '10.2.0.10' in l]
    assert not leaked, leaked
    ok, out = ping(lab, s.hb, '10.1.0.10', count=3)
    assert ok, out


def test_esn_and_replay_window_between_two_appliances(lab, source_root, tmp_path):
    """`esp-group X esn enable` and `peer X replay-window 64` on both ends: the CHILD SA is
    negotiated with ESN, both dataplanes hold it with esn=1 and the inbound SA with a 64-packet
    window, and the hosts ping through it (the ICV covers the high sequence bits, so a mismatch
    would drop every packet)."""
    configs = {}
    for name, peer in (('west', '159.8.98.213'), ('east', '169.50.194.197')):
        path = pathlib.Path(appliance_config(source_root, tmp_path, name))
        esp = re.search(r'esp-group (\S+) ', path.read_text()).group(1)
        path.write_text(path.read_text() +
                        f'set security vpn ipsec esp-group {esp} esn enable\n'
                        f'set security vpn ipsec site-to-site peer {peer} replay-window 64\n')
        configs[name] = str(path)
    s = SeedPair(lab, source_root, configs=configs)
    s.wait_up()
    ok, out = ping(lab, s.hw, EAST_HOST, count=5)
    assert ok and '5 received' in out, out + '\n' + s.vw.log()[-3000:]
    for dp in (s.west, s.east):
        sas = dp.show_json('sas')
        assert sas and all(x['esn'] == 1 for x in sas), sas
        assert {x['replay_window'] for x in sas if x['direction'] == 'in'} == {64}, sas
        assert any(x['direction'] == 'in' and x['packets'] >= 5 for x in sas), sas
    detail = s.vw.vpnctl('show', 'vpn', 'ipsec', 'sa', 'detail').stdout
    assert re.search(r'^\s+ESN:\s+yes$', detail, re.M), detail
    assert re.search(r'^\s+Replay Window:\s+64$', detail, re.M), detail
    debug = s.vw.vpnctl('show', 'vpn', 'debug').stdout
    assert re.search(r'AES_GCM_16_128(/\w+)*/ESN, ', debug), debug


def _ike_sas(vpnd):
    return json.loads(vpnd.vpnctl('--json', 'show', 'vpn', 'ike', 'sa').stdout or '[]')


def _hold_arp(lab, ns):
    """Every ARP packet in `ns` dropped (nft arp table `hold`): nobody there answers."""
    lab.exec(ns, 'nft', 'add table arp hold; '
             'add chain arp hold in { type filter hook input priority 0; policy drop; }; '
             'add chain arp hold out { type filter hook output priority 0; policy drop; }')


def test_simultaneous_initiation_settles_on_one_ike_sa(lab, source_root):
    """Both appliances of the VyOS site pair initiate (`connection-type initiate` on both, as the
    guide configures them) and their IKE_SA_INITs cross: the router between them answers no ARP
    until both dataplanes hold their first IKE_SA_INIT for it (arp_hold.py), then answers both
    at once. Each vpnd has sent its own request when the other's comes, so each answers the
    other's too and two IKE SAs come up, each with a CHILD SA. Both ends keep the same one (the
    nonce rule, IkeManager::IkeUp), the end that initiated it deletes the other after moving
    its tunnel onto the kept one. After settling: one IKE SA and one CHILD SA on each end, and a
    ping stream across, running while the duplicate goes, loses nothing."""
    arp_hold = os.path.join(os.path.dirname(__file__), 'arp_hold.py')
    hold = {}

    def before_vpnd(s):
        _hold_arp(lab, s.rt)
        hold['proc'], hold['log'] = lab.spawn(
            ['ip', 'netns', 'exec', s.rt, '/usr/bin/python3', arp_hold, '--iface', 'ra0',
             '--iface', 'rb0', '--table', 'hold', '--timeout', '60'], 'arp-hold.log')
        deadline = time.time() + 20
        while 'listening' not in open(hold['log']).read():
            assert hold['proc'].poll() is None and time.time() < deadline, \
                open(hold['log']).read()
            time.sleep(0.05)

    s = SitePair(lab, source_root, before_vpnd=before_vpnd)
    # The stream starts before the tunnel is up (its first packets raise nothing: no trap) so
    # it runs through the whole settlement: 0.05 s apart for 40 s.
    stream = subprocess.Popen(['ip', 'netns', 'exec', s.ha, 'ping', '-n', '-i', '0.05', '-w',
                               '45', '10.2.0.10'], stdout=subprocess.PIPE, text=True)
    try:
        hold['proc'].wait(timeout=70)
        report = json.loads(open(hold['log']).read().splitlines()[-1])
        assert report['released'], report
        s.wait_up()
        up_at = time.time()
        # Settled: one IKE SA per end, and the logs show the duplicate was made and deleted.
        deadline = time.time() + 40
        while time.time() < deadline:
            if all(len(_ike_sas(v)) == 1 for v in (s.va, s.vb)):
                break
            time.sleep(0.5)
        logs = s.va.log() + '\n--- site B ---\n' + s.vb.log()
        assert 'duplicate IKE_SA from simultaneous initiation' in s.va.log(), logs[-8000:]
        assert 'duplicate IKE_SA from simultaneous initiation' in s.vb.log(), logs[-8000:]
        assert re.search(r'deleting the one with the lowest nonce', logs), logs[-8000:]
        for v in (s.va, s.vb):
            ike = _ike_sas(v)
            assert len(ike) == 1 and ike[0]['state'] == 'up', (ike, logs[-8000:])
            child = json.loads(v.vpnctl('--json', 'show', 'vpn', 'ipsec', 'sa').stdout or '[]')
            assert len([c for c in child if c.get('state') == 'up']) == 1, (child, logs[-8000:])
        a_ike, b_ike = _ike_sas(s.va)[0], _ike_sas(s.vb)[0]
        assert (a_ike['spi_i'], a_ike['spi_r']) == (b_ike['spi_i'], b_ike['spi_r'])
        # And stays so (no late deletion or re-initiation).
        time.sleep(max(0.0, up_at + 35 - time.time()))
        assert all(len(_ike_sas(v)) == 1 for v in (s.va, s.vb))
    finally:
        stream.wait(timeout=60)
    out = stream.stdout.read()
    # Every echo request from the first answered one on was answered (before it, the tunnel
    # was still being set up), but the last few, cut off by the deadline.
    seqs = set(int(m) for m in re.findall(r'icmp_seq=(\d+)', out))
    assert len(seqs) > 400, out[-2000:]
    sent = int(re.search(r'(\d+) packets transmitted', out).group(1))
    lost = [q for q in range(min(seqs), sent - 2) if q not in seqs]
    assert not lost, (lost, out[-2000:], s.va.log()[-6000:], s.vb.log()[-6000:])
