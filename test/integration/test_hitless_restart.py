"""Hitless vpnd restart (#19) on the seed's appliance pair: a steady UDP stream with sequence
numbers runs through the tunnel both ways at a fixed rate, vpnd on one appliance is killed with
SIGKILL under it and started again, and every packet arrives. Afterwards the CHILD SAs from
before the restart are gone from both dataplanes (the restarted vpnd resumes the IKE SA from its
state file, adopts the SAs the dataplane kept, and rekeys them make-before-break), and the peer
never set up a new IKE SA (no INITIAL_CONTACT, nothing torn down)."""
import json
import os
import re
import signal
import time

import pytest

from portcullis_lab import EAST_HOST, WEST_HOST, SeedPair

RATE = 300  # packets a second, each way
SECONDS = 16
PORT = 47000

SENDER = r'''
import socket, struct, sys, time
dst, port, rate, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = int(rate * seconds)
start = time.monotonic()
print('start', start, flush=True)
worst, late = 0.0, 0
for i in range(n):
    due = start + i / rate
    now = time.monotonic()
    if due > now:
        time.sleep(due - now)
    elif now - due > 0.05:
        # Behind its schedule (this process waited for a CPU): the packets due meanwhile go
        # out back to back.
        late += 1
        worst = max(worst, now - due)
    s.sendto(struct.pack('!I', i) + b'x' * 60, (dst, port))
print('sent', n, 'late', late, 'worst_lag %.3f' % worst, flush=True)
'''

RECEIVER = r'''
import socket, struct, sys, time
port, seconds, last = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
# Room for seconds of the stream: on a loaded machine this process may wait that long for a
# CPU, and what its socket then drops (the host's RcvbufErrors) was not lost by the tunnel.
s.setsockopt(socket.SOL_SOCKET, getattr(socket, 'SO_RCVBUFFORCE', 33), 8 << 20)  # root
s.bind(('0.0.0.0', port))
s.settimeout(0.2)
# The sender starts only once this is printed: a datagram before the bind would be lost to
# "port unreachable" (the host's UdpNoPorts), not to the tunnel.
print('ready', flush=True)
seen = set()
total = 0
end = time.monotonic() + seconds
quiet_after_last = None
while time.monotonic() < end:
    if quiet_after_last is not None and time.monotonic() > quiet_after_last:
        break  # the last one came and nothing more (a duplicate would) for a while
    try:
        data, _ = s.recvfrom(2048)
    except socket.timeout:
        continue
    total += 1
    seq = struct.unpack('!I', data[:4])[0]
    seen.add(seq)
    if seq == last:
        quiet_after_last = time.monotonic() + 1.0
missing = [i for i in range(max(seen) + 1) if i not in seen] if seen else []
gaps = []
for i in missing:
    if gaps and gaps[-1][1] == i - 1:
        gaps[-1][1] = i
    else:
        gaps.append([i, i])
print('duplicates', total - len(seen), flush=True)
print('gaps', gaps[:20], flush=True)
print('received', len(seen), 'max', max(seen) if seen else -1, 'missing', missing[:50], flush=True)
'''


def sa_spis(dataplane):
    """The dataplane's SAs as "spi/direction"."""
    out = set()
    for sa in dataplane.show_json('sas'):
        out.add(sa if isinstance(sa, str) else f"{sa['spi']}/{sa['direction']}")
    return out


def counters(s):
    """Where a lost packet can be counted: each dataplane's drops by reason and its ports'
    missed/errored frames, and the kernel IP/UDP counters of both hosts and the router (a
    receiver that falls behind loses datagrams as RcvbufErrors, which no dataplane counter
    shows)."""
    out = {}
    for name, dp in (('west', s.west), ('east', s.east)):
        for reason, n in dp.drops().items():
            out[f'{name} drop {reason}'] = n
        for port, c in dp.show_json('ports').items():
            for k in ('imissed', 'ierrors', 'oerrors', 'rx_nombuf'):
                out[f'{name} {port} {k}'] = c.get(k, 0)
    for name, ns in (('host-w', s.hw), ('router', s.rt), ('host-e', s.he)):
        lines = [line.split() for line in
                 s.lab.exec(ns, 'cat', '/proc/net/snmp').stdout.splitlines()
                 if line.startswith(('Ip:', 'Udp:'))]
        for head, values in zip(lines[0::2], lines[1::2]):
            for k, v in zip(head[1:], values[1:]):
                if k.endswith(('Discards', 'Errors', 'NoRoutes', 'NoPorts')) and k != 'InErrors':
                    out[f'{name} {head[0]}{k}'] = int(v)
    return out


def poll_gaps(s, marks):
    """Each dataplane worker's longest time between two polls of its receive queues and when
    it ended relative to the kill: a worker that stalls longer than its ports' receive rings
    hold (512 af_packet frames: 1.7 s at 300 packets/s) overruns them (the ports' imissed)."""
    out = []
    for name, dp in (('west', s.west), ('east', s.east)):
        w = dp.show_json('workers')
        now = time.monotonic()
        for i, (gap, ago) in enumerate(zip(w.get('max_poll_gap_us', []),
                                           w.get('max_poll_gap_ago_ms', []))):
            out.append(f'{name} worker {i} {gap / 1000:.1f} ms, ended '
                       f'{now - ago / 1000 - marks["the kill"]:+.1f} s from the kill')
    return 'longest poll gaps: ' + '; '.join(out)


def counted(before, after):
    """The counters that moved, as text."""
    moved = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
    return ', '.join(f'{k} +{v}' for k, v in sorted(moved.items())) or 'nothing counted'


def timeline(tx_log, rx_log, marks):
    """When the lost packets were due, relative to the test's marks (monotonic seconds)."""
    tx, rx = open(tx_log).read(), open(rx_log).read()
    start = float(re.search(r'start ([\d.]+)', tx).group(1))
    lag = re.search(r'late (\d+) worst_lag ([\d.]+)', tx)
    gaps = re.search(r'gaps (.*)', rx)
    out = [f'sender late {lag.group(1)} times, at most {lag.group(2)} s' if lag else '']
    for a, b in (json.loads(gaps.group(1)) if gaps else []):
        due = start + a / RATE
        rel = ', '.join(f'{(due - t):+.2f} s from {m}' for m, t in marks.items())
        out.append(f'lost {a}..{b} ({b - a + 1}), the first due {rel}')
    return '; '.join(x for x in out if x)


def stream(lab, src_ns, dst_ns, dst, port, name):
    """Starts a receiver, then, once it is bound, a sender; returns both processes with their
    log files. (A fixed head start was not enough on a loaded machine: the receiver's start took
    longer, and the first datagrams, sent before its bind, were refused by the host as port
    unreachable; they showed as lost at the start of the stream, nowhere near the kill.)"""
    rx = lab.spawn(['ip', 'netns', 'exec', dst_ns, 'python3', '-c', RECEIVER, str(port),
                    str(SECONDS + 20), str(RATE * SECONDS - 1)], f'{name}-rx.log')
    deadline = time.time() + 30
    while 'ready' not in open(rx[1]).read():
        assert rx[0].poll() is None and time.time() < deadline, open(rx[1]).read()
        time.sleep(0.05)
    tx = lab.spawn(['ip', 'netns', 'exec', src_ns, 'python3', '-c', SENDER, dst, str(port),
                    str(RATE), str(SECONDS)], f'{name}-tx.log')
    return rx, tx


def result(rx, tx):
    tx[0].wait(timeout=SECONDS + 40)
    rx[0].wait(timeout=SECONDS + 40)
    sent = int(re.search(r'sent (\d+)', open(tx[1]).read()).group(1))
    out = open(rx[1]).read()
    m = re.search(r'received (\d+) max (-?\d+) missing (.*)', out)
    assert m, out
    # A packet replayed or duplicated across the restart would hide in the set.
    dups = int(re.search(r'duplicates (\d+)', out).group(1))
    assert dups == 0, out
    return sent, int(m.group(1)), m.group(3)


@pytest.mark.parametrize('side', ['west', 'east'])
def test_vpnd_killed_under_traffic_loses_nothing(lab, source_root, tmp_path, side):
    s = SeedPair(lab, source_root)
    s.wait_up()
    # Through the tunnel once before the clock starts (ARP on both hosts' sides).
    lab.exec(s.hw, 'ping', '-c', '2', '-i', '0.2', '-W', '2', EAST_HOST, check=False)
    dp, ns = (s.west, s.dw) if side == 'west' else (s.east, s.de)
    old = sa_spis(s.west) | sa_spis(s.east)
    assert old, 'no SAs before the restart'
    east_log_before = s.ve.log() if side == 'west' else s.vw.log()
    before = counters(s)
    streams = [stream(lab, s.hw, s.he, EAST_HOST, PORT, 'w2e'),
               stream(lab, s.he, s.hw, WEST_HOST, PORT + 1, 'e2w')]
    time.sleep(3)
    victim = s.vw if side == 'west' else s.ve
    marks = {'the kill': time.monotonic()}
    victim.proc.kill()
    victim.proc.wait(timeout=10)
    time.sleep(1)  # down for a moment under traffic
    os.unlink(victim.sock)
    config = str(tmp_path / f'{side}.conf')
    marks['the start'] = time.monotonic()
    again = lab.vpnd(ns, dp, config, f'{side}-again')
    marks['its commit'] = time.monotonic()
    if side == 'west':
        s.vw = again
    else:
        s.ve = again
    # The make-before-break switch happens under the stream: the old SAs leave both dataplanes
    # while the senders still send (so the counts below cover it).
    switched = False
    while all(tx[0].poll() is None for _, tx in streams):
        now = sa_spis(s.west) | sa_spis(s.east)
        if now and not (now & old):
            switched = True
            marks['the switch'] = time.monotonic()
            break
        time.sleep(0.25)
    results = [result(rx, tx) for rx, tx in streams]
    logs = '\n--- west ---\n' + s.vw.log()[-5000:] + '\n--- east ---\n' + s.ve.log()[-5000:]
    summary = ', '.join(f'{name}: sent {sent}, received {got}, missing {missing}'
                        for name, (sent, got, missing) in zip(('w2e', 'e2w'), results))
    summary += '\ncounted meanwhile: ' + counted(before, counters(s))
    summary += '\n' + poll_gaps(s, marks)
    for name, (rx, tx) in zip(('w2e', 'e2w'), streams):
        summary += f'\n{name}: ' + timeline(tx[1], rx[1], marks)
    print(summary)
    for sent, got, _ in results:
        assert sent == RATE * SECONDS, summary
        assert got == sent, summary + logs
    # The streams ran across the kill and the restart's commit (a sender that started late on
    # a loaded machine would prove nothing).
    for rx, tx in streams:
        start = float(re.search(r'start ([\d.]+)', open(tx[1]).read()).group(1))
        assert start < marks['the kill'], summary
        assert start + SECONDS > marks['its commit'], summary
    assert switched, 'the old SAs were still there when the stream ended' + logs
    # The IKE SA was resumed, not set up again; the CHILD SA's SAs were adopted, nothing else
    # was in the dataplane.
    assert 'resumed after the restart' in again.log(), logs
    restart = json.loads(again.vpnctl('show', 'vpn', 'ipsec', 'status', '--json').stdout)['restart']
    assert restart['ike_resumed'] == 1 and restart['children_adopted'] == 1, restart
    assert restart['children_missing'] == 0 and restart['orphan_sas_removed'] == 0, restart
    assert restart['state_file_errors'] == 0 and restart['state_writes'] >= 1, restart
    peer = s.ve if side == 'west' else s.vw
    peer_new = peer.log()[len(east_log_before):]
    assert not re.search(r'IKE_SA \S+ established', peer_new), peer_new[-3000:]
    # New CHILD SAs replaced the old ones on both ends (make-before-break), and the old ones are
    # gone from both dataplanes.
    deadline = time.time() + 20
    while time.time() < deadline:
        now = sa_spis(s.west) | sa_spis(s.east)
        if now and not (now & old):
            break
        time.sleep(0.5)
    now = sa_spis(s.west) | sa_spis(s.east)
    assert now and not (now & old), f'old SAs still there: {sorted(now & old)}' + logs
    assert re.search(r'^    vti\s+\d+\s+up\s', again.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout,
                     re.M)
    assert s.west.show_json('stats')['batches_failed'] == 0
    assert s.east.show_json('stats')['batches_failed'] == 0


def test_vpnd_killed_with_a_child_rekey_in_flight_loses_nothing(lab, source_root, tmp_path):
    """West's vpnd dies with its CREATE_CHILD_SA (a CHILD SA rekey) sent and answered by east,
    the answer lost with it: the restarted vpnd must finish that exchange from its state file
    (east answers the resent request from its cache) instead of throwing the answer away, which
    left east with a new CHILD SA nobody installed and every later rekey of the old one refused.

    To have the rekey in flight for sure: east's vpnd is stopped (SIGSTOP), west's vpnd is
    killed and restarted once (a resumed vpnd rekeys its CHILD SAs at once), its rekey request
    goes out unanswered, it is killed again, east carries on and answers into the void, and
    west's vpnd starts a second time."""
    s = SeedPair(lab, source_root)
    s.wait_up()
    lab.exec(s.hw, 'ping', '-c', '2', '-i', '0.2', '-W', '2', EAST_HOST, check=False)
    old = sa_spis(s.west) | sa_spis(s.east)
    assert old, 'no SAs before the restart'
    east_log_before = s.ve.log()
    config = str(tmp_path / 'west.conf')
    streams = [stream(lab, s.hw, s.he, EAST_HOST, PORT + 2, 'w2e'),
               stream(lab, s.he, s.hw, WEST_HOST, PORT + 3, 'e2w')]
    east_vpnd = s.ve.proc
    try:
        time.sleep(2)
        east_vpnd.send_signal(signal.SIGSTOP)
        s.vw.proc.kill()
        s.vw.proc.wait(timeout=10)
        os.unlink(s.vw.sock)
        first = lab.vpnd(s.dw, s.west, config, 'west-again')
        deadline = time.time() + 10
        while 'rekeying CHILD_SA' not in first.log():
            assert time.time() < deadline, 'no CHILD_SA rekey after the resume:\n' + first.log()
            time.sleep(0.05)
        time.sleep(0.2)
        first.proc.kill()
        first.proc.wait(timeout=10)
        os.unlink(first.sock)
    finally:
        east_vpnd.send_signal(signal.SIGCONT)
    time.sleep(1)  # east makes the new CHILD SA and answers into the void
    again = lab.vpnd(s.dw, s.west, config, 'west-again2')
    s.vw = again
    switched = False
    while all(tx[0].poll() is None for _, tx in streams):
        now = sa_spis(s.west) | sa_spis(s.east)
        if now and not (now & old):
            switched = True
            break
        time.sleep(0.25)
    results = [result(rx, tx) for rx, tx in streams]
    logs = ('\n--- west (first restart) ---\n' + first.log()[-3000:] + '\n--- west ---\n' +
            again.log()[-5000:] + '\n--- east ---\n' + s.ve.log()[-5000:])
    summary = ', '.join(f'{name}: sent {sent}, received {got}, missing {missing}'
                        for name, (sent, got, missing) in zip(('w2e', 'e2w'), results))
    print(summary)
    for sent, got, _ in results:
        assert sent == RATE * SECONDS, summary
        assert got == sent, summary + logs
    assert switched, 'the old SAs were still there when the stream ended' + logs
    assert 'in flight at the restart: sending it again' in again.log(), logs
    restart = json.loads(again.vpnctl('show', 'vpn', 'ipsec', 'status', '--json').stdout)['restart']
    assert restart['ike_resumed'] == 1 and restart['children_adopted'] == 1, restart
    assert restart['children_missing'] == 0 and restart['orphan_sas_removed'] == 0, restart
    east_new = s.ve.log()[len(east_log_before):]
    assert not re.search(r'IKE_SA \S+ established', east_new), east_new[-3000:]
    assert 'TEMPORARY_FAILURE' not in east_new, east_new[-3000:]
    # One CHILD SA left, its two SAs on each end: nothing east made for the lost answer stays.
    def spis(dp):
        return {x.split('/')[0] for x in sa_spis(dp)}
    deadline = time.time() + 20
    while time.time() < deadline:
        if len(spis(s.west)) == 2 and len(spis(s.east)) == 2:
            break
        time.sleep(0.5)
    assert spis(s.west) == spis(s.east) and len(spis(s.east)) == 2, \
        (sorted(sa_spis(s.west)), sorted(sa_spis(s.east)), logs)
    assert s.west.show_json('stats')['batches_failed'] == 0
    assert s.east.show_json('stats')['batches_failed'] == 0
