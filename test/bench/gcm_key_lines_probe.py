"""Offsets of the keys gcm_key_lines_probe.c's traced call read (not a test):

  valgrind --tool=lackey --trace-mem=yes --log-file=/tmp/lk /tmp/gcm_key_lines_probe 64 0 \\
      2>/tmp/probe.txt
  python3 test/bench/gcm_key_lines_probe.py /tmp/probe.txt < /tmp/lk

prints the 64-byte lines (from the keys' start) and the byte ranges read between the probe's
first and second store to its marker.
"""
import re
import sys


def main():
    head = open(sys.argv[1]).read()
    m = re.search(r'key (0x[0-9a-f]+) size (\d+) marker (0x[0-9a-f]+)', head)
    base, size, mark = int(m.group(1), 16), int(m.group(2)), int(m.group(3), 16)
    offs, stores = set(), 0
    for line in sys.stdin:
        a = re.match(r'\s*([LSM])\s+([0-9a-f]+),(\d+)', line)
        if not a:
            continue
        addr, n = int(a.group(2), 16), int(a.group(3))
        if addr == mark and a.group(1) in 'SM':
            stores += 1
            continue
        if stores == 1 and base <= addr < base + size:
            offs.update(range(addr - base, addr - base + n))
    ranges = []
    for o in sorted(offs):
        if ranges and ranges[-1][1] == o:
            ranges[-1][1] = o + 1
        else:
            ranges.append([o, o + 1])
    print('lines', sorted({o // 64 for o in offs}),
          'ranges', ' '.join(f'[{a}, {b})' for a, b in ranges))


if __name__ == '__main__':
    main()
