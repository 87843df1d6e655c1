"""Shared fixtures: where the built binaries are, and the source root."""
import os
import pathlib

import pytest

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
