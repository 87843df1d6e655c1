"""The two-site namespace lab of scripts/demo: kernel hosts behind two vpn-dataplane appliances
(west, east), joined by a WAN veth, with ESP SAs keyed by hand through dpctl. Shows the
configuration, pings and a short iperf3 through the VTI tunnel, ESP on the wire, and the
appliances' counters. Everything is removed at the end, also on failure or Ctrl-C.

    host-west 10.1.0.10 -- [west 10.1.0.1 | 192.0.2.1] == WAN == [192.0.2.2 | 10.2.0.1 east] -- host-east 10.2.0.10
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'test' / 'integration'))
from portcullis_lab import Lab, TwoSites, ping  # noqa: E402


def step(text):
    print(f'\n\033[1m== {text}\033[0m', flush=True)


def show(dp, *what):
    print(dp.dpctl('show', *what).stdout.rstrip())


def main():
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    with tempfile.TemporaryDirectory(prefix='portcullis-demo-') as work:
        lab = Lab(build, work)
        try:
            step('two appliances in network namespaces, hosts behind them (net_af_packet on veths, --no-huge)')
            sites = TwoSites(lab)
            print(f'west: vpn-dataplane in {sites.dw}, LAN host in {sites.hw}')
            print(f'east: vpn-dataplane in {sites.de}, LAN host in {sites.he}')

            step('what dpctl gave west (manual keying: AES-GCM-128, SPI 0x1001 out / 0x2001 in)')
            for line in sites.batches['west'].strip().splitlines():
                print('  dpctl ' + (line if 'key' not in line else
                                    line.split(' key ')[0] + ' key <hidden> ...'))

            step('west: interfaces and SAs')
            show(sites.west, 'interfaces')
            show(sites.west, 'sas')

            step('host-west pings host-east through the tunnel')
            ok, out = ping(lab, sites.hw, '10.2.0.10', count=5)
            print(out.rstrip())
            if not ok:
                raise SystemExit('demo: ping through the tunnel failed')

            step('on the WAN wire: ESP only (tcpdump in the east namespace)')
            # The dataplane's af_packet sockets bypass the qdisc on transmit, so a tap in east's
            # namespace sees what arrives from west.
            cap = subprocess.Popen(['ip', 'netns', 'exec', sites.de, 'tcpdump', '-n', '-c', '3',
                                    '-i', 'dew', 'esp'], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True)
            time.sleep(1)
            ping(lab, sites.hw, '10.2.0.10', count=4)
            try:
                print(cap.communicate(timeout=10)[0].rstrip())
            except subprocess.TimeoutExpired:
                cap.kill()

            step('iperf3 TCP, 3 seconds, host-west -> host-east')
            server, _ = lab.spawn(['ip', 'netns', 'exec', sites.he, 'iperf3', '-s', '-1'],
                                  'iperf3.log')
            time.sleep(0.5)
            r = lab.exec(sites.hw, 'iperf3', '-c', '10.2.0.10', '-t', '3', '-J', timeout=60)
            server.wait(timeout=10)
            res = json.loads(r.stdout)['end']
            print(f"{res['sum_received']['bits_per_second'] / 1e6:.0f} Mbit/s received, "
                  f"{res['sum_sent'].get('retransmits', 0)} retransmits")

            # TCP finds the bottleneck by loss. Here it is the af_packet socket's receive ring
            # (2 cores run both appliances, both hosts and iperf3); DPDK 22.11's af_packet PMD
            # does not count those misses, so compare the veth's and the port's packet counts.
            step("east: WAN port vs the kernel's count for its veth (the difference: af_packet ring overruns)")
            veth = lab.exec(sites.de, 'cat', '/sys/class/net/dew/statistics/rx_packets').stdout
            print(f"dew rx_packets (kernel) {int(veth)}, "
                  f"wan ipackets (vpn-dataplane) {sites.east.show_json('ports')['wan']['ipackets']}")

            step('west: SA counters and drops')
            show(sites.west, 'sa', '00001001/out')
            show(sites.west, 'sa', '00002001/in')
            show(sites.west, 'stats')
        finally:
            lab.close()
    print('\ndemo: done, namespaces and processes removed')


if __name__ == '__main__':
    main()
