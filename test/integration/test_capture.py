"""Packet capture inside vpn-dataplane (`dpctl capture`), read back with tshark: the EAL runs
with --no-huge, where dpdk-dumpcap cannot attach, so the dataplane captures with rte_pcapng
from rx/tx callbacks that exist only while a capture runs (TwoSites: static SAs, no vpnd)."""
import json
import subprocess
import time

import pytest

from portcullis_lab import TwoSites, ping

pytestmark = pytest.mark.skipif(subprocess.run(['which', 'tshark'], capture_output=True)
                                .returncode != 0, reason='needs tshark')


def tshark_fields(path, *fields, display_filter=None):
    cmd = ['tshark', '-n', '-r', str(path), '-T', 'fields']
    for f in fields:
        cmd += ['-e', f]
    if display_filter:
        cmd += ['-Y', display_filter]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split('\t') for line in r.stdout.splitlines() if line]


def status(dp):
    return json.loads(dp.dpctl('capture', 'status', '--json').stdout)


def test_capture_wan_counts_esp_spis_and_interface_names(lab, tmp_path):
    s = TwoSites(lab)
    assert status(s.west)['callbacks'] == 0  # nothing on the packet path before a capture
    out = tmp_path / 'wan.pcapng'
    # 10 packets: echo requests out and replies in, ESP on the WAN.
    start = subprocess.Popen([lab.dpctl_bin, '--channel', s.west.channel, 'capture', 'start',
                              'wan', 'count', '10', 'file', str(out), '--wait', '--json'],
                             stdout=subprocess.PIPE, text=True)
    ok, text = ping(lab, s.hw, '10.2.0.10', count=8, interval='0.1')
    assert ok, text
    final = json.loads(start.communicate(timeout=70)[0])
    after = time.time()
    assert final['state'] == 'stopped' and final['captured'] == 10, final
    assert status(s.west)['callbacks'] == 0  # and nothing after it

    rows = tshark_fields(out, 'frame.interface_name', 'esp.spi', 'ip.src', 'ip.dst')
    assert len(rows) == 10, rows
    # ESP both ways (and the ARP exchange that resolved the peer, when it falls inside).
    esp = [r for r in rows if r[1]]
    assert len(esp) >= 8, rows
    spis = {r[1] for r in esp}
    assert spis == {'0x00001001', '0x00002001'}, spis  # west's outbound and inbound SAs
    # The interface description block names the port as DPDK knows it (af_packet: the
    # kernel's interface behind it, else the DPDK device).
    names = {r[0] for r in rows}
    assert names <= {'dww', 'net_af_packet1'}, names
    # Timestamps are the wall clock (Debian's rte_pcapng alone dates them centuries ahead).
    stamps = [float(r[0]) for r in tshark_fields(out, 'frame.time_epoch')]
    assert all(after - 30 < t <= after + 1 for t in stamps), (after, stamps)
    assert stamps == sorted(stamps), stamps
    outbound = [r for r in rows if r[1] == '0x00001001']
    assert outbound and all(r[2] == '192.0.2.1' and r[3] == '192.0.2.2' for r in outbound)
    # Direction flags: requests leave, replies arrive.
    # (pcapng epb_flags bits 0-1: 1 inbound, 2 outbound; tshark prints them in hex.)
    dirs = tshark_fields(out, 'esp.spi', 'frame.packet_flags_direction')
    assert {int(d[1], 0) for d in dirs if d[0] == '0x00001001'} == {2}, dirs  # outbound
    assert {int(d[1], 0) for d in dirs if d[0] == '0x00002001'} == {1}, dirs  # inbound


def test_capture_lan_until_stopped_and_refusals(lab, tmp_path):
    s = TwoSites(lab)
    out = tmp_path / 'lan.pcapng'
    started = s.west.dpctl('capture', 'start', 'lan', 'file', str(out)).stdout
    assert 'running' in started and 'lan' in started, started
    # One capture at a time; a VTI has no port; unknown names are named back.
    busy = s.west.dpctl('capture', 'start', 'wan', check=False)
    assert busy.returncode == 1 and 'is running' in busy.stderr, busy.stderr
    ok, text = ping(lab, s.hw, '10.2.0.10', count=3, interval='0.1')
    assert ok, text
    stopped = json.loads(s.west.dpctl('capture', 'stop', '--json').stdout)
    assert stopped['state'] == 'stopped' and stopped['captured'] >= 6, stopped
    icmp = tshark_fields(out, 'icmp.type', 'ip.src', display_filter='icmp')
    assert ['8', '10.1.0.10'] in icmp and ['0', '10.2.0.10'] in icmp, icmp
    vti = s.west.dpctl('capture', 'start', 'vti0', check=False)
    assert vti.returncode == 1 and 'wireshark-keys' in vti.stderr, vti.stderr
    nope = s.west.dpctl('capture', 'start', 'eth9', check=False)
    assert nope.returncode == 1 and 'no port or interface named eth9' in nope.stderr
    assert s.west.dpctl('capture', 'stop', check=False).returncode == 1
