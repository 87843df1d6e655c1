"""vpnd's observability with the real tools, on the seed's two-appliance pair (SeedPair):

- --metrics-listen: Debian's Prometheus server scrapes vpnd's endpoint (in the west appliance's
  namespace, on its loopback) and a PromQL query over its HTTP API returns the tunnel's byte
  counter with the labels a Grafana user expects;
- --wireshark-keys: a capture of the WAN between the appliances, taken by tcpdump on the router,
  decrypts in tshark with vpnd's two UAT files alone: ESP (the hosts' ICMP inside) and IKE
  (IKE_AUTH's inner payloads);
- --syslog: the same lines reach a unix datagram socket standing in for /dev/log.

The west vpnd is restarted with those options once the pair is up (as in the restart test), so
the capture holds the new IKE SA's whole negotiation: with `--ike-state none`, since a hitless
restart resumes the old IKE SA and negotiates none.
"""
import json
import os
import shutil
import socket
import stat
import subprocess
import threading
import time
import urllib.parse

import pytest

from portcullis_lab import EAST_HOST, EAST_PUBLIC, SeedPair, ping, wait_ping

METRICS_PORT = 9400
PROM_PORT = 9090


def prom_query(lab, ns, expr):
    url = (f'http://127.0.0.1:{PROM_PORT}/api/v1/query?' +
           urllib.parse.urlencode({'query': expr}))
    code = f'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen({url!r}).read().decode())'
    r = lab.exec(ns, '/usr/bin/python3', '-c', code, check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def http_get(lab, ns, url):
    code = f'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen({url!r}).read().decode())'
    return lab.exec(ns, '/usr/bin/python3', '-c', code).stdout


def tshark(keys_dir, capture, *args):
    env = dict(os.environ, WIRESHARK_CONFIG_DIR=str(keys_dir))
    r = subprocess.run(['tshark', '-n', '-r', str(capture), '-o', 'esp.enable_encryption_decode:TRUE',
                        *args], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.skipif(not shutil.which('prometheus') or not shutil.which('tshark'),
                    reason='needs prometheus and tshark (scripts/setup installs them)')
def test_metrics_wireshark_keys_and_syslog(lab, source_root, tmp_path):
    s = SeedPair(lab, source_root)
    s.wait_up()

    # Everything between the appliances, from before the new IKE SA exists.
    capture = tmp_path / 'wan.pcap'
    tcpdump, _ = lab.spawn(['ip', 'netns', 'exec', s.rt, 'tcpdump', '-i', 'rw1', '-U', '-s', '0',
                            '-w', str(capture)], 'tcpdump.log')
    deadline = time.time() + 10
    while not capture.exists() or capture.stat().st_size == 0:
        assert time.time() < deadline, 'tcpdump did not start'
        time.sleep(0.1)

    # A unix datagram socket queues only 10 datagrams (net.unix.max_dgram_qlen): read it as
    # journald would, all the time.
    devlog = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    devlog.bind(str(tmp_path / 'devlog'))
    devlog.settimeout(0.2)
    lines, reading = [], [True]

    def read_devlog():
        while reading[0]:
            try:
                lines.append(devlog.recv(4096).decode())
            except socket.timeout:
                pass
    reader = threading.Thread(target=read_devlog, daemon=True)
    reader.start()
    keys = tmp_path / 'wireshark'

    s.vw.proc.kill()
    s.vw.proc.wait(timeout=10)
    os.unlink(s.vw.sock)
    s.vw = lab.vpnd(s.dw, s.west, str(tmp_path / 'west.conf'), 'west-observed', extra_args=(
        '--metrics-listen', f'127.0.0.1:{METRICS_PORT}', '--wireshark-keys', str(keys),
        '--syslog', str(tmp_path / 'devlog'), '--ike_state', 'none'))
    s.wait_up()
    # Started over on purpose (a new IKE SA, INITIAL_CONTACT, the dataplane flushed), which is
    # not hitless: the peer may send on its old SA for a moment after both ends show the tunnel
    # up (test_hitless_restart covers the restart that is).
    assert wait_ping(lab, s.hw, EAST_HOST, seconds=15), s.vw.log()[-3000:] + s.ve.log()[-3000:]
    ok, out = ping(lab, s.hw, EAST_HOST, count=5)
    assert ok, out + s.vw.log()[-3000:] + s.ve.log()[-3000:]

    # --- Wireshark keys: files 0600 in a 0700 directory, and a loud warning.
    assert 'WARNING: --wireshark-keys is on' in s.vw.log()
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for name in ('esp_sa', 'ikev2_decryption_table'):
        assert stat.S_IMODE((keys / name).stat().st_mode) == 0o600

    # --- Prometheus scrapes vpnd in the west appliance's namespace.
    prom_dir = tmp_path / 'prometheus'
    prom_dir.mkdir()
    (prom_dir / 'prometheus.yml').write_text(f'''
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: portcullis
    static_configs:
      - targets: ['127.0.0.1:{METRICS_PORT}']
''')
    lab.spawn(['ip', 'netns', 'exec', s.dw, 'prometheus',
               f'--config.file={prom_dir / "prometheus.yml"}',
               f'--storage.tsdb.path={prom_dir / "data"}',
               f'--web.listen-address=127.0.0.1:{PROM_PORT}'], 'prometheus.log')
    raw = http_get(lab, s.dw, f'http://127.0.0.1:{METRICS_PORT}/metrics')
    if 'state="established"' not in raw:  # the snapshot is at most a second old
        time.sleep(1.5)
        raw = http_get(lab, s.dw, f'http://127.0.0.1:{METRICS_PORT}/metrics')
    assert 'portcullis_ike_sas{peer="159.8.98.213",state="established"}' in raw, \
        raw + s.vw.vpnctl('show', 'vpn', 'debug').stdout
    assert 'portcullis_dataplane_up 1' in raw, raw
    assert 'portcullis_ike_messages_total{direction="out",exchange="IKE_AUTH"' in raw or \
        'portcullis_ike_messages_total{direction="in",exchange="IKE_AUTH"' in raw, raw

    expr = f'portcullis_tunnel_bytes_total{{peer="{EAST_PUBLIC}",tunnel="vti",direction="out"}}'
    result = None
    deadline = time.time() + 45
    while time.time() < deadline:
        ping(lab, s.hw, EAST_HOST, count=2, interval='0.2')
        doc = prom_query(lab, s.dw, expr)
        if doc and doc['status'] == 'success' and doc['data']['result'] and \
                float(doc['data']['result'][0]['value'][1]) > 0:
            result = doc['data']['result'][0]
            break
        time.sleep(1)
    assert result, f'Prometheus never saw the tunnel bytes:\n{open(lab.workdir + "/prometheus.log").read()[-3000:]}'
    labels = result['metric']
    assert labels['__name__'] == 'portcullis_tunnel_bytes_total'
    assert (labels['peer'], labels['tunnel'], labels['direction']) == (EAST_PUBLIC, 'vti', 'out')
    assert labels['job'] == 'portcullis'
    # Per-interface and per-drop-reason series made it too.
    doc = prom_query(lab, s.dw, 'portcullis_interface_packets_total{interface="dp0bond1"}')
    assert doc and len(doc['data']['result']) == 2, doc

    # --- tshark decrypts the capture with the two files alone.
    tcpdump.terminate()
    tcpdump.wait(timeout=10)
    icmp = tshark(keys, capture, '-Y', 'esp && icmp', '-T', 'fields', '-e', 'esp.spi',
                  '-e', 'ip.src', '-e', 'icmp.type')
    inner = [l.split('\t') for l in icmp.splitlines() if l]
    assert inner, tshark(keys, capture)[-3000:]
    # The inner packets are the hosts' echo requests and replies (ip.src lists outer, inner).
    assert any('10.165.125.120' in l[1] and '8' in l[2] for l in inner), inner
    auth = tshark(keys, capture, '-Y', 'isakmp.exchangetype == 35 && isakmp.auth.method', '-T',
                  'fields', '-e', 'isakmp.auth.method')
    assert auth.strip(), tshark(keys, capture, '-Y', 'isakmp')[-3000:]

    # --- syslog got the same story.
    reading[0] = False
    reader.join(timeout=5)
    text = '\n'.join(lines)
    assert 'vpnd[' in text and 'IKE_SA' in text and 'established' in text, text[-2000:]
    assert any(l.startswith('<28>') and '--wireshark-keys' in l for l in lines), text[-2000:]
