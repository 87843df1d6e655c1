"""IKEv2 over IPv6 against strongSwan 5.9.8 (#21): vpnd on kernel sockets and charon with
kernel-libipsec on a veth pair that carries IPv4 and IPv6. Three family combinations: IPv6
selectors over IPv6 outer addresses, IPv4 selectors over IPv6, IPv6 selectors over IPv4. For
each, the IKE SA and the CHILD SA come up, and the SPIs, selectors and outer addresses charon
lists (`swanctl --list-sas`) are the ones vpnd would install: vpnd's kernel transport logs the
dataplane messages it builds for each CHILD SA (the same SaMessages/PolicyMessages as the
channel installer)."""
import re

import pytest

from swanlab import OURS, OURS6, THEIRS, THEIRS6, child_keys, vyatta_config

IKE = ('aes256', 'sha2_256', 14, None)
ESP = ('aes128gcm128', 'null')

CASES = {
    # name: (ours, theirs, our local prefix, our remote prefix)
    'v6-in-v6': (OURS6, THEIRS6, '2001:db8:1::/64', '2001:db8:2::/64'),
    'v4-in-v6': (OURS6, THEIRS6, '10.1.0.0/24', '10.2.0.0/24'),
    'v6-in-v4': (OURS, THEIRS, '2001:db8:1::/64', '2001:db8:2::/64'),
}


def list_sas(lab):
    return lab.swanctl('--list-sas').stdout


def installed(lab):
    return 'INSTALLED' in list_sas(lab)


def raw_ike(lab):
    """charon's own view of its IKE SA (`swanctl --list-sas --raw`): {key: value} of the flat
    fields (nat-remote, nat-fake, initiator-spi, ...)."""
    raw = lab.swanctl('--list-sas', '--raw').stdout
    return dict(re.findall(r'([a-z-]+)=([^ {}\[\]]+)', raw.split('child-sas', 1)[0]))


def check_nat_detection(lab):
    """kernel-libipsec forces UDP encapsulation, so charon fakes a NAT (nat-fake=yes), but it
    still checks our NAT_DETECTION hashes: nat-remote is set only when the hash of our source
    address (16 bytes over IPv6) and port did not match (ike_natd.c)."""
    f = raw_ike(lab)
    assert f.get('nat-fake') == 'yes', f
    assert 'nat-remote' not in f and 'nat-local' not in f, f
    return f


def check_ike_spis(lab, fields):
    debug = lab.vpnctl('show', 'vpn', 'debug').stdout
    m = re.search(r'IKEv2 SPIs: ([0-9a-f]{16})_i\*? ([0-9a-f]{16})_r', debug)
    assert m, debug
    assert (m.group(1), m.group(2)) == (fields['initiator-spi'], fields['responder-spi']), \
        (m.groups(), fields)


def plan_lines(lab):
    """vpnd's logged dataplane messages: `sa in|out spi=.. outer=.. local=.. remote=..` and
    `policy in|out ...` lines."""
    return re.findall(r'kernel transport: would send (.*)$', lab.vpnd_text(), re.M)


@pytest.mark.parametrize('case', list(CASES))
@pytest.mark.parametrize('initiator', ['vpnd', 'strongswan'])
def test_ike_over_ipv6_matrix(lab, case, initiator):
    ours, theirs, lp, rp = CASES[case]
    lab.start_vpnd(vyatta_config(IKE, ESP, local_prefix=lp, remote_prefix=rp, ours=ours,
                                 theirs=theirs,
                                 connection='initiate' if initiator == 'vpnd' else 'respond'))
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048', local_ts=rp,
                     remote_ts=lp, ours=ours, theirs=theirs)
    if initiator == 'strongswan':
        lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '20')
    lab.wait_for(lambda: installed(lab) and plan_lines(lab), what='CHILD SA up on both ends')
    text = lab.vpnd_text()
    assert re.search(r'IKE_SA peer-%s\[\d+\] established between %s\[%s\]\.\.\.%s\[%s\]' % (
        re.escape(theirs), re.escape(ours), re.escape(ours), re.escape(theirs),
        re.escape(theirs)), text), text[-3000:]
    sas = list_sas(lab)
    # charon: "lab: #1, ESTABLISHED, IKEv2, ... local  '2001:db8::2' @ 2001:db8::2[4500]"
    assert "local  '%s' @ %s[" % (theirs, theirs) in sas, sas
    assert "remote '%s' @ %s[" % (ours, ours) in sas, sas
    m = re.search(r'lan: #\d+, reqid \d+, INSTALLED, TUNNEL(?:-in-UDP)?, ESP:\S+\n'
                  r'.*\n.*in  ([0-9a-f]{8}).*\n.*out ([0-9a-f]{8}).*\n'
                  r'\s+local\s+(\S+)\n\s+remote\s+(\S+)', sas)
    assert m, sas
    their_in, their_out, their_local, their_remote = m.groups()
    assert (their_local, their_remote) == (rp, lp), sas
    fam = 'ipv6' if ':' in ours else 'ipv4'
    lines = plan_lines(lab)
    # Our inbound SA is their outbound one and the other way round; outer addresses ours.
    # kernel-libipsec fakes a NAT, so this is also RFC 3948 UDP encapsulation over IPv6.
    assert 'sa in spi=%s outer=%s local=%s remote=%s udp-encap=4500->4500' % (
        their_out, fam, ours, theirs) in lines, lines
    assert 'sa out spi=%s outer=%s local=%s remote=%s udp-encap=4500->4500' % (
        their_in, fam, ours, theirs) in lines, lines
    inner = 'ipv6' if ':' in lp else 'ipv4'
    assert sorted(lines) == sorted([
        'sa in spi=%s outer=%s local=%s remote=%s udp-encap=4500->4500' % (
            their_out, fam, ours, theirs),
        'sa out spi=%s outer=%s local=%s remote=%s udp-encap=4500->4500' % (
            their_in, fam, ours, theirs),
        'policy out %s %s -> %s spi=%s' % (inner, lp, rp, their_in),
        'policy in %s %s -> %s' % (inner, rp, lp)]), lines
    check_ike_spis(lab, check_nat_detection(lab))
    # The keys of both SAs are the same on both ends (level-4 key logs), directions swapped.
    mine, swan = child_keys(lab.vpnd_keylog), child_keys(lab.charon_log)
    for spi in (int(their_in, 16), int(their_out, 16)):
        assert spi in mine and spi in swan, (mine, swan)
        assert mine[spi]['dir'] != swan[spi]['dir']
        assert (mine[spi]['src'], mine[spi]['dst']) == (swan[spi]['src'], swan[spi]['dst'])
        # (charon may dump the keys of one SA of a CHILD SA it did not initiate next to the
        # other's SPI: the pair's candidates are the same, test_strongswan.py does the same)
        assert mine[spi]['keys'] in (swan[int(their_in, 16)]['keys'],
                                     swan[int(their_out, 16)]['keys'])
        assert all(k[0] for k in mine[spi]['keys'])


def test_dual_stack_vti_over_ipv6(lab):
    """A route-based peer whose VTI has IPv4 and IPv6 addresses proposes 0.0.0.0/0 and ::/0
    (the VTI's families); strongSwan with both selectors installs a CHILD SA with both."""
    text = vyatta_config(IKE, ESP, ours=OURS6, theirs=THEIRS6)
    p = 'set security vpn ipsec site-to-site peer %s ' % THEIRS6
    text = '\n'.join(l for l in text.splitlines() if ' tunnel 1 ' not in l) + '\n' + '\n'.join([
        'set interfaces vti vti1 address 10.255.0.1/30',
        'set interfaces vti vti1 address 2001:db8:ff::/127',
        p + 'vti bind vti1',
        p + 'vti esp-group ESP',
    ]) + '\n'
    lab.start_vpnd(text)
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048',
                     local_ts='0.0.0.0/0,::/0', remote_ts='0.0.0.0/0,::/0', ours=OURS6,
                     theirs=THEIRS6)
    lab.wait_for(lambda: installed(lab) and plan_lines(lab), what='VTI CHILD SA up')
    sas = list_sas(lab)
    assert re.search(r'local\s+0\.0\.0\.0/0 ::/0\n\s+remote\s+0\.0\.0\.0/0 ::/0', sas), sas
    assert 'child:  0.0.0.0/0 ::/0 === 0.0.0.0/0 ::/0' in lab.vpnctl(
        'show', 'vpn', 'debug').stdout
    # Route-based: both SAs bound to the VTI, no policies.
    lines = plan_lines(lab)
    assert [l.split()[1] for l in lines if l.startswith('sa ')] == ['in', 'out'], lines
    assert all('outer=ipv6' in l and 'vti-ifindex=' in l for l in lines if l.startswith('sa ')), \
        lines
    assert not [l for l in lines if l.startswith('policy ')], lines
    # The seeds' troubleshooting step b for an IPv6 peer: the kernel's IPv6 route to it (its
    # IPv6 neighbours are in netlink only, not read).
    d = lab.vpnctl('--interval=0s', 'diagnose', 'vpn', 'peer', THEIRS6, check=False).stdout
    b = re.search(r'^b\. .*?(PASS|FAIL|HINT|N/A)\n((?:     .*\n)*)', d, re.M)
    assert b and b.group(1) == 'PASS', d
    assert 'route (kernel): 2001:db8::/64 dev ' in b.group(2), d


def test_dual_stack_proposal_narrowed_to_one_family(lab):
    """strongSwan proposes IPv4 and IPv6 selectors in one CHILD SA; vpnd's tunnel has IPv6
    only: vpnd narrows to the IPv6 pair, and builds policies for that pair alone (d514d8e)."""
    lab.start_vpnd(vyatta_config(IKE, ESP, local_prefix='2001:db8:1::/64',
                                 remote_prefix='2001:db8:2::/64', ours=OURS6, theirs=THEIRS6,
                                 connection='respond'))
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048',
                     local_ts='10.2.0.0/24,2001:db8:2::/64', remote_ts='10.1.0.0/24,2001:db8:1::/64',
                     ours=OURS6, theirs=THEIRS6)
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '20')
    lab.wait_for(lambda: installed(lab) and plan_lines(lab), what='CHILD SA up on both ends')
    sas = list_sas(lab)
    assert re.search(r'local\s+2001:db8:2::/64\n\s+remote\s+2001:db8:1::/64\n', sas), sas
    lines = plan_lines(lab)
    assert sorted(l for l in lines if l.startswith('policy ')) == sorted([
        l for l in lines if l.startswith('policy out ipv6 2001:db8:1::/64 -> 2001:db8:2::/64 ')] +
        ['policy in ipv6 2001:db8:2::/64 -> 2001:db8:1::/64']), lines
    assert len([l for l in lines if l.startswith('policy ')]) == 2, lines
    check_ike_spis(lab, check_nat_detection(lab))
