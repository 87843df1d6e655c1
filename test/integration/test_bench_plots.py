"""scripts/bench keeps each table with a PNG of it (test/bench/bench_plot.py, matplotlib): short
real runs of both modes must leave a non-empty table and a valid PNG beside it, and a table
with no rows must not turn into a picture."""
import os
import pathlib
import struct
import subprocess
import zlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def check_png(path):
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', data[:8]
    # Walk the chunks: IHDR first with a sane size, CRCs right, IDAT present, IEND last.
    pos, chunks = 8, []
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b'IHDR' and chunks[-1][0] == b'IEND'
    width, height = struct.unpack('>II', chunks[0][1][:8])
    assert 300 <= width <= 3000 and 200 <= height <= 2000, (width, height)
    idat = b''.join(body for kind, body in chunks if kind == b'IDAT')
    pixels = zlib.decompress(idat)
    assert len(set(pixels)) > 10  # not a blank image
    assert len(data) > 10_000, len(data)


def bench(build_root, tmp_path, *args, **env):
    e = dict(os.environ, PORTCULLIS_BUILD=str(build_root), BENCH_OUT=str(tmp_path),
             BENCH_NO_HUGE='1', **env)
    r = subprocess.run([str(ROOT / 'scripts' / 'bench'), *args], capture_output=True, text=True,
                       env=e, timeout=400, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return r


def test_esp_bench_writes_its_table_and_a_png(build_root, tmp_path):
    r = bench(build_root, tmp_path, 'esp', 'aes-gcm-128')
    table = (tmp_path / 'esp.txt').read_text()
    assert table == r.stdout[:len(table)]  # what was printed is what was kept
    assert table.count('aes-gcm-128 ') == 4, table  # 64, 512, 1420, IMIX
    assert f'plot {tmp_path}/esp.png' in r.stdout
    check_png(tmp_path / 'esp.png')


def test_dataplane_bench_writes_its_table_and_a_png(build_root, tmp_path):
    bench(build_root, tmp_path, 'dataplane', BENCH_SIZES='64,1420', BENCH_SECONDS='0.5',
          BENCH_REPEATS='1', BENCH_ROUNDS='1')
    table = (tmp_path / 'dataplane.txt').read_text()
    # The IPv4-outer table, then the IPv6-outer one (rate and ratio to IPv4 per direction).
    v4, _, v6 = table.partition('IPv6 outer')
    sizes = lambda text, cells: [l.split('|')[0].strip() for l in text.splitlines()
                                 if len(l.split('|')) == cells and
                                 l.split('|')[0].strip() in ('64', '1420')]
    assert sizes(v4, 5) == ['64', '1420'], table
    assert sizes(v6, 3) == ['64', '1420'], table
    check_png(tmp_path / 'dataplane.png')


def test_an_empty_table_is_an_error_not_a_picture(tmp_path):
    (tmp_path / 't.txt').write_text('vpn-dataplane, one worker\n')
    r = subprocess.run(['/usr/bin/python3', str(ROOT / 'test' / 'bench' / 'bench_plot.py'),
                        'dataplane', str(tmp_path / 't.txt'), str(tmp_path / 't.png')],
                       capture_output=True, text=True)
    assert r.returncode != 0 and 'no frame-size rows' in r.stderr
    assert not (tmp_path / 't.png').exists()


def test_firewall_bench_writes_its_table_and_a_png(build_root, tmp_path):
    # The over rows with a few flows: their 524,288 would take a minute and 1.3 GB here.
    r = bench(build_root, tmp_path, 'firewall', BENCH_SECONDS='0.3', BENCH_REPEATS='1',
              BENCH_FILL_SESSIONS='2000', BENCH_OVER_FLOWS='8192')
    table = (tmp_path / 'firewall.txt').read_text()
    cases = [line.split('|')[0].strip() for line in table.splitlines() if '|' in line]
    assert cases == ['case', 'base', 'r10', 'r1k', 'r10k', 's10', 'sess1m'], table
    assert table.splitlines()[-1].startswith('summary: r10k='), table
    assert ' r10k_over=' in table.splitlines()[-1] and '8,192 flows' in table, table
    assert f'plot {tmp_path}/firewall.png' in r.stdout
    check_png(tmp_path / 'firewall.png')


def test_scale_bench_writes_its_table_and_a_png(build_root, tmp_path):
    r = bench(build_root, tmp_path, 'scale', BENCH_SECONDS='0.3', BENCH_REPEATS='1',
              BENCH_SIZES='64', BENCH_CASES='t1,t100,r1,r10k,p1,p100', BENCH_RECONF='0')
    table = (tmp_path / 'scale.txt').read_text()
    cases = [line.split('|')[0].strip() for line in table.splitlines() if '|' in line]
    assert cases == ['case', 't1', 't100', 'r1', 'r10k', 'p1', 'p100'], table
    # Only what was measured gets a number: the rest of the summary says na.
    assert table.splitlines()[-1] == ('summary: t10k=na r1m=na p10k=na reconf_loss=na '
                                      'commit10k_s=na w2=na w2_members=na w2_ceiling=na'), table
    assert f'plot {tmp_path}/scale.png' in r.stdout
    check_png(tmp_path / 'scale.png')
