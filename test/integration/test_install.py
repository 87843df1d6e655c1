"""The install layout with the real tools: `meson install` into a DESTDIR (binaries in sbin, units,
/etc/portcullis defaults that a reinstall keeps, examples and docs), `systemd-analyze verify` and
`systemd-analyze security --offline` on the installed units, the units' command lines run as
systemd would run them (Type=notify READY=1 from vpn-dataplane, vpnd forking once its socket
listens), and portcullis-host-setup --dry-run refusing the interface of the default route."""
import json
import os
import re
import shlex
import shutil
import socket
import stat
import subprocess
import time

import pytest

from portcullis_lab import sh

UNITS = ('vpn-dataplane.service', 'vpnd.service', 'portcullis-host-setup.service')
SBIN = ('vpn-dataplane', 'vpnd', 'vpnctl', 'dpctl', 'portcullis-host-setup')


def options(build_root):
    out = sh('meson', 'introspect', str(build_root), '--buildoptions').stdout
    opts = {o['name']: o['value'] for o in json.loads(out)}
    prefix = opts['prefix']
    unitdir = opts['systemdunitdir'] or os.path.join(prefix, 'lib/systemd/system')
    return {'prefix': prefix, 'sbin': os.path.join(prefix, opts['sbindir']),
            'bin': os.path.join(prefix, opts['bindir']),
            'share': os.path.join(prefix, opts['datadir']), 'conf': opts['confdir'],
            'units': unitdir}


def under(destdir, path):
    return os.path.join(str(destdir), path.lstrip('/'))


def meson_install(build_root, destdir):
    r = subprocess.run(['meson', 'install', '-C', str(build_root), '--no-rebuild', '--destdir',
                        str(destdir)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture(scope='module')
def installed(build_root, tmp_path_factory):
    dest = tmp_path_factory.mktemp('destdir')
    meson_install(build_root, dest)
    return dest, options(build_root)


def test_binaries_go_to_sbin_configs_to_confdir_docs_to_share(installed, build_root):
    dest, o = installed
    for name in SBIN:
        path = under(dest, os.path.join(o['sbin'], name))
        assert os.access(path, os.X_OK), path
    assert not os.path.exists(under(dest, o['bin'])), os.listdir(under(dest, o['bin']))
    conf = under(dest, o['conf'])
    assert sorted(os.listdir(conf)) == ['config.boot', 'portcullis.env', 'ports']
    # The configuration holds pre-shared keys: not world-readable.
    assert stat.S_IMODE(os.stat(conf).st_mode) == 0o750
    for name in os.listdir(conf):
        assert stat.S_IMODE(os.stat(os.path.join(conf, name)).st_mode) == 0o640, name
    examples = under(dest, os.path.join(o['share'], 'portcullis', 'examples'))
    assert sorted(os.listdir(examples)) == ['vyatta-east.conf', 'vyatta-west.conf',
                                            'vyos-site-a.conf', 'vyos-site-b.conf']
    docs = under(dest, os.path.join(o['share'], 'doc', 'portcullis'))
    assert {'README.md', 'DESIGN.md', 'LAB.md', 'SCOPE.md', 'PKTGEN.md', 'LICENSE'} <= set(
        os.listdir(docs))
    assert sorted(os.listdir(under(dest, o['units']))) == sorted(UNITS)
    # The installed binaries run: vpnctl checks the installed examples and the empty default.
    vpnctl = under(dest, os.path.join(o['sbin'], 'vpnctl'))
    r = sh(vpnctl, 'check', *sorted(os.path.join(examples, f) for f in os.listdir(examples)),
           os.path.join(conf, 'config.boot'))
    assert r.stdout.count(': OK') == 5, r.stdout
    # The units name the installed paths.
    unit = open(os.path.join(under(dest, o['units']), 'vpn-dataplane.service')).read()
    assert f'ExecStart={o["sbin"]}/vpn-dataplane ' in unit
    assert f'--ports-file {o["conf"]}/ports' in unit


def test_reinstall_keeps_the_operators_files(installed, build_root):
    dest, o = installed
    ports = os.path.join(under(dest, o['conf']), 'ports')
    with open(ports, 'a') as f:
        f.write('dp0p1s0=0000:03:00.0\n')
    meson_install(build_root, dest)
    assert open(ports).read().endswith('dp0p1s0=0000:03:00.0\n')
    # A file the operator removed comes back.
    env = os.path.join(under(dest, o['conf']), 'portcullis.env')
    os.unlink(env)
    meson_install(build_root, dest)
    assert 'EAL_ARGS=' in open(env).read()


def in_private_mounts(script, *args):
    """Runs `sh -c script` in a mount namespace of its own: bind mounts there vanish with it."""
    return subprocess.run(['unshare', '--mount', '--propagation', 'private', 'sh', '-ec', script,
                           'sh', *args], capture_output=True, text=True, timeout=120)


def verify(dest, o, unit_paths):
    """systemd-analyze verify with the installed sbin bound over the real one (it checks that
    ExecStart's programs exist) and the installed unit directory searched first."""
    script = ('mount --bind "$1" "$2"; shift 2; '
              'dir="$1"; shift; SYSTEMD_UNIT_PATH="$dir": exec systemd-analyze verify "$@" 2>&1')
    if not os.path.isdir(o['sbin']):
        pytest.skip(f'{o["sbin"]} does not exist here to bind the installed one over')
    return in_private_mounts(script, under(dest, o['sbin']), o['sbin'],
                             os.path.dirname(unit_paths[0]), *unit_paths)


def test_systemd_analyze_verify_accepts_the_units_and_catches_a_broken_one(installed, tmp_path):
    if shutil.which('systemd-analyze') is None:
        pytest.skip('needs systemd-analyze (apt-get install systemd)')
    dest, o = installed
    units = [os.path.join(under(dest, o['units']), u) for u in UNITS]
    r = verify(dest, o, units)
    assert r.returncode == 0 and r.stdout.strip() == '', r.stdout + r.stderr
    # The same check fails on a unit whose ExecStart names a program that is not installed.
    broken = tmp_path / 'units'
    broken.mkdir()
    for u in units:
        shutil.copy(u, broken)
    text = (broken / 'vpnd.service').read_text()
    (broken / 'vpnd.service').write_text(text.replace('/vpnd --config', '/vpnd-missing --config'))
    r = verify(dest, o, [str(broken / u) for u in UNITS])
    assert r.returncode != 0 and 'vpnd-missing' in r.stdout, r.stdout


def unit_settings(path):
    settings = {}
    for line in open(path):
        m = re.match(r'^(\w+)=(.*)$', line.strip())
        if m:
            settings.setdefault(m.group(1), []).append(m.group(2))
    return settings


def test_units_order_restart_and_drop_privileges(installed):
    dest, o = installed
    dp = unit_settings(os.path.join(under(dest, o['units']), 'vpn-dataplane.service'))
    vpnd = unit_settings(os.path.join(under(dest, o['units']), 'vpnd.service'))
    setup = unit_settings(os.path.join(under(dest, o['units']), 'portcullis-host-setup.service'))
    assert 'vpn-dataplane.service' in vpnd['After'][0] and 'vpn-dataplane.service' in vpnd['Wants'][0]
    assert 'portcullis-host-setup.service' in dp['After'][0]
    assert 'portcullis-host-setup.service' in dp['Requires'][0]
    assert dp['Type'] == ['notify'] and vpnd['Type'] == ['forking']
    for s in (dp, vpnd):
        assert s['Restart'] == ['on-failure'] and s['NoNewPrivileges'] == ['yes']
    assert setup['NoNewPrivileges'] == ['yes']
    dp_caps = set(dp['CapabilityBoundingSet'][0].split())
    assert dp_caps == {'CAP_IPC_LOCK', 'CAP_SYS_ADMIN', 'CAP_SYS_RAWIO', 'CAP_NET_RAW',
                       'CAP_NET_ADMIN'}
    assert vpnd['CapabilityBoundingSet'] == ['CAP_NET_BIND_SERVICE']
    # systemd's own reading of the hardening: vpnd must come out better than the dataplane,
    # and neither as an unprotected service.
    if shutil.which('systemd-analyze') is None:
        return
    scores = {}
    for name in ('vpnd.service', 'vpn-dataplane.service'):
        r = subprocess.run(['systemd-analyze', 'security', '--offline=true', '--no-pager',
                            os.path.join(under(dest, o['units']), name)],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r'Overall exposure level for \S+: ([\d.]+) (\w+)', r.stdout + r.stderr)
        assert m, r.stdout + r.stderr
        scores[name] = float(m.group(1))
    assert scores['vpnd.service'] < scores['vpn-dataplane.service'] < 9.6, scores
    assert scores['vpnd.service'] <= 6.0, scores


def exec_start(unit_path, env):
    """ExecStart split as systemd does: $VAR expands to words, ${VAR} to one."""
    line = unit_settings(unit_path)['ExecStart'][0]
    words = []
    for w in shlex.split(line):
        m = re.fullmatch(r'\$(\w+)', w)
        if m:
            words += env.get(m.group(1), '').split()
        else:
            words.append(w)
    return words


def test_the_units_command_lines_start_both_daemons(installed, lab, tmp_path):
    """What systemd would exec, with the test's paths: the dataplane reads the ports file and
    says READY=1 on $NOTIFY_SOCKET; vpnd attaches, forks (Type=forking) with its socket up, and
    its log lines reach the syslog socket (the journal's /dev/log)."""
    dest, o = installed
    units = under(dest, o['units'])
    conf = tmp_path / 'conf'
    conf.mkdir()
    (conf / 'ports').write_text('# the test\nlan=net_null0\nwan=net_null1\n')
    shutil.copy(under(dest, os.path.join(o['conf'], 'config.boot')), conf / 'config.boot')
    channel = f'{lab.id}unit'
    lab.channels.append(channel)

    def rewrite(words):
        text = ' '.join(shlex.quote(w) for w in words)
        text = text.replace(o['sbin'], under(dest, o['sbin'])).replace(o['conf'], str(conf))
        text = text.replace('--channel portcullis', f'--channel {channel}')
        for d in ('/var/lib/portcullis', '/var/log/portcullis'):
            text = text.replace(d, str(tmp_path))
        return shlex.split(text)

    notify = tmp_path / 'notify.sock'
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(str(notify))
    ns.settimeout(60)
    dp_cmd = rewrite(exec_start(os.path.join(units, 'vpn-dataplane.service'),
                                {'EAL_ARGS': '-l 0,1 --no-huge -m 512'}))
    assert '--ports-file' in dp_cmd
    env = dict(os.environ, NOTIFY_SOCKET=str(notify))
    dp = subprocess.Popen(dp_cmd, stdout=open(tmp_path / 'dp.log', 'w'), stderr=subprocess.STDOUT,
                          env=env)
    lab.procs.append(dp)
    assert ns.recv(100) == b'READY=1', (tmp_path / 'dp.log').read_text()
    assert 'port wan = net_null1' in (tmp_path / 'dp.log').read_text()

    syslog = tmp_path / 'dev-log'
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ls.bind(str(syslog))
    ls.settimeout(30)
    vpnd_sock = tmp_path / 'vpnd.sock'
    vpnd_cmd = rewrite(exec_start(os.path.join(units, 'vpnd.service'),
                                  {'VPND_ARGS': f'--socket {vpnd_sock}'}))
    vpnd_cmd = [str(syslog) if w == '/dev/log' else w for w in vpnd_cmd]
    # Forking: the command returns once vpnd is ready, the daemon stays.
    r = subprocess.run(vpnd_cmd, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    try:
        assert vpnd_sock.exists()
        line = ls.recv(2000).decode()
        assert re.match(r'<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d vpnd\[\d+\]: ', line), line
        vpnctl = under(dest, os.path.join(o['sbin'], 'vpnctl'))
        # It loaded the unit's config file, archived it in the unit's state directory and
        # logs to the unit's log directory.
        out = sh(vpnctl, '--socket', str(vpnd_sock), 'show', 'system', 'commit').stdout
        assert f'vpnd via startup ({conf / "config.boot"})' in out, out
        assert os.listdir(tmp_path / 'archive'), out
        assert 'vpnd started (channel transport)' in (tmp_path / 'vpnd.log').read_text()
    finally:
        stop_daemon(str(vpnd_sock))


def stop_daemon(marker):
    """SIGTERM to the forked vpnd of this test: the process whose command line holds `marker`
    (the test's own socket path), found by its pid."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            cmdline = open(f'/proc/{pid}/cmdline', 'rb').read().split(b'\0')
        except OSError:
            continue
        if marker.encode() in cmdline:
            os.kill(int(pid), 15)
            for _ in range(50):
                if not os.path.exists(f'/proc/{pid}'):
                    break
                time.sleep(0.1)


def default_route_device():
    out = sh('ip', '-j', 'route', 'show', 'default').stdout
    routes = json.loads(out) if out.strip() else []
    return routes[0].get('dev') if routes else None


def pci_address(dev):
    path = os.path.realpath(f'/sys/class/net/{dev}/device')
    for part in reversed(path.split('/')):
        if re.fullmatch(r'[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]', part):
            return part
    return None


def host_setup(dest, o, ports_text, tmp_path, netns=None):
    """--dry-run in a mount namespace where /sys and /proc/sys are read-only: even a bug that
    ignored --dry-run could not unbind a NIC or change the hugepages of this shared machine."""
    ports = tmp_path / 'ports'
    ports.write_text(ports_text)
    tool = under(dest, os.path.join(o['sbin'], 'portcullis-host-setup'))
    script = ('mount --bind -o ro /sys /sys; mount -o remount,bind,ro /sys; '
              'mount --bind /proc/sys /proc/sys; mount -o remount,bind,ro /proc/sys; '
              'exec "$@"')
    cmd = ['unshare', '--mount', '--propagation', 'private', 'sh', '-ec', script, 'sh',
           '/usr/bin/python3', tool, '--ports', str(ports), '--dry-run']
    if netns:
        cmd = ['ip', 'netns', 'exec', netns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_host_setup_refuses_the_nic_of_the_default_route(installed, tmp_path):
    dest, o = installed
    dev = default_route_device()
    addr = pci_address(dev) if dev else None
    if not addr:
        pytest.skip('the default route is not on a PCI NIC here')
    nr = open('/proc/sys/vm/nr_hugepages').read()
    driver = os.readlink(f'/sys/bus/pci/devices/{addr}/driver')
    r = host_setup(dest, o, f'lan=net_null0\nwan={addr}\n', tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f'refusing: port wan' in r.stderr and addr in r.stderr and dev in r.stderr, r.stderr
    assert 'default route' in r.stderr
    assert 'would run' not in r.stdout, r.stdout  # refused before planning anything
    # Also in the short bus:slot.func spelling.
    short = addr[len('0000:'):]
    r = host_setup(dest, o, f'wan={short}\n', tmp_path)
    assert r.returncode == 1 and 'refusing: port wan' in r.stderr, r.stderr
    # A bond is configuration, not a port (#17): refused, naming the configuration's form.
    r = host_setup(dest, o, f'wan=net_bonding0,mode=1,slave={short}\n', tmp_path)
    assert r.returncode == 1 and 'a bond is not a port' in r.stderr, r.stderr
    assert open('/proc/sys/vm/nr_hugepages').read() == nr
    assert os.readlink(f'/sys/bus/pci/devices/{addr}/driver') == driver


def test_host_setup_dry_run_in_a_namespace(installed, lab, tmp_path):
    """In a namespace whose default route leaves by a veth: a port on that veth is refused; a
    PCI NIC that carries no default route there would be bound (printed, not done)."""
    dest, o = installed
    ns = lab.ns('hs')
    peer = lab.ns('hp')
    lab.veth(ns, 'mgmt0', peer, 'up0')
    lab.veth(ns, 'data0', peer, 'up1')
    lab.exec(ns, 'ip', 'addr', 'add', '198.51.100.2/24', 'dev', 'mgmt0')
    lab.exec(ns, 'ip', 'route', 'add', 'default', 'via', '198.51.100.1')

    r = host_setup(dest, o, '# af_packet on the management veth\n'
                   'lan=net_af_packet0,iface=data0\nwan=net_af_packet1,iface=mgmt0\n',
                   tmp_path, netns=ns)
    assert r.returncode == 1, r.stdout + r.stderr
    assert 'refusing: port wan' in r.stderr and 'mgmt0' in r.stderr, r.stderr
    assert 'default via 198.51.100.1 dev mgmt0' in r.stderr, r.stderr

    r = host_setup(dest, o, 'lan=net_af_packet0,iface=data0\n', tmp_path, netns=ns)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'would run: dpdk-hugepages.py --pagesize 2M --reserve 1G --mount' in r.stdout
    assert 'dpdk-devbind.py' not in r.stdout, r.stdout  # nothing on PCI to bind

    pci = sorted(os.listdir('/sys/bus/pci/devices'))
    nic = next((a for a in pci if os.path.isdir(f'/sys/bus/pci/devices/{a}/virtio0') or
                os.path.exists(f'/sys/bus/pci/devices/{a}/net')), None)
    nic = nic or next((a for a in pci if open(f'/sys/bus/pci/devices/{a}/class').read()
                       .startswith('0x0200')), None)
    if nic:
        r = host_setup(dest, o, f'lan={nic}\n', tmp_path, netns=ns)
        assert r.returncode == 0, r.stdout + r.stderr
        assert 'would run: modprobe vfio-pci' in r.stdout
        assert f'would run: dpdk-devbind.py --bind=vfio-pci {nic}' in r.stdout
    r = host_setup(dest, o, 'lan=0000:7f:1f.7\n', tmp_path, netns=ns)
    assert r.returncode == 1 and 'no PCI device 0000:7f:1f.7' in r.stderr, r.stderr
    r = host_setup(dest, o, 'lan 0000:03:00.0\n', tmp_path, netns=ns)
    assert r.returncode == 1 and 'line 1: expected NAME=DEVICE' in r.stderr, r.stderr
