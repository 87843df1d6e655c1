"""Fixtures for the strongSwan interop tests: the build directory, and a Lab per test whose
namespaces and processes are removed whatever the outcome."""
import os
import pathlib
import shutil

import pytest

from swanlab import Lab

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_ROOT = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', SOURCE_ROOT / 'build'))


def _missing():
    if os.geteuid() != 0:
        return 'needs root (network namespaces)'
    for tool in ('ip', 'swanctl'):
        if shutil.which(tool) is None:
            return tool + ' not installed'
    if not os.path.exists('/usr/lib/ipsec/charon'):
        return 'strongswan-charon not installed'
    if not os.path.exists('/dev/net/tun'):
        return '/dev/net/tun missing (kernel-libipsec)'
    if not (BUILD_ROOT / 'control' / 'vpnd').exists():
        return 'vpnd not built in ' + str(BUILD_ROOT)
    return None


@pytest.fixture
def lab(tmp_path):
    why = _missing()
    if why:
        pytest.skip(why)
    lab = Lab(tmp_path, BUILD_ROOT)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope='session')
def source_root():
    return SOURCE_ROOT
