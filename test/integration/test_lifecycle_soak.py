"""The seed's route-based appliance pair (SeedPair) with short lifetimes, equal on both ends so
the ends' rekeys collide: CHILD SAs 30 s, IKE SAs 60 s (make-before-break reauthentication, as
the seed configures it). A steady ping stream runs through the tunnel for two minutes, across
several CHILD rekeys and IKE reauthentications, and not one packet may be lost (issue #19: the
seed pair lost about one packet per rekey). The 10-minute version with a table is
`scripts/bench soak`."""
import pathlib
import re

from portcullis_lab import EAST_HOST, SeedPair, appliance_config

SECONDS = 120
INTERVAL = 0.005  # 200 packets a second


def short_lifetimes(source_root, workdir, name):
    path = pathlib.Path(appliance_config(source_root, workdir, name))
    text = path.read_text()
    text = re.sub(r'(ike-group \S+ lifetime) \d+', r'\1 60', text)
    text = re.sub(r'(esp-group \S+ lifetime) \d+', r'\1 30', text)
    path.write_text(text)
    return str(path)


def test_no_packet_lost_across_rekeys_and_reauthentications(lab, source_root):
    configs = {n: short_lifetimes(source_root, lab.workdir, n) for n in ('west', 'east')}
    s = SeedPair(lab, source_root, configs)
    s.wait_up()
    count = int(SECONDS / INTERVAL)
    r = lab.exec(s.hw, 'ping', '-q', '-c', str(count), '-i', str(INTERVAL), '-W', '1', EAST_HOST,
                 check=False, timeout=SECONDS + 60)
    logs = s.vw.log() + '\n' + s.ve.log()
    m = re.search(r'(\d+) packets transmitted, (\d+) received', r.stdout)
    assert m, r.stdout
    sent, received = int(m.group(1)), int(m.group(2))
    child_rekeys = len(re.findall(r'rekeying CHILD_SA', logs))
    reauths = len(re.findall(r'reauthenticating IKE_SA', logs))
    collisions = len(re.findall(r'rekey collision', logs))
    summary = ('sent %d, lost %d, CHILD rekeys started %d, reauthentications %d, collision lines '
               '%d' % (sent, sent - received, child_rekeys, reauths, collisions))
    print(summary)
    assert child_rekeys >= 4, summary
    assert reauths >= 1, summary
    assert sent == count and received == sent, summary + '\n' + r.stdout + logs[-6000:]
