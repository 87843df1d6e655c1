"""A minimal client of strongSwan's VICI protocol (the one swanctl speaks), enough to drive a
charon initiator from a benchmark: one blocking command at a time per connection. Debian 12 has
no Python binding for it; the wire format is strongSwan's src/libcharon/plugins/vici/README.md:
a 32-bit big-endian length, a packet type, a command name, then a message of typed elements."""
import socket
import time
import struct

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7
SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6


def encode(msg):
    out = bytearray()
    for k, v in msg.items():
        kb = k.encode()
        if isinstance(v, dict):
            out += bytes([SECTION_START, len(kb)]) + kb + encode(v) + bytes([SECTION_END])
        elif isinstance(v, list):
            out += bytes([LIST_START, len(kb)]) + kb
            for item in v:
                vb = str(item).encode()
                out += bytes([LIST_ITEM]) + struct.pack('!H', len(vb)) + vb
            out += bytes([LIST_END])
        else:
            vb = str(v).encode()
            out += bytes([KEY_VALUE, len(kb)]) + kb + struct.pack('!H', len(vb)) + vb
    return bytes(out)


def decode(data):
    """The message as nested dicts; values and list items as str."""
    root = {}
    stack = [root]
    lst = None
    i = 0
    while i < len(data):
        t = data[i]
        i += 1
        if t in (SECTION_START, KEY_VALUE, LIST_START):
            n = data[i]
            name = data[i + 1:i + 1 + n].decode(errors='replace')
            i += 1 + n
        if t == SECTION_START:
            d = {}
            stack[-1][name] = d
            stack.append(d)
        elif t == SECTION_END:
            stack.pop()
        elif t == KEY_VALUE:
            (n,) = struct.unpack('!H', data[i:i + 2])
            stack[-1][name] = data[i + 2:i + 2 + n].decode(errors='replace')
            i += 2 + n
        elif t == LIST_START:
            lst = stack[-1][name] = []
        elif t == LIST_ITEM:
            (n,) = struct.unpack('!H', data[i:i + 2])
            lst.append(data[i + 2:i + 2 + n].decode(errors='replace'))
            i += 2 + n
        elif t == LIST_END:
            lst = None
    return root


class Vici:
    def __init__(self, path, timeout=120):
        # charon's listen backlog is small: many clients connecting at once retry.
        for attempt in range(100):
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.s.settimeout(timeout)
            try:
                self.s.connect(path)
                return
            except BlockingIOError:
                self.s.close()
                time.sleep(0.01 * (attempt + 1))
        raise ConnectionError('vici: cannot connect to ' + path)

    def close(self):
        self.s.close()

    def _recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError('vici: connection closed')
            buf += chunk
        return bytes(buf)

    def request(self, command, msg=None):
        """Sends a command and returns its response (events in between are skipped)."""
        name = command.encode()
        body = bytes([CMD_REQUEST, len(name)]) + name + encode(msg or {})
        self.s.sendall(struct.pack('!I', len(body)) + body)
        while True:
            (n,) = struct.unpack('!I', self._recv(4))
            pkt = self._recv(n)
            if pkt[0] == CMD_RESPONSE:
                return decode(pkt[1:])
            if pkt[0] == CMD_UNKNOWN:
                raise ValueError('vici: unknown command ' + command)
