"""Virtual feature points (#17): Vyatta's `interfaces virtual-feature-point vfpN` and
`site-to-site peer P tunnel N uses vfpN` on real appliances (vpn-dataplane + vpnd each).

The VyOS guide's policy-based site pair (SitePair, configs/vyos-site-a.conf and -b.conf) gets,
on site A, a VFP committed onto the running tunnel, an `in` ruleset on it and a route into it:
- the tunnel carries as before (its policies still select what it carries), and its decrypted
  traffic arrives on vfp1 (vfp1's receive counter) and leaves through it (transmit counter);
- vfp1's `in` rule drops what it names (UDP 9999 from site B's LAN), counted on the rule;
- traffic routed into vfp1 that no policy of its tunnel matches is dropped as vfp_no_policy.
"""
import json
import pathlib
import time

from portcullis_lab import SitePair, ping

VFP = '''
set interfaces virtual-feature-point vfp1 address 10.255.0.1/32
set interfaces virtual-feature-point vfp1 firewall in VFP-IN
set security vpn ipsec site-to-site peer SITE-B tunnel 1 uses vfp1
set security firewall name VFP-IN default-action accept
set security firewall name VFP-IN rule 10 action drop
set security firewall name VFP-IN rule 10 protocol udp
set security firewall name VFP-IN rule 10 destination port 9999
set protocols static interface-route 10.77.0.0/24 next-hop-interface vfp1
'''


def vfp_counters(dp):
    i = dp.interface('vfp1')
    return i['rx_packets'], i['tx_packets']


def rule_packets(vpnd, name):
    fw = json.loads(vpnd.vpnctl('show', 'firewall', 'name', name, '--json').stdout)
    return {r['rule']: r['packets'] for g in fw['rulesets'] for r in g['rules']}


def send_udp(lab, ns, dst, port, count):
    lab.exec(ns, '/usr/bin/python3', '-c',
             'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
             f'for i in range({count}): s.sendto(b"x" * 32, ("{dst}", {port}))\n')


def test_policy_based_tunnel_through_a_vfp(lab, source_root):
    s = SitePair(lab, source_root)
    s.wait_up()
    ok, out = ping(lab, s.ha, '10.2.0.10', count=2)
    assert ok, out
    # Commit the VFP onto the running tunnel: its CHILD SA is made again, naming vfp1.
    conf = pathlib.Path(lab.workdir) / 'vyos-site-a.conf'
    with_vfp = pathlib.Path(lab.workdir) / 'vyos-site-a-vfp.conf'
    with_vfp.write_text(conf.read_text().replace('\ncommit', VFP + 'commit'))
    s.va.vpnctl('load', str(with_vfp))
    shown = s.va.vpnctl('show', 'interfaces', 'vfp').stdout
    assert 'vfp1' in shown, shown
    # Until the tunnel's SAs name vfp1, nothing arrives on it.
    deadline = time.time() + 30
    while True:
        rx0, tx0 = vfp_counters(s.a)
        ok, out = ping(lab, s.hb, '10.1.0.10', count=1, timeout=1)
        rx1, tx1 = vfp_counters(s.a)
        if ok and rx1 > rx0 and tx1 > tx0:
            break
        assert time.time() < deadline, (s.va.log()[-3000:], out, rx0, rx1, tx0, tx1)
        time.sleep(0.5)
    # Both ways through the tunnel, counted on vfp1: requests in (decrypted), replies out.
    ok, out = ping(lab, s.hb, '10.1.0.10', count=5)
    assert ok, out
    rx2, tx2 = vfp_counters(s.a)
    assert rx2 - rx1 >= 5 and tx2 - tx1 >= 5, (rx1, rx2, tx1, tx2)
    log = s.va.log()
    assert ', through vfp1' in log, log[-3000:]
    # vfp1's `in` rule 10 drops UDP 9999 from site B's LAN; other UDP passes.
    before = rule_packets(s.va, 'VFP-IN')
    send_udp(lab, s.hb, '10.1.0.10', 9999, 5)
    time.sleep(0.5)
    after = rule_packets(s.va, 'VFP-IN')
    assert after[10] - before[10] == 5, (before, after)
    # Routed into vfp1, but no policy of its tunnel matches 10.77.0.0/24: dropped and counted.
    drops = s.a.drops().get('vfp_no_policy', 0)
    send_udp(lab, s.ha, '10.77.0.1', 7, 3)
    time.sleep(0.5)
    assert s.a.drops().get('vfp_no_policy', 0) - drops == 3, s.a.drops()
    # The tunnel still carries both ways.
    ok, out = ping(lab, s.ha, '10.2.0.10', count=2)
    assert ok, out
