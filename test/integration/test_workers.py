"""Two workers end to end (#18): the VyOS guide's policy-based pair (SitePair: vpnd + vpn-dataplane
on each side, IKE through the dataplanes) with two workers per dataplane. af_packet spreads each
port's receive over one queue per worker with the kernel's PACKET_FANOUT flow hash, so the LAN
flows of one tunnel reach both of site A's workers while one of them owns the tunnel's outbound
SA: the other hands its packets to the owner through the owner's ring (docs/DESIGN.md, SA
ownership). Flows with sequence numbers in their payload prove that no flow is reordered or
loses a packet on the way; the per-worker counters (dpctl show workers, the Prometheus metrics
vpnd exports) prove the handoff happened."""
import re
import time

from portcullis_lab import PY, SitePair, flow_order, wait_ping

FLOWS, COUNT, PPS, PORT = 16, 200, 1000, 7000
METRICS_PORT = 9469


def workers(dp):
    return dp.show_json('workers')


def delta(after, before, key):
    return [a - b for a, b in zip(after[key], before[key])]


def metrics(lab, ns):
    code = ('import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('
            f'"http://127.0.0.1:{METRICS_PORT}/metrics").read().decode())')
    return lab.exec(ns, PY, '-c', code).stdout


def sa_packets(dp, direction):
    return sum(sa['packets'] for sa in dp.show_json('sas') if sa['direction'] == direction)


def test_two_workers_hand_off_and_keep_each_flow_in_order(lab, source_root):
    s = SitePair(lab, source_root, workers=2,
                 vpnd_a_args=('--metrics-listen', f'127.0.0.1:{METRICS_PORT}'))
    for dp in (s.a, s.b):
        assert '2 workers' in open(dp.log).read()
    s.wait_up()
    assert wait_ping(lab, s.ha, '10.2.0.10'), s.va.log()[-3000:]
    w = workers(s.a)
    assert w['workers'] == 2 and len(w['handed_off']) == 2, w
    # Two SAs per side, spread over the workers by load.
    assert sorted(workers(s.a)['sas_owned']) == [1, 1], workers(s.a)

    before = {'a': workers(s.a), 'b': workers(s.b)}
    drops_before = {'a': s.a.show_json('stats')['drops'], 'b': s.b.show_json('stats')['drops']}
    out_before, in_before = sa_packets(s.a, 'out'), sa_packets(s.b, 'in')
    got = flow_order(lab, s.ha, s.hb, PORT, FLOWS, COUNT, PPS)
    # Every datagram arrived once, and each flow in the order it was sent (the sender's trains
    # put several packets of a flow into one receive, handoff and ring burst).
    print(f'flows: {got}')
    assert got['received'] == FLOWS * COUNT and got['missing'] == 0, got
    assert got['reordered'] == 0 and got['duplicates'] == 0 and got['foreign'] == 0, got
    time.sleep(0.5)
    after = {'a': workers(s.a), 'b': workers(s.b)}
    assert sa_packets(s.a, 'out') - out_before == sa_packets(s.b, 'in') - in_before >= \
        FLOWS * COUNT
    # And neither dataplane dropped anything meanwhile, for any reason.
    for side, dp in (('a', s.a), ('b', s.b)):
        now = dp.show_json('stats')['drops']
        grew = {k: v - drops_before[side].get(k, 0) for k, v in now.items()
                if v != drops_before[side].get(k, 0)}
        assert not grew, (side, grew)

    # Site A: the tunnel's packets reached both workers (a flow stays on one queue, so each got
    # at least one flow's), one of them owns the outbound SA, and the other handed its share over.
    rx = delta(after['a'], before['a'], 'rx_packets')
    assert min(rx) >= COUNT, (rx, after['a'])
    sent_a = delta(after['a'], before['a'], 'handed_off')
    received_a = delta(after['a'], before['a'], 'handoff_received')
    assert sum(sent_a) >= COUNT, (sent_a, after['a'])
    # What one worker handed over, the other took from its ring: none waits or was lost.
    assert sum(received_a) == sum(sent_a), (sent_a, received_a)
    for side in ('a', 'b'):
        assert after[side]['handoff_queue_full'] == [0, 0], after[side]
    print(f'two workers: site A rx per worker {rx}, handed off {sent_a}, received {received_a}; '
          f'site B handed off {delta(after["b"], before["b"], "handed_off")}')

    # dpctl's table: one row per worker.
    table = s.a.dpctl('show', 'workers').stdout
    assert re.search(r'^worker\s+sas\s+if rx sum\s+if tx sum\s+handed off\s+handoff in\s+'
                     r'ring full\s+drops\s+gap us\s+gap ago ms$', table, re.M), table
    rows = re.findall(r'^([01])\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)'
                      r'\s+(\d+)\s+(\d+)$', table, re.M)
    assert [r[0] for r in rows] == ['0', '1'], table
    assert all(int(r[8]) > 0 for r in rows), table  # each worker's longest poll gap
    assert sum(int(r[4]) for r in rows) >= sum(after['a']['handed_off']), table

    # vpnd's Prometheus metrics carry the same counters with a worker label.
    text = metrics(lab, s.a.ns)
    handoff = {(d, w): float(v) for d, w, v in re.findall(
        r'^portcullis_worker_handoff_packets_total\{direction="(\w+)",worker="(\d)"\} (\S+)$',
        text, re.M)}
    assert set(handoff) == {(d, w) for d in ('sent', 'received') for w in '01'}, text[-3000:]
    assert sum(v for (d, _), v in handoff.items() if d == 'sent') >= sum(after['a']['handed_off'])
    assert re.search(r'^portcullis_worker_packets_total\{direction="in",worker="1"\} [1-9]', text,
                     re.M), text[-3000:]
    assert re.search(r'^portcullis_worker_handoff_queue_full_total\{worker="0"\} 0$', text,
                     re.M), text[-3000:]
