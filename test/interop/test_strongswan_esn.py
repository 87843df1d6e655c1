"""ESN (RFC 4304) against strongSwan 5.9.8: with `esp-group ESP esn enable` vpnd offers the ESN
transform (type 5, id 1) and accepts it, and charon configured with `-esn` (which requires it)
selects it, in both directions. charon's kernel-libipsec cannot hold ESN SAs ("IPsec SA: ESN not
supported": the ESP with ESN itself is tested between two appliances, test_appliances_ike.py), so
this proves the negotiation: both ends select EXT_SEQ and derive the same keys. A charon without
`-esn` gets NO_PROPOSAL_CHOSEN, with both proposal lists in our log."""
import re

from swanlab import child_keys, vyatta_config

IKE = ('aes256', 'sha2_256', 14, None)
ESP = ('aes128gcm128', 'null')
ESN_LINES = 'set security vpn ipsec esp-group ESP esn enable\n'


def negotiated_esn(lab):
    """Both ends selected ESN for the CHILD SA, with the same keys."""
    ours = re.search(r'selected proposal: ESP:AES_GCM_16_128/ESN', lab.vpnd_text())
    theirs = re.search(r'selected proposal: ESP:AES_GCM_16_128/EXT_SEQ', lab.charon_text())
    return ours and theirs


def check_same_keys(lab):
    ours = child_keys(lab.vpnd_keylog)
    theirs = child_keys(lab.charon_log)
    assert ours, lab.vpnd_text()[-3000:]
    shared = set(ours) & set(theirs)
    assert shared, (ours, theirs)
    for spi in shared:
        assert ours[spi]['keys'] == theirs[spi]['keys'], 'SPI %08x: keys differ' % spi


def test_we_offer_esn_and_strongswan_selects_it(lab):
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-esn-modp2048')
    lab.start_vpnd(vyatta_config(IKE, ESP) + ESN_LINES)
    # Our IKE_AUTH request offers ESN (and only ESN); charon selects it and then its libipsec
    # refuses to hold the SA, which proves charon took ESN as negotiated. It answers
    # NO_PROPOSAL_CHOSEN for that reason only (our log names what we offered).
    lab.wait_for(lambda: 'ESN not supported' in lab.charon_text(), what='charon installing ESN')
    swan = lab.charon_text()
    assert re.search(r'received proposals: ESP:AES_GCM_16_128/EXT_SEQ$', swan, re.M), swan
    assert 'selected proposal: ESP:AES_GCM_16_128/EXT_SEQ' in swan
    assert 'unable to install inbound and outbound IPsec SA (SAD) in kernel' in swan
    lab.wait_for(lambda: 'configured proposals: ESP:AES_GCM_16_128/ESN' in lab.vpnd_text(),
                 what='our log of the refusal')


def test_strongswan_offers_esn_and_we_accept_it(lab):
    lab.start_vpnd(vyatta_config(IKE, ESP, connection='respond') + ESN_LINES)
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-esn-modp2048')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: negotiated_esn(lab), what='ESN selected on both ends')
    assert re.search(r'kernel transport: CHILD_SA not installed .*AES_GCM_16_128/ESN',
                     lab.vpnd_text())
    lab.wait_for(lambda: 'ESN not supported' in lab.charon_text(), what='charon installing ESN')
    check_same_keys(lab)


def test_esn_required_strongswan_without_it_is_refused(lab):
    lab.start_vpnd(vyatta_config(IKE, ESP, connection='respond') + ESN_LINES)
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-modp2048')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: 'no acceptable ESP proposal' in lab.vpnd_text() or
                 'NO_PROPOSAL_CHOSEN' in lab.vpnd_text(), what='NO_PROPOSAL_CHOSEN')
    text = lab.vpnd_text()
    assert 'AES_GCM_16_128/ESN' in text, text[-3000:]
    assert 'selected proposal: ESP' not in text


def test_strongswan_offers_both_we_pick_what_is_configured(lab):
    """charon offers ESN and NO_ESN (`-esn-noesn`): without `esn enable` we select NO_ESN (the
    CHILD SA is installed on charon's side too), with it ESN."""
    lab.start_vpnd(vyatta_config(IKE, ESP, connection='respond'))
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-esn-noesn-modp2048')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: 'selected proposal: ESP:AES_GCM_16_128/NO_EXT_SEQ' in lab.charon_text(),
                 what='NO_ESN selected')
    assert re.search(r'kernel transport: CHILD_SA not installed .*: ESP SPIs \S+ \S+, '
                     r'AES_GCM_16_128 ', lab.vpnd_text()), lab.vpnd_text()[-2000:]
    assert 'AES_GCM_16_128/ESN' not in lab.vpnd_text()
    lab.wait_for(lambda: 'INSTALLED' in lab.swanctl('--list-sas').stdout, what='charon installed')


def test_strongswan_offers_both_esn_enable_selects_esn(lab):
    lab.start_vpnd(vyatta_config(IKE, ESP, connection='respond') + ESN_LINES)
    lab.start_charon('aes256-sha256-modp2048', 'aes128gcm16-esn-noesn-modp2048')
    lab.swanctl('--initiate', '--ike', 'lab', '--child', 'lan', '--timeout', '15', check=False)
    lab.wait_for(lambda: negotiated_esn(lab), what='ESN selected on both ends')
    check_same_keys(lab)
