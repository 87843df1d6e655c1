"""`vpnctl generate vpn peer-config X format swanctl` from a running vpnd: strongSwan 5.9.8
(swanctl) loads the file as written and brings the tunnel up with vpnd; the same for the file
written offline with --file."""
import re
import subprocess

from swanlab import OURS, THEIRS
from test_strongswan import child_up_on_both


def site_a(source_root, lab):
    # Site A receives IKE only on `vpn ipsec interface 'eth0'`: the lab's WAN (po<id>) becomes
    # eth0 inside our namespace (renamed while down; its address stays).
    for dev, args in (('po' + lab.id, ['down']), ('po' + lab.id, ['name', 'eth0']),
                      ('eth0', ['up'])):
        subprocess.run(['ip', '-n', lab.ns_ours, 'link', 'set', dev, *args], check=True,
                       capture_output=True, timeout=10)
    text = (source_root / 'configs' / 'vyos-site-a.conf').read_text()
    return text.replace('203.0.113.1', OURS).replace('198.51.100.1', THEIRS)


def test_generated_swanctl_brings_the_tunnel_up(lab, source_root):
    lab.start_vpnd(site_a(source_root, lab))
    g = lab.vpnctl('generate', 'vpn', 'peer-config', THEIRS, 'format', 'swanctl')
    assert 'local_addrs = %s' % THEIRS in g.stdout
    assert 'esp_proposals = aes256-sha256-modp2048' in g.stdout
    lab.start_charon(None, None, swanctl_conf=g.stdout)
    loaded = lab.swanctl('--list-conns').stdout
    assert 'peer-%s' % OURS.replace('.', '-') in loaded and 'tunnel-1' in loaded, loaded
    lab.wait_for(lambda: child_up_on_both(lab), what='the CHILD SA from the generated swanctl')
    sas = lab.swanctl('--list-sas').stdout
    assert re.search(r'local\s+10\.2\.0\.0/24', sas) and re.search(r'remote\s+10\.1\.0\.0/24', sas)


def test_offline_swanctl_matches_the_running_one(lab, source_root, tmp_path):
    conf = tmp_path / 'site-a.conf'
    conf.write_text(site_a(source_root, lab))
    lab.start_vpnd(conf.read_text())
    running = lab.vpnctl('generate', 'vpn', 'peer-config', THEIRS, 'format', 'swanctl').stdout
    offline = subprocess.run([str(lab.build) + '/control/vpnctl', '--file', str(conf), 'generate',
                              'vpn', 'peer-config', 'SITE-B', 'format', 'swanctl'],
                             capture_output=True, text=True, timeout=20)
    assert offline.returncode == 0, offline.stderr
    assert offline.stdout == running
