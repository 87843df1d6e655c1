"""The IKE path through vpn-dataplane, with channel_probe standing in for vpnd: UDP 500 and
UDP 4500 behind the non-ESP marker are punted with their addresses and ports; what the client
injects is routed and sent, with the marker put back; NAT keepalives are absorbed and counted;
ESP-in-UDP with an unknown SPI is counted, not punted. A kernel host talks through real
sockets."""
import json
import time




HOST_SCRIPT = r'''
import socket, sys, json
out = []
def exchange(port, payload, expect_reply=True):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.51.100.10", port))
    s.settimeout(3)
    s.sendto(payload, ("198.51.100.1", port))
    try:
        data, peer = s.recvfrom(4096) if expect_reply else (b"", None)
    except socket.timeout:
        data, peer = None, None
    s.close()
    out.append({"port": port, "reply": data.hex() if data is not None else None,
                "peer": list(peer) if peer else None})
exchange(500, b"IKE_SA_INIT-500")
exchange(4500, b"\x00\x00\x00\x00IKE-over-4500")
exchange(4500, b"\xff", expect_reply=False)                     # NAT keepalive
exchange(4500, b"\x12\x34\x56\x78" + b"\x00" * 40, expect_reply=False)  # ESP, unknown SPI
print(json.dumps(out))
'''


def test_ike_punt_inject_marker_and_keepalives(lab):
    dp_ns, host_ns = lab.ns('dp'), lab.ns('h')
    lab.veth(host_ns, 'h0', dp_ns, 'dpx')
    lab.host(host_ns, 'h0', '198.51.100.10/24', '198.51.100.1')
    dp = lab.dataplane(dp_ns, {'ext': 'net_af_packet0,iface=dpx'})
    dp.batch('interface add ext kind port\naddress add ext 198.51.100.1/24\n')
    probe, probe_log = lab.spawn([f'{lab.build}/test/tools/channel_probe', '--channel',
                                  dp.channel, '--seconds', '12', '--echo'], 'probe.log')
    for _ in range(50):
        if '"attached"' in open(probe_log).read():
            break
        time.sleep(0.1)
    r = lab.exec(host_ns, '/usr/bin/python3', '-c', HOST_SCRIPT, timeout=30)
    results = json.loads(r.stdout)
    probe.wait(timeout=20)
    punts = [json.loads(l) for l in open(probe_log) if l.startswith('{"src"')]

    # UDP 500: punted with addresses and ports, echoed back from 500.
    assert results[0]['reply'] == b'echo:IKE_SA_INIT-500'.hex()
    assert results[0]['peer'] == ['198.51.100.1', 500]
    p500 = [p for p in punts if p['dport'] == 500]
    assert len(p500) == 1
    assert p500[0] == {'src': '198.51.100.10', 'dst': '198.51.100.1', 'sport': 500, 'dport': 500,
                       'ifindex': 1, 'marker': False, 'len': 15, 'data': 'IKE_SA_INIT-500'}
    # UDP 4500 behind the marker: punted without it (flag set), the reply gets it back.
    assert results[1]['reply'] == (b'\0\0\0\0echo:IKE-over-4500').hex()
    p4500 = [p for p in punts if p['dport'] == 4500]
    assert len(p4500) == 1 and p4500[0]['marker'] and p4500[0]['data'] == 'IKE-over-4500'
    # The keepalive and the unknown-SPI ESP never reached the client, and were counted.
    drops = dp.drops()
    assert drops.get('nat_keepalive') == 1
    assert drops.get('no_sa') == 1
    stats = dp.show_json('stats')
    assert stats['punt_to_vpnd'] == 2
    assert stats['inject_from_vpnd'] == 2


def test_punt_without_vpnd_is_counted_not_blocking(lab):
    dp_ns, host_ns = lab.ns('dp'), lab.ns('h')
    lab.veth(host_ns, 'h0', dp_ns, 'dpx')
    lab.host(host_ns, 'h0', '198.51.100.10/24', '198.51.100.1')
    dp = lab.dataplane(dp_ns, {'ext': 'net_af_packet0,iface=dpx'})
    dp.batch('interface add ext kind port\naddress add ext 198.51.100.1/24\n')
    lab.exec(host_ns, '/usr/bin/python3', '-c',
             'import socket\ns=socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
             'for i in range(20): s.sendto(b"x"*100, ("198.51.100.1", 500))\n')
    time.sleep(0.5)
    stats = dp.show_json('stats')
    assert stats['punt_dropped'] == 20
    # And the dataplane still answers.
    r = lab.exec(host_ns, 'ping', '-c', '1', '-W', '1', '198.51.100.1', check=False)
    assert r.returncode == 0
