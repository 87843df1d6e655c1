"""Shared fixtures: where the built binaries are, and the source root."""
import os
import pathlib

import pytest

from portcullis_lab import Lab

SOURCE_ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_ROOT = pathlib.Path(os.environ.get('PORTCULLIS_BUILD', SOURCE_ROOT / 'build'))


@pytest.fixture(scope='session')
def build_root():
    return BUILD_ROOT


@pytest.fixture(scope='session')
def source_root():
    return SOURCE_ROOT


@pytest.fixture(scope='session')
def vpnctl(build_root):
    path = build_root / 'control' / 'vpnctl'
    assert path.exists(), f'{path} not built'
    return str(path)


@pytest.fixture
def lab(build_root, tmp_path):
    """Network namespaces and processes of one test, removed whatever happens."""
    lab = Lab(build_root, tmp_path)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture
def pair(tmp_path, build_root):
    """Two kernel-transport vpnds in network namespaces on one veth (test_vpnd_kernel.Pair)."""
    from test_vpnd_kernel import Pair
    if os.geteuid() != 0:
        pytest.skip('needs root (network namespaces)')
    if not (build_root / 'control' / 'vpnd').exists():
        pytest.skip('vpnd not built')
    p = Pair(tmp_path, build_root)
    try:
        yield p
    finally:
        p.close()
