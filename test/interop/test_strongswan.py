"""Interop with strongSwan 5.9.8 (charon + kernel-libipsec) as a real peer: vpnd (kernel-socket
transport) initiates and responds, with the proposal matrix of the brief, PFS rekeys, the CHILD
SA keys compared with the keys charon logs at level 4, and the three negative cases whose log
lines must say what did not match."""
import json
import re

import pytest

from swanlab import OURS, THEIRS, child_keys, vyatta_config

# (strongSwan IKE proposal, our ike-group proposal (encryption, hash, dh-group, prf), group name)
IKE = {
    'aes256-sha256-modp2048': (('aes256', 'sha2_256', 14, None), 'modp2048'),
    'aes256-sha256-ecp384': (('aes256', 'sha2_256', 20, None), 'ecp384'),
    'aes128gcm16-prfsha256-curve25519': (('aes128gcm128', 'null', 31, 'prfsha256'), 'curve25519'),
}
# strongSwan ESP proposal (without the PFS group) -> our esp-group proposal
ESP = {
    'aes128gcm16': ('aes128gcm128', 'null'),
    'aes256gcm16': ('aes256gcm128', 'null'),
    'aes256-sha256': ('aes256', 'sha2_256'),
}
VYATTA_ENC = {'aes128gcm16': 'aes128gcm128', 'aes256gcm16': 'aes256gcm128',
              'aes256-sha256': 'aes256'}


def check_keys_match(lab, expect_sas):
    """Every CHILD SA vpnd logged has the same SPI and keys in charon's level-4 log, with the
    directions swapped."""
    ours = child_keys(lab.vpnd_keylog)
    theirs = child_keys(lab.charon_log)
    assert len(ours) >= expect_sas, ours
    # charon adds the outbound SA of a CHILD SA it did not initiate later, from another thread
    # (after the old SA is gone), so the key dump in front of that line is not this SA's: the
    # keys of an SPI are checked on the entry of its pair SPI (same CHILD SA) then.
    for spi, rec in ours.items():
        assert all(k[0] for k in rec['keys'])
        assert spi in theirs, 'SPI %08x: not in charon log (charon has %s)' % (
            spi, ['%08x' % s for s in theirs])
        assert theirs[spi]['dir'] != rec['dir'], 'SPI %08x: same direction on both' % spi
        pair = [p for p, r in ours.items() if p != spi and r['keys'] == rec['keys']]
        assert len(pair) == 1, 'SPI %08x: no pair SPI in our log' % spi
        assert theirs[spi]['keys'] == rec['keys'] or \
            theirs.get(pair[0], {}).get('keys') == rec['keys'], 'SPI %08x: keys differ' % spi


def child_up_on_both(lab, count=1):
    """strongSwan installed the CHILD SA; we negotiated it. vpnd runs on kernel sockets here, so
    nothing installs ours: `show` says CREATED (strongSwan's word), and down with no counters."""
    out = lab.swanctl('--list-sas').stdout
    ours = json.loads(lab.vpnctl('--json', 'show', 'vpn', 'ipsec', 'sa').stdout or '[]')
    return out.count('INSTALLED') >= count and any(
        t['tunnel'] == '1' and t.get('child_state') == 'CREATED' for t in ours)


@pytest.mark.parametrize('ike', list(IKE))
@pytest.mark.parametrize('esp', list(ESP))
def test_we_initiate(lab, ike, esp):
    ours, group = IKE[ike]
    lab.start_charon(ike, esp + '-' + group)
    lab.start_vpnd(vyatta_config(ours, ESP[esp]))
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up on both ends')
    text = lab.vpnd_text()
    assert 'IKE_SA peer-192.0.2.2[1] established between 192.0.2.1[192.0.2.1]...' \
           '192.0.2.2[192.0.2.2]' in text
    assert 'remote host is behind NAT' in text  # kernel-libipsec fakes NAT-D
    ike_sa = lab.vpnctl('show', 'vpn', 'ike', 'sa').stdout
    assert re.search(r'^\s+up\s+%s\s+' % ours[0], ike_sa, re.M), ike_sa
    ipsec = lab.vpnctl('show', 'vpn', 'ipsec', 'sa', 'peer', THEIRS).stdout
    assert VYATTA_ENC[esp] in ipsec
    # strongSwan rekeys the CHILD SA: CREATE_CHILD_SA with KE (PFS).
    lab.swanctl('--rekey', '--child', 'lan')
    lab.wait_for(lambda: 'rekeyed by the peer' in lab.vpnd_text() and
                 'received DELETE for ESP CHILD_SA' in lab.vpnd_text(), what='rekey')
    assert re.search(r'CREATE_CHILD_SA request 2 \[ N\(REKEY_SA\) SA No KE TSi TSr',
                     lab.charon_text() + lab.vpnd_text()) or \
        'parsed CREATE_CHILD_SA request 0 [ N(REKEY_SA) SA No KE TSi TSr' in lab.vpnd_text()
    lab.wait_for(lambda: child_up_on_both(lab), what='rekeyed CHILD SA up')
    check_keys_match(lab, expect_sas=4)


@pytest.mark.parametrize('ike,esp', [('aes256-sha256-modp2048', 'aes128gcm16'),
                                     ('aes256-sha256-ecp384', 'aes256gcm16'),
                                     ('aes128gcm16-prfsha256-curve25519', 'aes256-sha256')])
def test_strongswan_initiates(lab, ike, esp):
    ours, group = IKE[ike]
    lab.start_vpnd(vyatta_config(ours, ESP[esp], connection='respond'))
    lab.start_charon(ike, esp + '-' + group)
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '20')
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up on both ends')
    text = lab.vpnd_text()
    assert '192.0.2.2 is initiating an IKE_SA' in text
    assert "authentication of '192.0.2.2' with pre-shared key successful" in text
    debug = lab.vpnctl('show', 'vpn', 'debug', 'peer', THEIRS).stdout
    assert 'peer-192.0.2.2:  192.0.2.1...192.0.2.2  IKEv2' in debug
    assert re.search(r'peer-192\.0\.2\.2\[\d+\]: ESTABLISHED \d+ seconds? ago, '
                     r'192\.0\.2\.1\[4500\]\[192\.0\.2\.1\]\.\.\.192\.0\.2\.2\[4500\]', debug), debug
    assert re.search(r'peer-192\.0\.2\.2-tunnel-1\{\d+\}:  CREATED, TUNNEL-in-UDP, reqid 1, '
                     r'ESP SPIs: [0-9a-f]{8}_i [0-9a-f]{8}_o', debug), debug
    # Rekey from strongSwan's side, then check both generations of keys.
    lab.swanctl('--rekey', '--child', 'lan')
    lab.wait_for(lambda: 'received DELETE for ESP CHILD_SA' in lab.vpnd_text(), what='rekey')
    check_keys_match(lab, expect_sas=4)
    js = lab.vpnctl('--json', 'show', 'vpn', 'ipsec', 'sa').stdout
    assert '"state":"down","installed":false' in js and '"udp_encap":true' in js


def test_we_rekey_with_pfs(lab):
    """Our own CHILD SA rekey (esp-group lifetime 30 s: rekey within 15..23 s) carries KE."""
    ours, group = IKE['aes256-sha256-modp2048']
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048')
    lab.start_vpnd(vyatta_config(ours, ESP['aes128gcm16'], lifetime=30))
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up')
    lab.wait_for(lambda: 'generating CREATE_CHILD_SA request 2 [ N(REKEY_SA) SA No KE TSi TSr'
                 in lab.vpnd_text(), timeout=30, what='our rekey')
    lab.wait_for(lambda: 'removed' in lab.vpnd_text() or
                 re.search(r'closing CHILD_SA .* deleted', lab.vpnd_text()), timeout=10,
                 what='old CHILD SA deleted')
    assert 'selected proposal: ESP:AES_GCM_16_128/MODP_2048' in lab.vpnd_text()
    check_keys_match(lab, expect_sas=4)


def test_ike_sa_rekeys_and_dpd(lab):
    """strongSwan rekeys the IKE SA (we respond), the CHILD SA is rekeyed over the new IKE SA,
    then we rekey the IKE SA ourselves (ike-group lifetime 40 s: within 20..30 s), with DPD
    liveness checks (interval 5 s) answered by strongSwan in between."""
    ours, _ = IKE['aes256-sha256-ecp384']
    lab.start_charon('aes256-sha256-ecp384', 'aes256gcm16-ecp384')
    lab.start_vpnd(vyatta_config(ours, ESP['aes256gcm16'], ike_lifetime=40, dpd_interval=5))
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up')
    lab.swanctl('--rekey', '--ike', 'lab')
    lab.wait_for(lambda: 'rekeyed into peer-192.0.2.2[2]' in lab.vpnd_text() and
                 'received DELETE for IKE_SA peer-192.0.2.2[1]' in lab.vpnd_text(),
                 what='IKE SA rekeyed by strongSwan')
    lab.swanctl('--rekey', '--child', 'lan')
    lab.wait_for(lambda: re.search(r'<peer-192\.0\.2\.2\|2> parsed CREATE_CHILD_SA request 0 '
                                   r'\[ N\(REKEY_SA\) SA No KE TSi TSr', lab.vpnd_text()),
                 what='CHILD SA rekey over the new IKE SA')
    lab.wait_for(lambda: 'received DELETE for ESP CHILD_SA' in lab.vpnd_text(), what='old child')
    lab.wait_for(lambda: 'sending DPD request' in lab.vpnd_text() and
                 re.search(r'parsed INFORMATIONAL response \d+ \[ \]', lab.vpnd_text()),
                 timeout=15, what='DPD answered')
    lab.wait_for(lambda: 'rekeying IKE_SA peer-192.0.2.2[2]' in lab.vpnd_text() and
                 'rekeyed into peer-192.0.2.2[3]' in lab.vpnd_text(), timeout=35,
                 what='our IKE SA rekey')
    lab.wait_for(lambda: 'destroying IKE_SA peer-192.0.2.2[2]: IKE_SA deleted' in
                 lab.vpnd_text(), what='old IKE SA deleted')
    sas = lab.swanctl('--list-sas').stdout
    assert sas.count('ESTABLISHED') == 1 and 'INSTALLED' in sas, sas
    assert 'dead peer' not in lab.vpnd_text()
    check_keys_match(lab, expect_sas=4)


# ---------------------------------------------------------------- negative cases

def test_wrong_psk_strongswan_initiates(lab):
    ours, _ = IKE['aes256-sha256-modp2048']
    lab.start_vpnd(vyatta_config(ours, ESP['aes128gcm16'], connection='respond'))
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048', psk='not-the-same-psk')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: 'AUTHENTICATION_FAILED' in lab.vpnd_text(), what='auth failure')
    text = lab.vpnd_text()
    assert text.count("AUTHENTICATION_FAILED: AUTH payload of '192.0.2.2' does not verify with "
                      "the pre-shared-secret of peer-192.0.2.2") == 1, text
    assert 'pre-shared-secret mismatch (the IDs matched)' not in text  # that is the initiator's
    assert 'pre-shared-secret mismatch' in text
    assert 'AUTHENTICATION_FAILED' in lab.charon_text()


def test_wrong_psk_we_initiate(lab):
    ours, _ = IKE['aes256-sha256-modp2048']
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048', psk='not-the-same-psk')
    lab.start_vpnd(vyatta_config(ours, ESP['aes128gcm16']))
    lab.wait_for(lambda: 'received AUTHENTICATION_FAILED notify error' in lab.vpnd_text(),
                 what='auth failure')
    assert "the peer rejected our authentication as '192.0.2.1': the pre-shared-secret " \
           "differs, or the peer's remote-id for us is not '192.0.2.1'" in lab.vpnd_text()


def test_no_common_proposal(lab):
    ours, _ = IKE['aes256-sha256-modp2048']
    lab.start_vpnd(vyatta_config(ours, ESP['aes128gcm16'], connection='respond'))
    lab.start_charon('aes128-sha1-ecp256', 'aes128gcm16-ecp256')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: 'NO_PROPOSAL_CHOSEN' in lab.vpnd_text(), what='NO_PROPOSAL_CHOSEN')
    text = lab.vpnd_text()
    line = [l for l in text.splitlines() if 'NO_PROPOSAL_CHOSEN: no acceptable IKE proposal' in l]
    assert len(line) == 1, text
    assert 'received proposals: IKE:AES_CBC_128/HMAC_SHA1_96/PRF_HMAC_SHA1/ECP_256' in line[0]
    assert 'configured proposals: IKE:AES_CBC_256/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/MODP_2048' \
        in line[0]
    assert 'NO_PROPOSAL_CHOSEN' in lab.charon_text()


def test_disjoint_selectors(lab):
    ours, _ = IKE['aes256-sha256-modp2048']
    lab.start_vpnd(vyatta_config(ours, ESP['aes128gcm16'], connection='respond'))
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048',
                     local_ts='10.2.0.0/24', remote_ts='10.9.0.0/24')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: 'TS_UNACCEPTABLE' in lab.vpnd_text(), what='TS_UNACCEPTABLE')
    text = lab.vpnd_text()
    assert text.count('TS_UNACCEPTABLE: traffic selectors unacceptable: received TSi 10.2.0.0/24 '
                      'TSr 10.9.0.0/24; configured peer-192.0.2.2-tunnel-1: local 10.1.0.0/24 '
                      'remote 10.2.0.0/24') == 1, text
    assert 'TS_UNACCEPTABLE' in lab.charon_text()


def test_we_answer_strongswans_cookie(lab):
    """strongSwan as responder with one half-open IKE SA and cookie_threshold 1 demands a
    COOKIE; we restart IKE_SA_INIT with it (RFC 7296 2.6)."""
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048', cookie_threshold=1)
    lab.half_open(THEIRS)
    lab.wait_for(lambda: 'is initiating an IKE_SA' in lab.charon_text(), what='half-open SA')
    lab.start_vpnd(vyatta_config(IKE['aes256-sha256-modp2048'][0], ESP['aes128gcm16']))
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up on both ends')
    assert 'received COOKIE notify, restarting IKE_SA_INIT with it' in lab.vpnd_text()
    assert re.search(r'IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No', lab.vpnd_text())


def test_strongswan_answers_our_cookie(lab):
    """We, with one half-open IKE SA and cookie-threshold 1, demand a COOKIE from strongSwan,
    and accept its IKE_SA_INIT once it comes back with it."""
    config = vyatta_config(IKE['aes256-sha256-modp2048'][0], ESP['aes128gcm16'],
                           connection='respond')
    lab.start_vpnd(config + 'set security vpn ike cookie-threshold 1\n')
    lab.half_open(OURS)
    lab.wait_for(lambda: 'is initiating an IKE_SA' in lab.vpnd_text(), what='half-open SA')
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '20')
    lab.wait_for(lambda: child_up_on_both(lab), what='CHILD SA up on both ends')
    assert 'reach cookie-threshold 1, sending COOKIE to 192.0.2.2' in lab.vpnd_text()
