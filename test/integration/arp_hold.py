"""Holds the first packets of two ends until both have sent, then lets them go together: the
lab's way of making two IKE_SA_INITs cross (simultaneous initiation) without a delay qdisc.

Run inside a namespace that both ends must resolve by ARP before they can send (a router
between two appliances, or one end's own namespace). The test drops every ARP packet there
first (an nft `arp` table, named by --table), so nobody answers: each end's first packet
waits in its neighbour queue (the dataplane holds up to 8 per neighbour for 3 s, asking once a
second; the kernel as long as its solicit counts say). This script watches the ARP requests;
once every --iface has asked within the last --within seconds (each still holds its packets), it
deletes the table, answers every held request at once from the interface it came in on (the
answer releases the packets), and, for the kernel of this namespace (--neigh DEV: its own
packets to the requester wait in its queue), sets the requester's MAC as reachable on DEV,
which releases those. Prints one JSON line of what it saw and did.
"""
import argparse
import json
import subprocess
import sys
import time

from scapy.all import ARP, AsyncSniffer, Ether, conf, get_if_hwaddr, sendp  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--iface', action='append', required=True,
                    help='an interface whose ARP requests are answered at the release')
    ap.add_argument('--neigh', action='append', default=[],
                    help='an interface whose requester this kernel must reach too')
    ap.add_argument('--table', required=True, help='the nft arp table to delete at the release')
    ap.add_argument('--within', type=float, default=1.5)
    ap.add_argument('--timeout', type=float, default=60)
    a = ap.parse_args()
    conf.verb = 0
    last = {}  # iface -> (time, request)
    sniffers = []
    for ifname in a.iface:
        def seen(p, ifname=ifname):
            if ARP in p and p[ARP].op == 1 and p[ARP].psrc != p[ARP].pdst:
                last[ifname] = (time.time(), p)
        s = AsyncSniffer(iface=ifname, filter='arp', prn=seen, store=False)
        s.start()
        sniffers.append(s)
    time.sleep(0.5)  # the sniffers' sockets are open
    print('listening', flush=True)
    deadline = time.time() + a.timeout
    released = False
    while time.time() < deadline:
        now = time.time()
        if len(last) == len(a.iface) and all(now - t <= a.within for t, _ in last.values()):
            released = True
            break
        time.sleep(0.01)
    for s in sniffers:
        s.stop()
    out = {'released': released, 'requests': {}}
    if released:
        t0 = time.time()
        subprocess.run(['nft', 'delete', 'table', 'arp', a.table], check=True)
        answers = []
        for ifname, (_, req) in last.items():
            mine = get_if_hwaddr(ifname)
            answers.append((ifname, Ether(src=mine, dst=req[Ether].src) /
                            ARP(op=2, hwsrc=mine, psrc=req[ARP].pdst, hwdst=req[ARP].hwsrc,
                                pdst=req[ARP].psrc)))
        for ifname, frame in answers:
            sendp(frame, iface=ifname)
        for dev in a.neigh:
            req = last[dev][1]
            subprocess.run(['ip', 'neigh', 'replace', req[ARP].psrc, 'lladdr', req[ARP].hwsrc,
                            'dev', dev, 'nud', 'reachable'], check=True)
        out['release_ms'] = round((time.time() - t0) * 1000, 1)
    for ifname, (t, req) in last.items():
        out['requests'][ifname] = {'from': req[ARP].psrc, 'for': req[ARP].pdst,
                                   'mac': req[ARP].hwsrc}
    print(json.dumps(out), flush=True)
    return 0 if released else 1


if __name__ == '__main__':
    sys.exit(main())
