"""The flood of spoofed IKE_SA_INITs against a whole appliance, bounded to 10 s.

test_ike_flood.py floods a kernel-transport vpnd, where nothing carries ESP. Here the responder is
an appliance (vpn-dataplane on af_packet vdevs + vpnd on its channel), its established peer is a
second appliance, and a route-based tunnel between them carries a ping stream (every 50 ms, from
2 s before the flood to 2 s after it) between two LAN hosts through ESP:

    host 10.1.0.10 -- [resp 192.0.2.1] ==+== [est 192.0.2.2] -- host 10.2.0.10
                                        |
               new peer 192.0.2.3 (kernel-transport vpnd: it only needs IKE)
               flooder  192.0.2.4 (test/tools/ike_flood, 50,000/s from 198.18.0.0/15)

All on one bridge in a hub namespace. The responder answers anyone (`peer any`) and routes
198.18.0.0/15 to the flooder, which drops the answers. The responder runs DPD every second (est
every 2 s, which the responder's requests keep quiet), so the established IKE SA sends requests
from the responder's vpnd and receives answers through its dataplane all through the flood. The
new peer starts its IKE_SA_INIT 1 s into the flood.

Asserted (what the product controls): no ping lost (ping's own summary), the new peer's tunnel up
within 5 s of its start, the established IKE SA and its CHILD SA the same ones, up, after the
flood, its DPD exchanges during the flood all answered without a retransmission, the responder's
vpnd log grown by at most a few hundred lines. Printed as JSON: what the flooder sent and its rate,
vpnd's CPU time per spoofed datagram (target <= 20 us), the dataplanes' CPU, the responder
dataplane's IKE counters (ike_rate_limited, ike_init_queue_full, ike_cookie_queue_full,
punt_queue_full, punted, injected) and its other drops, the kernel's backlog drops (packets lost
before any dataplane saw them: the machine's limit, not the product's), the frames the WAN veths'
kernel side received and those the ports' af_packet rings (4,096 frames here) had no room for
(imissed), the log growth, the time to the new tunnel, the established IKE SA's messages, the pings
sent and received, and the ESP packets each dataplane's SAs carried (encrypted by one, not
decrypted by the other: lost between them).

Environment, for A/B runs: PORTCULLIS_FLOOD_RATE overrides the flooder's rate (datagrams/s; 0 =
as fast as it can), PORTCULLIS_FLOOD_DATAPLANE and PORTCULLIS_FLOOD_VPND name another build's
vpn-dataplane and vpnd for the responder. Everything the test creates is removed even when it
fails.
"""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

from portcullis_lab import Lab
from test_ike_flood import IKE, any_peer, cpu_ticks, initiator_conf

RESP, EST, NEW, FLOODER = '192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4'
RESP_HOST, EST_HOST = '10.1.0.10', '10.2.0.10'
SPOOFED = '198.18.0.0/15'
FLOOD_SECONDS = 10
FLOOD_RATE = int(os.environ.get('PORTCULLIS_FLOOD_RATE', '50000'))
NEW_PEER_AFTER = 1.0
PING_INTERVAL = 0.05
PING_BEFORE, PING_AFTER = 2.0, 2.0  # the ping stream starts before the flood and outlasts it
PING_COUNT = int((PING_BEFORE + FLOOD_SECONDS + PING_AFTER) / PING_INTERVAL)
EST_PSK, NEW_PSK, ANY_PSK = 'est-secret-0123456789', 'new-secret-0123456789', \
    'any-secret-0123456789'


def dpd(interval):
    return ('set security vpn ipsec ike-group IKE dead-peer-detection action restart\n'
            f'set security vpn ipsec ike-group IKE dead-peer-detection interval {interval}\n')


IKE_DROPS = ('ike_rate_limited', 'ike_init_queue_full', 'ike_cookie_queue_full',
             'punt_queue_full')


def route_based(remote, local, vti, vti_addr, remote_lan, initiate, psk):
    p = f'set security vpn ipsec site-to-site peer {remote}'
    lines = [f"{p} authentication pre-shared-secret '{psk}'",
             f'{p} ike-group IKE',
             f'{p} local-address {local}',
             f'{p} vti bind {vti}',
             f'{p} vti esp-group ESP',
             f'set interfaces vti {vti} address {vti_addr}']
    if remote_lan:
        lines.append(f'set protocols static interface-route {remote_lan} next-hop-interface {vti}')
    if not initiate:
        lines.append(f'{p} connection-type respond')
    return '\n'.join(lines) + '\n'


def appliance_interfaces(wan, lan):
    return (f'set interfaces dataplane dp0p1 address {wan}/24\n'
            f'set interfaces dataplane dp0p2 address {lan}/24\n')


def responder_conf():
    # The responder checks its peer every second: its own requests go out after whatever it
    # answered in the same round, and the answers come back through the flood.
    return (IKE + dpd(1) + appliance_interfaces(RESP, '10.1.0.1')
            + route_based(EST, RESP, 'vti2', '172.16.0.1/30', '10.2.0.0/24', False, EST_PSK)
            + route_based(NEW, RESP, 'vti3', '172.16.0.5/30', None, False, NEW_PSK)
            + any_peer(RESP, ANY_PSK)
            # The answers to the spoofed sources go to the flooder, which drops them.
            + f'set protocols static route {SPOOFED} next-hop {FLOODER}\n')


def established_peer_conf():
    return (IKE + dpd(2) + appliance_interfaces(EST, '10.2.0.1')
            + route_based(RESP, EST, 'vti2', '172.16.0.2/30', '10.1.0.0/24', True, EST_PSK))


class ApplianceFloodLab:
    """Two appliances, a kernel-transport vpnd and the flooder on one bridge; a host behind each
    appliance. Built on portcullis_lab.Lab, which removes it all."""

    def __init__(self, lab, dataplane_bin, vpnd_bin):
        self.lab = lab
        self.hub = lab.ns('hub')
        lab.exec(self.hub, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
        lab.exec(self.hub, 'ip', 'link', 'set', 'br0', 'up')
        self.dr, self.hr = lab.ns('dr'), lab.ns('hr')  # responder appliance, its LAN host
        self.de, self.he = lab.ns('de'), lab.ns('he')  # established peer appliance, its host
        self.nw, self.fl = lab.ns('nw'), lab.ns('fl')  # new peer (kernel vpnd), flooder
        for ns, dev, hub_dev in ((self.dr, 'wan', 'bdr'), (self.de, 'wan', 'bde'),
                                 (self.nw, 'n0', 'bnw'), (self.fl, 'f0', 'bfl')):
            lab.veth(ns, dev, self.hub, hub_dev)
            lab.exec(self.hub, 'ip', 'link', 'set', hub_dev, 'master', 'br0')
        lab.veth(self.dr, 'lan', self.hr, 'h0')
        lab.veth(self.de, 'lan', self.he, 'h0')
        lab.host(self.hr, 'h0', RESP_HOST + '/24', '10.1.0.1')
        lab.host(self.he, 'h0', EST_HOST + '/24', '10.2.0.1')
        lab.exec(self.nw, 'ip', 'addr', 'add', NEW + '/24', 'dev', 'n0')
        lab.exec(self.fl, 'ip', 'addr', 'add', FLOODER + '/24', 'dev', 'f0')
        # 4,096 frames per receive ring (DPDK's default is 512): at 50,000 spoofed datagrams/s
        # a 512-frame ring holds 10 ms, less than a scheduling delay of this 2-core machine's
        # busy-polling workers, and a ping's ESP frame lost to it (the port's imissed) was
        # this test's only failure in CI. A NIC's receive ring is sized at deployment the
        # same way; what a ring still drops shows as `wan_rx_missed` in the report.
        ring = 'framecnt=4096'
        ports = {'dp0p1': f'net_af_packet0,iface=wan,{ring}',
                 'dp0p2': f'net_af_packet1,iface=lan,{ring}'}
        self.resp = lab.dataplane(self.dr, ports, binary=dataplane_bin)
        self.est = lab.dataplane(self.de, ports)
        self.vresp = lab.vpnd(self.dr, self.resp, self.conf('resp', responder_conf()), 'resp',
                              vpnd_bin)
        self.vest = lab.vpnd(self.de, self.est, self.conf('est', established_peer_conf()), 'est')

    def conf(self, name, text):
        path = pathlib.Path(self.lab.workdir) / f'{name}.conf'
        path.write_text(text)
        return str(path)

    def start_new_peer(self):
        self.new_sock = os.path.join(self.lab.workdir, 'new-vpnd.sock')
        self.new_log = os.path.join(self.lab.workdir, 'new-vpnd.log')
        conf = self.conf('new', initiator_conf(NEW, '172.16.0.6/30', NEW_PSK))
        self.new_proc, _ = self.lab.spawn(
            ['ip', 'netns', 'exec', self.nw, os.path.join(self.lab.build, 'control', 'vpnd'),
             '--config', conf, '--transport', 'kernel', '--socket', self.new_sock, '--log',
             self.new_log, '--foreground'], 'new-vpnd.stderr')

    def new_tunnel_up(self):
        if not os.path.exists(self.new_sock):
            return False
        r = subprocess.run([os.path.join(self.lab.build, 'control', 'vpnctl'), '--socket',
                            self.new_sock, '--json', 'show', 'vpn', 'ipsec', 'sa'],
                           capture_output=True, text=True, timeout=20)
        # Kernel transport negotiates CHILD SAs and installs nothing: a row with an id.
        return r.returncode == 0 and any(t.get('id') for t in json.loads(r.stdout or '[]'))


def show_json(vpnd, *what):
    return json.loads(vpnd.vpnctl('--json', 'show', *what).stdout or '[]')


def established(vpnd, peer):
    """The IKE SA and CHILD SA with `peer` as (spi_i, spi_r, spi_in, spi_out), or None."""
    ike = [s for s in show_json(vpnd, 'vpn', 'ike', 'sa')
           if s.get('peer_ip') == peer and s.get('state') == 'up']
    child = [t for t in show_json(vpnd, 'vpn', 'ipsec', 'sa')
             if t.get('peer') == 'peer-' + peer and t.get('state') == 'up' and t.get('installed')]
    if len(ike) != 1 or len(child) != 1:
        return None
    return ike[0]['spi_i'], ike[0]['spi_r'], child[0]['spi_in'], child[0]['spi_out']


def dp_counters(dp):
    stats = dp.show_json('stats')
    wan = dp.interface('dp0p1')
    out = {k: stats['drops'].get(k, 0) for k in IKE_DROPS}
    out['other_drops'] = {k: v for k, v in stats['drops'].items() if k not in IKE_DROPS}
    for k in ('ike_punted', 'punt_to_vpnd', 'punt_dropped', 'inject_from_vpnd', 'inject_dropped',
              'neighbors_resolved', 'neighbors_unresolved', 'arp_requests_sent'):
        out[k] = stats.get(k, 0)
    out['wan_rx_packets'] = wan.get('rx_packets', 0)
    # Frames the kernel gave the WAN veth, and those its af_packet ring had no room for
    # (imissed): a loss there is before any dataplane code ran.
    out['wan_kernel_rx'] = kernel_rx(dp)
    out['wan_rx_missed'] = dp.show_json('ports')['dp0p1']['imissed']
    return out


def kernel_rx(dp):
    link = json.loads(subprocess.run(['ip', 'netns', 'exec', dp.ns, 'ip', '-s', '-j', 'link',
                                      'show', 'wan'], capture_output=True, text=True,
                                     check=True).stdout)
    return link[0]['stats64']['rx']['packets']


def esp_packets(dp):
    """ESP packets through the dataplane's SAs since they were installed: (out, in)."""
    sas = dp.show_json('sas')
    return (sum(sa['packets'] for sa in sas if sa['direction'] == 'out'),
            sum(sa['packets'] for sa in sas if sa['direction'] == 'in'))


def counter_delta(before, after):
    out = {k: after[k] - before[k] for k in after if k != 'other_drops'}
    other = {k: v - before['other_drops'].get(k, 0) for k, v in after['other_drops'].items()}
    out['other_drops'] = {k: v for k, v in other.items() if v}
    return out


def log_since(path, offset):
    """The lines a log gained since it was `offset` bytes long (all of it if it rotated)."""
    data = pathlib.Path(path).read_bytes()
    return data[offset if offset <= len(data) else 0:].decode(errors='replace').splitlines()


def ike_sa_lines(lines, peer, what):
    """The lines of the IKE SA with `peer` (its log prefix) that contain `what`."""
    return [line for line in lines if f'<peer-{peer}|' in line and what in line]


def softnet_dropped():
    """Packets the kernel dropped from its per-CPU backlogs (veth and bridge receive), all CPUs."""
    rows = pathlib.Path('/proc/net/softnet_stat').read_text().splitlines()
    return sum(int(row.split()[1], 16) for row in rows)


def log_lines(path):
    n = 0
    for f in pathlib.Path(path).parent.glob(pathlib.Path(path).name + '*'):
        with open(f, 'rb') as fh:
            n += sum(1 for _ in fh)
    return n


@pytest.fixture
def flood_lab(build_root, tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces, raw sockets)')
    dataplane_bin = os.environ.get('PORTCULLIS_FLOOD_DATAPLANE',
                                   str(build_root / 'dataplane' / 'vpn-dataplane'))
    vpnd_bin = os.environ.get('PORTCULLIS_FLOOD_VPND', str(build_root / 'control' / 'vpnd'))
    for b in (dataplane_bin, vpnd_bin, build_root / 'dataplane' / 'dpctl',
              build_root / 'control' / 'vpnctl', build_root / 'test' / 'tools' / 'ike_flood'):
        if not pathlib.Path(b).exists():
            pytest.skip(f'{b} not built')
    lab = Lab(build_root, tmp_path)
    try:
        yield ApplianceFloodLab(lab, dataplane_bin, vpnd_bin)
    finally:
        lab.close()


def test_spoofed_ike_sa_init_flood_against_an_appliance(flood_lab, build_root):
    f, lab = flood_lab, flood_lab.lab
    deadline = time.time() + 45
    while not (before := established(f.vest, RESP)) or established(f.vresp, EST) is None:
        assert time.time() < deadline, 'the established tunnel did not come up:\n' + \
            f.vresp.log()[-3000:] + '\n--- est ---\n' + f.vest.log()[-3000:]
        time.sleep(0.25)
    # The tunnel carries traffic before anything else starts (ARP resolved on both sides).
    r = lab.exec(f.hr, 'ping', '-c', '3', '-i', '0.2', '-W', '2', EST_HOST, check=False)
    assert r.returncode == 0, r.stdout + f.vresp.log()[-3000:]

    pinger = subprocess.Popen(
        ['ip', 'netns', 'exec', f.hr, 'ping', '-n', '-q', '-i', str(PING_INTERVAL), '-c',
         str(PING_COUNT), '-W', '2', EST_HOST], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    lab.procs.append(pinger)
    time.sleep(PING_BEFORE)

    counters_before = dp_counters(f.resp)
    est_missed_before = f.est.show_json('ports')['dp0p1']['imissed']
    lines_before = log_lines(f.vresp.logfile)
    offsets = {v: os.path.getsize(v.logfile) for v in (f.vresp, f.vest)}
    ticks_before = {p: cpu_ticks(p.pid) for p in (f.vresp.proc, f.resp.proc, f.est.proc)}
    softnet_before = softnet_dropped()
    flooder = subprocess.Popen(
        ['ip', 'netns', 'exec', f.fl, str(build_root / 'test' / 'tools' / 'ike_flood'),
         '--dst', RESP, '--src', SPOOFED, '--rate', str(FLOOD_RATE), '--seconds',
         str(FLOOD_SECONDS), '--group', '19'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab.procs.append(flooder)
    flood_start = time.time()

    time.sleep(NEW_PEER_AFTER)
    new_start = time.time()
    f.start_new_peer()
    new_up_after = None
    while time.time() - flood_start < FLOOD_SECONDS + 5:
        if f.new_tunnel_up():
            new_up_after = time.time() - new_start
            break
        time.sleep(0.1)

    out, err = flooder.communicate(timeout=FLOOD_SECONDS + 30)
    assert flooder.returncode == 0, err
    stats = json.loads(out)
    ticks_after = {p: cpu_ticks(p.pid) for p in ticks_before}
    lines_after = log_lines(f.vresp.logfile)
    counters_after = dp_counters(f.resp)
    est_missed = f.est.show_json('ports')['dp0p1']['imissed'] - est_missed_before
    ping_out, _ = pinger.communicate(timeout=PING_AFTER + 30)
    kernel_drops = softnet_dropped() - softnet_before
    # The established IKE SA's exchanges during the flood (the DPD): what reached each vpnd, and
    # what either had to send again.
    resp_lines = log_since(f.vresp.logfile, offsets[f.vresp])
    est_lines = log_since(f.vest.logfile, offsets[f.vest])
    est_ike = {
        'resp_parsed': len(ike_sa_lines(resp_lines, EST, 'parsed INFORMATIONAL')),
        'est_parsed': len(ike_sa_lines(est_lines, RESP, 'parsed INFORMATIONAL')),
        'retransmits': ike_sa_lines(resp_lines, EST, 'retransmit')
        + ike_sa_lines(est_lines, RESP, 'retransmit'),
    }
    after = established(f.vest, RESP)
    resp_view = established(f.vresp, EST)
    # Where a lost ping was lost: encrypted by one side and never decrypted by the other is
    # between the dataplanes; otherwise outside the tunnel.
    (resp_out, resp_in), (est_out, est_in) = esp_packets(f.resp), esp_packets(f.est)

    m = re.search(r'(\d+) packets transmitted, (\d+) received', ping_out)
    assert m, ping_out
    ping_sent, ping_received = int(m[1]), int(m[2])
    hz = os.sysconf('SC_CLK_TCK')
    cpu = {p: (ticks_after[p] - ticks_before[p]) / hz for p in ticks_before}
    sent = stats['sent']
    report = {
        'sent': sent,
        'send_rate_per_s': round(sent / stats['seconds']),
        'vpnd_cpu_s': round(cpu[f.vresp.proc], 2),
        'vpnd_cpu_us_per_packet': round(cpu[f.vresp.proc] * 1e6 / max(sent, 1), 2),
        'resp_dataplane_cpu_s': round(cpu[f.resp.proc], 2),
        'est_dataplane_cpu_s': round(cpu[f.est.proc], 2),
        'resp_dataplane': counter_delta(counters_before, counters_after),
        'est_wan_rx_missed': est_missed,
        'kernel_backlog_drops': kernel_drops,
        'log_lines_added': lines_after - lines_before,
        'new_tunnel_up_after_s': None if new_up_after is None else round(new_up_after, 2),
        'established_sa_kept': after is not None and after == before,
        'established_ike_messages': {'to_resp': est_ike['resp_parsed'],
                                     'to_est': est_ike['est_parsed'],
                                     'retransmits': len(est_ike['retransmits'])},
        'pings_sent': ping_sent,
        'pings_received': ping_received,
        'esp_packets': {'resp_out': resp_out, 'est_in': est_in, 'est_out': est_out,
                        'resp_in': resp_in},
    }
    print('\nike flood (appliance): ' + json.dumps(report))
    (pathlib.Path(lab.workdir) / 'flood-report.json').write_text(json.dumps(report))

    assert f.vresp.proc.poll() is None and f.resp.proc.poll() is None, \
        'the responder died under the flood'
    assert sent > 0, stats
    assert ping_sent == PING_COUNT and ping_received == ping_sent, \
        f'pings lost through the flood: {report}\n{ping_out}'
    assert new_up_after is not None and new_up_after <= 5.0, \
        f'the new tunnel was not up within 5 s: {report}\n' + f.vresp.log()[-3000:]
    assert after == before and resp_view is not None, \
        f'the established IKE/CHILD SA changed or went down: {before} -> {after}, ' \
        f'responder: {resp_view}; {report}'
    # DPD every second: requests from the responder's vpnd and their answers through its
    # dataplane all through the flood, and none lost (a loss shows as a retransmission).
    assert est_ike['resp_parsed'] >= 5 and est_ike['est_parsed'] >= 5, report
    assert not est_ike['retransmits'], \
        'the established IKE SA lost messages in the flood:\n' + '\n'.join(est_ike['retransmits'])
    assert lines_after - lines_before <= 400, report
