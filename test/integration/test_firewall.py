"""The firewall (#16) on real appliances (vpn-dataplane + vpnd each) in network namespaces.

(a) The seed's six per-packet log lines (vyatta-vra-ipsec.txt, "Interface-based firewalls with
    route-based IPsec") from equivalent packets: the seed's addresses, interface names and
    rulesets on the local appliance ("gateway02"), a second appliance as the peer, a ping from
    the peer's LAN host through the tunnel and its reply. Only the timestamp, host and PID may
    differ from the seed's lines, in vpnd's log and in syslog.
(b) The VyOS seed's WAN-LOCAL ruleset on site A (configs/vyos-site-a.conf as it is): IKE and ESP
    pass, anything else to the router is dropped and counted, and a ping to the WAN address
    passes because rule 80 allows it (without rule 80 it is dropped).
(c) Zones and state: a zone policy PRIV to VPN accepts, VPN to PRIV only established/related;
    TCP (iperf3) from the west LAN through the tunnel works, TCP from the east LAN is dropped.
(d) default-action drop drops, `show firewall` counts it, `clear firewall` sets it to zero.
"""
import json
import os
import pathlib
import re
import socket
import subprocess
import threading
import time

from portcullis_lab import EAST_HOST, WEST_HOST, SeedPair, SitePair, appliance_config, ping

# --- (a) the seed's log lines -----------------------------------------------------------------

# The seed's six lines exactly as its syslog excerpt has them (vyatta-vra-ipsec.txt, lines
# 137-142), and what follows 'dataplane[PID]: ' in each: what the appliance must write.
SEED_SYSLOG = [
    'May 25 05:34:07 gateway02 dataplane[4391]:  In:dp0bond1 PASS fw rule PubIn:1 proto=(other/50) addr=198.11.194.155->159.8.98.214 macs=e4:c7:22:63:b5:41->0:0:5e:0:1:2 v4=(len:156,ttl:241,tos:00,ecn:Not,prot:50,hl:5)',
    'May 25 05:34:07 gateway02 dataplane[4391]:  In:vti0 PASS fw rule INipsecvti0:10 proto=(icmp/1) addr=10.90.72.203->10.126.19.174 v4=(len:84,ttl:63,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRq,type:8,code:0)',
    'May 25 05:34:07 gateway02 dataplane[4391]: Out:dp0bond0.1750 PASS fw rule OUTipsec1750:10 proto=(icmp/1) addr=10.90.72.203->10.126.19.174 v4=(len:84,ttl:62,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRq,type:8,code:0)',
    'May 25 05:34:07 gateway02 dataplane[4391]:  In:dp0bond0.1750 PASS fw rule INipsec1750:10 proto=(icmp/1) addr=10.126.19.174->10.90.72.203 v4=(len:84,ttl:64,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRp,type:0,code:0)',
    'May 25 05:34:07 gateway02 dataplane[4391]: Out:vti0 PASS fw rule OUTipsecvti0:10 proto=(icmp/1) addr=10.126.19.174->10.90.72.203 v4=(len:84,ttl:63,tos:00,ecn:Not,prot:1,hl:5) icmp=(EchoRp,type:0,code:0)',
    'May 25 05:34:07 gateway02 dataplane[4391]: Out:dp0bond1 PASS fw rule PubOut:1 proto=(other/50) addr=159.8.98.214->198.11.194.155 v4=(len:156,ttl:255,tos:00,ecn:Not,prot:50,hl:5)',
]
SEED_LINES = [l.split('dataplane[4391]: ', 1)[1] for l in SEED_SYSLOG]

# ESP with AES-CBC-128 and HMAC-SHA-256-128 makes a ping of 84 bytes the seed's 156-byte ESP.
IKE_ESP = '''
set security vpn ipsec ike-group IKE ike-version 2
set security vpn ipsec ike-group IKE proposal 1 encryption aes256
set security vpn ipsec ike-group IKE proposal 1 hash sha2_256
set security vpn ipsec ike-group IKE proposal 1 dh-group 14
set security vpn ipsec esp-group ESP pfs disable
set security vpn ipsec esp-group ESP proposal 1 encryption aes128
set security vpn ipsec esp-group ESP proposal 1 hash sha2_256
'''


def peer(local, remote, vti):
    p = f'set security vpn ipsec site-to-site peer {remote} '
    return (f'{p}authentication pre-shared-secret Gateway02-far-end-2024\n'
            f'{p}authentication id {local}\n{p}authentication remote-id {remote}\n'
            f'{p}ike-group IKE\n{p}local-address {local}\n{p}vti bind {vti}\n'
            f'{p}vti esp-group ESP\n')


# gateway02: the seed's interface names and rulesets, every rule that matched in its log
# with `log`.
GATEWAY02 = IKE_ESP + peer('159.8.98.214', '198.11.194.155', 'vti0') + '''
set interfaces dataplane dp0p1s1 bond-group dp0bond0
set interfaces dataplane dp0p2s1 bond-group dp0bond0
set interfaces dataplane dp0p1s2 bond-group dp0bond1
set interfaces dataplane dp0p2s2 bond-group dp0bond1
set interfaces bonding dp0bond0 mode active-backup
set interfaces bonding dp0bond0 primary dp0p1s1
set interfaces bonding dp0bond0 vif 1750 address 10.126.19.161/26
set interfaces bonding dp0bond1 mode active-backup
set interfaces bonding dp0bond1 primary dp0p1s2
set interfaces bonding dp0bond1 address 159.8.98.214/29
set interfaces vti vti0 address 172.16.9.1/30
set protocols static route 0.0.0.0/0 next-hop 159.8.98.209
set protocols static interface-route 10.90.72.0/24 next-hop-interface vti0
set security firewall name PubIn default-action drop
set security firewall name PubIn rule 1 action accept
set security firewall name PubIn rule 1 protocol esp
set security firewall name PubIn rule 1 source address 198.11.194.155
set security firewall name PubIn rule 1 log
set security firewall name PubIn rule 2 action accept
set security firewall name PubIn rule 2 protocol udp
set security firewall name PubIn rule 2 destination port 500,4500
set security firewall name PubOut default-action accept
set security firewall name PubOut rule 1 action accept
set security firewall name PubOut rule 1 protocol esp
set security firewall name PubOut rule 1 log
set security firewall name INipsecvti0 default-action drop
set security firewall name INipsecvti0 rule 10 action accept
set security firewall name INipsecvti0 rule 10 protocol icmp
set security firewall name INipsecvti0 rule 10 log
set security firewall name OUTipsecvti0 default-action drop
set security firewall name OUTipsecvti0 rule 10 action accept
set security firewall name OUTipsecvti0 rule 10 icmp name echo-reply
set security firewall name OUTipsecvti0 rule 10 log
set security firewall name INipsec1750 default-action drop
set security firewall name INipsec1750 rule 10 action accept
set security firewall name INipsec1750 rule 10 protocol icmp
set security firewall name INipsec1750 rule 10 source address 10.126.19.128/26
set security firewall name INipsec1750 rule 10 log
set security firewall name OUTipsec1750 default-action drop
set security firewall name OUTipsec1750 rule 10 action accept
set security firewall name OUTipsec1750 rule 10 protocol icmp
set security firewall name OUTipsec1750 rule 10 destination address 10.126.19.128/26
set security firewall name OUTipsec1750 rule 10 log
set interfaces bonding dp0bond1 firewall in PubIn
set interfaces bonding dp0bond1 firewall out PubOut
set interfaces vti vti0 firewall in INipsecvti0
set interfaces vti vti0 firewall out OUTipsecvti0
set interfaces bonding dp0bond0 vif 1750 firewall in INipsec1750
set interfaces bonding dp0bond0 vif 1750 firewall out OUTipsec1750
'''

# The far end: a plain appliance with the remote LAN 10.90.72.0/24.
FAR_END = IKE_ESP + peer('198.11.194.155', '159.8.98.214', 'vti0') + '''
set interfaces dataplane dp0p1s1 address 10.90.72.1/24
set interfaces dataplane dp0p1s2 address 198.11.194.155/29
set interfaces vti vti0 address 172.16.9.2/30
set protocols static route 0.0.0.0/0 next-hop 198.11.194.153
set protocols static interface-route 10.126.19.128/26 next-hop-interface vti0
'''


# An L2 relay between two interfaces of a namespace, for what this kernel's missing modules
# (8021q, tc actions) cannot do: `ttl` sets the TTL of ESP going from the first interface to
# the second to 241 (the seed's ESP arrived 14 hops from a peer sending at 255); `vlan` tags
# frames from the first with VLAN 1750 (the kernel hands the second's tagged frames over
# untagged, so they pass back as they come).
RELAY = r'''
import select, socket, struct, sys

a_name, b_name, mode = sys.argv[1:4]


def open_raw(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((name, 0))
    return s


def checksum(h):
    total = sum(struct.unpack('!%dH' % (len(h) // 2), h))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def a_to_b(f):
    if mode == 'ttl' and len(f) >= 34 and f[12:14] == b'\x08\x00' and f[23] == 50:
        f = bytearray(f)
        ihl = (f[14] & 0x0f) * 4
        f[22] = 241
        f[24:26] = b'\x00\x00'
        f[24:26] = struct.pack('!H', checksum(bytes(f[14:14 + ihl])))
        return bytes(f)
    if mode == 'vlan':
        return f[:12] + b'\x81\x00' + struct.pack('!H', 1750) + f[12:]
    return f


a, b = open_raw(a_name), open_raw(b_name)
print('relay ready', flush=True)
while True:
    ready, _, _ = select.select([a, b], [], [])
    for s in ready:
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        if s is a:
            b.send(a_to_b(frame))
        else:
            a.send(frame)
'''


def relay(lab, ns, a, b, mode):
    script = pathlib.Path(lab.workdir) / 'relay.py'
    script.write_text(RELAY)
    proc, log = lab.spawn(['ip', 'netns', 'exec', ns, '/usr/bin/python3', str(script), a, b,
                           mode], f'relay-{ns}-{mode}.log')
    deadline = time.time() + 10
    while 'relay ready' not in open(log).read():
        assert proc.poll() is None and time.time() < deadline, open(log).read()
        time.sleep(0.05)


class SeedLogLab:
    """host 10.90.72.203 -- [far end] 198.11.194.155 -- router -- 159.8.98.214 dp0bond1
    [gateway02] dp0bond0.1750 -- host 10.126.19.174 (VLAN 1750)."""

    def __init__(self, lab, tmp_path, devlog):
        self.lab = lab
        hr, dr, rt, tt, dl, hl = (lab.ns(n) for n in ('hr', 'dr', 'rt', 'tt', 'dl', 'hl'))
        self.hr, self.dr, self.rt, self.dl, self.hl = hr, dr, rt, dl, hl
        lab.veth(hr, 'hr0', dr, 'drl')
        lab.veth(rt, 'rr0', dr, 'drw')
        # router rl1 -- (tt: the TTL relay) -- dlw1 gateway02
        lab.veth(rt, 'rl1', tt, 'tta')
        lab.veth(tt, 'ttb', dl, 'dlw1')
        lab.veth(rt, 'rl2', dl, 'dlw2')
        # host hk (untagged, kernel) -- (the VLAN relay) hp / hl0 -- dll1 gateway02
        lab.veth(hl, 'hk', hl, 'hp')
        lab.veth(hl, 'hl0', dl, 'dll1')
        lab.veth(hl, 'hl1', dl, 'dll2')
        # The seed's MACs: the peer's next hop, and gateway02's VRRP MAC on the public bond.
        lab.exec(rt, 'ip', 'link', 'set', 'rl1', 'address', 'e4:c7:22:63:b5:41')
        lab.exec(dl, 'ip', 'link', 'set', 'dlw1', 'address', '00:00:5e:00:01:02')
        lab.host(hr, 'hr0', '10.90.72.203/24', '10.90.72.1')
        lab.host(hl, 'hk', '10.126.19.174/26', '10.126.19.161')
        lab.exec(rt, 'ip', 'addr', 'add', '198.11.194.153/29', 'dev', 'rr0')
        lab.exec(rt, 'ip', 'addr', 'add', '159.8.98.209/29', 'dev', 'rl1')
        lab.exec(rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        relay(lab, tt, 'tta', 'ttb', 'ttl')
        relay(lab, hl, 'hp', 'hl0', 'vlan')
        for name, text in (('gateway02', GATEWAY02), ('far-end', FAR_END)):
            (tmp_path / f'{name}.conf').write_text(text)
        self.far = lab.dataplane(dr, {'dp0p1s1': 'net_af_packet0,iface=drl',
                                      'dp0p1s2': 'net_af_packet1,iface=drw'})
        self.local = lab.dataplane(dl, {
            'dp0p1s1': 'net_af_packet0,iface=dll1',
            'dp0p2s1': 'net_af_packet1,iface=dll2',
            'dp0p1s2': 'net_af_packet2,iface=dlw1',
            'dp0p2s2': 'net_af_packet3,iface=dlw2'})  # the bonds are the config's
        self.vfar = lab.vpnd(dr, self.far, str(tmp_path / 'far-end.conf'), 'far-end')
        self.vlocal = lab.vpnd(dl, self.local, str(tmp_path / 'gateway02.conf'), 'gateway02',
                               extra_args=('--syslog', devlog))

    def wait_up(self, timeout=45):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if all(re.search(r'^    vti\s+\d+\s+up\s', v.vpnctl('show', 'vpn', 'ipsec', 'sa',
                                                               check=False).stdout, re.M)
                   for v in (self.vfar, self.vlocal)):
                return
            time.sleep(0.25)
        raise AssertionError('tunnel did not come up\n--- gateway02 ---\n' +
                             self.vlocal.log()[-4000:] + '\n--- far end ---\n' +
                             self.vfar.log()[-4000:])


class DevLog:
    """A unix datagram socket standing in for /dev/log, read all the time (it queues only 10)."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.lines, self.reading = [], True
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while self.reading:
            try:
                self.lines.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.reading = False
        self.thread.join(timeout=2)
        self.sock.close()


def fw_lines(text):
    """The firewall lines of a log, each from 'dataplane[PID]: ' on, as (pid, line)."""
    out = []
    for l in text.splitlines():
        m = re.search(r'dataplane\[(\d+)\]: (.*(?: fw rule | local rule ).*)$', l)
        if m:
            out.append((int(m.group(1)), m.group(2)))
    return out


def test_the_seeds_six_log_lines(lab, tmp_path):
    # The embedded lines are what fw_lines reads from a log, all six of them.
    assert [line for _, line in fw_lines('\n'.join(SEED_SYSLOG))] == SEED_LINES
    assert len(SEED_LINES) == 6
    devlog = DevLog(tmp_path / 'devlog')
    try:
        s = SeedLogLab(lab, tmp_path, devlog.path)
        s.wait_up()
        # A first ping resolves every next hop (the seed's lines are of a path in use).
        ok, out = ping(lab, s.hr, '10.126.19.174', count=1)
        assert ok, out + s.vlocal.log()[-3000:]
        time.sleep(1)
        # One echo request and its reply: six lines, in the seed's order, nothing but the PID
        # differing.
        before = len(fw_lines(s.vlocal.log()))
        ok, out = ping(lab, s.hr, '10.126.19.174', count=1)
        assert ok, out + s.vlocal.log()[-3000:]
        deadline = time.time() + 5
        while len(fw_lines(s.vlocal.log())) < before + 6 and time.time() < deadline:
            time.sleep(0.1)
        got = fw_lines(s.vlocal.log())[before:]
        pid = s.local.proc.pid
        assert [line for _, line in got] == SEED_LINES, '\n'.join(l for _, l in got)
        assert {p for p, _ in got} == {pid}
        # vpnd's log keeps syslog's form: "Mmm dd hh:mm:ss host dataplane[PID]: ...".
        assert re.search(r'^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ dataplane\[\d+\]:  In:'
                         r'dp0bond1 PASS', s.vlocal.log(), re.M)
        # syslog: ident dataplane, its PID, severity notice, the same text.
        deadline = time.time() + 3
        want = [f'dataplane[{pid}]: {line}' for line in SEED_LINES]
        while time.time() < deadline:
            sys_lines = [l for l in devlog.lines if 'dataplane[' in l]
            if all(any(l.endswith(w) for l in sys_lines) for w in want):
                break
            time.sleep(0.1)
        for w in want:
            assert any(l.startswith('<29>') and l.endswith(w) for l in devlog.lines), w
        # vpnd's own lines do not carry them a second time.
        assert not any('vpnd[' in l and ' fw rule ' in l for l in devlog.lines)
        # `show log firewall name X` is the ruleset's lines.
        shown = s.vlocal.vpnctl('show', 'log', 'firewall', 'name', 'INipsecvti0').stdout
        assert SEED_LINES[1] in shown and 'PubIn' not in shown, shown
        # Every rule counted its packet.
        fw = json.loads(s.vlocal.vpnctl('show', 'firewall', '--json').stdout)
        counted = {(g['name'], g['interface'], r['rule']): r['packets']
                   for g in fw['rulesets'] for r in g['rules']}
        for key in (('INipsecvti0', 'vti0', 10), ('OUTipsecvti0', 'vti0', 10),
                    ('INipsec1750', 'dp0bond0.1750', 10), ('OUTipsec1750', 'dp0bond0.1750', 10)):
            assert counted[key] >= 1, (key, counted)
        assert fw['log']['sent'] >= 6, fw
    finally:
        devlog.close()


# --- (b) the VyOS seed's WAN-LOCAL on site A -------------------------------------------------

def rule_packets(vpnd, name):
    fw = json.loads(vpnd.vpnctl('show', 'firewall', 'name', name, '--json').stdout)
    out = {}
    for g in fw['rulesets']:
        for r in g['rules']:
            out[r['rule']] = out.get(r['rule'], 0) + r['packets']
    return out


def send_udp(lab, ns, dst, port, count):
    lab.exec(ns, '/usr/bin/python3', '-c',
             'import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
             f'for i in range({count}): s.sendto(b"x" * 32, ("{dst}", {port}))\n')


def test_vyos_wan_local_on_site_a(lab, source_root, tmp_path):
    s = SitePair(lab, source_root)
    # IKE (rules 70 and 71) and ESP (rule 72) pass WAN-LOCAL: the tunnel comes up and carries.
    s.wait_up()
    ok, out = ping(lab, s.ha, '10.2.0.10', count=3)
    assert ok, out
    before = rule_packets(s.va, 'WAN-LOCAL')
    # IKE to site A: rule 70 (or 71 once behind NAT; 10 if the dataplane kept state of A's own
    # requests); ESP: rule 72.
    assert before[70] + before[71] + before[10] > 0, before
    assert before[72] > 0, before
    # A ping to the WAN address passes: rule 80.
    ok, out = ping(lab, s.rt, '203.0.113.1', count=3)
    assert ok, out
    after = rule_packets(s.va, 'WAN-LOCAL')
    # (At least the first: the dataplane keeps a session for the ping, whose later packets
    # pass on it without meeting the rules again.)
    assert after[80] >= before[80] + 1, (before, after)
    # Anything else to the router is dropped and counted by the default action.
    send_udp(lab, s.rt, '203.0.113.1', 9999, 5)
    time.sleep(0.5)
    dropped = rule_packets(s.va, 'WAN-LOCAL')
    assert dropped['default'] >= after['default'] + 5, (after, dropped)
    text = s.va.vpnctl('show', 'firewall', 'name', 'WAN-LOCAL').stdout
    assert 'Firewall "WAN-LOCAL":\nActive on (eth0, local)\n' in text, text
    assert re.search(r'^80\s+allow\s+icmp\s+[1-9]', text, re.M), text
    # Without rule 80 the same ping is dropped: it passed because of rule 80.
    conf = pathlib.Path(lab.workdir) / 'vyos-site-a.conf'
    no80 = pathlib.Path(lab.workdir) / 'vyos-site-a-no80.conf'
    no80.write_text(''.join(l for l in conf.read_text().splitlines(True)
                            if 'WAN-LOCAL rule 80 ' not in l))
    s.va.vpnctl('load', str(no80))
    base = rule_packets(s.va, 'WAN-LOCAL')['default']
    ok, out = ping(lab, s.rt, '203.0.113.1', count=2, timeout=1)
    assert not ok, out
    assert rule_packets(s.va, 'WAN-LOCAL')['default'] >= base + 2
    # The tunnel still carries (IKE and ESP still pass).
    ok, out = ping(lab, s.ha, '10.2.0.10', count=2)
    assert ok, out


# --- (c) zones and state ---------------------------------------------------------------------

ZONES = '''
set security firewall name ALLOW default-action accept
set security firewall name FROM-VPN default-action drop
set security firewall name FROM-VPN rule 10 action accept
set security firewall name FROM-VPN rule 10 state established
set security firewall name FROM-VPN rule 10 state related
set security firewall global-state-policy tcp
set security firewall global-state-policy icmp
set security zone-policy zone PRIV interface dp0bond0
set security zone-policy zone VPN interface vti2
set security zone-policy zone PRIV to VPN firewall ALLOW
set security zone-policy zone VPN to PRIV firewall FROM-VPN
'''


def iperf(lab, client_ns, server_ns, server_ip, tmp_path, seconds=2):
    server, _ = lab.spawn(['ip', 'netns', 'exec', server_ns, 'iperf3', '-s', '-1', '-B',
                           server_ip], f'iperf3-{server_ns}.log')
    time.sleep(0.5)
    r = lab.exec(client_ns, 'iperf3', '-c', server_ip, '-t', str(seconds), '--connect-timeout',
                 '2000', '-J', check=False, timeout=seconds + 20)
    server.kill()
    server.wait(timeout=5)
    return r


def test_zones_and_return_traffic(lab, source_root, tmp_path):
    west = pathlib.Path(appliance_config(source_root, tmp_path, 'west'))
    west.write_text(west.read_text() + ZONES)
    east = appliance_config(source_root, tmp_path, 'east')
    s = SeedPair(lab, source_root, configs={'west': str(west), 'east': east})
    s.wait_up()
    # PRIV to VPN: a TCP stream from west's LAN through the tunnel; its return traffic comes
    # back VPN to PRIV as established.
    r = iperf(lab, s.hw, s.he, EAST_HOST, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert 'error' not in result, result['error']
    assert result['end']['sum_received']['bytes'] > 0, result['end']
    # VPN to PRIV, new: the east LAN cannot open a connection (its SYN has no session) ...
    r = iperf(lab, s.he, s.hw, WEST_HOST, tmp_path)
    # iperf3 -J exits 0 whether or not it connected: the JSON says.
    assert 'error' in json.loads(r.stdout), r.stdout[-500:]
    # ... nor ping (an echo request is new), while west's ping gets its reply back.
    ok, out = ping(lab, s.he, WEST_HOST, count=2, timeout=1)
    assert not ok, out
    ok, out = ping(lab, s.hw, EAST_HOST, count=2)
    assert ok, out
    fw = json.loads(s.vw.vpnctl('show', 'firewall', 'name', 'FROM-VPN', '--json').stdout)
    g = fw['rulesets'][0]
    assert (g['applied'], g['from_zone'], g['to_zone']) == ('zone', 'VPN', 'PRIV')
    counts = {r['rule']: r['packets'] for r in g['rules']}
    assert counts['default'] >= 3, counts  # the SYN (and its retries) and the echo requests
    # ... and nothing of west's stream: its ACKs (thousands, a window of 64 KB and more in
    # flight) are the session's, never the default's.
    assert counts['default'] <= 20, counts
    text = s.vw.vpnctl('show', 'firewall').stdout
    assert 'Rulesets Information: From zone "VPN" to zone "PRIV"' in text, text
    # The WAN is in no zone: IKE and ESP to the appliance never met a zone (the tunnel is up).


# --- (d) default-action drop, counted and cleared ---------------------------------------------

BLOCK = '''
set security firewall name BLOCK default-action drop
set security firewall name BLOCK rule 10 action accept
set security firewall name BLOCK rule 10 protocol tcp
set interfaces bonding dp0bond0 firewall in BLOCK
'''


def test_default_drop_counted_and_cleared(lab, source_root, tmp_path):
    west = pathlib.Path(appliance_config(source_root, tmp_path, 'west'))
    plain = west.read_text()
    west.write_text(plain + BLOCK)
    east = appliance_config(source_root, tmp_path, 'east')
    s = SeedPair(lab, source_root, configs={'west': str(west), 'east': east})
    s.wait_up()
    ok, out = ping(lab, s.hw, EAST_HOST, count=3, timeout=1)
    assert not ok, out
    text = s.vw.vpnctl('show', 'firewall', 'name', 'BLOCK').stdout
    assert 'Firewall "BLOCK":\nActive on (dp0bond0, in)\n' in text, text
    m = re.search(r'^default drop    any\s+(\d+)\s+(\d+)', text, re.M)
    assert m and int(m.group(1)) >= 3 and int(m.group(2)) >= 3 * 84, text
    # Cleared: zero until the next packet.
    s.vw.vpnctl('clear', 'firewall', 'name', 'BLOCK')
    text = s.vw.vpnctl('show', 'firewall', 'name', 'BLOCK').stdout
    assert re.search(r'^default drop    any\s+0\s+0\s', text, re.M), text
    ok, _ = ping(lab, s.hw, EAST_HOST, count=1, timeout=1)
    assert not ok
    text = s.vw.vpnctl('show', 'firewall', 'name', 'BLOCK').stdout
    assert re.search(r'^default drop    any\s+1\s+[1-9]\d*\s', text, re.M), text
    # The drop was the firewall's: without the binding the same ping passes.
    west.write_text(plain + BLOCK.replace('set interfaces bonding dp0bond0 firewall in BLOCK\n',
                                          ''))
    s.vw.vpnctl('load', str(west))
    ok, out = ping(lab, s.hw, EAST_HOST, count=3)
    assert ok, out
    assert 'Not applied to any interface or zone' in s.vw.vpnctl('show', 'firewall', 'name',
                                                                 'BLOCK').stdout


# --- (e) IPv6 through one appliance ----------------------------------------------------------

V6_CONFIG = '''
set interfaces dataplane dp0p1s1 address 2001:db8:1::1/64
set interfaces dataplane dp0p1s2 address 2001:db8:2::1/64
set security firewall global-state-policy icmp
set security firewall name LAN-IN default-action accept
set security firewall name LAN-IN rule 10 action accept
set security firewall name LAN-IN rule 10 protocol tcp
set security firewall name LAN-IN rule 10 state new
set security firewall name WAN-IN default-action drop
set security firewall name WAN-IN rule 10 action accept
set security firewall name WAN-IN rule 10 state established
set security firewall name WAN-IN rule 10 state related
set security firewall name WAN-IN rule 20 action reject
set security firewall name WAN-IN rule 20 protocol tcp
set security firewall name WAN-IN rule 20 destination port 22
set security firewall name WAN-IN rule 20 log
set security firewall name WAN-IN rule 30 action reject
set security firewall name WAN-IN rule 30 protocol udp
set security firewall name WAN-IN rule 30 destination address 2001:db8:1::/64
set security firewall name WAN-IN rule 30 destination port 5353
set security firewall name LOCAL default-action drop
set interfaces dataplane dp0p1s1 firewall in LAN-IN
set interfaces dataplane dp0p1s1 firewall local LOCAL
set interfaces dataplane dp0p1s2 firewall in WAN-IN
'''

TCP_ECHO_SERVER = r'''
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('::', int(sys.argv[1])))
s.listen(4)
s.settimeout(30)
while True:
    c, _ = s.accept()
    data = c.recv(65536)
    c.sendall(data[::-1])
    c.close()
'''

# What a connect (TCP) or a datagram and its answer (UDP) met: ok, refused (a reset or port
# unreachable came back) or timeout.
CLIENT = r'''
import socket, sys
proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
s = socket.socket(socket.AF_INET6, kind)
s.settimeout(3)
try:
    s.connect((host, port))
    s.send(b'portcullis' * 100)
    got = s.recv(65536)
    print('ok' if got else 'empty')
except ConnectionRefusedError:
    print('refused')
except (socket.timeout, TimeoutError):
    print('timeout')
'''


def v6_veth(lab, ns_a, if_a, ns_b, if_b):
    """A veth pair with IPv6 on (the lab's veths have it off) and no DAD delay."""
    subprocess.run(['ip', 'link', 'add', if_a, 'netns', ns_a, 'type', 'veth', 'peer', 'name',
                    if_b, 'netns', ns_b], check=True)
    for ns, ifname in ((ns_a, if_a), (ns_b, if_b)):
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.accept_dad=0')
        lab.exec(ns, 'sysctl', '-qw', f'net.ipv6.conf.{ifname}.disable_ipv6=0')
        lab.exec(ns, 'ip', 'link', 'set', ifname, 'up')
        lab.exec(ns, 'ethtool', '-K', ifname, 'tx', 'off', 'rx', 'off', check=False)


def test_ipv6_through_an_appliance(lab, tmp_path):
    """hl (2001:db8:1::10) -- dp0p1s1 [vpn-dataplane + vpnd] dp0p1s2 -- hx (2001:db8:2::10), the
    appliance configured with Vyatta rulesets whose rules carry no address family: they filter
    IPv6 as they filter IPv4."""
    hl, da, hx = lab.ns('v6l'), lab.ns('v6a'), lab.ns('v6x')
    v6_veth(lab, hl, 'hl0', da, 'dal')
    v6_veth(lab, da, 'dax', hx, 'hx0')
    for ns, ifname, addr, gw in ((hl, 'hl0', '2001:db8:1::10/64', '2001:db8:1::1'),
                                 (hx, 'hx0', '2001:db8:2::10/64', '2001:db8:2::1')):
        lab.exec(ns, 'ip', '-6', 'addr', 'add', addr, 'dev', ifname, 'nodad')
        lab.exec(ns, 'ip', '-6', 'route', 'add', 'default', 'via', gw)
    dp = lab.dataplane(da, {'dp0p1s1': 'net_af_packet0,iface=dal',
                            'dp0p1s2': 'net_af_packet1,iface=dax'})
    conf = tmp_path / 'v6.conf'
    conf.write_text(V6_CONFIG)
    v = lab.vpnd(da, dp, str(conf), 'v6fw')
    deadline = time.time() + 20
    while 'WAN-IN' not in v.vpnctl('show', 'firewall', check=False).stdout:
        assert time.time() < deadline, v.log()
        time.sleep(0.2)
    py = '/usr/bin/python3'
    server, _ = lab.spawn(['ip', 'netns', 'exec', hx, py, '-c', TCP_ECHO_SERVER, '8080'],
                          'v6-server-hx.log')
    server_l, _ = lab.spawn(['ip', 'netns', 'exec', hl, py, '-c', TCP_ECHO_SERVER, '8080'],
                            'v6-server-hl.log')
    time.sleep(0.5)

    def client(ns, proto, host, port):
        return lab.exec(ns, py, '-c', CLIENT, proto, host, str(port), timeout=20).stdout.strip()

    # LAN to WAN: a TCP exchange; its return traffic passes WAN-IN as established (a session
    # LAN-IN's rule 10 made) — the reply carries the data back reversed.
    assert client(hl, 'tcp', '2001:db8:2::10', 8080) == 'ok'
    # WAN to LAN, new: dropped by WAN-IN's default (no answer at all) ...
    assert client(hx, 'tcp', '2001:db8:1::10', 8080) == 'timeout'
    # ... rejected where a rule says so: a reset (TCP) and ICMPv6 port unreachable (UDP) reach
    # the sender, which reports the connection refused.
    assert client(hx, 'tcp', '2001:db8:1::10', 22) == 'refused'
    assert client(hx, 'udp', '2001:db8:1::10', 5353) == 'refused'
    # ping6: LAN to WAN passes both ways (an ICMPv6 echo session under global-state-policy
    # icmp); WAN to LAN is new and dropped.
    ok, out = ping(lab, hl, '2001:db8:2::10', count=3)
    assert ok, out
    ok, out = ping(lab, hx, '2001:db8:1::10', count=2, timeout=1)
    assert not ok, out
    # `local` with default-action drop on the LAN: the appliance's own address answers no ping,
    # yet neighbour discovery went on (hl resolved its gateway for everything above).
    ok, out = ping(lab, hl, '2001:db8:1::1', count=2, timeout=1)
    assert not ok, out
    assert 'lladdr' in lab.exec(hl, 'ip', '-6', 'neigh', 'show', '2001:db8:1::1').stdout
    fw = json.loads(v.vpnctl('show', 'firewall', '--json').stdout)
    counts = {rs['name']: {r['rule']: r['packets'] for r in rs['rules']} for rs in fw['rulesets']}
    assert counts['LOCAL']['default'] >= 2, counts
    assert counts['WAN-IN'][20] >= 1 and counts['WAN-IN'][30] >= 1, counts
    assert counts['WAN-IN']['default'] >= 3, counts  # the TCP SYN (and retries), the pings
    assert counts['LAN-IN'][10] >= 1, counts
    # The reject's log line, in Vyatta's IPv6 form (npf_ext_log.c's v6=(...)).
    deadline = time.time() + 5
    pat = re.compile(r' In:dp0p1s2 DROP fw rule WAN-IN:20 proto=\(tcp/6\) '
                     r'addr=2001:db8:2::10->2001:db8:1::10 port=\d+->22 macs=\S+->\S+ '
                     r'v6=\(len:\d+,hlim:64,tc:00,ecn:Not,nxt:6,flow:[0-9a-f]{5}\) tcp=\(SYN,')
    while not pat.search(v.log()):
        assert time.time() < deadline, v.log()[-3000:]
        time.sleep(0.2)
    assert dp.drops().get('firewall_ipv6', 0) == 0
    server.kill()
    server_l.kill()
