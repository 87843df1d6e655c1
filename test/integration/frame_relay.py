"""A wire between two interfaces of one namespace: every frame received on one is sent on the
other (AF_PACKET, both ways). The active-backup test puts it between a TAP port's kernel side
and a veth: the kernel bridge would treat frames for the TAP's own MAC (which the bond sets to
its own) as the bridge's and never forward them, and af_packet ports report no link state.

    python3 frame_relay.py IF_A IF_B      (runs until killed)
"""
import select
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def main(a, b):
    socks = {}
    for name in (a, b):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((name, 0))
        socks[name] = s
    other = {socks[a]: socks[b], socks[b]: socks[a]}
    while True:
        ready, _, _ = select.select(list(other), [], [])
        for s in ready:
            try:
                frame, addr = s.recvfrom(65535)
            except OSError:  # the interface went down (the error is reported once): carry on
                time.sleep(0.01)
                continue
            if addr[2] == PACKET_OUTGOING:  # our own sends, seen again
                continue
            try:
                other[s].send(frame)
            except OSError:  # the other side is down: the frame is lost, as on a cut wire
                pass


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
