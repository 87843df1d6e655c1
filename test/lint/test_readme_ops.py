"""The README's install and operation sections against the tree: every program and unit that
`meson install` puts on a host is named there, and every metric, vpnd option, portcullis.env
setting and `dpctl capture` form the README tells an operator to use exists."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = (ROOT / 'README.md').read_text()
OPS = README[README.index('## Install and operate'):README.index('## Layout')]


def test_installed_programs_and_units_are_documented():
    programs = set()
    for build in ('control/meson.build', 'dataplane/meson.build'):
        text = (ROOT / build).read_text()
        programs |= set(re.findall(r"executable\('([\w-]+)',[^)]*?install: true", text, re.S))
    programs.add('portcullis-host-setup')
    assert programs == {'vpn-dataplane', 'dpctl', 'vpnd', 'vpnctl', 'portcullis-host-setup'}
    for p in programs:
        assert f'`{p}`' in OPS, p
    units = [p.name[:-3] for p in (ROOT / 'deploy' / 'systemd').glob('*.service.in')]
    assert len(units) == 3
    for u in units:
        assert f'`{u}`' in OPS, u
    for f in ('config.boot', 'ports', 'portcullis.env'):
        assert (ROOT / 'deploy' / 'etc' / f).exists() and f'`{f}`' in OPS, f


def test_documented_metrics_exist():
    families = set(re.findall(r'"(portcullis_\w+)"',
                              (ROOT / 'control/vpnd/metrics_families.cc').read_text()))
    named = set()
    for m in re.findall(r'portcullis_\w+(?:\{[a-z,]+\}\w*)?', OPS):
        brace = re.match(r'(portcullis_\w*)\{([\w,]+)\}(\w*)', m)
        named |= ({brace.group(1) + x + brace.group(3) for x in brace.group(2).split(',')}
                  if brace else {m})
    assert len(named) >= 12, named
    assert named <= families, named - families


def test_documented_options_and_settings_exist():
    vpnd = (ROOT / 'control/vpnd/main.cc').read_text()
    for flag in set(re.findall(r'--(metrics-listen|wireshark-keys|syslog|transport)', OPS)):
        assert f'ABSL_FLAG(std::string, {flag.replace("-", "_")},' in vpnd, flag
    env = (ROOT / 'deploy/etc/portcullis.env').read_text()
    settings = set(re.findall(r'`([A-Z_]+)=', OPS)) | set(re.findall(r'\(`([A-Z_]+)`\)', OPS))
    settings.discard('NAME')  # the ports file's NAME=DEVICE, not a setting
    assert {'HUGEPAGES', 'EAL_ARGS', 'VPND_ARGS', 'NIC_DRIVER'} <= settings, settings
    for var in settings:
        assert re.search(rf'^#?\s*{var}=', env, re.M), var
    capture = (ROOT / 'dataplane/mgmt/capture_telemetry.cc').read_text()
    for line in re.findall(r'^dpctl --channel \S+ capture (.*?)(?:\s+#.*)?$', OPS, re.M):
        words = line.split()
        assert words[0] in ('start', 'stop', 'status'), line
        for opt in words[2::2] if words[0] == 'start' else []:
            assert opt == '--wait' or f'w[i] == "{opt}"' in capture, (line, opt)
