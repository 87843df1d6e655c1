"""The one-way layers of docs/DESIGN.md, checked on every include.

control -> dataplane/api <- dataplane -> drivers; inside ike/ and dataplane/ each folder uses
only the ones below it. A test rather than a review habit: an include that points the wrong
way fails here, with the file and line to fix. Also: nothing points outside the repository.
"""
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCES = ('.h', '.cc')

# (folder, include prefixes it must not use, why)
RULES = [
    ('drivers', ('dataplane/', 'control/', 'ike/'), 'drivers/ sit below everything'),
    ('ike', ('dataplane/', 'control/', 'drivers/'), 'ike/ is a library of its own'),
    ('dataplane', ('control/', 'ike/'), 'the dataplane never sees the control plane'),
    ('dataplane/api', ('dataplane/core/', 'dataplane/tables/', 'dataplane/runtime/',
                       'dataplane/pipeline/', 'dataplane/mgmt/', 'dataplane/esp/', 'drivers/'),
     'the channel contract is all control/ sees of the dataplane'),
    ('dataplane/esp', ('dataplane/core/', 'dataplane/tables/', 'dataplane/runtime/',
                       'dataplane/pipeline/', 'dataplane/mgmt/', 'dataplane/api/'),
     'the ESP engine sits on drivers/crypto only'),
    ('dataplane/core', ('dataplane/tables/', 'dataplane/runtime/', 'dataplane/pipeline/',
                        'dataplane/mgmt/', 'dataplane/api/'), 'core/ is the bottom layer'),
    ('dataplane/tables', ('dataplane/runtime/', 'dataplane/pipeline/', 'dataplane/mgmt/',
                          'dataplane/api/'), 'tables hold dataplane types, not channel structs'),
    ('dataplane/runtime', ('dataplane/pipeline/', 'dataplane/mgmt/', 'dataplane/api/'),
     'runtime/ sits below the workers and the main lcore'),
    ('dataplane/pipeline', ('dataplane/mgmt/', 'dataplane/api/'),
     'workers do not reach into the main lcore or the channel'),
    ('ike/encoding', ('ike/crypto/', 'ike/sa/'), 'encoding/ is the bottom of ike/'),
    ('ike/crypto', ('ike/sa/',), 'crypto/ sits below the SA'),
    ('control/config', ('control/vpnd/', 'control/vpnctl/', 'control/ops/', 'ike/', 'dataplane/'),
     'vpnctl links config/ offline'),
    ('control/ops', ('control/vpnd/', 'control/vpnctl/', 'ike/', 'dataplane/'),
     'vpnctl links ops/ without IKE'),
]
# ike/sa/ may not include ike/sa/tasks/ (the tasks are the top of ike/).
SA_NOT_TASKS = ('ike/sa', 'ike/sa/tasks/')


def sources(folder):
    base = ROOT / folder
    return sorted(p for p in base.rglob('*') if p.suffix in SOURCES)


def includes(path):
    for n, line in enumerate(path.read_text(errors='replace').splitlines(), 1):
        m = INCLUDE.match(line)
        if m:
            yield n, m.group(1)


@pytest.mark.parametrize('folder,banned,why', RULES, ids=[r[0] for r in RULES])
def test_includes_point_one_way(folder, banned, why):
    bad = []
    for p in sources(folder):
        for n, inc in includes(p):
            if inc.startswith(banned):
                bad.append('%s:%d: includes "%s"' % (p.relative_to(ROOT), n, inc))
    assert not bad, '%s (%s):\n%s' % (folder, why, '\n'.join(bad))


def test_control_sees_only_the_channel_contract():
    bad = []
    for p in sources('control'):
        for n, inc in includes(p):
            if inc.startswith('dataplane/') and not inc.startswith('dataplane/api/'):
                bad.append('%s:%d: includes "%s"' % (p.relative_to(ROOT), n, inc))
    assert not bad, '\n'.join(bad)


def test_ike_sa_does_not_include_its_tasks():
    folder, banned = SA_NOT_TASKS
    bad = []
    for p in sources(folder):
        if 'tasks' in p.relative_to(ROOT / folder).parts:
            continue
        for n, inc in includes(p):
            if inc.startswith(banned):
                bad.append('%s:%d: includes "%s"' % (p.relative_to(ROOT), n, inc))
    assert not bad, '\n'.join(bad)


def test_nothing_points_outside_the_repository():
    bad = []
    for folder in ('control', 'dataplane', 'drivers', 'ike', 'test', 'scripts', 'docs', 'configs'):
        for p in sorted((ROOT / folder).rglob('*')):
            if not p.is_file() or p.suffix not in ('.h', '.cc', '.py', '.md', '.build', ''):
                continue
            if p.resolve() == pathlib.Path(__file__).resolve():
                continue
            text = p.read_text(errors='replace')
            for n, line in enumerate(text.splitlines(), 1):
                if '../shared/' in line or 'shared/DESIGN' in line or 'shared/reference' in line:
                    bad.append('%s:%d: %s' % (p.relative_to(ROOT), n, line.strip()))
    readme = (ROOT / 'README.md').read_text()
    assert '../shared' not in readme
    assert not bad, '\n'.join(bad)
