"""vpnctl's offline commands, run as an operator would: exit codes and output."""
import subprocess


def run(vpnctl, *args, cwd=None):
    return subprocess.run([vpnctl, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_check_every_example_config(vpnctl, source_root):
    confs = sorted((source_root / 'configs').glob('*.conf'))
    assert len(confs) >= 4
    r = run(vpnctl, 'check', *[str(c.relative_to(source_root)) for c in confs], cwd=source_root)
    assert r.returncode == 0, r.stdout + r.stderr
    for c in confs:
        assert f'{c.relative_to(source_root)}: OK' in r.stdout


def line_of(path, text):
    """The 1-based number of the line of `path` that is `text`."""
    return path.read_text().splitlines().index(text) + 1


def test_check_warns_of_each_node_not_enforced_yet(vpnctl, source_root):
    """One warning per configured node, with its line, in both dialects: the VyOS site A file
    carries close-action none, the DPD timeout, make-before-break and a firewall (WAN-LOCAL and
    its input filter binding, #16): all enforced, no warning."""
    conf = source_root / 'configs/vyos-site-a.conf'
    r = run(vpnctl, 'check', 'configs/vyos-site-a.conf', cwd=source_root)
    assert r.returncode == 0, r.stdout
    expect = [
    ]
    for line, path in expect:
        assert ('configs/vyos-site-a.conf: line %d: warning: accepted, not enforced yet: %s\n'
                % (line_of(conf, line), path)) in r.stdout, r.stdout
    assert r.stdout.count('accepted, not enforced yet') == len(expect), r.stdout
    assert 'firewall' not in r.stdout, r.stdout


def test_check_seed_east_names_the_typo_line(vpnctl, source_root):
    r = run(vpnctl, 'check', 'test/data/seed-vyatta-east.conf', cwd=source_root)
    assert r.returncode == 1
    assert ("test/data/seed-vyatta-east.conf: line 15: unknown command 'et' (did you mean 'set'?)"
            in r.stdout)
    assert 'test/data/seed-vyatta-east.conf: 1 error' in r.stdout


def test_check_missing_file(vpnctl, tmp_path):
    r = run(vpnctl, 'check', str(tmp_path / 'nope.conf'))
    assert r.returncode == 1
    assert 'cannot open' in r.stdout


def test_check_pair_matching_and_broken(vpnctl, source_root, tmp_path):
    r = run(vpnctl, 'check', '--pair', 'configs/vyatta-west.conf', 'configs/vyatta-east.conf',
            cwd=source_root)
    assert r.returncode == 0, r.stdout
    assert 'pair matches' in r.stdout
    east = (source_root / 'configs/vyatta-east.conf').read_text()
    broken = tmp_path / 'east-broken.conf'
    broken.write_text(east.replace('lifetime 3600', 'lifetime 1800'))
    r = run(vpnctl, 'check', '--pair', str(source_root / 'configs/vyatta-west.conf'), str(broken))
    assert r.returncode == 1
    assert 'mismatch [esp-lifetime]: ESP lifetime differs' in r.stdout
    assert 'lifetime 3600' in r.stdout and 'lifetime 1800' in r.stdout


def test_show_configuration_hides_secrets(vpnctl, source_root):
    for args in (['show', 'configuration'], ['show', 'configuration', 'commands'],
                 ['show', 'configuration', 'commands', '--dialect', 'vyos']):
        r = run(vpnctl, *args, '--file', 'configs/vyatta-west.conf', cwd=source_root)
        assert r.returncode == 0, r.stderr
        assert 'Fergie-west-east-2024' not in r.stdout
        assert '********' in r.stdout
    r = run(vpnctl, 'show', 'configuration', 'commands', '--dialect', 'vyos', '--file',
            'configs/vyatta-west.conf', cwd=source_root)
    assert "set protocols static route 10.127.132.128/26 interface vti2" in r.stdout
    assert "set vpn ipsec ike-group IKE-Fergie key-exchange 'ikev2'" in r.stdout


def test_show_configuration_refuses_a_broken_file(vpnctl, source_root):
    r = run(vpnctl, 'show', 'configuration', '--file', 'test/data/seed-vyatta-east.conf',
            cwd=source_root)
    assert r.returncode == 1
    assert "line 15: unknown command 'et'" in r.stderr


def test_usage_errors(vpnctl):
    assert run(vpnctl).returncode == 2
    assert run(vpnctl, 'frobnicate').returncode == 2
    assert run(vpnctl, 'check', '--pair', 'only-one.conf').returncode == 2
