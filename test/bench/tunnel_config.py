#!/usr/bin/env python3
"""Writes a Vyatta configuration with N site-to-site tunnels, for commit-time and scale runs.

  tunnel_config.py N [--mode route|policy|mixed] [--first K] [--out FILE]

route: peer K gets vti<K> (172.16/12 /30 addresses) and an interface-route for its LAN
10.<K/256>.<K%256>.0/24 (0-based K below 65,536). policy: peer K gets one tunnel whose local
prefix is the appliance's LAN and whose remote prefix is that /24. mixed: even K route-based,
odd K policy-based. Peers are 100.64.0.0/10 addresses, the local address 198.18.0.1 on
dp0p1s1; every peer shares one IKE and one ESP group and has its own pre-shared secret.
"""
import argparse
import sys


def peer_address(k):
    k += 1  # never 100.64.0.0
    return f"100.{64 + (k >> 16)}.{(k >> 8) & 255}.{k & 255}"


def remote_lan(k):
    return f"10.{k >> 8}.{k & 255}.0/24"


def vti_address(k):
    n = 0xAC100000 + 4 * k + 1  # 172.16.0.0 + 4k + 1 /30
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/30"


def tunnel_lines(k, mode):
    p = f"set security vpn ipsec site-to-site peer {peer_address(k)}"
    lines = [
        f"{p} authentication mode pre-shared-secret",
        f"{p} authentication pre-shared-secret 'scale-secret-{k:05d}'",
        f"{p} ike-group IKE-SCALE",
        f"{p} local-address 198.18.0.1",
    ]
    route = mode == "route" or (mode == "mixed" and k % 2 == 0)
    if route:
        lines += [
            f"{p} vti bind vti{k + 1}",
            f"{p} vti esp-group ESP-SCALE",
            f"set interfaces vti vti{k + 1} address {vti_address(k)}",
            f"set protocols static interface-route {remote_lan(k)} next-hop-interface vti{k + 1}",
        ]
    else:
        lines += [
            f"{p} tunnel 1 esp-group ESP-SCALE",
            f"{p} tunnel 1 local prefix 192.168.0.0/16",
            f"{p} tunnel 1 remote prefix {remote_lan(k)}",
        ]
    return lines


def config(n, mode, first=0):
    lines = [
        "set interfaces dataplane dp0p1s1 address 198.18.0.1/15",
        "set interfaces dataplane dp0p2s1 address 192.168.0.1/16",
        "set protocols static route 100.64.0.0/10 next-hop 198.18.0.254",
        "set security vpn ipsec ike-group IKE-SCALE ike-version 2",
        "set security vpn ipsec ike-group IKE-SCALE proposal 1 dh-group 19",
        "set security vpn ipsec ike-group IKE-SCALE proposal 1 encryption aes128gcm128",
        "set security vpn ipsec ike-group IKE-SCALE proposal 1 hash sha2_256",
        "set security vpn ipsec esp-group ESP-SCALE proposal 1 encryption aes128gcm128",
        "set security vpn ipsec esp-group ESP-SCALE proposal 1 hash null",
        "set security vpn ipsec esp-group ESP-SCALE pfs disable",
    ]
    for k in range(first, first + n):
        lines += tunnel_lines(k, mode)
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("--mode", choices=["route", "policy", "mixed"], default="route")
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.n < 0 or a.first < 0 or a.first + a.n > 65536:
        sys.exit("tunnel_config.py: tunnels 0..65535")
    text = config(a.n, a.mode, a.first)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
