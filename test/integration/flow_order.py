"""UDP flows with sequence numbers, and a receiver that checks each flow's order (run in a
network namespace by the integration tests; a few thousand packets a second, no timing asserts).

  flow_order.py send DST PORT FLOWS COUNT PPS [TRAIN]
      COUNT datagrams on each of FLOWS flows (source ports 20000 + flow): TRAIN (8) of one flow
      back to back, then TRAIN of the next, round robin over the flows, paced at PPS on average
      between the rounds; each payload starts with the flow number and its sequence number
      (both 32-bit, network order), padded to 64 bytes. The trains put several packets of one
      flow into one receive burst, one handoff burst and one ring burst, where a reordering
      would show; the average keeps af_packet's rings far from full (a full ring would roll a
      flow over to another queue).
  flow_order.py recv PORT FLOWS COUNT IDLE_S
      Receives until every flow's COUNT datagrams arrived or nothing came for IDLE_S seconds
      after the first; prints one JSON line: received, per-flow counts, and, across all flows,
      reordered (a sequence number below one already seen on its flow) and the largest such
      displacement, duplicates, missing, and the flows whose source port does not match the
      flow number (foreign).
"""
import json
import socket
import struct
import sys
import time


def send(dst, port, flows, count, pps, train):
    socks = []
    for f in range(flows):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(('0.0.0.0', 20000 + f))
        socks.append(s)
    pad = bytes(56)
    start = time.monotonic()
    n = 0
    for first in range(0, count, train):
        for f in range(flows):
            for seq in range(first, min(first + train, count)):
                socks[f].sendto(struct.pack('!II', f, seq) + pad, (dst, port))
                n += 1
        # Paced on average: af_packet's receive rings never fill, so the kernel's flow hash
        # alone picks a flow's queue (a nearly full ring rolls a busy flow over to another).
        ahead = n / pps - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
    print(json.dumps({'sent': n}))


def recv(port, flows, count, idle_s):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(('0.0.0.0', port))
    print(json.dumps({'listening': port}), flush=True)
    last = [-1] * flows
    seen = [set() for _ in range(flows)]
    reordered = duplicates = foreign = received = displacement = 0
    s.settimeout(None)
    while received < flows * count:
        try:
            data, (_, sport) = s.recvfrom(2048)
        except socket.timeout:
            break
        s.settimeout(idle_s)  # from the first datagram on: stop when the flows dry up
        received += 1
        f, seq = struct.unpack('!II', data[:8])
        if f >= flows or sport != 20000 + f:
            foreign += 1
            continue
        if seq in seen[f]:
            duplicates += 1
            continue
        seen[f].add(seq)
        if seq < last[f]:
            reordered += 1
            displacement = max(displacement, last[f] - seq)
        last[f] = max(last[f], seq)
    print(json.dumps({'received': received, 'per_flow': [len(x) for x in seen],
                      'reordered': reordered, 'max_displacement': displacement,
                      'duplicates': duplicates, 'foreign': foreign,
                      'missing': sum(count - len(x) for x in seen)}), flush=True)


def main():
    if sys.argv[1] == 'send':
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]),
             float(sys.argv[6]), int(sys.argv[7]) if len(sys.argv) > 7 else 8)
    else:
        recv(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))


if __name__ == '__main__':
    main()
