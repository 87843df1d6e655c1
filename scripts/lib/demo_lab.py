"""The two-appliance lab of scripts/demo: the seed's route-based pair (configs/vyatta-west.conf and
vyatta-east.conf, the seed's own addresses) on two appliances, each vpn-dataplane + vpnd, in
network namespaces with a kernel router between them and a host behind each. IKE brings the
VTI tunnel up; the demo shows what an operator would look at, pings and runs iperf3 through
the tunnel, and shows ESP on the wire. Everything is removed at the end, also on failure.

    host 10.165.125.120 -- [west] 169.50.194.197 -- router -- 159.8.98.213 [east] -- host 10.127.132.130
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
from portcullis_lab import EAST_HOST, Lab, SeedPair, ping  # noqa: E402


def step(text):
    print(f'\n\033[1m== {text}\033[0m', flush=True)


def main():
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    with tempfile.TemporaryDirectory(prefix='portcullis-demo-') as work:
        lab = Lab(build, work)
        try:
            step('two appliances (vpn-dataplane + vpnd) with configs/vyatta-west.conf and '
                 'vyatta-east.conf, a router between them, a host behind each')
            t0 = time.time()
            pair = SeedPair(lab, ROOT)
            pair.wait_up()
            print(f'tunnel up {time.time() - t0:.1f} s after the processes started')

            step('west: vpnctl show vpn ike sa')
            print(pair.vw.vpnctl('show', 'vpn', 'ike', 'sa').stdout.rstrip())
            step('west: vpnctl show vpn ipsec sa')
            print(pair.vw.vpnctl('show', 'vpn', 'ipsec', 'sa').stdout.rstrip())

            step('host-west pings host-east through the VTI tunnel')
            ok, out = ping(lab, pair.hw, EAST_HOST, count=5)
            print(out.rstrip())
            if not ok:
                raise SystemExit('demo: ping through the tunnel failed')

            step('on the router between them: ESP only (tcpdump)')
            cap = subprocess.Popen(['ip', 'netns', 'exec', pair.rt, 'tcpdump', '-n', '-c', '4',
                                    '-i', 'rw1', 'esp or udp port 500 or udp port 4500'],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            time.sleep(1)
            ping(lab, pair.hw, EAST_HOST, count=2)
            try:
                print(cap.communicate(timeout=10)[0].rstrip())
            except subprocess.TimeoutExpired:
                cap.kill()

            step('iperf3 TCP, 3 seconds, host-west -> host-east')
            server, _ = lab.spawn(['ip', 'netns', 'exec', pair.he, 'iperf3', '-s', '-1'],
                                  'iperf3.log')
            time.sleep(0.5)
            r = lab.exec(pair.hw, 'iperf3', '-c', EAST_HOST, '-t', '3', '-J', timeout=60)
            server.wait(timeout=10)
            res = json.loads(r.stdout)['end']
            print(f"{res['sum_received']['bits_per_second'] / 1e6:.0f} Mbit/s received "
                  '(two appliances, two hosts and a router on this machine\'s cores)')

            step('west dataplane: dpctl show interfaces / sas')
            print(pair.west.dpctl('show', 'interfaces').stdout.rstrip())
            print(pair.west.dpctl('show', 'sas').stdout.rstrip())

            step('west: vpnctl show vpn debug peer 159.8.98.213')
            print(pair.vw.vpnctl('show', 'vpn', 'debug', 'peer', '159.8.98.213',
                                 check=False).stdout.rstrip())

            step('west: the IPsec log (show log vpn ipsec), first lines')
            print('\n'.join(pair.vw.log().splitlines()[:14]))
        finally:
            lab.close()
    print('\ndemo: done, namespaces and processes removed')


if __name__ == '__main__':
    main()
