"""`vpnctl configure` as a person uses it: in a real terminal (tmux: new-session, send-keys,
capture-pane) against real vpnds (kernel transport) in network namespaces running the
route-based seed pair. Tab completion, `?` help with the schema's help texts, set/show/compare,
`exit` refused with uncommitted changes, a commit that changes the running tunnel (its CHILD SA is
renegotiated with the new lifetime), a commit-confirm that is rolled back when not confirmed
(vpnd runs with --test-confirm-minute=2s, so `commit-confirm 1` lasts two seconds), two sessions
whose changes collide, and a configuration pasted through a pipe. Every test removes its tmux
server, its vpnds and its namespaces, even on failure."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from test_vpnd_kernel import Pair, seed


class Lab(Pair):
    """The kernel-transport pair of test_vpnd_kernel (vpnd runs with --test-confirm-minute=2s)
    and one tmux server."""

    def __init__(self, tmp_path, build_root):
        self.tmux_sock = str(tmp_path / 'tmux.sock')
        super().__init__(tmp_path, build_root)

    def log_text(self, side):
        p = self.log(side)
        return p.read_text() if p.exists() else ''

    def start(self, side, source_root):
        conf = self.conf(side, seed(source_root, 'vyatta-%s.conf' % side))
        super().start(side, conf, extra=['--test-confirm-minute=2s'])
        return conf

    def vpnctl(self, side, *args, **kw):
        return subprocess.run([str(self.build / 'control' / 'vpnctl'), '--socket', self.sock(side),
                               *args], capture_output=True, text=True, timeout=30, **kw)

    def wait(self, pred, what, timeout=20):
        super().wait(pred, what, timeout)

    # --- the terminal ------------------------------------------------------------------------
    def tmux(self, *args, check=True):
        return subprocess.run(['tmux', '-S', self.tmux_sock, *args], capture_output=True,
                              text=True, timeout=10, check=check)

    def terminal(self, name, side='west'):
        """A shell in a 160x50 terminal window that runs `vpnctl configure` (the shell stays, so
        the exit status can be read after vpnctl leaves)."""
        shell = 'env -i PATH=/usr/bin:/bin TERM=xterm HOME=/root bash --norc --noprofile'
        if not os.path.exists(self.tmux_sock):
            self.tmux('new-session', '-d', '-s', 'pc', '-n', name, '-x', '160', '-y', '50', shell)
        else:
            self.tmux('new-window', '-t', 'pc:', '-n', name, shell)
        target = 'pc:' + name
        self.expect(target, SHELL)
        self.keys(target, '%s --socket %s configure' %
                  (self.build / 'control' / 'vpnctl', self.sock(side)), 'Enter')
        self.expect(target, PROMPT)
        return target

    def keys(self, target, *keys):
        self.tmux('send-keys', '-t', target, *keys)

    def type(self, target, text):
        self.tmux('send-keys', '-t', target, '-l', text)

    def screen(self, target):
        return self.tmux('capture-pane', '-p', '-J', '-S', '-300', '-t', target).stdout

    def expect(self, target, pattern, timeout=15):
        """Waits until the screen (with scrollback, trailing blank lines dropped) matches."""
        deadline = time.time() + timeout
        text = ''
        while time.time() < deadline:
            # -J keeps a line's trailing spaces, so a prompt waiting for input ends in '# '.
            text = self.screen(target).rstrip('\n')
            if re.search(pattern, text, re.M):
                return text
            time.sleep(0.1)
        raise AssertionError('the terminal never showed %r; it shows:\n%s\n--- west log ---\n%s' %
                             (pattern, text, self.log_text('west')[-3000:]))

    def run(self, target, line, pattern=None):
        """Types a command and Enter; returns what it printed once the next prompt (or
        `pattern`, for a shell prompt) follows it."""
        self.tmux('clear-history', '-t', target)
        self.type(target, line)
        self.keys(target, 'Enter')
        end = re.compile(pattern or PROMPT, re.M)
        deadline = time.time() + 15
        text = ''
        while time.time() < deadline:
            text = self.screen(target).rstrip('\n')
            # The last echo of the line (a redrawn line may keep blank cells at its end).
            echoes = list(re.finditer(re.escape('# ' + line) + r' *\n', text))
            if echoes:
                rest = text[echoes[-1].end():]
                m = end.search(rest)
                if m:
                    return rest[:m.start()] if pattern is None else rest
            time.sleep(0.1)
        raise AssertionError('no prompt after %r; the terminal shows:\n%s\n--- west log ---\n%s'
                             % (line, text, self.log_text('west')[-3000:]))

    def help(self, target, line):
        """Types `line` and `?`; returns the listing once the line is redrawn below it."""
        self.keys(target, 'C-u')
        self.type(target, line)
        self.keys(target, '?')
        # A line redrawn over a longer one may keep blank cells at its end.
        typed = re.escape('# ' + line.rstrip()) + ' *'
        text = self.expect(target, typed + r'\nPossible completions:\n(?:.*\n)*?\S+@\S+' +
                           typed + r'\Z')
        at = text.rfind('Possible completions:\n')
        return text[at:]

    def close(self):
        if os.path.exists(self.tmux_sock):
            self.tmux('kill-server', check=False)
        super().close()


@pytest.fixture
def lab(tmp_path, build_root):
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces)')
    if shutil.which('tmux') is None:
        pytest.skip('tmux not installed (scripts/setup installs it)')
    for b in ('vpnd', 'vpnctl'):
        if not (build_root / 'control' / b).exists():
            pytest.skip(b + ' not built')
    lab = Lab(tmp_path, build_root)
    try:
        yield lab
    finally:
        lab.close()


def tunnel(lab, side):
    r = lab.vpnctl(side, '--json', 'show', 'vpn', 'ipsec', 'sa')
    if r.returncode != 0:
        return None
    rows = json.loads(r.stdout)
    # Kernel transport negotiates the CHILD SA but installs nothing, so its row is "down" with an
    # id: the negotiated SA is what this test follows through the commit.
    return rows[0] if rows and rows[0].get('id') is not None else None


PROMPT = r'\[edit\]\n\S+@\S+# \Z'
SHELL = r'^bash-[\d.]+# \Z'


def test_tab_help_set_compare_commit_and_exit(lab, source_root):
    lab.start('west', source_root)
    lab.start('east', source_root)
    lab.wait(lambda: tunnel(lab, 'west') and tunnel(lab, 'east'), 'the VTI CHILD SA negotiated')
    before = tunnel(lab, 'west')
    assert before['lifetime'] == 3600
    t = lab.terminal('first')

    # Tab completes the only child that fits.
    lab.type(t, 'set security vpn ipsec si')
    lab.keys(t, 'Tab')
    lab.expect(t, r'# set security vpn ipsec site-to-site \Z')
    # `?` lists the children with the schema's help texts and redraws the line.
    text = lab.help(t, 'set security vpn ipsec ike-group IKE-Fergie ')
    assert re.search(r'^  dead-peer-detection  Dead peer detection \(on when this node is present\)$',
                     text, re.M), text
    assert re.search(r'^  lifetime +IKE SA lifetime in seconds$', text, re.M), text
    assert re.search(r'^  <Enter> +Execute the current command$', text, re.M), text
    # Values: a range shows its placeholder, an enum its values.
    text = lab.help(t, 'set security vpn ipsec esp-group ESP-Fergie lifetime ')
    assert re.search(r'^  <30-86400>  CHILD SA lifetime in seconds$', text, re.M), text
    text = lab.help(t, 'set security vpn ipsec esp-group ESP-Fergie pfs ')
    assert re.search(r'^  dh-group20 ', text, re.M), text
    lab.keys(t, 'C-u')

    text = lab.run(t, 'set security vpn ipsec esp-group ESP-Fergie lifetime 1800')
    text = lab.run(t, 'compare')
    assert "set security vpn ipsec esp-group ESP-Fergie lifetime '1800'" in text
    text = lab.run(t, 'show security vpn ipsec esp-group ESP-Fergie')
    assert re.search(r'^-lifetime 3600\n\+lifetime 1800\n pfs dh-group20$', text, re.M), text
    text = lab.run(t, 'show security vpn ipsec site-to-site')
    assert re.search(r'^         pre-shared-secret \*{8}$', text, re.M), text
    assert 'Fergie-west-east' not in text
    # A bad value changes nothing and says why.
    text = lab.run(t, 'set security vpn ipsec esp-group ESP-Fergie lifetime 10')
    assert "value '10' out of range 30..86400" in text

    text = lab.run(t, 'exit')
    assert "Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes " \
           "and exit." in text
    assert tunnel(lab, 'west')['lifetime'] == 3600  # nothing committed yet

    text = lab.run(t, 'commit')
    assert 'peer 192.0.2.2: reset (tunnel vti (vti2) changed): its IKE SA and tunnels are ' \
           'renegotiated' in text
    lab.wait(lambda: (tunnel(lab, 'west') or {}).get('lifetime') == 1800 and
             tunnel(lab, 'west')['id'] != before['id'], 'the tunnel renegotiated with 1800 s')
    text = lab.run(t, 'run show vpn ipsec sa')
    # Negotiated with the new lifetime; kernel transport installs nothing, so it reads "down".
    assert re.search(r'^    vti     \d+\s+down\s.*\s1800$', text, re.M), text
    text = lab.run(t, 'run show system commit')
    assert re.search(r'^0   \S+ \S+ by root via vpnctl configure \(session 1\)$', text, re.M), text
    assert re.search(r'^1   \S+ \S+ by vpnd via startup', text, re.M), text

    lab.type(t, 'exit')
    lab.keys(t, 'Enter')
    lab.expect(t, SHELL)
    lab.type(t, 'echo "rc=$?"')
    lab.keys(t, 'Enter')
    lab.expect(t, r'^rc=0$')
    assert 'configuration session 1 (root) closed' in lab.log_text('west')


def test_commit_confirm_rolls_back_when_not_confirmed(lab, source_root):
    lab.start('west', source_root)
    t = lab.terminal('first')
    lab.run(t, 'set security vpn ipsec esp-group ESP-Fergie lifetime 1800')
    text = lab.run(t, 'commit-confirm 1')
    assert 'commit confirm will be automatically rolled back in 1 minute' in text
    text = lab.run(t, 'show security vpn ipsec esp-group ESP-Fergie lifetime')
    assert re.search(r'^ lifetime 1800$', text, re.M), text
    lab.wait(lambda: 'not confirmed in time: rolled back to the previous configuration' in
             lab.log_text('west'), 'the rollback', timeout=10)
    text = lab.run(t, 'show security vpn ipsec esp-group ESP-Fergie lifetime')
    assert re.search(r'^ lifetime 3600$', text, re.M), text
    text = lab.run(t, 'run show system commit')
    assert re.search(r'^0   .* by vpnd via commit-confirm rollback \(session 1 did not confirm\)$',
                     text, re.M), text
    # Confirmed in time, it stays.
    lab.run(t, 'set security vpn ipsec esp-group ESP-Fergie lifetime 1200')
    lab.run(t, 'commit-confirm 1')
    text = lab.run(t, 'confirm')
    assert 'commit confirmed' in text
    time.sleep(3)
    text = lab.run(t, 'show security vpn ipsec esp-group ESP-Fergie lifetime')
    assert re.search(r'^ lifetime 1200$', text, re.M), text
    lab.run(t, 'exit', SHELL)


def test_two_sessions_and_a_pasted_configuration(lab, source_root):
    conf = lab.start('west', source_root)
    a = lab.terminal('first')
    b = lab.terminal('second')
    lab.run(a, 'set security vpn ipsec esp-group ESP-Fergie lifetime 1800')
    lab.run(b, 'set security vpn ipsec esp-group ESP-Fergie lifetime 7200')
    # The VyOS form works in a session too.
    lab.run(b, 'set vpn ipsec ike-group IKE-Fergie lifetime 3600')
    lab.run(a, 'commit')
    text = lab.run(b, 'commit')
    assert 'configuration changed by another session; compare and commit again' in text
    assert 'security vpn ipsec esp-group ESP-Fergie lifetime' in text
    text = lab.run(b, 'compare')
    assert "set security vpn ipsec esp-group ESP-Fergie lifetime '7200'\n" \
           "set security vpn ipsec ike-group IKE-Fergie lifetime '3600'" in text
    lab.run(b, 'commit')
    text = lab.run(a, 'show security vpn ipsec esp-group ESP-Fergie lifetime')
    assert re.search(r'^ lifetime 7200$', text, re.M), text  # a, unchanged, follows running
    text = lab.run(b, 'save')
    assert "Saving configuration to '%s'...\nDone" % conf in text
    assert "set security vpn ipsec esp-group ESP-Fergie lifetime '7200'" in conf.read_text()
    assert "pre-shared-secret 'Fergie-west-east-2024'" in conf.read_text()

    # A paste through a pipe: a bad line means nothing is committed and the exit status is 1.
    bad = lab.vpnctl('west', 'configure', input=(
        'set security vpn ipsec esp-group ESP-Fergie lifetime 900\n'
        'set security vpn ipsec esp-group ESP-Fergie lifetime 5\n'
        'commit\n'))
    assert bad.returncode == 1
    assert "line 2: security vpn ipsec esp-group ESP-Fergie lifetime: value '5' out of range" \
        in bad.stderr, bad.stderr
    assert "line 3: 'commit' refused: an earlier command failed" in bad.stderr
    assert 'end of input with uncommitted changes: discarded' in bad.stderr
    good = lab.vpnctl('west', 'configure', input=(
        '# pasted\n'
        'set vpn ipsec esp-group ESP-Fergie lifetime 900\n'
        'commit\n'
        'exit\n'))
    assert good.returncode == 0, good.stderr
    assert 'peer 192.0.2.2: reset (tunnel vti (vti2) changed)' in good.stdout
    text = lab.run(a, 'show security vpn ipsec esp-group ESP-Fergie lifetime')
    assert re.search(r'^ lifetime 900$', text, re.M), text
    lab.run(a, 'exit', SHELL)
    lab.run(b, 'exit', SHELL)
