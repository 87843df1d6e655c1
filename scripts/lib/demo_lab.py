"""The appliance labs of scripts/demo: both seed pairs, each appliance a vpn-dataplane + vpnd in
network namespaces with a kernel router between the pair and a host behind each side.

- route-based (VTI), the IBM Cloud VRA guide's west/east pair, configs/vyatta-west.conf and
  vyatta-east.conf with the seed's own addresses:
    host 10.165.125.120 -- [west] 169.50.194.197 -- router -- 159.8.98.213 [east] -- host 10.127.132.130
- policy-based, the VyOS guide's site A/B pair, configs/vyos-site-a.conf and vyos-site-b.conf:
    host 10.1.0.10 -- [site A] 203.0.113.1 -- router -- 198.51.100.1 [site B] -- host 10.2.0.10

Both pairs start together (their IKE runs at the same time); then for each the demo shows what
an operator looks at (vpnctl op commands), pings and runs iperf3 through the tunnel, and shows
the dataplane's view. Everything is removed at the end, also on failure.
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
from portcullis_lab import EAST_HOST, WEST_HOST, Lab, SeedPair, SitePair, ping  # noqa: E402

T0 = float(os.environ.get('DEMO_START', time.time()))  # scripts/demo's clock


def step(text):
    print(f'\n\033[1m== {text}\033[0m  [{time.time() - T0:.0f} s]', flush=True)


def show(vpnd, *cmd):
    print(f'$ vpnctl {" ".join(cmd)}')
    print(vpnd.vpnctl(*cmd, check=False).stdout.rstrip(), flush=True)


def pings(lab, ns, src, dst):
    ok, out = ping(lab, ns, dst, count=5, interval='0.2')
    print(f'$ ping -c 5 {dst}   (from {src})')
    print(out.rstrip(), flush=True)
    if not ok:
        raise SystemExit(f'demo: ping {src} -> {dst} through the tunnel failed')


def iperf3(lab, client_ns, server_ns, dst, label):
    server, _ = lab.spawn(['ip', 'netns', 'exec', server_ns, 'iperf3', '-s', '-1'],
                          f'iperf3-{label}.log')
    time.sleep(0.5)
    r = lab.exec(client_ns, 'iperf3', '-c', dst, '-t', '3', '-J', timeout=60)
    server.wait(timeout=10)
    res = json.loads(r.stdout)['end']
    print(f"iperf3 TCP 3 s -> {dst}: {res['sum_received']['bits_per_second'] / 1e6:.0f} Mbit/s "
          'received (two appliances, two hosts and a router sharing this machine\'s cores)',
          flush=True)


def route_based(lab, pair):
    step('route-based pair (Vyatta west/east, VTI): west, vpnctl show vpn ike sa / ipsec sa')
    show(pair.vw, 'show', 'vpn', 'ike', 'sa')
    show(pair.vw, 'show', 'vpn', 'ipsec', 'sa')
    step(f'host-west {WEST_HOST} pings host-east {EAST_HOST} through vti2')
    pings(lab, pair.hw, WEST_HOST, EAST_HOST)
    step('on the router between them: ESP only (tcpdump)')
    cap = subprocess.Popen(['ip', 'netns', 'exec', pair.rt, 'tcpdump', '-n', '-c', '4', '-i',
                            'rw1', 'esp or udp port 500 or udp port 4500'],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    time.sleep(1)
    ping(lab, pair.hw, EAST_HOST, count=2)
    try:
        print(cap.communicate(timeout=10)[0].rstrip())
    except subprocess.TimeoutExpired:
        cap.kill()
    step('iperf3 through the VTI tunnel, host-west -> host-east')
    iperf3(lab, pair.hw, pair.he, EAST_HOST, 'vti')
    step('west: vpnctl show vpn ipsec sa statistics / show vpn debug peer 159.8.98.213')
    show(pair.vw, 'show', 'vpn', 'ipsec', 'sa', 'statistics')
    show(pair.vw, 'show', 'vpn', 'debug', 'peer', '159.8.98.213')
    step('west dataplane: dpctl show interfaces / sas')
    print(pair.west.dpctl('show', 'interfaces').stdout.rstrip())
    print(pair.west.dpctl('show', 'sas').stdout.rstrip(), flush=True)


def policy_based(lab, pair):
    step('policy-based pair (VyOS site A/B, 10.1.0.0/24 <=> 10.2.0.0/24): site A, '
         'vpnctl show vpn ike sa / ipsec sa')
    show(pair.va, 'show', 'vpn', 'ike', 'sa')
    show(pair.va, 'show', 'vpn', 'ipsec', 'sa')
    step('host 10.1.0.10 behind site A pings host 10.2.0.10 behind site B')
    pings(lab, pair.ha, '10.1.0.10', '10.2.0.10')
    step('iperf3 through the policy-based tunnel, site A host -> site B host')
    iperf3(lab, pair.ha, pair.hb, '10.2.0.10', 'policy')
    step('site A: vpnctl show vpn ipsec sa detail (the traffic selectors) / statistics')
    detail = pair.va.vpnctl('show', 'vpn', 'ipsec', 'sa', 'detail', check=False).stdout
    print('$ vpnctl show vpn ipsec sa detail   (first lines)')
    print('\n'.join(detail.rstrip().splitlines()[:24]))
    show(pair.va, 'show', 'vpn', 'ipsec', 'sa', 'statistics')
    step('site A dataplane: dpctl show policies / sas (the SPD steers 10.2.0.0/24 into ESP)')
    print(pair.a.dpctl('show', 'policies').stdout.rstrip())
    print(pair.a.dpctl('show', 'sas').stdout.rstrip(), flush=True)


def main():
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    with tempfile.TemporaryDirectory(prefix='portcullis-demo-') as work:
        lab = Lab(build, work)
        try:
            step('four appliances (vpn-dataplane + vpnd each) in network namespaces: the '
                 'Vyatta west/east pair and the VyOS site A/B pair, a router and two hosts each')
            t0 = time.time()
            seed = SeedPair(lab, ROOT)
            site = SitePair(lab, ROOT)
            seed.wait_up()
            print(f'west/east tunnel up {time.time() - t0:.1f} s after the processes started')
            site.wait_up()
            print(f'site A/B tunnel up {time.time() - t0:.1f} s after the processes started',
                  flush=True)
            route_based(lab, seed)
            policy_based(lab, site)
            step('west: vpnctl show log vpn ipsec (first lines; under systemd also '
                 'journalctl -u vpnd)')
            log = seed.vw.vpnctl('show', 'log', 'vpn', 'ipsec', check=False).stdout
            print('\n'.join(log.splitlines()[:10]))
        finally:
            lab.close()
    print(f'\ndemo: both seed pairs done in {time.time() - T0:.0f} s; namespaces and processes '
          'removed')


if __name__ == '__main__':
    main()
