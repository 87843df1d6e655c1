#!/usr/bin/env python3
"""meson install step: copy the default files (config.boot, ports, portcullis.env) from DEFAULTS
into CONFDIR, each only if CONFDIR has no such file, so a reinstall never overwrites what the
operator edited. Honours DESTDIR; files are 0640 (the configuration holds pre-shared keys) in
a 0750 directory.
  install_confdir.py DEFAULTS CONFDIR"""
import os
import shutil
import sys


def under_destdir(path):
    destdir = os.environ.get('DESTDIR', '')
    return os.path.join(destdir, path.lstrip('/')) if destdir else path


def main():
    defaults, confdir = under_destdir(sys.argv[1]), under_destdir(sys.argv[2])
    dry = bool(os.environ.get('MESON_INSTALL_DRY_RUN'))
    if not dry:
        os.makedirs(confdir, mode=0o750, exist_ok=True)
    for name in sorted(os.listdir(defaults)):
        dst = os.path.join(confdir, name)
        if os.path.exists(dst):
            print(f'Keeping {dst} (exists; the default is in {defaults})')
            continue
        print(f'Installing {os.path.join(defaults, name)} to {confdir}')
        if not dry:
            shutil.copyfile(os.path.join(defaults, name), dst)
            os.chmod(dst, 0o640)


if __name__ == '__main__':
    main()
