"""Per-worker CHILD SAs negotiated by two appliances (#18, RFC 9611): the VyOS guide's pair
(SitePair: vpnd + vpn-dataplane on each side, IKE through the dataplanes) made route-based (a
VTI on each side instead of tunnel 1's prefixes) with two workers per dataplane. Both vpnds
learn the worker count from their dataplane's telemetry and offer SA_RESOURCE_INFO; the
initiator then creates a second CHILD SA with the same selectors, each SA pair installed on
its worker and bound as that worker's member of the VTI's group (docs/DESIGN.md, Per-worker
CHILD SAs). The LAN flows of site A reach both of its workers (af_packet's flow fanout), and
each worker encrypts its own with its own SA: nothing is handed off on the way out, no flow is
reordered or loses a packet. Site A's ESP lifetime is 30 s, so each member is rekeyed on its own
(the other keeps its SPI) while the group stays whole. Then site A resets the IKE SA while the
flows run: the group is made again under traffic, member 1 arriving while worker 1's packets
still go to worker 0's SA, and no flow is reordered (the dataplane waits until worker 0 has taken
what worker 1 handed it before worker 1 uses its new member)."""
import re
import threading
import time

from portcullis_lab import SitePair, flow_order, wait_ping

FLOWS, COUNT, PPS, PORT = 16, 200, 1000, 7010


def route_based(vti_addr, remote_lan, lifetime=None):
    """Site config edit: tunnel 1's prefixes become a VTI bound to the peer, routed to."""
    def edit(text):
        lines = [l for l in text.splitlines() if ' tunnel 1 ' not in l and l.strip() != 'commit']
        if lifetime:
            lines = [re.sub(r"esp-group (\S+) lifetime '\d+'", rf"esp-group \1 lifetime '{lifetime}'", l)
                     for l in lines]
        lines += [
            f"set interfaces vti vti1 address '{vti_addr}'",
            "set vpn ipsec site-to-site peer SITE-B vti bind 'vti1'" if 'SITE-B' in text else
            "set vpn ipsec site-to-site peer SITE-A vti bind 'vti1'",
            "set vpn ipsec site-to-site peer SITE-B vti esp-group 'ESP-SITE-B'" if 'SITE-B' in text
            else "set vpn ipsec site-to-site peer SITE-A vti esp-group 'ESP-SITE-A'",
            f"set protocols static route {remote_lan} interface vti1",
            'commit',
        ]
        return '\n'.join(lines) + '\n'
    return edit


def members(v):
    """The CHILD SA lines of `show vpn ipsec sa`: {worker: id} of those up."""
    out = v.vpnctl('show', 'vpn', 'ipsec', 'sa', check=False).stdout
    return {int(w): int(i) for w, i in re.findall(r'^\s+vti/w(\d+)\s+(\d+)\s+up\s', out, re.M)}


def wait_members(s, n, timeout=45):
    """Until both vpnds list n members up and site A's dataplane holds n of them."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if all(len(members(v)) == n for v in (s.va, s.vb)) and len(group(s.a)) == n:
            return
        time.sleep(0.25)
    raise AssertionError('no group of %d\n--- site A ---\n%s\n--- site B ---\n%s\n%s' % (
        n, s.va.log()[-5000:], s.vb.log()[-5000:],
        s.va.vpnctl('show', 'vpn', 'ipsec', 'sa', check=False).stdout))


def vti(dp):
    return next(i for i in dp.show_json('interfaces') if i['name'] == 'vti1')


def group(dp):
    """vti1's members as the dataplane holds them: {worker: spi}."""
    m = vti(dp).get('out_members', '')
    return {int(w): s for w, s in (x.split(':') for x in m.split())}


def workers(dp):
    return dp.show_json('workers')


def flows(lab, s, count=COUNT, port=PORT):
    return flow_order(lab, s.ha, s.hb, port, FLOWS, count, PPS)


def test_two_appliances_negotiate_a_child_sa_per_worker(lab, source_root):
    s = SitePair(lab, source_root, workers=2,
                 edit={'a': route_based('10.255.0.1/30', '10.2.0.0/24', lifetime=30),
                       'b': route_based('10.255.0.2/30', '10.1.0.0/24')})
    wait_members(s, 2)
    for v in (s.va, s.vb):
        log = v.log()
        assert 'the dataplane runs 2 worker(s): route-based tunnels offer a CHILD_SA per worker' \
            in log, log[-3000:]
        assert "per-worker group (RFC 9611, SA_RESOURCE_INFO; the peer's resource" in log, log[-3000:]
    assert wait_ping(lab, s.ha, '10.2.0.10'), s.va.log()[-3000:]
    # Each dataplane holds a member per worker, each on its worker.
    for dp in (s.a, s.b):
        g = group(dp)
        assert sorted(g) == [0, 1] and g[0] != g[1], vti(dp)
        # The fallback is worker 0's member: the layout scripts/bench scale's w2_members
        # installs with dpctl (`bind VTI SPI0 member 0 SPI0 member 1 SPI1`, each pinned).
        assert vti(dp)['out_sa'] == g[0], vti(dp)
        sas = {(sa['spi'], sa['direction']): sa for sa in dp.show_json('sas')}
        for w, spi in g.items():
            sa = sas[(spi, 'out')]
            assert sa['worker_named'] == 1 and sa['owner_worker'] == w, sa

    before = workers(s.a)
    got = flows(lab, s)
    print(f'flows: {got}')
    assert got['received'] == FLOWS * COUNT and got['missing'] == 0, got
    assert got['reordered'] == 0 and got['duplicates'] == 0 and got['foreign'] == 0, got
    time.sleep(0.5)
    after = workers(s.a)
    rx = [a - b for a, b in zip(after['rx_packets'], before['rx_packets'])]
    handed = [a - b for a, b in zip(after['handed_off'], before['handed_off'])]
    print(f'site A rx per worker {rx}, handed off {handed}, members {group(s.a)}')
    # Both workers received flows, and each encrypted its own: no handoff at all (with one SA per
    # tunnel, test_workers.py hands the non-owner's share over).
    assert min(rx) >= COUNT, (rx, after)
    assert handed == [0, 0], (handed, after)

    # Site A rekeys each member on its own (ESP lifetime 30 s: every 15-22 s): a member's rekey
    # replaces only its own SPI, and the group stays whole.
    first = group(s.a)
    deadline = time.time() + 60
    while time.time() < deadline:
        g = group(s.a)
        if len(g) == 2 and g[0] != first[0] and g[1] != first[1]:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f'members not rekeyed: {first} -> {group(s.a)}\n' + s.va.log()[-5000:])
    log = s.va.log()
    assert len(re.findall(r'rekeying CHILD_SA', log)) >= 2, log[-5000:]
    assert 'TS_MAX_QUEUE' not in log, log[-5000:]
    wait_members(s, 2)
    assert wait_ping(lab, s.ha, '10.2.0.10'), s.va.log()[-3000:]

    # The group made again under traffic: site A resets its IKE SA 2 s into 10 s of flows. The
    # first CHILD SA takes both workers' flows (worker 1's handed to worker 0), then member 1
    # arrives: worker 1 keeps handing off until worker 0 has sent what it handed over, so none
    # of its flows is reordered. Datagrams sent while no SA is up are lost (counted, not
    # asserted: how many depends on the IKE round trips). At 1,000 datagrams/s worker 0's ring
    # is seldom non-empty at that moment, so this could pass without the wait too: worker_test
    # forces the moment; this checks the real path.
    old = group(s.a)
    got = {}
    runner = threading.Thread(target=lambda: got.update(flows(lab, s, count=600, port=PORT + 1)))
    runner.start()
    time.sleep(2)
    s.va.vpnctl('reset', 'vpn', 'ipsec-peer', 'SITE-B')
    runner.join(timeout=120)
    assert not runner.is_alive() and got, 'flows did not finish'
    print(f'flows across the reset: {got}')
    wait_members(s, 2)
    new = group(s.a)
    assert sorted(new) == [0, 1] and not set(new.values()) & set(old.values()), (old, new)
    assert got['received'] > 0 and got['foreign'] == 0, got
    assert got['reordered'] == 0 and got['duplicates'] == 0, got
