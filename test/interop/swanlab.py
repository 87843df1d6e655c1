"""A strongSwan 5.9.8 peer (charon with kernel-libipsec) and vpnd (kernel-socket transport),
each in its own network namespace, joined by a veth pair:

    netns pco-<id>  vpnd   192.0.2.1 (po<id>) ==veth== (ps<id>) 192.0.2.2  charon  netns pcs-<id>

Everything a Lab creates (namespaces, processes, files under its directory) is removed by
close(), which the fixtures call whatever happened. Processes are ended by PID only.
Follows docs/LAB.md (strongSwan as the peer).
"""
import os
import re
import shutil
import signal
import subprocess
import time

CHARON = '/usr/lib/ipsec/charon'
OURS = '192.0.2.1'
THEIRS = '192.0.2.2'
# The same veth carries IPv6 too (#21): outer addresses, and a LAN prefix behind strongSwan.
OURS6 = '2001:db8::1'
THEIRS6 = '2001:db8::2'
LAN6_THEIRS = '2001:db8:2::1'

# strongSwan's ESP key lines at ike/chd level 4 (the same parsing as esp_decrypt.py): the two
# candidate key sets per SPI.
_LINE = re.compile(r'^\S+ \S+ (\d+)\[(\w+)\] (?:<[^>]*> )?(.*)$')
_KEYHDR = re.compile(r'^(encryption initiator key|encryption responder key|'
                     r'integrity initiator key|integrity responder key) => (\d+) bytes')
_HEX = re.compile(r'^\s*\d+: (.*)$')
_ADDSA = re.compile(r'^adding (inbound|outbound) ESP SA')
_SPILINE = re.compile(r'^\s*SPI 0x([0-9a-f]{8}), src (\S+) dst (\S+)')


def child_keys(path):
    """{spi: {'dir': in|out, 'keys': frozenset of (enc, integ) candidates}} from a level-4 log
    (charon's, or vpnd's --debug-keylog, which writes the same lines)."""
    threads = {}
    out = {}
    with open(path, errors='replace') as f:
        for raw in f:
            m = _LINE.match(raw.rstrip('\n'))
            if not m:
                continue
            tid, _grp, text = m.groups()
            st = threads.setdefault(tid, {'keys': {}, 'cur': None})
            cur = st['cur']
            if cur is not None:
                h = _HEX.match(text)
                if h:
                    need = cur[1] - len(cur[2])
                    toks = h.group(1)[:47].split()
                    cur[2].extend(bytes.fromhex(t) for t in toks[:need])
                    if len(cur[2]) >= cur[1]:
                        st['keys'][cur[0]] = b''.join(cur[2])
                        st['cur'] = None
                    continue
                st['cur'] = None
            k = _KEYHDR.match(text)
            if k:
                st['cur'] = (k.group(1), int(k.group(2)), [])
                if k.group(2) == '0':
                    st['keys'][k.group(1)] = b''
                    st['cur'] = None
                continue
            a = _ADDSA.match(text)
            if a:
                st['dir'] = a.group(1)
                continue
            s = _SPILINE.match(text)
            if s and 'dir' in st:
                k = st['keys']
                cands = frozenset([
                    (k.get('encryption initiator key'), k.get('integrity initiator key', b'')),
                    (k.get('encryption responder key'), k.get('integrity responder key', b''))])
                out[int(s.group(1), 16)] = {'dir': st.pop('dir'), 'keys': cands,
                                            'src': s.group(2), 'dst': s.group(3)}
    return out


def run(cmd, check=True, timeout=20, **kw):
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True, text=True, **kw)


class Lab:
    def __init__(self, workdir, build_root):
        self.id = '%x' % (os.getpid() & 0xffff) + '%x' % (int(time.time() * 1000) & 0xfff)
        self.ns_ours = 'pco-' + self.id
        self.ns_swan = 'pcs-' + self.id
        self.dir = str(workdir)
        self.build = str(build_root)
        self.procs = []
        self.vpnd_log = os.path.join(self.dir, 'vpnd.log')
        self.vpnd_keylog = os.path.join(self.dir, 'vpnd-keys.log')
        self.sock = os.path.join(self.dir, 'vpnd.sock')
        self.swan_dir = os.path.join(self.dir, 'swan')
        self.charon_log = os.path.join(self.swan_dir, 'charon.log')
        os.makedirs(os.path.join(self.swan_dir, 'run'), exist_ok=True)
        os.makedirs(os.path.join(self.swan_dir, 'swanctl'), exist_ok=True)
        try:
            self._topology()
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- topology
    def _topology(self):
        for ns in (self.ns_ours, self.ns_swan):
            run(['ip', 'netns', 'add', ns])
            run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        run(['ip', 'link', 'add', 'name', 'po' + self.id, 'netns', self.ns_ours, 'type', 'veth',
             'peer', 'name', 'ps' + self.id, 'netns', self.ns_swan])
        run(['ip', '-n', self.ns_ours, 'addr', 'add', OURS + '/24', 'dev', 'po' + self.id])
        run(['ip', '-n', self.ns_swan, 'addr', 'add', THEIRS + '/24', 'dev', 'ps' + self.id])
        run(['ip', '-n', self.ns_ours, 'addr', 'add', OURS6 + '/64', 'dev', 'po' + self.id,
             'nodad'])
        run(['ip', '-n', self.ns_swan, 'addr', 'add', THEIRS6 + '/64', 'dev', 'ps' + self.id,
             'nodad'])
        run(['ip', '-n', self.ns_ours, 'link', 'set', 'po' + self.id, 'up'])
        run(['ip', '-n', self.ns_swan, 'link', 'set', 'ps' + self.id, 'up'])
        # kernel-libipsec routes the protected subnet via ipsec0 with a source address from the
        # local selector, which must exist (like the lab's LAN interface).
        run(['ip', '-n', self.ns_swan, 'link', 'add', 'name', 'sl' + self.id, 'type', 'veth',
             'peer', 'name', 'sm' + self.id])
        run(['ip', '-n', self.ns_swan, 'link', 'set', 'sm' + self.id, 'up'])
        run(['ip', '-n', self.ns_swan, 'addr', 'add', '10.2.0.1/24', 'dev', 'sl' + self.id])
        run(['ip', '-n', self.ns_swan, 'addr', 'add', LAN6_THEIRS + '/64', 'dev', 'sl' + self.id,
             'nodad'])
        run(['ip', '-n', self.ns_swan, 'link', 'set', 'sl' + self.id, 'up'])

    def close(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=3)
        for ns in (self.ns_ours, self.ns_swan):
            subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)

    # ---------------------------------------------------------------- strongSwan
    def start_charon(self, ike, esp, local_ts='10.2.0.0/24', remote_ts='10.1.0.0/24',
                     psk='interop-psk-1', esp_rekey='3600s', local_id=None, remote_id=None,
                     cookie_threshold=100000, dpd_delay='0', swanctl_conf=None, ours=OURS,
                     theirs=THEIRS):
        """Starts charon with the lab's connection built from these values, or with
        `swanctl_conf` as the whole swanctl.conf (e.g. one `vpnctl generate` wrote). `ours` and
        `theirs` are the outer addresses (OURS6/THEIRS6 for IKE over IPv6); the IDs default to
        them."""
        d = self.swan_dir
        local_id = theirs if local_id is None else local_id
        remote_id = ours if remote_id is None else remote_id
        with open(os.path.join(d, 'strongswan.conf'), 'w') as f:
            f.write('''charon {
    load_modular = no
    load = openssl random nonce aes sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici
    port = 500
    port_nat_t = 4500
    install_routes = yes
    install_virtual_ip = no
    cookie_threshold = %(ct)d
    cookie_threshold_ip = %(ct)d
    block_threshold = 100000
    retransmit_timeout = 2.0
    retransmit_tries = 2
    plugins {
        vici { socket = unix://%(d)s/charon.vici }
    }
    filelog {
        lab {
            path = %(d)s/charon.log
            append = yes
            flush_line = yes
            time_format = %%F %%T
            ike_name = yes
            default = 1
            ike = 4
            chd = 4
            cfg = 2
        }
    }
}
swanctl {
    socket = unix://%(d)s/charon.vici
    load = pem pkcs1 x509 pubkey openssl random
}
''' % {'d': d, 'ct': cookie_threshold})
        with open(os.path.join(d, 'swanctl', 'swanctl.conf'), 'w') as f:
            if swanctl_conf is not None:
                f.write(swanctl_conf)
            else:
                f.write(self._lab_swanctl(ike, esp, local_ts, remote_ts, psk, esp_rekey,
                                          local_id, remote_id, dpd_delay, ours, theirs))
        self._launch_charon()

    @staticmethod
    def _lab_swanctl(ike, esp, local_ts, remote_ts, psk, esp_rekey, local_id, remote_id,
                     dpd_delay, ours, theirs):
        return ('''connections {
    lab {
        version = 2
        local_addrs = %(l)s
        remote_addrs = %(r)s
        proposals = %(ike)s
        rekey_time = 0
        reauth_time = 0
        dpd_delay = %(dpd)s
        mobike = no
        local { auth = psk
                id = %(lid)s }
        remote { auth = psk
                 id = %(rid)s }
        children {
            lan {
                mode = tunnel
                local_ts = %(lts)s
                remote_ts = %(rts)s
                esp_proposals = %(esp)s
                rekey_time = %(erk)s
                start_action = none
                close_action = none
            }
        }
    }
}
secrets {
    ike-lab {
        id-a = %(l)s
        id-b = %(r)s
        secret = "%(psk)s"
    }
}
''' % {'l': theirs, 'r': ours, 'ike': ike, 'esp': esp, 'lts': local_ts, 'rts': remote_ts,
       'psk': psk, 'erk': esp_rekey, 'lid': local_id, 'rid': remote_id, 'dpd': dpd_delay})

    def _launch_charon(self):
        d = self.swan_dir
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(d, 'strongswan.conf'))
        p = subprocess.Popen(
            ['ip', 'netns', 'exec', self.ns_swan, 'sh', '-c',
             'mount --bind "$1/run" /run && exec "$2"', 'sh', d, CHARON],
            env=env, stdin=subprocess.DEVNULL, stdout=open(os.path.join(d, 'charon.stdout'), 'w'),
            stderr=subprocess.STDOUT)
        self.procs.append(p)
        deadline = time.time() + 15
        while time.time() < deadline:
            if os.path.exists(os.path.join(d, 'charon.vici')) and \
                    self.swanctl('--stats', check=False).returncode == 0:
                break
            assert p.poll() is None, 'charon died: ' + open(os.path.join(d, 'charon.stdout')).read()
            time.sleep(0.1)
        else:
            raise AssertionError('charon vici socket did not come up')
        r = self.swanctl('--load-all', '--noprompt', '--file',
                         os.path.join(d, 'swanctl', 'swanctl.conf'))
        assert r.returncode == 0, r.stdout + r.stderr

    def swanctl(self, *args, check=True, timeout=30):
        env = dict(os.environ, STRONGSWAN_CONF=os.path.join(self.swan_dir, 'strongswan.conf'),
                   SWANCTL_DIR=os.path.join(self.swan_dir, 'swanctl'))
        r = subprocess.run(['swanctl'] + list(args), env=env, capture_output=True, text=True,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError('swanctl %s failed: %s%s' % (args, r.stdout, r.stderr))
        return r

    def charon_text(self):
        try:
            return open(self.charon_log, errors='replace').read()
        except FileNotFoundError:
            return ''

    def half_open(self, toward, src_port=5500):
        """Leaves one half-open IKE SA at `toward` (OURS or THEIRS): an IKE_SA_INIT request
        (aes256-sha256-modp2048) sent from the other namespace, from a port nobody listens on,
        whose answer nobody reads. Cookie thresholds count such SAs."""
        ns = self.ns_swan if toward == OURS else self.ns_ours
        code = ('import socket,sys;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);'
                's.bind(("",%d));s.sendto(bytes.fromhex(sys.argv[1]),(sys.argv[2],500))'
                % src_port)
        run(['ip', 'netns', 'exec', ns, '/usr/bin/python3', '-c', code,
             ike_sa_init_request().hex(), toward])

    # ---------------------------------------------------------------- vpnd
    def start_vpnd(self, config_text):
        cfg = os.path.join(self.dir, 'vpnd.conf')
        with open(cfg, 'w') as f:
            f.write(config_text)
        vpnd = os.path.join(self.build, 'control', 'vpnd')
        p = subprocess.Popen(
            ['ip', 'netns', 'exec', self.ns_ours, vpnd, '--config', cfg, '--transport', 'kernel',
             '--socket', self.sock, '--log', self.vpnd_log, '--foreground',
             '--debug-keylog', self.vpnd_keylog],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.dir, 'vpnd.stderr'), 'w'))
        self.procs.append(p)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.sock):
                return p
            assert p.poll() is None, 'vpnd exited: ' + open(
                os.path.join(self.dir, 'vpnd.stderr')).read()
            time.sleep(0.05)
        raise AssertionError('vpnd socket did not appear')

    def vpnctl(self, *args, check=True):
        r = run([os.path.join(self.build, 'control', 'vpnctl'), '--socket', self.sock] +
                list(args), check=False)
        if check:
            assert r.returncode == 0, r.stdout + r.stderr
        return r

    def vpnd_text(self):
        try:
            return open(self.vpnd_log, errors='replace').read()
        except FileNotFoundError:
            return ''

    def wait_for(self, pred, timeout=20, what='condition'):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if pred():
                return True
            time.sleep(0.1)
        raise AssertionError('timed out waiting for %s\n--- vpnd log ---\n%s\n--- charon log '
                             '(tail) ---\n%s' % (what, self.vpnd_text()[-6000:],
                                                 self.charon_text()[-6000:]))


def ike_sa_init_request():
    """A well-formed IKE_SA_INIT request (RFC 7296 3.1-3.9): random SPI, one IKE proposal
    AES-CBC-256 / PRF-HMAC-SHA2-256 / HMAC-SHA2-256-128 / MODP-2048, a KE value, a nonce."""
    import struct

    def payload(next_type, body):
        return struct.pack('!BBH', next_type, 0, 4 + len(body)) + body

    def transform(last, ttype, tid, attrs=b''):
        body = struct.pack('!BBH', ttype, 0, tid) + attrs
        return struct.pack('!BBH', 0 if last else 3, 0, 4 + len(body)) + body

    transforms = (transform(False, 1, 12, struct.pack('!HH', 0x800e, 256)) +  # ENCR_AES_CBC 256
                  transform(False, 2, 5) +  # PRF_HMAC_SHA2_256
                  transform(False, 3, 12) +  # AUTH_HMAC_SHA2_256_128
                  transform(True, 4, 14))  # MODP 2048
    proposal_body = struct.pack('!BBBB', 1, 1, 0, 4) + transforms  # #1, IKE, no SPI, 4
    proposal = struct.pack('!BBH', 0, 0, 4 + len(proposal_body)) + proposal_body
    ke = os.urandom(256)
    ke = b'\x7f' + ke[1:]  # 1 < ke < p - 1
    body = (payload(34, proposal) +  # SA, next KE
            payload(40, struct.pack('!HH', 14, 0) + ke) +  # KE, next Nonce
            payload(0, os.urandom(32)))  # Nonce
    header = os.urandom(8) + bytes(8) + struct.pack('!BBBBII', 33, 0x20, 34, 0x08, 0,
                                                      28 + len(body))
    return header + body


def vyatta_config(ike, esp, pfs='enable', psk='interop-psk-1', connection='initiate',
                  local_prefix='10.1.0.0/24', remote_prefix='10.2.0.0/24', lifetime=3600,
                  ike_lifetime=28800, dpd_interval=None, ours=OURS, theirs=THEIRS):
    """A Vyatta-dialect peer config for `theirs` (192.0.2.2) from `ours`. `ike` = (encryption, hash, dh, prf or None),
    `esp` = (encryption, hash)."""
    enc, hsh, dh, prf = ike
    lines = [
        'set interfaces dataplane dp0p1 address %s/24' % OURS,
        'set security vpn ipsec ike-group IKE ike-version 2',
        'set security vpn ipsec ike-group IKE lifetime %d' % ike_lifetime,
        'set security vpn ipsec ike-group IKE proposal 1 encryption %s' % enc,
        'set security vpn ipsec ike-group IKE proposal 1 hash %s' % hsh,
        'set security vpn ipsec ike-group IKE proposal 1 dh-group %s' % dh,
        'set security vpn ipsec esp-group ESP proposal 1 encryption %s' % esp[0],
        'set security vpn ipsec esp-group ESP proposal 1 hash %s' % esp[1],
        'set security vpn ipsec esp-group ESP pfs %s' % pfs,
        'set security vpn ipsec esp-group ESP lifetime %d' % lifetime,
    ]
    if ':' in ours:
        lines.append('set interfaces dataplane dp0p1 address %s/64' % ours)
    if dpd_interval is not None:
        lines += ['set security vpn ipsec ike-group IKE dead-peer-detection interval %d'
                  % dpd_interval,
                  'set security vpn ipsec ike-group IKE dead-peer-detection action restart']
    if prf:
        lines.append('set security vpn ipsec ike-group IKE proposal 1 prf %s' % prf)
    p = 'set security vpn ipsec site-to-site peer %s ' % theirs
    lines += [
        p + 'authentication mode pre-shared-secret',
        p + "authentication pre-shared-secret '%s'" % psk,
        p + 'local-address %s' % ours,
        p + 'ike-group IKE',
        p + 'default-esp-group ESP',
        p + 'connection-type %s' % connection,
        p + 'tunnel 1 local prefix %s' % local_prefix,
        p + 'tunnel 1 remote prefix %s' % remote_prefix,
    ]
    return '\n'.join(lines) + '\n'
