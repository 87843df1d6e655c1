#!/usr/bin/env python3
"""Lifecycle soak (issue #19), a benchmark, not a test: the seed's route-based appliance pair
(test/integration SeedPair) with CHILD SAs of 30 s and IKE SAs of 60 s on both ends (equal, so
rekeys collide; make-before-break reauthentication as the seed configures it), a ping stream
through the tunnel at SOAK_PPS (default 200) for SOAK_SECONDS (default 600). Prints packets sent
and lost and, per appliance, the lifecycle events by kind as its vpnd logged them. Target: 0
lost. The 2-minute version that asserts it is test/integration/test_lifecycle_soak.py.

Collisions are forced: equal lifetimes alone rarely collide, because each end rekeys at
lifetime - margin - random(0..margin), margin a quarter of a short lifetime (charon's rekey fuzz); both vpnds run
with `--rekey_fuzz 0` (SOAK_FUZZ), so each end's successor is rekeyed at the same moment as the
other end's. SOAK_IKE=rekey removes `make-before-break`, so the IKE lifetime rekeys the IKE SA
(IKE rekey collisions) instead of reauthenticating it (simultaneous reauthentications, settled
as duplicate IKE SAs).

Needs root (network namespaces); run it as `scripts/bench soak`, which takes the shared lab
lock."""
import os
import pathlib
import re
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / 'test' / 'integration'))
from portcullis_lab import EAST_HOST, Lab, SeedPair  # noqa: E402
from test_lifecycle_soak import FORCE_COLLISIONS, short_lifetimes  # noqa: E402

KINDS = [
    ('CHILD rekeys started', r'rekeying CHILD_SA'),
    ('CHILD rekeys answered', r'rekeyed by the peer'),
    ('CHILD collisions, ours kept', r"CHILD_SA rekey collision: the peer's new SA"),
    ('CHILD collisions, ours deleted', r'CHILD_SA rekey collision: our new SA'),
    ('IKE rekeys started', r'rekeying IKE_SA'),
    ('IKE rekey collisions', r'IKE_SA rekey collision: the peer rekeys too'),
    ('IKE collisions, ours deleted', r'IKE_SA rekey collision: our new IKE_SA has the lowest'),
    ('IKE collisions, ours kept', r"IKE_SA rekey collision: the peer's new IKE_SA has the lo"),
    ('IKE collisions, peer took over', r"IKE_SA rekey collision: the peer's new IKE_SA took"),
    ('duplicate IKE_SAs deleted', r'duplicate IKE_SA from simultaneous initiation, deleting'),
    ('reauthentications started', r'reauthenticating IKE_SA'),
    ('reauthentications done', r'reauthenticated it with'),
    ('reauths abandoned for the peer\'s', r'replaces it, abandoning our reauthentication'),
    ('reauths whose duplicate lost', r'replaces it, its duplicate'),
    ('outbound switches (responder)', r'sends with outbound SA'),
    ('TEMPORARY_FAILURE answered', r'answering TEMPORARY_FAILURE'),
    ('CHILD_SA_NOT_FOUND answered', r'answering CHILD_SA_NOT_FOUND'),
    ('retransmissions', r'retransmit \d+ of request'),
]


def main():
    seconds = int(os.environ.get('SOAK_SECONDS', '600'))
    pps = int(os.environ.get('SOAK_PPS', '200'))
    fuzz = os.environ.get('SOAK_FUZZ', '0')
    ike = os.environ.get('SOAK_IKE', 'reauth')
    build = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', ROOT / 'build'))
    os.chdir(ROOT)
    with tempfile.TemporaryDirectory(prefix='portcullis-soak-') as work:
        lab = Lab(build, work)
        try:
            configs = {n: short_lifetimes(ROOT, work, n, reauth=ike != 'rekey')
                       for n in ('west', 'east')}
            s = SeedPair(lab, ROOT, configs, vpnd_args=('--rekey_fuzz', fuzz))
            s.wait_up()
            count = seconds * pps
            r = lab.exec(s.hw, 'ping', '-q', '-c', str(count), '-i', '%.4f' % (1.0 / pps), '-W',
                         '1', EAST_HOST, check=False, timeout=seconds + 120)
            m = re.search(r'(\d+) packets transmitted, (\d+) received', r.stdout)
            sent, received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
            logs = {'west': s.vw.log(), 'east': s.ve.log()}
        finally:
            lab.close()
    print(f'lifecycle soak: seed pair, CHILD 30 s / IKE 60 s ({ike}) on both ends, rekey fuzz '
          f'{fuzz}, {pps} pps for {seconds} s')
    print(f'{"":34} {"west":>8} {"east":>8}')
    print(f'{"packets sent (west -> east, echo)":34} {sent:>8}')
    print(f'{"packets lost":34} {sent - received:>8}')
    for name, pattern in KINDS:
        w, e = (len(re.findall(pattern, logs[n])) for n in ('west', 'east'))
        print(f'{name:34} {w:>8} {e:>8}')
    print(f'summary: sent={sent} lost={sent - received}')
    return 0 if m and sent == received else 1


if __name__ == '__main__':
    sys.exit(main())
