"""IKE at scale (issue #19), not timed: 1,000 tunnels between two vpnd instances in
kernel-socket mode (no dataplane), one peer address, IKE SA and CHILD SA each, both sides
configured from the same generator scripts/bench ike uses for its 10,000. Every tunnel must come
up, on both ends, with no request lost to a socket buffer (no retransmission at all) and no
tunnel set up twice. Takes the lab lock through meson's is_parallel: false
and cleans up its namespaces whatever happens."""
import os
import pathlib
import re
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'test' / 'bench'))
from ike_bench import Lab, LogCounter, pair_config, tunnel_addresses, INI, RES, run  # noqa: E402

TUNNELS = 1000


@pytest.fixture
def lab(tmp_path):
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces)')
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    lab = Lab(tmp_path, build)
    try:
        yield lab
    finally:
        lab.close()


def test_a_thousand_tunnels_vpnd_to_vpnd(lab):
    pairs = tunnel_addresses(TUNNELS)
    lab.add_addresses(lab.ns_i, 'bi' + lab.id, [a for a, _ in pairs])
    lab.add_addresses(lab.ns_r, 'br' + lab.id, [b for _, b in pairs])
    run(['ip', '-n', lab.ns_i, 'route', 'add', '10.128.0.0/10', 'via', RES])
    run(['ip', '-n', lab.ns_r, 'route', 'add', '10.64.0.0/10', 'via', INI])
    _, rsock = lab.vpnd('pair-r', lab.ns_r, pair_config([(b, a) for a, b in pairs], False))
    _, isock = lab.vpnd('pair-i', lab.ns_i, pair_config(pairs, True))
    ours = LogCounter(lab.work / 'pair-i' / 'vpnd.log', b'CHILD_SA not installed')
    theirs = LogCounter(lab.work / 'pair-r' / 'vpnd.log', b'CHILD_SA not installed')
    deadline = time.time() + 240  # generous: the machine is shared; the bench measures time
    while time.time() < deadline and (ours.poll() < TUNNELS or theirs.poll() < TUNNELS):
        time.sleep(0.5)
    ilog = (lab.work / 'pair-i' / 'vpnd.log').read_text(errors='replace')
    assert ours.poll() == TUNNELS and theirs.poll() == TUNNELS, ilog[-4000:]
    # Every peer has exactly one IKE SA up, established once.
    up = set(re.findall(r'IKE_SA (peer-10\.128\.\d+\.\d+)\[\d+\] established', ilog))
    assert len(up) == TUNNELS
    assert len(re.findall(r'IKE_SA peer-\S+ established', ilog)) == TUNNELS
    assert 'retransmit' not in ilog  # IKE_SA_INIT or IKE_AUTH lost to a socket buffer
    ike = lab.vpnctl(isock, 'show', 'vpn', 'ike', 'sa', 'peer', pairs[-1][1])
    assert re.search(r'^\s+up\s', ike, re.M), ike
    status = lab.vpnctl(rsock, 'show', 'vpn', 'ipsec', 'sa', 'peer', pairs[0][0])
    assert re.search(r'^\s+1\s+\d+\s+down\s', status, re.M), status  # kernel sockets: no ESP
