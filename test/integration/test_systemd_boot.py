"""The installed units under a real systemd, as an operator meets them: `meson install` into a
DESTDIR, that tree laid over this host's own root (overlayfs on a private tmpfs) and booted by
systemd-nspawn with systemd as PID 1, in site A's network namespace of the VyOS site pair
(portcullis_lab.SitePair; site B is a lab appliance). Then the README's commands: `systemctl
enable --now vpn-dataplane vpnd` (host setup first, Type=notify readiness of the dataplane,
vpnd forking once its socket listens), the tunnel up with vpnctl's default socket, pings
through it; `kill -9` of vpnd restarted by systemd (Restart=on-failure) without a lost ping (the
IKE state survives in /run/portcullis: RuntimeDirectoryPreserve=restart); `kill -9` of the
dataplane restarted and vpnd sending it the configuration and SAs again; `systemctl reload vpnd`
re-reading config.boot; vpnd's log in the journal; `systemctl stop` and poweroff clean.

test_install.py checks the same units offline (systemd-analyze verify, their command lines run by
hand); this one boots them."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from portcullis_lab import SitePair, sh, wait_ping
from test_install import meson_install

NSPAWN = shutil.which('systemd-nspawn')
INIT = '/lib/systemd/systemd'

# The appliance's files in /etc/portcullis: its ports are site A's veths, no hugepages (CI has
# none; HUGEPAGES=0 leaves them to the host), and a worker that sleeps when idle on this shared
# machine.
PORTS = 'eth0=net_af_packet0,iface=daw\neth1=net_af_packet1,iface=dal\n'
ENV = ('HUGEPAGES=0\nEAL_ARGS=-l 0,1 --no-huge -m 512\nDATAPLANE_ARGS=--idle-sleep-us 50\n'
       'VPND_ARGS=\n')


class Container:
    """A systemd-nspawn container of this host's root with `destdir` installed over it, in the
    network namespace `netns`; commands run in it with nsenter (no machined on the host)."""

    def __init__(self, workdir, destdir, netns, files):
        try:
            self._boot(workdir, destdir, netns, files)
        except BaseException:
            self.close()
            raise

    def _boot(self, workdir, destdir, netns, files):
        self.top = os.path.join(str(workdir), 'container')
        self.root = os.path.join(self.top, 'root')
        self.log = os.path.join(str(workdir), 'container.log')
        self.proc, self.leader, self.mounted = None, None, []
        os.makedirs(self.top)
        # The upper layer on its own tmpfs: overlayfs refuses layers nested in one another.
        sh('mount', '-t', 'tmpfs', 'tmpfs', self.top)
        self.mounted.append(self.top)
        upper, work = os.path.join(self.top, 'upper'), os.path.join(self.top, 'work')
        for d in (upper, work, self.root):
            os.makedirs(d)
        sh('cp', '-a', f'{destdir}/.', upper)
        for path, text in files.items():
            with open(os.path.join(upper, path.lstrip('/')), 'w') as f:
                f.write(text)
        sh('mount', '-t', 'overlay', 'overlay', '-o',
           f'lowerdir=/,upperdir={upper},workdir={work}', self.root)
        self.mounted.append(self.root)
        # basic.target: this host's own enabled services (a database, Prometheus) stay off;
        # the test enables Portcullis' units itself, as the README says.
        self.proc = subprocess.Popen(
            [NSPAWN, '--quiet', '--directory', self.root, '--register=no', '--keep-unit',
             '--capability=all', f'--machine=pc{os.getpid() % 100000}',
             f'--network-namespace-path=/run/netns/{netns}', '--console=pipe', '--boot',
             'systemd.unit=basic.target'],
            stdout=open(self.log, 'w'), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while self.leader is None:
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f'systemd-nspawn did not boot:\n{open(self.log).read()}')
            self.leader = self._find_init()
            time.sleep(0.2)
        # Until its manager answers (its bus socket appears a moment after PID 1 starts), then
        # until the boot's jobs are done.
        while True:
            r = self.run('systemctl', 'is-system-running', '--wait', check=False, timeout=120)
            state = r.stdout.strip()
            if state not in ('', 'offline', 'unknown') or time.time() > deadline:
                break
            time.sleep(0.2)
        assert state == 'running', (state, r.stderr, self.run('systemctl', '--failed',
                                                             check=False).stdout)

    def _find_init(self):
        # systemd, PID 1 inside: nspawn's child (or grandchild, where nspawn forks an outer
        # child of its own), the first process whose NSpid ends in 1.
        for child in self._children(self.proc.pid):
            for pid in [child] + self._children(child):
                try:
                    with open(f'/proc/{pid}/status') as f:
                        nspid = re.search(r'^NSpid:\s+(.*)$', f.read(), re.M).group(1).split()
                except (FileNotFoundError, AttributeError):
                    continue
                if len(nspid) > 1 and nspid[-1] == '1':
                    return pid
        return None

    @staticmethod
    def _children(pid):
        # /proc/PID/task/PID/children needs CONFIG_PROC_CHILDREN: read every process's parent.
        kids = []
        for entry in os.listdir('/proc'):
            if entry.isdigit():
                try:
                    with open(f'/proc/{entry}/stat') as f:
                        # The field after the parenthesised name: state, then the parent's PID.
                        if int(f.read().rsplit(')', 1)[1].split()[1]) == pid:
                            kids.append(int(entry))
                except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                    pass
        return kids

    def run(self, *cmd, check=True, timeout=60):
        return sh('nsenter', '-t', str(self.leader), '-m', '-u', '-i', '-n', '-p', '--', *cmd,
                  check=check, timeout=timeout)

    def show(self, unit, *props):
        out = self.run('systemctl', 'show', unit, '-p', ','.join(props)).stdout
        return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)

    def journal(self, unit):
        return self.run('journalctl', '-u', unit, '--no-pager', '-o', 'cat', check=False).stdout

    def close(self):
        try:
            if getattr(self, 'proc', None) and self.proc.poll() is None:
                # SIGTERM asks nspawn for a clean shutdown of the container (SIGRTMIN+3 to init).
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            for path in reversed(getattr(self, 'mounted', [])):
                sh('umount', '-l', path, check=False)


def vpnctl(c, *args):
    """vpnctl as an operator types it in the container: its default socket, /run/portcullis."""
    return c.run('vpnctl', *args, check=False).stdout


def wait_tunnel(c, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if re.search(r'^\s+1\s+\d+\s+up\s', vpnctl(c, 'show', 'vpn', 'ipsec', 'sa'), re.M):
            return
        time.sleep(0.5)
    raise AssertionError('tunnel did not come up under systemd\n' + vpnctl(
        c, 'show', 'vpn', 'ipsec', 'sa') + c.journal('vpnd')[-2000:] + c.run(
        'dpctl', '--channel', 'portcullis', 'show', 'stats', check=False).stdout + c.run(
        'dpctl', '--channel', 'portcullis', 'show', 'ports', check=False).stdout)


def inbound_spi(c):
    detail = vpnctl(c, 'show', 'vpn', 'ipsec', 'sa', 'detail')
    m = re.search(r'Inbound SPI:\s+([0-9a-f]{8})', detail)
    return m.group(1) if m else None


def ping_stream(lab, ns, dst, action, count=200, interval='0.05'):
    """Pings `dst` `count` times every `interval` s while `action()` runs; (sent, received)."""
    proc = subprocess.Popen(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c', str(count),
                             '-i', interval, '-W', '2', dst],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(1.0)
        action()
        out = proc.communicate(timeout=count + 30)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    m = re.search(r'(\d+) packets transmitted, (\d+) received', out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def wait_restarted(c, unit, old_pid, restarts, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        s = c.show(unit, 'MainPID', 'NRestarts', 'ActiveState')
        if (s['ActiveState'] == 'active' and s['MainPID'] not in ('0', old_pid)
                and int(s['NRestarts']) == restarts):
            return s
        time.sleep(0.2)
    raise AssertionError(f'{unit} not restarted: {c.show(unit, "MainPID", "NRestarts")}\n'
                         + c.journal(unit)[-3000:])


@pytest.fixture
def booted(lab, source_root, build_root, tmp_path):
    if os.geteuid() != 0:
        pytest.fail('needs root (network namespaces, mounts, systemd-nspawn)')
    assert NSPAWN and os.access(INIT, os.X_OK), \
        'systemd-nspawn and systemd needed: apt-get install systemd systemd-container ' \
        '(scripts/setup installs them)'
    dest = tmp_path / 'destdir'
    meson_install(build_root, dest)
    pair = SitePair(lab, source_root, start_a=False)
    files = {'/etc/portcullis/config.boot': open(pair.config_a).read(),
             '/etc/portcullis/ports': PORTS, '/etc/portcullis/portcullis.env': ENV}
    hugepages = open('/proc/sys/vm/nr_hugepages').read()
    c = Container(tmp_path, dest, pair.da, files)
    try:
        yield pair, c
    finally:
        c.close()
    # The container runs portcullis-host-setup on this host's kernel (HUGEPAGES=0: hands off).
    assert open('/proc/sys/vm/nr_hugepages').read() == hugepages


def test_units_boot_carry_the_tunnel_and_survive_kills(booted, lab):
    pair, c = booted
    # The README's command; host setup runs first (Requires= of the dataplane's unit).
    c.run('systemctl', 'enable', '--now', 'vpn-dataplane', 'vpnd', timeout=120)
    for unit in ('portcullis-host-setup', 'vpn-dataplane', 'vpnd'):
        s = c.show(unit, 'ActiveState', 'UnitFileState', 'Result')
        assert s['ActiveState'] == 'active' and s['Result'] == 'success', (unit, s,
                                                                            c.journal(unit))
    assert c.show('vpn-dataplane', 'UnitFileState')['UnitFileState'] == 'enabled'
    assert 'vpn-dataplane: ready' in c.journal('vpn-dataplane')
    wait_tunnel(c)
    assert wait_ping(lab, pair.ha, '10.2.0.10'), 'no ping through the tunnel'

    # kill -9 of vpnd under traffic: systemd restarts it; the SAs stay in the dataplane and
    # the new vpnd resumes the IKE SA from /run/portcullis: no ping lost.
    pid = c.show('vpnd', 'MainPID')['MainPID']
    sent, got = ping_stream(lab, pair.ha, '10.2.0.10', lambda: (
        c.run('systemctl', 'kill', '--signal=KILL', 'vpnd'),
        wait_restarted(c, 'vpnd', pid, 1)))
    assert (sent, got) == (200, 200), f'{sent - got} of {sent} pings lost\n' + c.journal('vpnd')
    assert 'resumed after the restart' in c.journal('vpnd'), c.journal('vpnd')[-3000:]
    wait_tunnel(c)

    # SIGHUP through systemctl reload: vpnd re-reads config.boot.
    c.run('systemctl', 'reload', 'vpnd')
    deadline = time.time() + 20
    while 'SIGHUP: re-reading /etc/portcullis/config.boot' not in c.journal('vpnd'):
        assert time.time() < deadline, c.journal('vpnd')[-3000:]
        time.sleep(0.2)

    # kill -9 of the dataplane: systemd restarts it, vpnd re-attaches and installs everything
    # again; traffic comes back (the SAs died with the process, so pings in between may fail).
    pid = c.show('vpn-dataplane', 'MainPID')['MainPID']
    spi = inbound_spi(c)
    assert spi, vpnctl(c, 'show', 'vpn', 'ipsec', 'sa', 'detail')
    c.run('systemctl', 'kill', '--signal=KILL', 'vpn-dataplane')
    wait_restarted(c, 'vpn-dataplane', pid, 1)
    assert wait_ping(lab, pair.ha, '10.2.0.10', seconds=60), c.journal('vpnd')[-4000:]
    journal = c.journal('vpnd')
    assert 'the dataplane restarted: sending the configuration and SAs again' in journal
    # Its outbound sequence numbers went with the old process: the CHILD SA is rekeyed.
    assert "rekeying up to 1 CHILD_SA(s): the new dataplane's outbound sequence" in journal
    deadline = time.time() + 30
    while inbound_spi(c) in (spi, None):
        assert time.time() < deadline, vpnctl(c, 'show', 'vpn', 'ipsec', 'sa', 'detail')
        time.sleep(0.5)

    # Stopped by the operator: both units end clean, not failed.
    c.run('systemctl', 'stop', 'vpnd', 'vpn-dataplane', timeout=60)
    for unit in ('vpnd', 'vpn-dataplane'):
        s = c.show(unit, 'ActiveState', 'Result')
        assert s == {'ActiveState': 'inactive', 'Result': 'success'}, (unit, s,
                                                                         c.journal(unit))
