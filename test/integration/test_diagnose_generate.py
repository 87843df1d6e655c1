"""`vpnctl diagnose vpn peer` against deliberately broken pairs, one per common issue of the seeds
(IKE version, proposals, PSK, IDs, PFS on rekey, selectors): two vpnds in kernel-socket mode in
network namespaces (the VyOS site A/B pair of configs/, addresses 192.0.2.1/192.0.2.2), and the
step that must fail named in the report. Then `generate vpn peer-config ... format vyos` from a
running vpnd brings a tunnel up with a second vpnd that runs only the generated file."""
import json
import re
import subprocess
import time

WEST, EAST = '192.0.2.1', '192.0.2.2'


def site(source_root, name):
    text = (source_root / 'configs' / name).read_text()
    return text.replace('203.0.113.1', WEST).replace('198.51.100.1', EAST)



def diagnose(pair, side='west', peer=EAST):
    return pair.vpnctl(side, '--interval=1s', 'diagnose', 'vpn', 'peer', peer)


def step(report, letter):
    """The verdict of a step and its detail lines."""
    m = re.search(r'^%s\. .*?(PASS|FAIL|HINT|N/A)\n((?:     .*\n)*)' % letter, report, re.M)
    assert m, report
    return m.group(1), m.group(2)


def tunnel_up(pair, side):
    # Kernel transport negotiates tunnel 1 and installs nothing: its row is "down" with an id.
    r = pair.vpnctl(side, '--json', 'show', 'vpn', 'ipsec', 'sa')
    return r.returncode == 0 and any(
        t.get('tunnel') == '1' and t.get('id') is not None for t in json.loads(r.stdout))


def ike_up(pair, side):
    r = pair.vpnctl(side, 'show', 'vpn', 'ike', 'sa')
    return r.returncode == 0 and re.search(r'^    up ', r.stdout, re.M)


def start(pair, source_root, east_edit=None):
    pair.start('west', pair.conf('west', site(source_root, 'vyos-site-a.conf')))
    east = site(source_root, 'vyos-site-b.conf')
    if east_edit:
        east = east_edit(east)
    pair.start('east', pair.conf('east', east))


def wait_failure(pair, letter, what, timeout=20):
    deadline = time.time() + timeout
    while True:
        r = diagnose(pair)
        verdict, details = step(r.stdout, letter)
        if verdict == 'FAIL' and what in details:
            return r
        assert time.time() < deadline, r.stdout + '\n' + pair.log('west').read_text()[-3000:]
        time.sleep(0.5)


def test_healthy_pair_passes_every_step(pair, source_root):
    start(pair, source_root)
    pair.wait(lambda: tunnel_up(pair, 'west') and tunnel_up(pair, 'east'), 'the tunnel')
    r = diagnose(pair)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.endswith('Result: every step passes\n')
    assert step(r.stdout, 'a')[0] == 'N/A' and 'no dataplane' in step(r.stdout, 'a')[1]
    assert step(r.stdout, 'b') == ('PASS', step(r.stdout, 'b')[1])
    assert 'route (kernel): 192.0.2.0/24 dev eth0' in step(r.stdout, 'b')[1]
    assert step(r.stdout, 'c')[0] == 'PASS'
    assert 'tunnel 1: up, 10.1.0.0/24 === 10.2.0.0/24' in step(r.stdout, 'd')[1]
    assert step(r.stdout, 'e')[0] == 'N/A'  # kernel mode: no dataplane counters
    assert step(r.stdout, 'g')[0] == 'HINT'  # the seed's aes256 is CBC
    j = pair.vpnctl('west', '--interval=0s', 'diagnose', 'vpn', 'peer', EAST, '|', 'json')
    assert j.returncode == 0 and '"passed":true' in j.stdout


def test_mismatched_proposals_fail_phase_1_with_both_lists(pair, source_root):
    start(pair, source_root, lambda t: t.replace("proposal 1 encryption 'aes256'",
                                                 "proposal 1 encryption 'aes128'", 1))
    r = wait_failure(pair, 'c', 'NO_PROPOSAL_CHOSEN')
    assert r.returncode == 1
    details = step(r.stdout, 'c')[1]
    assert 'we offered: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048' in details \
        or 'peer sent:  IKE:AES_CBC_128' in details, details
    assert 'Result: ' in r.stdout and '(first: c,' in r.stdout


def test_mismatched_psk_fails_phase_1_authentication(pair, source_root):
    start(pair, source_root, lambda t: t.replace('YourVeryStrongPSKHere123!', 'another-psk-456'))
    r = wait_failure(pair, 'c', 'AUTHENTICATION_FAILED')
    assert 'pre-shared secret or the IDs differ' in step(r.stdout, 'c')[1]
    assert r.returncode == 1


def test_mismatched_ids_fail_phase_1_authentication(pair, source_root):
    start(pair, source_root,
          lambda t: t.replace("local-id 'site-b@example.com'", "local-id 'site-x@example.com'"))
    r = wait_failure(pair, 'c', 'AUTHENTICATION_FAILED')
    assert r.returncode == 1


def test_mismatched_selectors_fail_phase_2(pair, source_root):
    start(pair, source_root, lambda t: t.replace("remote prefix '10.1.0.0/24'",
                                                 "remote prefix '10.9.0.0/24'"))
    r = wait_failure(pair, 'd', 'TS_UNACCEPTABLE')
    assert step(r.stdout, 'c')[0] == 'PASS'
    assert 'traffic selectors differ' in step(r.stdout, 'd')[1]
    assert '(first: d,' in r.stdout


def test_pfs_mismatch_fails_on_rekey(pair, source_root):
    # IKE_AUTH's CHILD SA carries no DH: the tunnel comes up and fails only when rekeyed.
    start(pair, source_root, lambda t: t.replace("pfs 'dh-group14'", "pfs 'disable'"))
    pair.wait(lambda: tunnel_up(pair, 'west'), 'the first CHILD SA')
    r = pair.vpnctl('west', 'reset', 'vpn', 'ipsec-peer', EAST, 'tunnel', '1')
    assert r.returncode == 0, r.stderr
    r = wait_failure(pair, 'f', 'PFS')
    assert 'MODP_2048' in step(r.stdout, 'f')[1]
    assert r.returncode == 1


def test_ike_version_mismatch_names_the_version(pair, source_root):
    pair.start('west', pair.conf('west', site(source_root, 'vyos-site-a.conf')))
    # An IKEv1 peer: a Main Mode header (major version 1) from the peer's address and port 500.
    code = ('import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);'
            's.bind(("192.0.2.2",500));'
            'h=bytes.fromhex("1122334455667788"+"00"*8+"01100200"+"00000000"+"0000001c");'
            's.sendto(h,("192.0.2.1",500))')
    subprocess.run(['ip', 'netns', 'exec', pair.ns['east'], '/usr/bin/python3', '-c', code],
                   check=True, timeout=10)
    r = wait_failure(pair, 'c', 'INVALID_MAJOR_VERSION')
    details = step(r.stdout, 'c')[1]
    assert 'peer sent:  IKEv1' in details and 'IKE versions differ' in details
    assert r.returncode == 1


def test_generated_vyos_config_brings_the_tunnel_up(pair, source_root, tmp_path):
    pair.start('west', pair.conf('west', site(source_root, 'vyos-site-a.conf')))
    g = pair.vpnctl('west', 'generate', 'vpn', 'peer-config', EAST, 'format', 'vyos')
    assert g.returncode == 0, g.stderr
    assert 'set vpn ipsec site-to-site peer 192.0.2.1 ' in g.stdout
    east_conf = pair.conf('east', g.stdout)
    vpnctl = str(pair.build / 'control' / 'vpnctl')
    chk = subprocess.run([vpnctl, 'check', '--pair', str(pair.dir / 'west.conf'), str(east_conf)],
                         capture_output=True, text=True, timeout=20)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    pair.start('east', east_conf)
    pair.wait(lambda: tunnel_up(pair, 'west') and tunnel_up(pair, 'east'), 'the generated tunnel')
    conn = pair.vpnctl('east', 'show', 'vpn', 'ipsec', 'connections', '|', 'match', 'tunnel-1')
    # Negotiated with these selectors; down because kernel transport installs nothing.
    assert re.search(r'tunnel-1 +down +IPsec +192\.0\.2\.1 +10\.2\.0\.0/24 +10\.1\.0\.0/24',
                     conn.stdout), conn.stdout
